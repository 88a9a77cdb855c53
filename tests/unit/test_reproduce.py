"""`python -m study reproduce`: quick runs on the synthetic demo pool produce a
complete report (markdown, results, offline HTML charts) with the paper's numbers."""
from __future__ import annotations

import json
import shutil

import pytest

from cifake_folders import make_kaggle_folder
from study import paper
from study.cli import main
from study.data.demo import demo_pool
from study.errors import StudyError
from study.experiments.plan import Plan
from study.experiments.runner import reproduce
from study.experiments.progress import ExperimentCancelled, read_progress
from study.experiments.view import sweep_claims


@pytest.fixture(scope="module")
def pool():
    return demo_pool(n_train=800, n_test=200)


def test_quick_filter_tables_write_a_complete_report(tmp_path, capsys):
    out = tmp_path / "t3"
    assert main(["reproduce", "--table", "3", "--quick", "--data", "demo", "--out", str(out),
                 "--threads", "1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["report"] == str(out / "report.md")
    report = (out / "report.md").read_text()
    for name, (train, val, test) in paper.TABLE3.items():
        assert f"{test:.2f}" in report, name  # the paper's number beside ours
    for value in paper.TABLE4.values():
        assert f"{value:.2f}" in report
    assert "synthetic demo pool, not CIFAKE" in report and "wall time" in report
    assert "cannot take the original RGB images" in report  # SRM has no Table 4 row
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert set(rows) == {"grayworld", "gaussian", "median", "srm", "none"}
    assert all(0 <= rows[n]["test"] <= 100 for n in rows)
    chart = (out / "tables3-4.html").read_text()
    assert "plotly.min.js" in chart and (out / "plotly.min.js").exists()  # opens offline


def test_quick_sweeps_cover_the_grid_l2_and_dropout(tmp_path, pool):
    done = reproduce("sweeps", pool, out=tmp_path, quick=True, log=lambda m: None, threads=1,
                     max_train=400, epochs=1, l2=[0.0, 0.0001])
    results = done["results"]
    assert len(results["grid"]) == 4 and len(results["l2"]) == 2 and len(results["dropout"]) == 2
    # L2 0 and dropout 0 are the grid's best model itself: reused, not trained again.
    best = next(r for r in results["grid"] if all(r[k] == v for k, v in results["best"].items()))
    assert results["l2"][0]["test"] == best["test"] and "reused" in results["l2"][0]
    progress = read_progress(tmp_path)
    assert progress["state"] == "finished" and progress["done"] == progress["total"] == 4 + 1 + 1
    report = (tmp_path / "report.md").read_text()
    assert "Layers and units" in report and "L2 strength" in report and "Dropout" in report
    assert "| 0.0001 |" in report  # a setting is printed as given, not rounded to 0.00
    for name in ("figure5-layers", "figure6-l2", "figure7-dropout"):
        assert (tmp_path / f"{name}.html").exists()


def test_a_stop_request_cancels_a_reproduction_and_keeps_what_finished(tmp_path, pool):
    asked = []

    def stop_in_second_training():
        asked.append(1)
        return read_progress(tmp_path)["done"] >= 1

    with pytest.raises(ExperimentCancelled, match="1 of 2 trainings had finished"):
        reproduce("augment", pool, out=tmp_path, quick=True, log=lambda m: None, threads=1, max_train=400,
                  epochs=3, should_stop=stop_in_second_training)
    progress = read_progress(tmp_path)
    assert progress["state"] == "cancelled" and [f["label"] for f in progress["finished"]] == ["lenet, plain"]
    assert not (tmp_path / "report.md").exists() and asked


def test_the_sweep_claims_answer_the_papers_statements():
    def row(c, d, u, test):
        return {"n_conv": c, "n_dense": d, "dense_units": u, "val": test, "test": test}

    results = {"grid": [row(2, 2, 512, 70.0), row(2, 4, 512, 91.0), row(1, 1, 128, 80.0)],
               "best": {"n_conv": 2, "n_dense": 4, "dense_units": 512},
               "l2": [{"l2": 0.001, "val": 90.0, "test": 90.5}, {"l2": 0.1, "val": 50.0, "test": 50.0}],
               "dropout": [{"dropout": 0.5, "val": 88.0, "test": 88.0}]}
    worst, best, l2, dropout = sweep_claims(results)
    assert worst["ours"] == "2c-2d-512u: test 70.00%, rank 1 of 3 from the worst; our worst: 2c-2d-512u at 70.00%"
    assert best["ours"] == "2c-4d-512u: test 91.00%, rank 3 of 3 from the worst; our best: 2c-4d-512u at 91.00%"
    assert l2["ours"] == "L2 0.001: test 90.50%; L2 0.1: test 50.00%"
    assert dropout["ours"] == "0.2 is not in our dropout list"


def test_quick_augmentation_compares_plain_and_augmented_training(tmp_path, pool):
    done = reproduce("augment", pool, out=tmp_path, quick=True, log=lambda m: None, threads=1,
                     max_train=400, epochs=1)
    rows = done["results"]["rows"]
    assert set(rows) == {"plain", "augmented"} and all(0 <= r["test"] <= 100 for r in rows.values())
    report = (tmp_path / "report.md").read_text()
    assert "Augmentation" in report and f"{paper.EFFICIENTNET_AUGMENTED_TEST:.2f}" in report
    assert (tmp_path / "augmentation.html").exists()


def test_table1_says_plainly_that_pretrained_weights_are_unavailable(tmp_path, pool, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-cache"))
    done = reproduce("1", pool, out=tmp_path, quick=True, log=lambda m: None)
    report = (tmp_path / "report.md").read_text()
    assert "Pretrained ImageNet weights are unavailable offline" in report
    assert all("unavailable" in row for row in done["results"]["rows"].values())
    assert "98.65" in report  # ViT, the paper's best


def test_a_bad_table_names_the_choices():
    with pytest.raises(StudyError, match="expected one of 1, 3, 4, sweeps"):
        Plan.make("2")


@pytest.mark.parametrize("table, missing", [("3", "test"), ("sweeps", "train"), ("augment", "test")])
def test_a_source_without_a_split_stops_before_any_training(tmp_path, capsys, table, missing):
    source = make_kaggle_folder(tmp_path / "one-pack")
    shutil.rmtree(source / missing)
    out = tmp_path / "report"
    assert main(["reproduce", "--table", table, "--quick", "--data", str(source), "--out", str(out)]) == 2
    printed = capsys.readouterr()
    lines = [line for line in printed.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and f"no {missing} split" in lines[0], printed.err
    assert printed.out == "" and not out.exists()  # no report folder, no progress.json

