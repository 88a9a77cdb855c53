"""Balanced assignment of participants to a set's conditions, on the server.

A person gets the condition with the fewest *counted* participants so far (never
previews; real people counted among real people, simulated ones only among
themselves, so a dry run never shifts a real study's assignment); a tie is broken
by a draw seeded by the set's seed and the participant's id, so anyone can redo
it from the data. The caller holds the set's write lock, so two consents at the
same moment see each other's counts. What the choice saw is stored with it."""
from __future__ import annotations

import numpy as np

RULE = "fewest counted participants; ties broken by a draw seeded by (set seed, participant id)"


def choose(counts: dict[str, int], seed: int, participant_id: int) -> tuple[str, dict]:
    """(condition name, the reason as stored) for counts {name: counted participants},
    in the set's condition order."""
    fewest = min(counts.values())
    tied = [name for name, n in counts.items() if n == fewest]
    draw = np.random.default_rng([int(seed), int(participant_id)]).integers(len(tied))
    chosen = tied[int(draw)]
    return chosen, {"rule": RULE, "counts": dict(counts), "tied": tied, "chosen": chosen}


def preview_reason(researcher_chose: str) -> dict:
    return {"rule": "preview: chosen by a researcher, never counted", "chosen": researcher_chose}
