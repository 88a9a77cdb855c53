"""The Training page through AppTest: a job started from the form runs in the
background, shows its progress, and a cancelled job ends as cancelled."""
from __future__ import annotations

import time

import pytest

from apptest_helpers import researcher_page, texts
from cifake_folders import prepare_source
from study import jobs

WAIT = 300
pytestmark = pytest.mark.usefixtures("no_leftover_jobs")


def test_an_empty_page_says_how_to_start(study_home):
    at = researcher_page("training.py").run()
    assert not at.exception
    assert "No job is running or queued" in texts(at) and "No finished runs yet" in texts(at)


def test_start_watch_cancel_and_read_runs(study_home):
    at = researcher_page("training.py").run()
    at.selectbox(key="train-model").set_value("lenet")
    at.selectbox(key="train-data").set_value("demo")
    at.selectbox(key="train-device").set_value("cpu")
    at.number_input(key="train-epochs").set_value(200)  # long enough to cancel
    at.number_input(key="train-max-train").set_value(600)
    at.number_input(key="train-threads").set_value(1)
    at.button[0].click().run()
    assert not at.exception
    assert "queued" in texts(at)
    job_id = jobs.list_jobs()[0]["id"]

    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:  # the fragment polls; here we rerun by hand
        at.run()
        if jobs.progress(jobs.get_job(job_id))["epochs_done"] >= 1:
            break
        time.sleep(1)
    at.run()
    assert at.get("progress"), texts(at)
    assert at.get("plotly_chart")  # the live curves

    cancel = [b for b in at.button if b.label == "Cancel"]
    cancel[0].click().run()
    assert not at.exception
    assert jobs.wait(job_id, WAIT)["status"] == "cancelled"
    at.run()
    table = at.dataframe[0].value
    assert list(table["status"]) == ["cancelled"] and list(table["model"]) == ["lenet"]
    assert "No job is running or queued" in texts(at)


def test_filters_page_shows_the_table2_grid_and_queues_an_experiment(study_home, monkeypatch):
    monkeypatch.setattr(jobs, "start_worker_process", lambda device: 0)  # queue only: no training here
    at = researcher_page("filters.py").run()
    assert not at.exception
    assert "synthetic" in texts(at)  # the demo pool is marked as such
    labels = [m.value for m in at.markdown]
    for label in ("Original", "Gray World", "Gaussian Blur", "Median Blur", "SRM Filter", "**Fake**", "**Real**"):
        assert label in labels
    assert len(at.get("image")) == 10  # 5 rows x (FAKE, REAL)
    assert "No single-filter experiment yet" in texts(at) and "No report yet" in texts(at)

    at.selectbox(key="fx-filter").set_value("srm")
    at.selectbox(key="fx-device").set_value("cpu")
    at.button[0].click().run()
    assert not at.exception and "queued" in texts(at)
    job = jobs.list_jobs()[0]
    assert job["kind"] == "filter" and job["params"]["filter"] == "srm" and job["status"] == "queued"
    table = at.dataframe[0].value
    assert list(table["filter"]) == ["SRM Filter"] and list(table["paper test %"]) == [85.47]


def test_filters_page_runs_all_four_filters_as_one_job_and_draws_its_report(study_home, monkeypatch):
    from study.cli import main
    from study.config import ensure_home

    monkeypatch.setattr(jobs, "start_worker_process", lambda device: 0)  # queue only
    assert main(["reproduce", "--table", "3", "--quick", "--data", "demo", "--epochs", "1", "--max-train", "200",
                 "--threads", "1", "--out", str(ensure_home().reports_dir / "t3")]) == 0
    at = researcher_page("filters.py").run()
    at.checkbox(key="fx-all").check()
    at.selectbox(key="fx-device").set_value("cpu")
    at.button[0].click().run()
    assert not at.exception and "queued" in texts(at)
    job = jobs.list_jobs()[0]
    assert job["kind"] == "experiment" and job["params"]["table"] == "3" and "filter" not in job["params"]

    shown = texts(at)
    assert "Table 3: trained and tested on filtered images" in shown and "Table 4" in shown
    table3 = next(d.value for d in at.dataframe if "paper test %" in d.value.columns)
    assert list(table3["paper test %"]) == [50.0, 95.31, 92.88, 85.47]
    assert table3["our test %"].between(0, 100).all()


def test_a_source_without_a_train_split_is_not_offered_and_a_stale_form_is_refused(study_home, tmp_path,
                                                                                   monkeypatch):
    monkeypatch.setattr(jobs, "start_worker_process", lambda device: 0)  # queue only
    source = prepare_source(tmp_path / "cifake")
    at = researcher_page("training.py").run()
    data = at.selectbox(key="train-data")
    assert data.value == source  # a full CIFAKE is offered, and chosen by default

    prepare_source(tmp_path / "cifake", splits=("test",))  # only the test pack now, the form still open
    at.button[0].click().run()
    assert not at.exception
    assert len(at.error) == 1 and "has only the test split, no train split" in at.error[0].value
    assert "nothing was queued" in at.error[0].value
    assert jobs.list_jobs() == []

    at = researcher_page("training.py").run()  # a fresh visit: not offered at all, and the page says why
    assert at.selectbox(key="train-data").options == ["demo (synthetic, not CIFAKE)"]
    assert f"Not offered: the dataset {source} has only the test split" in texts(at)

