"""The records of training runs as the pages and jobs read them (the rows live
in db/runs.py): a run by id, the recent runs, and the runs as a researcher
reads them: one row per ended run, and one run's test figures in detail.
Accuracies in rows are percentages as numbers (None where not measured); the pages format them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from db import runs as db_runs
from study.paper import percent

ENDED = ("finished", "failed", "cancelled")


def get_run(engine: Engine, run_id: int) -> dict | None:
    return db_runs.get_run(engine, run_id)


def list_runs(engine: Engine, *, status: str | None = None, limit: int = 100) -> list[dict]:
    """Newest first."""
    return db_runs.list_runs(engine, status=status, limit=limit)


def original_test(run: dict | None, job: dict | None = None) -> dict:
    """A filter run's test on the ORIGINAL test images (the paper's Table 4):
    its metrics ({"accuracy", ...}), {"skipped": why}, {"error": why}, or {} when
    it was not measured. The job's process stores it with the run
    (metrics["test_original"]); a job settled before that kept it in its result."""
    stored = ((run or {}).get("metrics") or {}).get("test_original")
    if stored:
        return dict(stored)
    result = (job or {}).get("result") or {}
    if result.get("original_test"):
        return dict(result["original_test"])
    if result.get("original_test_error"):
        return {"error": result["original_test_error"]}
    return {}


def finished_runs(engine: Engine, *, limit: int = 200) -> list[dict]:
    """The ended runs (finished, failed, cancelled), newest first, one row each
    as the Training page's table shows it: run, model, status, filter, data,
    device, epochs run, train/val/test accuracy (percent), finished."""
    rows = []
    for run in list_runs(engine, limit=limit):
        if run["status"] not in ENDED:
            continue
        metrics, config = run["metrics"] or {}, run["config"] or {}
        rows.append({"run": run["id"], "model": run["model"], "status": run["status"],
                     "filter": config.get("filter") or "none",
                     "data": run["dataset_source"] or config.get("data") or "",
                     "device": run["device"] or "", "epochs": len(run["history"] or []),
                     "train acc": percent(metrics.get("train_acc")), "val acc": percent(metrics.get("val_acc")),
                     "test acc": percent(metrics.get("test_accuracy")), "finished": run["finished_at"]})
    return rows


@dataclass(frozen=True)
class UsableRun:
    """A finished run whose checkpoint is on disk: a model that can be asked (the
    hints of a survey set). test_accuracy: a fraction, None if not measured."""

    run_id: int
    model: str
    data: str
    test_accuracy: float | None
    finished_at: object
    checkpoint_path: str = ""


def usable_runs(engine: Engine, *, limit: int = 500) -> list[UsableRun]:
    """The finished runs whose checkpoint file still exists, newest first (what
    study.survey.hints.hint_run accepts)."""
    usable = []
    for run in list_runs(engine, status="finished", limit=limit):
        path = run["checkpoint_path"]
        if path and Path(path).is_file():
            usable.append(UsableRun(int(run["id"]), run["model"],
                                    run["dataset_source"] or (run["config"] or {}).get("data") or "",
                                    (run["metrics"] or {}).get("test_accuracy"), run["finished_at"], str(path)))
    return usable


@dataclass(frozen=True)
class RunDetail:
    """One ended run as its detail view shows it."""
    run_id: int
    status: str
    error: str | None  # a failed run: the end of its job's error output, else the run's own error
    test: dict | None  # evaluation metrics on the test split (accuracy, n, confusion_matrix, per_class, ...)
    original: dict  # original_test(): the test on unfiltered images, {} when not measured
    has_checkpoint: bool  # finished with a checkpoint: Live predictions can load it

    @property
    def confusion(self) -> list[list[int]]:
        """[[TN, FP], [FN, TP]]: rows true REAL, FAKE; columns predicted REAL, FAKE."""
        return self.test["confusion_matrix"]

    @property
    def per_class_rows(self) -> list[dict]:
        """The classification report, one row per class, floats to four decimals."""
        return [{"class": name, **{k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}}
                for name, figures in self.test["per_class"].items()]


def run_detail(engine: Engine, run_id: int, jobs: list[dict] = ()) -> RunDetail | None:
    """The run's detail, using its job (among `jobs`, as study.jobs lists them)
    for a failed run's error output and an older filter job's original test."""
    run = get_run(engine, run_id)
    if run is None:
        return None
    job = next((j for j in jobs if j.get("run_id") == run_id), None)
    error = None
    if run["status"] == "failed":
        error = (job or {}).get("error_tail") or run["error"] or "no error output"
    return RunDetail(run_id=run["id"], status=run["status"], error=error,
                     test=(run["metrics"] or {}).get("test") or None, original=original_test(run, job),
                     has_checkpoint=run["status"] == "finished" and bool(run["checkpoint_path"]))
