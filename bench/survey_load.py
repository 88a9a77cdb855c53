"""Survey load: N participants at once, spread over several app processes (default
two), against SQLite and against PostgreSQL.

Each app process is an OS process of its own, with its own engine on the same
database, running its share of the participants in threads (as Streamlit runs
sessions) through the same functions the participant page calls: consent,
questions, begin, current_step (records the image as shown and renders it) and
submit_answer; after each answer it submits the opposite answer again, as a
double click would. All processes start together (they wait for "go" on stdin).

Reports per backend and N: answers committed per second (wall clock from "go"
to the last process done), p50/p99 latency of submit_answer (one transaction
each), lost answers (expected - stored) and duplicates (rows beyond one per
participant and image, plus resubmissions that were stored or changed the first
answer); both must be 0. The baseline is N=1 on the same backend, measured in
the same run. SQLite: a fresh file per N in a temporary folder (WAL,
synchronous=FULL). PostgreSQL: a fresh database per N on TEST_POSTGRES_URL's
server, else on a throwaway cluster from Debian's binaries with fsync ON (a
commit waits for the disk, as in production).

    .venv/bin/python bench/survey_load.py [--n 1 10 50 100] [--processes 2]
        [--backends sqlite sqlite-unqueued postgresql]

`sqlite-unqueued` is SQLite without the in-process write queue of db/engine.py
(every writer thread goes straight to SQLite's busy handler): the baseline
that shows what the queue does to the tail, measured in the same run.

Ends with ONE line: a JSON object with the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ANSWERS_EACH = 15


# --- one app process ----------------------------------------------------------------

def one_participant(engine, name: str, barrier: threading.Barrier, out: dict) -> None:
    from study import survey

    latencies, resubmits_stored, resubmits_changed = [], 0, 0
    barrier.wait()  # everyone in this process starts at once
    token = survey.consent(engine, survey.Visit(prolific_pid=name))
    survey.answer_questions(engine, token, None, None)
    survey.begin(engine, token)
    for _ in range(ANSWERS_EACH):
        step = survey.current_step(engine, survey.Visit(token=token))
        answer = int(step.position % 2)
        start = time.perf_counter()
        survey.submit_answer(engine, token, step.position, answer, 3)
        latencies.append((time.perf_counter() - start) * 1000)
        again = survey.submit_answer(engine, token, step.position, 1 - answer)  # the double click
        resubmits_stored += again.status == "stored"
        resubmits_changed += again.answer != answer
    out[name] = (latencies, resubmits_stored, resubmits_changed)


def worker(url: str, names: list[str], write_queue: bool = True) -> None:
    """An app process: warm up, say ready, wait for go, run, print one JSON line."""
    import db.engine
    from db import open_database
    from study import survey
    from study.data import active

    db.engine.SQLITE_WRITE_QUEUE = write_queue

    engine = open_database(url)
    active.dataset_by_source("demo")  # the pool is built once per process, outside the timings
    survey.current_step(engine, survey.Visit())  # and the open set read once
    barrier = threading.Barrier(len(names) + 1)
    results: dict = {}
    errors: list[str] = []

    def run(name: str) -> None:
        try:
            one_participant(engine, name, barrier, results)
        except BaseException as err:  # a lost participant must show up in the figures, not vanish
            errors.append(f"{type(err).__name__}: {err}")
            try:
                barrier.abort()
            except threading.BrokenBarrierError:
                pass

    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    sys.stdin.readline()  # "go": all processes start together
    started = time.time()
    barrier.wait()
    for thread in threads:
        thread.join()
    print(json.dumps({
        "started": started, "ended": time.time(), "errors": errors[:5], "n_errors": len(errors),
        "latencies": [ms for lat, _, _ in results.values() for ms in lat],
        "resubmits_bad": sum(s + c for _, s, c in results.values()),
    }), flush=True)


# --- the coordinator ------------------------------------------------------------------

def run_level(url: str, n: int, processes: int, write_queue: bool = True) -> dict:
    from sqlalchemy import func, select

    from db import open_database
    from db.engine import dispose
    from db.schema import Answer, Participant
    from study import survey
    from study.data import active

    engine = open_database(url)
    set_id = survey.create_set(
        engine, active.dataset_by_source("demo"), size=ANSWERS_EACH, seed=n, close_current=True
    ).id
    names = [f"bench_{n}_{i}" for i in range(n)]
    shares = [names[k::processes] for k in range(processes) if names[k::processes]]
    procs = [
        subprocess.Popen([sys.executable, __file__, "--worker", url, ",".join(share), str(int(write_queue))],
                         cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for share in shares
    ]
    for proc in procs:
        line = proc.stdout.readline()
        if line.strip() != "ready":
            raise SystemExit(f"an app process did not start: {line!r}")
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    reports = []
    for proc in procs:
        output, _ = proc.communicate(timeout=1800)
        reports.append(json.loads(output.strip().splitlines()[-1]))
    wall = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    with engine.connect() as conn:
        of_set = select(Answer.participant_id, Answer.image_id).join(
            Participant, Participant.id == Answer.participant_id).where(Participant.set_id == set_id)
        stored = conn.execute(select(func.count()).select_from(of_set.subquery())).scalar()
        distinct = conn.execute(select(func.count()).select_from(of_set.distinct().subquery())).scalar()
    dispose(url)
    latencies = np.array([ms for r in reports for ms in r["latencies"]])
    return {
        "n": n,
        "processes": len(procs),
        "answers_per_s": round(stored / wall, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2) if len(latencies) else None,
        "p99_ms": round(float(np.percentile(latencies, 99)), 2) if len(latencies) else None,
        "lost": n * ANSWERS_EACH - stored,
        "duplicates": (stored - distinct) + sum(r["resubmits_bad"] for r in reports),
        "errors": sum(r["n_errors"] for r in reports),
        "error_samples": [e for r in reports for e in r["errors"]][:3],
        "wall_s": round(wall, 2),
    }


def postgres_versions(url: str) -> str:
    from db.engine import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        version = conn.exec_driver_sql("SHOW server_version").scalar()
        fsync = conn.exec_driver_sql("SHOW fsync").scalar()
        commit = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
    engine.dispose()
    return f"PostgreSQL {version} (fsync={fsync}, synchronous_commit={commit})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1, 10, 50, 100])
    parser.add_argument("--processes", type=int, default=2, help="app processes sharing the participants")
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "sqlite-unqueued", "postgresql"],
                        default=["sqlite", "postgresql"],
                        help="sqlite-unqueued: SQLite without the in-process write queue (its baseline)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "tests"))
    import pg  # tests/pg.py: the throwaway PostgreSQL cluster

    from study.data import active

    active.dataset_by_source("demo")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="survey-load-") as tmp:
        os.environ["STUDY_HOME"] = tmp  # caches and secrets of this run stay out of ./var
        for backend in args.backends:
            cluster = None
            if backend == "postgresql":
                try:
                    cluster = pg.get_cluster(durable=True)
                except pg.PostgresUnavailable as reason:
                    results[backend] = {"skipped": str(reason)}
                    continue
            levels = []
            database = "sqlite (WAL, synchronous=FULL" + (", no write queue)" if backend == "sqlite-unqueued" else ")")
            for n in args.n:
                url = cluster.create_database("survey_load") if cluster else f"sqlite:///{tmp}/{backend}-n{n}.db"
                if cluster:
                    database = postgres_versions(url)
                level = run_level(url, n, args.processes, write_queue=backend != "sqlite-unqueued")
                if cluster:
                    cluster.drop_database(url)
                levels.append(level)
                print(f"{backend:>10} N={n:>4} x{level['processes']} processes: {level['answers_per_s']:>8} answers/s  "
                      f"p50 {level['p50_ms']} ms  p99 {level['p99_ms']} ms  lost {level['lost']}  "
                      f"duplicates {level['duplicates']}  errors {level['errors']} {level['error_samples'][:1]}", file=sys.stderr)
            if cluster:
                cluster.stop()
            baseline = levels[0]
            for level in levels:
                level["throughput_vs_baseline"] = (
                    round(level["answers_per_s"] / baseline["answers_per_s"], 2) if baseline["answers_per_s"] else None)
            results[backend] = {"database": database, "baseline": f"N={baseline['n']}", "levels": levels}
    measured = [level for r in results.values() for level in r.get("levels", [])]
    print(json.dumps({
        "bench": "survey_load",
        "processes": args.processes,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_avg_1m": round(os.getloadavg()[0], 2)},
        "backends": results,
        "ok": bool(measured) and all(
            level["lost"] == 0 and level["duplicates"] == 0 and level["errors"] == 0 for level in measured),
    }))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3].split(","), write_queue=sys.argv[4] == "1")
        raise SystemExit(0)
    raise SystemExit(main())
