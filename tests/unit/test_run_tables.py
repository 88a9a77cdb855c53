"""What the Training and Filter experiments pages show, asked of the wings
directly: the finished-runs table (study.ml.runs), one run's detail, and the
one comparison with the paper's Tables 3 and 4 (study.experiments.view) that
the Filter page's job table and the written reports both use."""
from __future__ import annotations

import pytest

from db import open_database
from db.jobs import add_job, end_job, mark_started
from db.runs import create_run, finish_run, record_epoch
from study import paper
from study.config import ensure_home
from study.experiments.view import (
    TABLE3_COLUMNS,
    TABLE4_COLUMNS,
    filter_comparison,
    filter_results,
    sections,
)
from study.ml import runs


@pytest.fixture
def engine(study_home):
    return open_database(ensure_home().database_url)


def _test_metrics(accuracy: float) -> dict:
    return {"accuracy": accuracy, "n": 200, "confusion_matrix": [[90, 10], [20, 80]], "macro_f1": 0.8495,
            "per_class": {"REAL": {"precision": 0.818181818, "recall": 0.9, "f1-score": 0.857142857, "support": 100},
                          "FAKE": {"precision": 0.888888889, "recall": 0.8, "f1-score": 0.842105263, "support": 100}}}


def _finished(engine, model="lenet", *, config=None, source="demo", test_accuracy=0.85, extra=None) -> int:
    run_id = create_run(engine, model, config or {"data": source}, dataset_source=source, device="cpu")
    for epoch in (1, 2):
        record_epoch(engine, run_id, {"epoch": epoch, "train_acc": 0.8, "val_acc": 0.75})
    finish_run(engine, run_id, "finished", checkpoint_path="/tmp/x.pt",
               metrics={"train_acc": 0.9123, "val_acc": 0.8765, "test_accuracy": test_accuracy,
                        "test": _test_metrics(test_accuracy), **(extra or {})})
    return run_id


def test_finished_runs_are_one_row_each_newest_first_without_the_running_ones(engine):
    first = _finished(engine, config={"data": "demo", "filter": "median"})
    failed = create_run(engine, "cnn", {"data": "demo"}, dataset_source="demo")
    finish_run(engine, failed, "failed", error="ValueError: boom")
    create_run(engine, "lenet", {"data": "demo"}, dataset_source="demo")  # still running: not finished

    rows = runs.finished_runs(engine)
    assert [r["run"] for r in rows] == [failed, first]
    newest, done = rows
    assert newest["status"] == "failed" and newest["model"] == "cnn" and newest["test acc"] is None
    assert done["filter"] == "median" and done["data"] == "demo" and done["device"] == "cpu"
    assert done["epochs"] == 2
    # Percent, as numbers (so that the column sorts as numbers), two decimals as the paper gives them
    assert (done["train acc"], done["val acc"], done["test acc"]) == (91.23, 87.65, 85.0)
    assert done["finished"] is not None
    unfiltered = _finished(engine)
    assert runs.finished_runs(engine)[0]["run"] == unfiltered and runs.finished_runs(engine)[0]["filter"] == "none"


def test_a_failed_runs_detail_shows_its_jobs_error_output_before_the_runs_own(engine):
    run_id = create_run(engine, "cnn", {"data": "demo"}, dataset_source="demo")
    finish_run(engine, run_id, "failed", error="RuntimeError: short")
    assert runs.run_detail(engine, run_id).error == "RuntimeError: short"

    job = {"id": 7, "run_id": run_id, "error_tail": "Traceback …\nRuntimeError: the whole story"}
    detail = runs.run_detail(engine, run_id, [job])
    assert detail.status == "failed" and detail.error.endswith("the whole story")
    assert not detail.has_checkpoint and detail.test is None
    assert runs.run_detail(engine, 999) is None


def test_a_finished_runs_detail_has_its_confusion_matrix_report_and_original_test(engine):
    run_id = _finished(engine, config={"data": "demo", "filter": "gaussian"},
                       extra={"test_original": {"accuracy": 0.61, "n": 200}})
    detail = runs.run_detail(engine, run_id)
    assert detail.has_checkpoint and detail.error is None
    assert detail.test["accuracy"] == 0.85
    assert detail.confusion == [[90, 10], [20, 80]]
    assert detail.per_class_rows[0] == {"class": "REAL", "precision": 0.8182, "recall": 0.9, "f1-score": 0.8571,
                                        "support": 100}
    assert detail.original == {"accuracy": 0.61, "n": 200}


def test_the_original_test_comes_from_the_run_or_else_from_an_older_jobs_result():
    assert runs.original_test({"metrics": {"test_original": {"accuracy": 0.5}}}) == {"accuracy": 0.5}
    job = {"result": {"original_test": {"skipped": "the model takes 1 channel(s)"}}}
    assert runs.original_test({"metrics": {}}, job) == {"skipped": "the model takes 1 channel(s)"}
    assert runs.original_test(None, {"result": {"original_test_error": "OSError: gone"}}) == {"error": "OSError: gone"}
    assert runs.original_test(None, None) == {}


def test_one_filter_beside_the_papers_tables_3_and_4():
    row = filter_comparison("srm", {"train": 90.5, "val": 88.25, "test": 87.0, "test_original": None,
                                    "note": "the model takes 1 channel(s); the original images have 3"})
    assert row["filter"] == "SRM Filter" and row["paper model"] == paper.TABLE3_MODEL["srm"]
    assert (row["paper train %"], row["paper val %"], row["paper test %"]) == paper.TABLE3["srm"]
    assert row["paper test %"] == 85.47
    assert (row["our train %"], row["our val %"], row["our test %"]) == (90.5, 88.25, 87.0)
    assert row["paper test on original %"] == paper.TABLE4.get("srm")
    assert row["our test on original %"] == "– (the model takes 1 channel(s); the original images have 3)"

    measured = filter_comparison("median", {"train": 99.0, "val": 95.0, "test": 94.0, "test_original": 71.3})
    assert measured["our test on original %"] == 71.3 and measured["paper test on original %"] == paper.TABLE4["median"]
    assert filter_comparison("gaussian", {})["our test on original %"] == "–"  # not measured (yet)


def test_the_filter_page_rows_and_the_report_tables_are_the_same_comparison(engine):
    run_id = _finished(engine, config={"data": "demo", "filter": "median"}, test_accuracy=0.9412,
                       extra={"test_original": {"accuracy": 0.7135}})
    done = add_job(engine, kind="filter", label="lenet · median", device="cpu",
                   params={"model": "lenet", "filter": "median", "data": "demo"})
    mark_started(engine, done, run_id=run_id, log_path="/tmp/log")
    end_job(engine, done, "finished")
    queued = add_job(engine, kind="filter", label="cnn · srm", device="cpu",
                     params={"model": "cnn", "filter": "srm", "data": "demo"})
    add_job(engine, kind="train", label="not a filter job", device="cpu", params={"model": "lenet"})
    from db.jobs import list_jobs

    page3, page4 = filter_results(engine, list_jobs(engine))
    assert [r["job"] for r in page3] == [r["job"] for r in page4] == [queued, done]  # newest first, no training job
    waiting, median = page3
    assert waiting["status"] == "queued" and waiting["model"] == "cnn" and waiting["our test %"] is None
    assert waiting["paper test %"] == 85.47 and page4[0]["our test on original %"] == "–"
    assert (median["our train %"], median["our val %"], median["our test %"]) == (91.23, 87.65, 94.12)
    assert page4[1]["our test on original %"] == 71.35
    assert tuple(median) == ("job", "status", "model", *TABLE3_COLUMNS)
    assert tuple(page4[1]) == ("job", "status", "model", *TABLE4_COLUMNS)

    # A report of the same numbers draws the very same Table 3 and Table 4 lines.
    ours = {"train": 91.23, "val": 87.65, "test": 94.12, "test_original": 71.35}
    results = {"rows": {name: ours for name in paper.TABLE3},
               "evidence": {"plan": {"table": "3", "model": "lenet"}}}
    table3, table4 = sections(results)
    report_median = next(r for r in table3.rows if r["filter"] == "Median Blur")
    assert tuple(report_median) == TABLE3_COLUMNS
    assert report_median == {column: median[column] for column in TABLE3_COLUMNS}
    assert next(r for r in table4.rows if r["filter"] == "Median Blur") == {c: page4[1][c] for c in TABLE4_COLUMNS}
    assert [r["paper test %"] for r in table3.rows] == [50.0, 95.31, 92.88, 85.47]
