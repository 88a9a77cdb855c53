"""Where a reproduction stands, in OUT/progress.json, so a page (or `cat`) can
follow a run of many trainings: how many are done of how many, the one under
way and its epoch, and the rows finished so far. Written atomically (temp file
then rename), so a reader never sees half a file.

The same object carries the stop hook: a reproduction started as a background
job polls its job's cancel flag through it, between batches."""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from study.errors import StudyError

PROGRESS_FILE = "progress.json"


class ExperimentCancelled(StudyError):
    """A reproduction stopped on request; what finished is in progress.json."""


class Tracker:
    """The training loop's callbacks (study.ml.training.TrainCallbacks, by duck
    typing: importing it would load torch for every reader of progress.json)."""

    def __init__(self, out: Path | None, table: str, total: int, should_stop: Callable[[], bool] | None = None):
        self.path = None if out is None else Path(out) / PROGRESS_FILE
        self.state = {"table": table, "state": "running", "total": total, "done": 0, "current": None,
                      "epoch": 0, "epochs": 0, "finished": []}
        self._should_stop = should_stop
        self.write()

    # ------------------------------------------------------------ a reproduction's steps
    def begin(self, label: str, epochs: int) -> None:
        self.state.update(current=label, epoch=0, epochs=epochs)
        self.write()

    def finish(self, label: str, row: dict) -> None:
        self.state["done"] += 1
        self.state["finished"].append({"label": label, **{k: row.get(k) for k in ("train", "val", "test")}})
        self.state.update(current=None, epoch=0)
        self.write()

    def end(self, state: str) -> None:
        self.state.update(state=state, current=None)
        self.write()

    # ------------------------------------------------------------ TrainCallbacks
    def on_start(self, info: dict) -> None: ...

    def on_batch(self, epoch: int, batch: int, n_batches: int) -> None: ...

    def on_epoch(self, record: dict) -> None:
        self.state["epoch"] = record["epoch"]
        self.write()

    def should_stop(self) -> bool:
        return bool(self._should_stop and self._should_stop())

    def write(self) -> None:
        if self.path is None:
            return
        self.state["updated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, default=str))
        os.replace(tmp, self.path)


def read_progress(out: Path) -> dict | None:
    """The progress of the reproduction writing into `out`; None before it starts."""
    try:
        return json.loads((Path(out) / PROGRESS_FILE).read_text())
    except (OSError, ValueError):
        return None


def fraction(progress: dict | None) -> float:
    """Share of the work done: finished trainings plus the epochs of the current one."""
    if not progress or not progress.get("total"):
        return 0.0
    partial = progress["epoch"] / progress["epochs"] if progress.get("current") and progress.get("epochs") else 0.0
    return min(1.0, (progress["done"] + partial) / progress["total"])


def throttled(check: Callable[[], bool], every: float = 2.0) -> Callable[[], bool]:
    """A should_stop polled between batches must not query a database each time."""
    last, answer = [-float("inf")], [False]

    def poll() -> bool:
        now = time.monotonic()
        if not answer[0] and now - last[0] >= every:
            last[0], answer[0] = now, bool(check())
        return answer[0]

    return poll
