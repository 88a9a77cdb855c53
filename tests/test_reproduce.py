"""`python -m study reproduce`: quick runs on the synthetic demo pool produce a
complete report (markdown, results, offline HTML charts) with the paper's numbers."""
from __future__ import annotations

import json

import pytest

from study import paper
from study.cli import main
from study.demo import demo_pool
from study.errors import StudyError
from study.reproduce import Plan, reproduce


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
                     max_train=400, epochs=1)
    results = done["results"]
    assert len(results["grid"]) == 4 and len(results["l2"]) == 2 and len(results["dropout"]) == 2
    report = (tmp_path / "report.md").read_text()
    assert "Layers and units" in report and "L2 strength" in report and "Dropout" in report
    for name in ("figure5-layers", "figure6-l2", "figure7-dropout"):
        assert (tmp_path / f"{name}.html").exists()


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
