"""The Sweeps and augmentation page through AppTest: the form queues an
experiment job (once, however often it is clicked), a running one shows its
progress and cancels, and a report (the page's or a headless one) is drawn as
tables and charts beside the paper's statements."""
from __future__ import annotations

import time

import pytest

from apptest_helpers import researcher_page, texts
from cifake_folders import prepare_source
from study import jobs
from study.cli import main

WAIT = 300
pytestmark = pytest.mark.usefixtures("no_leftover_jobs")


def fill_form(at, **values) -> None:
    at.radio(key="ex-table").set_value(values.get("table", "augment"))
    at.selectbox(key="ex-data").set_value("demo")
    at.selectbox(key="ex-device").set_value("cpu")
    at.number_input(key="ex-epochs").set_value(values.get("epochs", 1))
    at.number_input(key="ex-max-train").set_value(values.get("max_train", 200))
    at.number_input(key="ex-threads").set_value(1)
    at.checkbox(key="ex-quick").check()


def test_the_form_queues_one_experiment_however_often_it_is_clicked(study_home, monkeypatch):
    monkeypatch.setattr(jobs, "start_worker_process", lambda device: 0)  # queue only
    at = researcher_page("experiments.py").run()
    assert not at.exception
    assert "No sweep or augmentation report yet" in texts(at)
    assert "A sweep trains 26 models" in texts(at)  # 18 grid + 4 L2 + 4 dropout (0 reuses the grid's best)
    fill_form(at, table="sweeps")
    at.button[0].click().run()
    assert "queued" in texts(at)
    at.button[0].click().run()  # the double click
    assert at.error and "already queued" in at.error[0].value
    queued = jobs.list_jobs()
    assert len(queued) == 1 and queued[0]["kind"] == "experiment"
    assert queued[0]["params"]["table"] == "sweeps" and "model" not in queued[0]["params"]


def test_a_running_experiment_shows_progress_and_cancels(study_home):
    at = researcher_page("experiments.py").run()
    fill_form(at, epochs=200, max_train=1000)
    at.button[0].click().run()
    job_id = jobs.list_jobs()[0]["id"]
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:  # the fragment polls; here we rerun by hand
        if (jobs.progress(jobs.get_job(job_id))["state"] or {}).get("epoch", 0) >= 1:
            break
        time.sleep(1)
    at.run()
    bars = at.get("progress")
    assert bars and "training 1 of 2" in str(bars[0].proto.text), texts(at)
    [cancel] = [b for b in at.button if b.label == "Cancel"]
    cancel.click().run()
    assert not at.exception
    assert jobs.wait(job_id, WAIT)["status"] == "cancelled"
    at.run()
    assert "No experiment is running or queued" in texts(at)


def test_reports_are_drawn_beside_the_paper(study_home):
    from study.config import ensure_home

    # A headless run, as a researcher would start it from a terminal.
    assert main(["reproduce", "--table", "sweeps", "--quick", "--data", "demo", "--epochs", "1",
                 "--max-train", "200", "--threads", "1", "--out", str(ensure_home().reports_dir / "cli-sweep")]) == 0
    broken = ensure_home().reports_dir / "interrupted"
    broken.mkdir()
    (broken / "results.json").write_text("{not json")
    at = researcher_page("experiments.py").run()
    assert not at.exception
    shown = texts(at)
    assert "Synthetic demo pool, not CIFAKE" in shown
    for title in ("the paper's statements and ours", "Figure 5: Layers and units", "Figure 6: L2 strength",
                  "Figure 7: Dropout rate"):
        assert title in shown
    assert "| the paper | ours |" in shown and "with 2c-4d-512u | 2c-4d-512u is not in our grid" in shown
    assert len(at.get("plotly_chart")) == 3
    grid = at.dataframe[0].value
    assert len(grid) == 4 and grid["test %"].between(0, 100).all()

    picker = at.selectbox(key="ex-report")
    broken_at = next(i for i, label in enumerate(picker.options) if "interrupted" in label)
    picker.select_index(broken_at).run()
    assert not at.exception and "unreadable results.json" in texts(at)  # listed with its reason, not hidden


@pytest.mark.parametrize("page, key", [("experiments.py", "ex-data"), ("filters.py", "fx-data")])
def test_a_source_without_a_train_split_is_not_offered_for_experiments(study_home, tmp_path, monkeypatch, page,
                                                                        key):
    monkeypatch.setattr(jobs, "start_worker_process", lambda device: 0)  # queue only
    source = prepare_source(tmp_path / "cifake", splits=("test",))  # only CIFAKE's test pack
    at = researcher_page(page).run()
    assert not at.exception
    assert at.selectbox(key=key).options == ["demo (synthetic, not CIFAKE)"]
    assert f"Not offered: the dataset {source} has only the test split, no train split" in texts(at)
    at.selectbox(key=key.replace("data", "device")).set_value("cpu")
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert [job["params"]["data"] for job in jobs.list_jobs()] == ["demo"]  # nothing on the test-only source

