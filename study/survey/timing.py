"""Response-time arithmetic that must not count the participant for the
researcher's pauses: the spans a set was closed while an image waited."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable


def closed_overlap_ms(closures: Iterable[tuple[datetime, datetime | None]], start: datetime, end: datetime) -> int:
    """Milliseconds of [start, end] during which the set was closed; a closure
    still open (reopened None) runs to `end`."""
    total = 0.0
    for closed_at, reopened_at in closures:
        overlap = (min(reopened_at or end, end) - max(closed_at, start)).total_seconds()
        total += max(overlap, 0.0)
    return int(round(total * 1000))
