"""Background trainings: real subprocesses on the demo pool, kept tiny (one
thread, a few hundred images) since other work shares the CPU."""
from __future__ import annotations

import os
import shutil
import signal
import time

import pytest

from cifake_folders import make_kaggle_folder
from study import jobs
from study.config import ensure_home
from study.errors import StudyError

TINY = {"model": "lenet", "data": "demo", "epochs": 1, "max_train": 200, "threads": 1, "device": "cpu"}
LONG = {**TINY, "epochs": 200, "patience": 200, "max_train": 1000}
WAIT = 300  # generous: process start-up (torch import) is slow on a busy machine


pytestmark = pytest.mark.usefixtures("no_leftover_jobs")


@pytest.fixture
def engine():
    from db import open_database
    from study.config import get_settings

    return open_database(get_settings().database_url)


def wait_until(predicate, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError("condition not reached in time")


def test_train_argv_spells_the_cli_options():
    argv = jobs.train_argv({**TINY, "filter": "srm", "augment": True, "set": {"n_conv": 2}}, "cpu")
    assert argv[:5] == ["train", "--model", "lenet", "--device", "cpu"]
    for piece in (["--filter", "srm"], ["--max-train", "200"], ["--set", "n_conv=2"]):
        assert any(argv[i:i + 2] == piece for i in range(len(argv)))
    assert "--augment" in argv
    with pytest.raises(StudyError, match="model"):
        jobs.train_argv({"data": "demo"}, "cpu")


def test_a_queued_job_cancels_at_once_and_a_filter_job_needs_a_filter(engine):
    job_id = jobs.submit(TINY, engine=engine, start_worker=False)
    assert jobs.get_job(job_id, engine)["status"] == "queued"
    assert jobs.request_cancel(job_id, engine) == "cancelled"
    with pytest.raises(StudyError, match="filter"):
        jobs.submit(TINY, kind="filter", engine=engine, start_worker=False)
    with pytest.raises(StudyError, match="no job"):
        jobs.request_cancel(9999, engine)


def test_reconcile_fails_a_running_job_whose_processes_are_gone(engine, study_home):
    from db.jobs import mark_started, set_pid
    from db.runs import create_run, get_run

    job_id = jobs.submit(TINY, engine=engine, start_worker=False)
    run_id = create_run(engine, "lenet", {})
    log = ensure_home().jobs_dir / "x.err"
    log.write_text("Traceback (most recent call last):\nRuntimeError: out of memory\n")
    mark_started(engine, job_id, run_id=run_id, log_path=str(log))
    set_pid(engine, job_id, 2**22 + 12345)  # no such process
    assert jobs.reconcile(engine) == [job_id]
    job = jobs.get_job(job_id, engine)
    assert job["status"] == "failed" and "out of memory" in job["error_tail"]
    assert get_run(engine, run_id)["status"] == "failed"


def test_a_job_runs_in_the_background_and_the_next_one_waits_its_turn(engine):
    from db.runs import get_run

    long_id = jobs.submit(LONG, engine=engine)
    tiny_id = jobs.submit(TINY, engine=engine)
    # One job per device: the second waits while the first trains.
    wait_until(lambda: jobs.progress(jobs.get_job(long_id, engine), engine)["epochs_done"] >= 1)
    assert jobs.get_job(tiny_id, engine)["status"] == "queued"
    assert jobs.request_cancel(long_id, engine) == "running"
    cancelled = jobs.wait(long_id, WAIT, engine)
    assert cancelled["status"] == "cancelled"
    assert get_run(engine, cancelled["run_id"])["status"] == "cancelled"
    done = jobs.wait(tiny_id, WAIT, engine)
    assert done["status"] == "finished", done["error_tail"]
    run = get_run(engine, done["run_id"])
    assert run["status"] == "finished" and run["checkpoint_path"] and len(run["history"]) == 1
    assert "test" in run["metrics"]


def test_crashes_end_failed_and_a_filter_job_tests_on_originals(engine):
    bad_id = jobs.submit({**TINY, "model": "no_such_model"}, engine=engine)
    filter_id = jobs.submit({**TINY, "filter": "gaussian"}, kind="filter", engine=engine)
    killed_id = jobs.submit(LONG, engine=engine)
    bad = jobs.wait(bad_id, WAIT, engine)
    assert bad["status"] == "failed"
    assert "no_such_model" in bad["error_tail"] and "exited with code 2" in bad["error_tail"]

    # A filter experiment also tests on the unfiltered images (the paper's Table 4).
    done = jobs.wait(filter_id, WAIT, engine)
    assert done["status"] == "finished", done["error_tail"]
    assert 0 <= done["result"]["original_test"]["accuracy"] <= 1

    job = wait_until(lambda: (j := jobs.get_job(killed_id, engine))["status"] == "running" and j["pid"] and j)
    time.sleep(1.0)
    os.kill(job["pid"], signal.SIGKILL)
    killed = jobs.wait(killed_id, WAIT, engine)
    assert killed["status"] == "failed" and "SIGKILL" in killed["error_tail"]


def _no_evaluation_here(monkeypatch):
    """Any dataset decoding or model evaluation in this (the page's) process fails the test."""
    import study.data.active
    import study.ml.evaluation

    def refuse(*_args, **_kwargs):
        raise AssertionError("settling a job decoded a dataset or ran a model in the polling process")

    for module, name in ((study.data.active, "load_source"), (study.ml.evaluation, "evaluate_model"),
                         (study.ml.evaluation, "open_checkpoint")):
        monkeypatch.setattr(module, name, refuse)


def test_a_filter_job_tests_on_originals_in_its_own_process(engine, monkeypatch):
    """The job's `python -m study train` process stores the test on the original
    images with its run; settling the job here (finalize) only reads it."""
    from db.runs import get_run

    _no_evaluation_here(monkeypatch)
    job_id = jobs.submit({**TINY, "filter": "gaussian"}, kind="filter", engine=engine, start_worker=False)
    # The worker's part, in this process: the training runs as a child, finalize runs here.
    assert jobs.run_job(engine, jobs.get_job(job_id, engine), poll=0.2) == "finished"
    job = jobs.get_job(job_id, engine)
    run = get_run(engine, job["run_id"])
    original = run["metrics"]["test_original"]
    assert 0 <= original["accuracy"] <= 1 and original["n"] == run["metrics"]["test"]["n"]
    assert job["result"] == {"original_test": original}
    # What the job ran: the flag is a filter job's alone.
    assert "--also-test-original" in jobs.train_argv({**TINY, "filter": "gaussian"}, "cpu", "filter")
    assert "--also-test-original" not in jobs.train_argv({**TINY, "filter": "gaussian"}, "cpu")


def test_reconcile_settles_filter_jobs_by_reading_their_runs(engine, study_home, monkeypatch):
    """A poll after the worker died: a finished run's test on the originals is
    read from its record (no dataset, no model here); a run left running is failed with its reason."""
    from db.jobs import mark_started, set_pid
    from db.runs import create_run, finish_run, get_run

    _no_evaluation_here(monkeypatch)
    original = {"split": "test", "accuracy": 0.75, "n": 8}
    settled = {}
    for name in ("finished", "skipped", "crashed"):
        params = {**TINY, "filter": "srm" if name == "skipped" else "gaussian", "seed": len(settled)}
        job_id = jobs.submit(params, kind="filter", engine=engine, start_worker=False)
        run_id = create_run(engine, "lenet", {**params, "job_id": job_id})
        log = ensure_home().jobs_dir / f"{name}.err"
        log.write_text("Traceback (most recent call last):\nRuntimeError: out of memory\n" if name == "crashed"
                       else "")
        if name != "crashed":
            test_original = original if name == "finished" else {"skipped": "the model takes 1 channel(s)"}
            finish_run(engine, run_id, "finished", metrics={"test_accuracy": 0.9, "test_original": test_original},
                       checkpoint_path=str(study_home / "gone.pt"))
        mark_started(engine, job_id, run_id=run_id, log_path=str(log))
        set_pid(engine, job_id, 2**22 + 12345 + len(settled))  # no such process
        settled[name] = (job_id, run_id)
    assert sorted(jobs.reconcile(engine)) == sorted(job_id for job_id, _ in settled.values())
    finished, skipped, crashed = (jobs.get_job(settled[k][0], engine) for k in ("finished", "skipped", "crashed"))
    assert finished["status"] == "finished" and finished["result"] == {"original_test": original}
    assert skipped["status"] == "finished" and "1 channel" in skipped["result"]["original_test"]["skipped"]
    assert crashed["status"] == "failed" and "out of memory" in crashed["error_tail"]
    assert get_run(engine, settled["crashed"][1])["status"] == "failed"


def test_jobs_cli_lists_and_cancels(engine, capsys):
    import json

    from study.cli import main

    job_id = jobs.submit(TINY, engine=engine, start_worker=False)
    assert main(["jobs", "cancel", str(job_id), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "cancelled"
    assert main(["jobs", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["jobs"][0]["status"] == "cancelled"
    assert main(["jobs", "cancel", "424242"]) == 2
    assert capsys.readouterr().err.strip() == "error: no job 424242"


# ---------------------------------------------------------------- experiments (many trainings per job)

QUICK_AUGMENT = {"table": "augment", "data": "demo", "quick": True, "epochs": 1, "max_train": 200, "threads": 1,
                 "device": "cpu"}


def test_an_experiment_job_needs_a_known_table_and_a_double_click_queues_one(engine):
    with pytest.raises(StudyError, match="sweeps, augment"):
        jobs.submit({**QUICK_AUGMENT, "table": "2"}, kind="experiment", engine=engine, start_worker=False)
    job_id = jobs.submit(QUICK_AUGMENT, kind="experiment", engine=engine, start_worker=False)
    with pytest.raises(StudyError, match=f"already queued as job {job_id}"):
        jobs.submit(QUICK_AUGMENT, kind="experiment", engine=engine, start_worker=False)
    assert [j["id"] for j in jobs.list_jobs(engine)] == [job_id]
    argv = jobs.experiment_argv(QUICK_AUGMENT, "cpu", job_id)
    assert argv[:4] == ["reproduce", "--table", "augment", "--device"] and "--quick" in argv
    assert argv[-4:] == ["--out", str(jobs.experiment_dir(job_id)), "--job-id", str(job_id)]


def test_an_experiment_runs_to_a_report_and_a_long_one_cancels(engine):
    from study.experiments.progress import read_progress

    done_id = jobs.submit(QUICK_AUGMENT, kind="experiment", engine=engine)
    long_id = jobs.submit({**QUICK_AUGMENT, "epochs": 200, "max_train": 1000}, kind="experiment", engine=engine)
    done = jobs.wait(done_id, WAIT, engine)
    assert done["status"] == "finished", done["error_tail"]
    folder = jobs.experiment_dir(done_id)
    assert done["result"]["report"] == str(folder / "report.md") and (folder / "results.json").exists()
    info = jobs.progress(done, engine)
    assert info["fraction"] == 1.0 and info["state"]["state"] == "finished" and info["state"]["total"] == 2

    # The long one: follow it into its first training's epochs, then cancel.
    wait_until(lambda: (jobs.progress(jobs.get_job(long_id, engine), engine)["state"] or {}).get("epoch", 0) >= 1)
    assert "training 1 of 2" in jobs.progress(jobs.get_job(long_id, engine), engine)["text"]
    assert jobs.request_cancel(long_id, engine) == "running"
    cancelled = jobs.wait(long_id, WAIT, engine)
    assert cancelled["status"] == "cancelled"
    assert read_progress(jobs.experiment_dir(long_id))["state"] == "cancelled"
    assert not (jobs.experiment_dir(long_id) / "report.md").exists()


def test_an_experiment_whose_data_went_missing_fails_with_its_reason(engine, tmp_path):
    with pytest.raises(StudyError, match="nowhere does not exist"):  # missing already: refused at once
        jobs.submit({**QUICK_AUGMENT, "data": str(tmp_path / "nowhere")}, kind="experiment", engine=engine)
    assert jobs.list_jobs(engine) == []
    source = make_kaggle_folder(tmp_path / "soon-gone")  # not prepared: its splits are not known yet
    job_id = jobs.submit({**QUICK_AUGMENT, "data": str(source)}, kind="experiment", engine=engine,
                         start_worker=False)
    shutil.rmtree(source)
    jobs.start_worker_process("cpu")
    failed = jobs.wait(job_id, WAIT, engine)
    assert failed["status"] == "failed"
    assert "soon-gone" in failed["error_tail"] and "exited with code 2" in failed["error_tail"]


def test_a_job_whose_data_lacks_a_split_it_needs_is_refused_before_it_is_queued(engine, tmp_path):
    from study.data.admin import prepare

    test_only = make_kaggle_folder(tmp_path / "test-pack")
    shutil.rmtree(test_only / "train")
    train_only = make_kaggle_folder(tmp_path / "train-pack")
    shutil.rmtree(train_only / "test")
    for source in (test_only, train_only):
        prepare(engine, source)  # cached: its splits are known without decoding it again
    refused = [({**TINY, "data": str(test_only)}, "train", "no train split"),
               ({**TINY, "data": str(test_only), "filter": "srm"}, "filter", "no train split"),
               ({**QUICK_AUGMENT, "data": str(test_only)}, "experiment", "no train split"),
               ({**TINY, "data": str(train_only), "filter": "srm"}, "filter", "no test split"),
               ({**QUICK_AUGMENT, "data": str(train_only)}, "experiment", "no test split")]
    for params, kind, missing in refused:
        with pytest.raises(StudyError, match=missing) as err:
            jobs.submit(params, kind=kind, engine=engine, start_worker=False)
        assert "nothing was queued" in str(err.value)
    assert jobs.list_jobs(engine) == []
    # A training needs no test split: it is tested where there is one.
    job_id = jobs.submit({**TINY, "data": str(train_only)}, engine=engine, start_worker=False)
    assert [j["id"] for j in jobs.list_jobs(engine)] == [job_id]
    # What a form offers follows the same rule: the configured source is now the train pack.
    assert jobs.data_choices("train", engine)[0] == ["demo", str(train_only)]
    offered, left_out = jobs.data_choices("filter", engine)
    assert offered == ["demo"] and len(left_out) == 1 and "no test split" in left_out[0]


def test_reconcile_settles_an_experiment_whose_processes_are_gone(engine):
    """Its worker died: the experiment is finished if its report was written, else failed."""
    from db.jobs import mark_started, set_pid

    settled = {}
    for name, wrote_report in (("done", True), ("crashed", False)):
        job_id = jobs.submit({**QUICK_AUGMENT, "seed": len(settled)}, kind="experiment", engine=engine,
                             start_worker=False)
        folder = jobs.experiment_dir(job_id)
        folder.mkdir(parents=True)
        (folder / "stderr.log").write_text("Traceback (most recent call last):\nMemoryError\n")
        if wrote_report:
            (folder / "report.md").write_text("# Reproduction of table augment\n")
        mark_started(engine, job_id, run_id=None, log_path=str(folder / "stderr.log"))
        set_pid(engine, job_id, 2**22 + 12345 + len(settled))  # no such process
        settled[name] = job_id
    assert sorted(jobs.reconcile(engine)) == sorted(settled.values())
    done, crashed = (jobs.get_job(settled[k], engine) for k in ("done", "crashed"))
    assert done["status"] == "finished" and done["result"]["report"].endswith("report.md")
    assert crashed["status"] == "failed" and "MemoryError" in crashed["error_tail"]
