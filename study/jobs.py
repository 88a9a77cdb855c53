"""Background trainings that outlive the page that started them.

Design (the simplest that survives reruns, page switches and a closed tab):
- submit() writes a queued row (db.jobs) and starts a *worker* for the job's
  device: `python -m study jobs worker --device D`, in its own session, so
  nothing the Streamlit script does can kill it.
- A worker holds an exclusive file lock STUDY_HOME/jobs/worker-D.lock while it
  lives: one worker, hence one running job, per device. It takes the oldest
  queued job, creates its TrainingRun record, runs
  `python -m study train ... --run-id R --json` as a child (stdout and stderr
  to STUDY_HOME/jobs/<job>.out|.err), and exits when the queue is empty. A
  second worker for the same device gives up after a short wait; the first one
  looks at the queue once more after releasing its lock, so a job submitted in
  between is never stranded.
- Cancel: request_cancel() sets the run's cancel flag, which the training loop
  polls (it stops cleanly, status "cancelled"); a child still alive after
  `grace` seconds gets SIGTERM, then SIGKILL.
- A child that ends without finishing its run (a crash, kill -9, a bad
  argument) marks run and job "failed" with the last lines of its stderr.
- A job's process does all of its work: a "filter" job's training also tests
  on the original test images (`--also-test-original`, the paper's Table 4)
  and stores that with its run. Settling a job (finalize) only reads records
  and logs, never decodes data or runs a model, since a page poll may do it.
- reconcile() (the pages call it when they poll) repairs what a dead worker
  left behind and restarts a worker for a queue that has none.
- kind "experiment" runs a whole reproduction instead of one training
  (`python -m study reproduce --table T --out STUDY_HOME/reports/job-<id>
  --job-id <id>`): no run record; it follows its own progress.json and polls
  the job's cancel flag itself. It is finished when its report is written.
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from db import jobs as db_jobs
from db import runs as db_runs
from study.config import ensure_home
from study.data.active import DEMO_SOURCE, configured_source
from study.data.cache import CACHE_VERSION, cache_paths, source_fingerprint
from study.data.datasets import default_cache_dir
from study.data.image_sets import is_image_set
from study.data.image_sets import sources as image_set_sources
from study.database import study_engine
from study.errors import DatasetError, StudyError
from study.experiments.progress import fraction, read_progress
from study.labels import CLASS_NAMES
from study.ml.devices import pick_device
from study.ml.recipe import TrainConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
TAIL_LINES = 25
GRACE_SECONDS = 15.0
POLL_SECONDS = 0.5

KINDS = ("train", "filter", "experiment")
# The tables a background experiment may run (4 is the same run as 3).
EXPERIMENT_TABLES = ("sweeps", "augment", "3", "1")
_EXPERIMENT_FLAGS = {"data": "--data", "model": "--model", "epochs": "--epochs", "max_train": "--max-train",
                     "seed": "--seed", "threads": "--threads"}

# TrainConfig field -> `python -m study train` flag; booleans are switches.
_FLAGS = {
    "data": "--data", "epochs": "--epochs", "batch_size": "--batch-size", "lr": "--lr",
    "weight_decay": "--weight-decay", "val_split": "--val-split", "patience": "--patience", "seed": "--seed",
    "filter": "--filter", "max_train": "--max-train", "threads": "--threads", "resolution": "--resolution",
}


# ---------------------------------------------------------------- small helpers

def resolve_device(requested: str | None) -> str:
    """The queue a job joins: 'auto' becomes the device it would train on."""
    device = pick_device(requested or "auto")
    if device.type == "cuda":
        return f"cuda:{device.index or 0}"
    return device.type


def _safe(device: str) -> str:
    return device.replace(":", "-").replace("/", "-")


def train_argv(params: dict, device: str, kind: str = "train") -> list[str]:
    """The training's command line after `python -m study`; a filter
    experiment's also tests on the original images, in the same process."""
    if not params.get("model"):
        raise StudyError("a training job needs a model")
    argv = ["train", "--model", str(params["model"]), "--device", device]
    if kind == "filter":
        argv.append("--also-test-original")
    for key, flag in _FLAGS.items():
        if params.get(key) is not None and params.get(key) != "":
            argv += [flag, str(params[key])]
    augment = params.get("augment")
    if augment is True:
        argv.append("--augment")  # the paper's augmentation, as the switch always meant
    elif augment:
        argv += ["--augment", str(augment)]
    if params.get("pretrained") is False:
        argv.append("--no-pretrained")
    for key, value in (params.get("set") or {}).items():
        argv += ["--set", f"{key}={json.dumps(value)}"]
    return argv


def experiment_dir(job_id: int) -> Path:
    """Where an experiment job writes its report (STUDY_HOME/reports/job-<id>)."""
    return ensure_home().reports_dir / f"job-{job_id}"


def experiment_argv(params: dict, device: str, job_id: int | None = None) -> list[str]:
    """An experiment's command line after `python -m study`."""
    table = str(params.get("table") or "")
    if table not in EXPERIMENT_TABLES:
        raise StudyError(f"an experiment runs one of the tables {', '.join(EXPERIMENT_TABLES)}, not {table!r}")
    argv = ["reproduce", "--table", table, "--device", device]
    for key, flag in _EXPERIMENT_FLAGS.items():
        if params.get(key) is not None and params.get(key) != "":
            argv += [flag, str(params[key])]
    if params.get("quick"):
        argv.append("--quick")
    if job_id is not None:
        argv += ["--out", str(experiment_dir(job_id)), "--job-id", str(job_id)]
    return argv


def tail(path: str | Path | None, lines: int = TAIL_LINES) -> str:
    """The last lines of a log file ('' if there is none); progress-bar carriage
    returns are folded so a tqdm line does not swamp the tail."""
    if not path or not Path(path).exists():
        return ""
    text = Path(path).read_text(errors="replace")
    kept = [line.rsplit("\r", 1)[-1] for line in text.splitlines()]
    return "\n".join([line for line in kept if line.strip()][-lines:])


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is dead for our purposes
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


@contextmanager
def _device_lock(device: str, wait_seconds: float = 0.0):
    """Yields True while this process holds the device's worker lock, else False."""
    path = ensure_home().jobs_dir / f"worker-{_safe(device)}.lock"
    handle = open(path, "a+")
    got = False
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                got = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.1)
        yield got
    finally:
        if got:
            fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def worker_alive(device: str) -> bool:
    with _device_lock(device) as got:
        return not got


def _child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


# ---------------------------------------------------------------- what a job needs of its data

# The splits each kind of job reads. A training learns from train (and is
# tested on test only where there is one); a filter experiment and every
# reproduction also test each model on the test images (Table 4: the originals).
NEEDS_SPLITS = {"train": ("train",), "filter": ("train", "test"), "experiment": ("train", "test")}
_NEEDS_WORDS = {"train": "a training learns from the train split",
                "filter": "a filter experiment trains on the train split and tests on the test split",
                "experiment": "an experiment trains on the train split and tests on the test split"}


def source_splits(source: str) -> frozenset[str] | None:
    """The splits a dataset source has, from what is known without decoding it:
    the demo pool has both; a prepared source's cached report counts its splits
    (the cache of its current content, the one a job would load). None when the
    source is not prepared: a job decodes it first and checks then. A source
    that cannot be read raises DatasetError."""
    if source == DEMO_SOURCE:
        return frozenset(("train", "test"))
    if is_image_set(source):
        return None  # its split is made when it is loaded (study.data.image_set_training); checked then
    fingerprint = source_fingerprint(source)  # file names and sizes (a folder) or bytes (an archive)
    npz_path, report_path = cache_paths(default_cache_dir(), fingerprint)
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(report, dict) or report.get("cache_version") != CACHE_VERSION or not npz_path.is_file():
        return None
    return frozenset(report.get("counts") or ())


def data_problem(kind: str, source: str | None, have=None) -> str | None:
    """The one rule for a job's data: why a job of this kind cannot run on this
    source, or None when it can (or when that cannot be known without decoding;
    the command checks again once it has loaded the data). have: the source's
    splits where the caller already holds them (a loaded dataset); else they are
    read with source_splits()."""
    if kind not in NEEDS_SPLITS:
        raise StudyError(f"unknown job kind {kind!r}; expected {', '.join(KINDS)}")
    if not source:
        return "no dataset: give a CIFAKE folder or archive, or `demo` for the synthetic pool"
    if have is None:
        try:
            have = source_splits(source)
        except DatasetError as err:
            return str(err)
        if have is None:
            return None
    have = sorted({str(split) for split in have})
    missing = [split for split in NEEDS_SPLITS[kind] if split not in have]
    if not missing:
        return None
    holds = f"only the {' and '.join(have)} split" if have else "no images"
    folders = " and ".join(f"`{split}/{name}`" for split in missing for name in CLASS_NAMES)
    return (f"the dataset {source} has {holds}, no {' and no '.join(missing)} split, and {_NEEDS_WORDS[kind]}; "
            f"prepare a source that also has {folders} "
            "images (for CIFAKE: its train and its test pack) on the Setup page or with "
            "`python -m study data prepare PATH`")


def check_data(kind: str, source: str | None, have=None) -> None:
    """data_problem() as a StudyError (the CLI prints it as one line and exits 2)."""
    problem = data_problem(kind, source, have)
    if problem:
        raise StudyError(problem)


def data_choices(kind: str, engine=None) -> tuple[list[str], list[str]]:
    """The dataset sources a form may offer for a job of this kind: the demo pool
    and the configured CIFAKE, each only where it has what the job needs; and one
    line per source left out, saying why."""
    engine = engine or study_engine()
    cifake, _where = configured_source(engine)
    offered, left_out = [], []
    # Imported image sets: for a training (at a resolution of the form's choosing); the
    # experiments rerun the paper's tables on CIFAKE.
    image_sets = image_set_sources(engine) if kind == "train" else []
    for source in [DEMO_SOURCE] + ([cifake] if cifake else []) + image_sets:
        problem = data_problem(kind, source)
        if problem:
            left_out.append(problem)
        else:
            offered.append(source)
    return offered, left_out


# ---------------------------------------------------------------- the public door

def submit(params: dict, *, kind: str = "train", label: str | None = None, engine=None,
           start_worker: bool = True) -> int:
    """Queue a training (params: model, data, epochs, batch_size, lr, weight_decay,
    val_split, patience, seed, augment, filter, device, max_train, threads, set)
    and make sure a worker serves its device. kind "filter" also tests the
    trained model on the unfiltered test images (the paper's Table 4)."""
    if kind not in KINDS:
        raise StudyError(f"unknown job kind {kind!r}; expected {', '.join(KINDS)}")
    if kind == "filter" and not params.get("filter"):
        raise StudyError("a filter experiment needs a filter")
    engine = engine or study_engine()
    if params.get("resolution") is not None and not is_image_set(params.get("data")):
        raise StudyError("a resolution is for image sets (Data: image set …); CIFAKE is always 32x32, so nothing "
                         "was queued")
    device = resolve_device(params.get("device"))
    # Fail now, not in the background, on a missing model or table, or on data without the splits it needs.
    experiment_argv(params, device) if kind == "experiment" else train_argv(params, device, kind)
    if problem := data_problem(kind, params.get("data") or _configured(engine)):
        raise StudyError(f"{problem}; nothing was queued")
    params = {k: v for k, v in params.items() if v is not None}
    for active in list_jobs(engine, status=("queued", "running"), limit=1000):
        if active["kind"] == kind and active["params"] == params:  # a double click, or the same job again
            raise StudyError(f"the same {'experiment' if kind == 'experiment' else 'training'} is already "
                             f"{active['status']} as job {active['id']}; nothing new was queued")
    label = label or " ".join(str(x) for x in (params.get("model") or f"table {params.get('table')}",
                                               params.get("filter") or "", params.get("data") or "") if x)
    job_id = db_jobs.add_job(engine, kind=kind, label=label[:200], device=device, params=params)
    if start_worker:
        start_worker_process(device)
    return job_id


def _configured(engine) -> str | None:
    """The source a job without --data trains on (the CLI's default)."""
    return configured_source(engine)[0]


def start_worker_process(device: str) -> int:
    """Start a detached worker for a device (it exits at once if one is running)."""
    log = open(ensure_home().jobs_dir / f"worker-{_safe(device)}.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "study", "jobs", "worker", "--device", device],
        cwd=REPO_ROOT, env=_child_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        start_new_session=True,  # outlives the Streamlit rerun / the test that started it
    )
    log.close()
    return proc.pid


def request_cancel(job_id: int, engine=None) -> str:
    """Cancel a job: a queued one at once, a running one through the run's
    cancel flag (then signals after a grace period). Returns its status now."""
    engine = engine or study_engine()
    status = db_jobs.request_job_cancel(engine, job_id)
    if status is None:
        raise StudyError(f"no job {job_id}")
    job = db_jobs.get_job(engine, job_id)
    if status == "running" and job["run_id"]:
        db_runs.request_cancel(engine, job["run_id"])
    return status


def list_jobs(engine=None, **filters) -> list[dict]:
    return db_jobs.list_jobs(engine or study_engine(), **filters)


def get_job(job_id: int, engine=None) -> dict | None:
    return db_jobs.get_job(engine or study_engine(), job_id)


def progress(job: dict, engine=None) -> dict:
    """What a page shows for one job: a fraction done and a line saying so;
    for a training also epochs done of planned and the run's history, for an
    experiment its progress.json."""
    if job["kind"] == "experiment":
        return experiment_progress(job)
    run = db_runs.get_run(engine or study_engine(), job["run_id"]) if job.get("run_id") else None
    history = (run or {}).get("history") or []
    planned = int(job["params"].get("epochs") or TrainConfig.for_model(str(job["params"].get("model") or "")).epochs)
    done = len(history)
    return {"epochs_done": done, "epochs_planned": planned,
            "fraction": min(1.0, done / planned) if planned else 0.0,
            "text": f"epoch {done} of {planned} (fewer if early stopping ends it)",
            "history": history, "run": run}


def experiment_progress(job: dict) -> dict:
    state = read_progress(experiment_dir(job["id"]))
    if not state:
        return {"fraction": 0.0, "text": "starting (loading the data)", "history": [], "run": None, "state": None}
    text = f"training {min(state['done'] + 1, state['total'])} of {state['total']}"
    if state.get("current"):
        text += f": {state['current']}, epoch {state['epoch']} of {state['epochs']}"
    return {"fraction": fraction(state), "text": text, "history": [], "run": None, "state": state}


# ---------------------------------------------------------------- the worker

def run_worker(device: str, *, grace: float = GRACE_SECONDS, poll: float = POLL_SECONDS) -> int:
    """Serve the device's queue until it is empty; returns how many jobs ran."""
    engine = study_engine()
    ran = 0
    while True:
        with _device_lock(device, wait_seconds=2.0) as got:
            if not got:
                return ran  # another worker serves this device
            while (job := db_jobs.next_queued(engine, device)) is not None:
                run_job(engine, job, grace=grace, poll=poll)
                ran += 1
        # Lock released: a job submitted while we held it may have started a
        # worker that gave up; look once more so that it is not stranded.
        if db_jobs.next_queued(engine, device) is None:
            return ran


def run_job(engine, job: dict, *, grace: float = GRACE_SECONDS, poll: float = POLL_SECONDS) -> str:
    """Run one queued job to its end; returns its final status."""
    if job["kind"] == "experiment":
        return _run_experiment(engine, job, grace=grace, poll=poll)
    params, device = job["params"], job["device"]
    run_id = db_runs.create_run(engine, params["model"], {**params, "device": device, "job_id": job["id"]},
                        dataset_source=str(params.get("data") or ""), device=device)
    base = ensure_home().jobs_dir / str(job["id"])
    out_path, err_path = base.with_suffix(".out"), base.with_suffix(".err")
    if not db_jobs.mark_started(engine, job["id"], run_id=run_id, log_path=str(err_path)):
        _finish_run_if_running(engine, run_id, "cancelled")  # cancelled while we set up
        return "cancelled"
    argv = train_argv(params, device, job["kind"]) + ["--run-id", str(run_id), "--json"]
    return _run_child(engine, job["id"], argv, out_path, err_path, grace=grace, poll=poll)


def _run_experiment(engine, job: dict, *, grace: float, poll: float) -> str:
    out = experiment_dir(job["id"])
    out.mkdir(parents=True, exist_ok=True)
    err_path = out / "stderr.log"
    if not db_jobs.mark_started(engine, job["id"], run_id=None, log_path=str(err_path)):
        return "cancelled"
    argv = experiment_argv(job["params"], job["device"], job["id"]) + ["--json"]
    return _run_child(engine, job["id"], argv, out / "stdout.json", err_path, grace=grace, poll=poll)


def _run_child(engine, job_id: int, argv: list[str], out_path: Path, err_path: Path, *, grace: float,
               poll: float) -> str:
    """`python -m study ARGV` as the job's process, in its own session; settle the job when it ends."""
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "study", *argv], cwd=REPO_ROOT, env=_child_env(),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
    db_jobs.set_pid(engine, job_id, proc.pid)
    _watch(engine, job_id, proc, grace=grace, poll=poll)
    return finalize(engine, job_id, returncode=proc.returncode)


def _watch(engine, job_id: int, proc: subprocess.Popen, *, grace: float, poll: float) -> None:
    """Wait for a job's process; once a cancel is asked, signal it if it does
    not stop by itself within grace (SIGTERM), then twice that (SIGKILL)."""
    signalled = None
    while proc.poll() is None:
        time.sleep(poll)
        current = db_jobs.get_job(engine, job_id)
        asked = current and current["cancel_requested_at"]
        if asked:
            waited = (datetime.now(timezone.utc) - _aware(asked)).total_seconds()
            if waited > 2 * grace and signalled != "kill":
                proc.kill()
                signalled = "kill"
            elif waited > grace and signalled is None:
                proc.terminate()
                signalled = "term"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # SQLite drops the zone


def _finish_run_if_running(engine, run_id: int | None, status: str, error: str | None = None) -> None:
    run = db_runs.get_run(engine, run_id) if run_id else None
    if run and run["status"] == "running":
        db_runs.finish_run(engine, run_id, status, metrics=None, error=error)


def _exit_words(returncode: int | None) -> str:
    if returncode is None:
        return "the training process is gone (its worker died)"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"the training process was killed by signal {name}"
    return f"the training process exited with code {returncode}"


def finalize(engine, job_id: int, *, returncode: int | None = None) -> str:
    """Settle a job whose process has ended, from its run's record: the run's
    own status when it reached one, else cancelled (if asked) or failed.
    It only reads (a page poll may call it): a filter job's test on the
    original images is in its run's metrics, written by the job's process."""
    job = db_jobs.get_job(engine, job_id)
    if job["status"] != "running":
        return job["status"]
    if job["kind"] == "experiment":
        return _finalize_experiment(engine, job, returncode)
    run = db_runs.get_run(engine, job["run_id"]) if job["run_id"] else None
    stderr_tail = tail(job["log_path"])
    status = run["status"] if run else "running"
    result = None
    if status == "running":  # the child ended without settling its run: a crash or a signal
        status = "cancelled" if job["cancel_requested_at"] else "failed"
        error = None if status == "cancelled" else "\n".join(filter(None, [stderr_tail, _exit_words(returncode)]))
        _finish_run_if_running(engine, job["run_id"], status, error=error)
    if status == "failed":
        error_tail = stderr_tail or (run or {}).get("error") or _exit_words(returncode)
        if returncode and _exit_words(returncode) not in error_tail:
            error_tail += "\n" + _exit_words(returncode)
        db_jobs.end_job(engine, job_id, "failed", error_tail=error_tail)
        return "failed"
    if status == "finished" and job["kind"] == "filter":
        result = _original_test_result((run or {}).get("metrics") or {})
    db_jobs.end_job(engine, job_id, status, result=result)
    return status


def _finalize_experiment(engine, job: dict, returncode: int | None) -> str:
    """Finished when its report was written; else cancelled (if asked) or failed."""
    out = experiment_dir(job["id"])
    if (out / "report.md").exists() and returncode in (0, None):
        db_jobs.end_job(engine, job["id"], "finished", result={"out": str(out), "report": str(out / "report.md")})
        return "finished"
    if job["cancel_requested_at"]:
        db_jobs.end_job(engine, job["id"], "cancelled", result={"out": str(out)})
        return "cancelled"
    error_tail = "\n".join(filter(None, [tail(job["log_path"]), _exit_words(returncode)]))
    db_jobs.end_job(engine, job["id"], "failed", error_tail=error_tail, result={"out": str(out)})
    return "failed"


def _original_test_result(metrics: dict) -> dict:
    """A finished filter job's result, as the pages read it: {"original_test":
    metrics or {"skipped": why}}, or {"original_test_error": why} where the
    job's process could not run that test (or did not: a job queued before
    filter jobs tested in their own process)."""
    original = metrics.get("test_original")
    if not original:
        return {"original_test_error": "the job's process stored no test on the original images"}
    if "error" in original:
        return {"original_test_error": original["error"]}
    return {"original_test": original}


def reconcile(engine=None) -> list[int]:
    """Repair after dead workers: settle running jobs whose processes are gone,
    and start a worker for every device with queued jobs and none serving it.
    Cheap; the pages call it whenever they poll. Returns the jobs it settled."""
    engine = engine or study_engine()
    settled = []
    for job in db_jobs.list_jobs(engine, status="running", limit=1000):
        if worker_alive(job["device"]) or _pid_alive(job["pid"]):
            continue
        finalize(engine, job["id"], returncode=None)
        settled.append(job["id"])
    for device in {job["device"] for job in db_jobs.list_jobs(engine, status="queued", limit=1000)}:
        if not worker_alive(device):
            start_worker_process(device)
    return settled


def wait(job_id: int, timeout: float = 120.0, engine=None, until=("finished", "failed", "cancelled")) -> dict:
    """Poll until the job reaches one of `until` (tests and the CLI); raises on timeout."""
    engine = engine or study_engine()
    deadline = time.monotonic() + timeout
    while True:
        job = get_job(job_id, engine)
        if job and job["status"] in until:
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job and job['status']} after {timeout:.0f} s")
        time.sleep(0.25)
