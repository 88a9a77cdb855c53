"""The survey under real load, end to end: N participants at once against real
Streamlit servers, each taking the whole survey (consent, questions, instructions,
15 images) at a person's pace, as a browser would.

    .venv/bin/python bench/survey_browser_load.py [--n 1 10 50 100 200] [--think 3]
        [--setups sqlite-1 postgresql-nginx-3] [--floor-n 10]

How: at the protocol level. Each participant is one thread holding one websocket
and speaking Streamlit's own messages (the BackMsg a browser sends for a click,
the ForwardMsgs of the rerun it gets back: tests/streamlit_wire.py), because 200
Chromium tabs do not fit in this 2-core machine beside the servers, while 200
websockets do; what a browser adds on top (drawing the page) is the same for
every setup. The click-to-next-image time is measured from sending the click to
the end of the rerun that shows the next image (or the end page).

Pace: after each image appears the participant thinks for a time drawn from a
log-normal with median --think seconds (sigma 0.5; never under the page's 1 s
guard, which would ignore the click); --think 0 clicks right after the guard.

Setups: `sqlite-1`, one server on SQLite; `postgresql-nginx-3`, three servers on
one PostgreSQL database behind Debian's nginx (ip_hash; the participants connect
from 127.0.0.2-127.0.0.250 so that nginx spreads them). Each level starts on a
fresh database, on servers that have served one page already (their first page
run imports the app, once in a server's life). Baseline: N=1 on the same setup in
the same run. Floor: the
minimal page of bench/floor_app.py at --floor-n participants, measured in the
same run; our server CPU per click is reported as a ratio to it.

Reports per setup and level: click-to-next-image p50/p95/p99 (ms), answers lost
(acknowledged by the page but not in the database) and duplicated (must both be
0), server CPU seconds per answer (all server processes, from /proc), and the
largest N whose p99 stays under 1 s. Ends with ONE line: a JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

IMAGE = re.compile(r"Image (\d+) of (\d+)")
AGREE = "I have read the information above and agree to take part."
GUARD_S = 1.0 + 0.05  # the page ignores a click within 1 s of an image (NEW_IMAGE_GUARD_MS)
THINK_SIGMA = 0.5


def clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes and their children so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return total / clock_ticks()


# --- one participant -------------------------------------------------------------------

def think(rng: np.random.Generator, median_s: float) -> None:
    if median_s <= 0:
        time.sleep(GUARD_S)
    else:
        time.sleep(max(GUARD_S, float(rng.lognormal(np.log(median_s), THINK_SIGMA))))


def connect(url: str, source: str | None):
    """A Session whose websocket comes from `source` (127.0.0.x), for nginx's ip_hash."""
    from streamlit_wire import Session

    if source is None:
        return Session(url)

    class FromAddress(Session):
        def __init__(self, base_url: str):
            import urllib.request

            from websockets.sync.client import connect as ws_connect

            with urllib.request.urlopen(base_url + "/_stcore/health", timeout=10) as response:
                self.cookie = response.headers["set-cookie"].split(";")[0]
            self.xsrf = self.cookie.split("=", 1)[1]
            self._connection = ws_connect(base_url.replace("http://", "ws://") + "/_stcore/stream",
                                          subprotocols=["streamlit", self.xsrf], open_timeout=60,
                                          additional_headers={"Cookie": self.cookie, "Origin": base_url},
                                          source_address=(source, 0))
            self.ws = self._connection.__enter__()
            self.session_id = None
            self.query_string = ""

    return FromAddress(url)


def survey_participant(url: str, index: int, think_s: float, out: dict, start: threading.Event,
                       source: str | None) -> None:
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    rng = np.random.default_rng(index)
    waits, acks, error = [], [], None
    session, runs = None, 0
    start.wait()
    time.sleep(float(rng.uniform(0, 2)))  # people do not arrive in the same millisecond
    try:
        session = connect(url, source)
        elements = session.run()
        agree = session.widget_id(elements, "checkbox", AGREE)
        elements = session.run("", [WidgetState(id=agree, bool_value=True)])
        elements = session.click(elements, "Continue", **{agree: True})
        token = dict(pair.split("=", 1) for pair in session.query_string.split("&"))["p"]
        time.sleep(1.1)
        elements = session.click(elements, "Skip these questions")
        time.sleep(2.6)  # reading the instructions (their guard is 2.5 s)
        elements = session.click(elements, "Start")
        runs = 5  # the first page, the tick, Continue, Skip, Start
        position = _position(session, elements)
        while position is not None:
            think(rng, think_s)
            answer = int(rng.integers(2))
            started = time.perf_counter()
            elements = session.click(elements, "Real photo" if answer == 0 else "AI-generated")
            waits.append(time.perf_counter() - started)
            runs += 1
            after = _position(session, elements)
            if after == position + 1 or (after is None and "Thank you" in session.text(elements)):
                acks.append((token, position, answer))
            elif after == position:
                raise RuntimeError(f"the click on image {position} was not taken: {session.text(elements)[:300]}")
            position = after
    except Exception as err:  # noqa: BLE001 - reported, and its answers so far still checked
        error = f"{type(err).__name__}: {err}"[:300]
    finally:
        if session is not None:
            session.close()
        out[index] = {"waits": waits, "acks": acks, "error": error, "runs": runs}


def floor_participant(url: str, index: int, think_s: float, out: dict, start: threading.Event,
                      source: str | None) -> None:
    rng = np.random.default_rng(index)
    waits, error, session, runs = [], None, None, 0
    start.wait()
    time.sleep(float(rng.uniform(0, 2)))
    try:
        session = connect(url, source)
        elements = session.run()
        runs = 1
        position = _position(session, elements)
        while position is not None:
            think(rng, think_s)
            started = time.perf_counter()
            elements = session.click(elements, "Real photo")
            waits.append(time.perf_counter() - started)
            runs += 1
            position = _position(session, elements)
    except Exception as err:  # noqa: BLE001
        error = f"{type(err).__name__}: {err}"[:300]
    finally:
        if session is not None:
            session.close()
        out[index] = {"waits": waits, "acks": [], "error": error, "runs": runs}


def _position(session, elements) -> int | None:
    found = IMAGE.search(session.text(elements))
    return int(found.group(1)) if found else None


# --- a level ----------------------------------------------------------------------------

def warm_up(url: str, sources: list[str | None]) -> None:
    """Open the first page once through every server (a server imports its page modules
    on its first run, once in its life): what is measured is a server that has run."""
    from streamlit_wire import Session

    for source in dict.fromkeys(sources[:12]):  # ip_hash reaches every server within a few addresses
        session = connect(url, source) if source else Session(url)
        try:
            session.run()
        finally:
            session.close()


def run_level(url: str, n: int, think_s: float, pids: list[int], participant, sources: list[str | None]) -> dict:
    warm_up(url, sources)
    out: dict[int, dict] = {}
    start = threading.Event()
    threads = [threading.Thread(target=participant, args=(url, i, think_s, out, start, sources[i % len(sources)]),
                                daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    cpu_before, wall = cpu_seconds(pids), time.perf_counter()
    start.set()
    for thread in threads:
        thread.join(timeout=900)
    cpu = cpu_seconds(pids) - cpu_before
    waits = np.array([w for r in out.values() for w in r["waits"]]) * 1000
    errors = [r["error"] for r in out.values() if r["error"]]
    runs = sum(r["runs"] for r in out.values())
    return {"n": n, "clicks": int(len(waits)), "page_runs": runs, "wall_s": round(time.perf_counter() - wall, 1),
            "p50_ms": _pct(waits, 50), "p95_ms": _pct(waits, 95), "p99_ms": _pct(waits, 99),
            "max_ms": round(float(waits.max()), 1) if len(waits) else None,
            # Per page run (every click is one, and so is the first page): the figure compared with the floor.
            "server_cpu_s": round(cpu, 2), "server_cpu_ms_per_click": round(1000 * cpu / max(runs, 1), 1),
            "server_cpu_ms_per_answer": round(1000 * cpu / max(len(waits), 1), 1),
            "errors": len(errors), "error_examples": errors[:3], "_acks": [a for r in out.values() for a in r["acks"]]}


def _pct(values: np.ndarray, q: float):
    return round(float(np.percentile(values, q)), 1) if len(values) else None


def check_stored(database_url: str, acks: list) -> tuple[int, int]:
    """(lost, duplicated): acknowledged answers not in the database, and rows beyond one
    per participant and position (or stored differently from what was acknowledged)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT p.token, a.position, a.answer FROM answer a "
                                     "JOIN participant p ON p.id = a.participant_id")).all()
    finally:
        engine.dispose()
    stored: dict[tuple[str, int], list[int]] = {}
    for token, position, answer in rows:
        stored.setdefault((token, int(position)), []).append(int(answer))
    lost = sum(1 for token, position, answer in acks if stored.get((token, position)) != [answer])
    duplicated = sum(len(v) - 1 for v in stored.values())
    return lost, duplicated


# --- setups -----------------------------------------------------------------------------

def app_setup(kind: str, folder: Path):
    """(url, server pids, database url, stop) for a fresh setup."""
    from streamlit_wire import make_server

    folder.mkdir(parents=True)
    if kind == "sqlite-1":
        server = make_server(folder, password="bench").start()
        return server.url, [server.proc.pid], server.database_url, server.stop, [None]
    if kind == "postgresql-nginx-3":
        import pg
        from nginx_proxy import start_nginx

        cluster = pg.get_cluster()
        url = cluster.create_database("bench_load")
        servers = []
        for i in range(3):
            (folder / f"app{i}").mkdir()
            server = make_server(folder / f"app{i}", password="bench", database_url=url)
            server.env["STUDY_APP_PROCESSES"] = "3"
            servers.append(server.start())
        proxy = start_nginx(folder / "nginx", [s.port for s in servers])

        def stop():
            proxy.stop()
            for s in servers:
                s.stop()
            cluster.drop_database(url)

        sources = [f"127.0.0.{2 + i}" for i in range(249)]
        return proxy.url, [s.proc.pid for s in servers], url, stop, sources
    raise ValueError(kind)


def floor_setup(folder: Path):
    from streamlit_wire import make_server

    folder.mkdir(parents=True)
    server = make_server(folder, password="bench", app=REPO / "bench" / "floor_app.py").start()
    return server.url, [server.proc.pid], server.stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1, 10, 50, 100, 200])
    parser.add_argument("--think", type=float, default=3.0, help="median think time in seconds (0: saturation)")
    parser.add_argument("--setups", nargs="+", default=["sqlite-1", "postgresql-nginx-3"],
                        choices=["sqlite-1", "postgresql-nginx-3"])
    parser.add_argument("--floor-n", type=int, default=10)
    args = parser.parse_args()
    levels = sorted(set([1, *args.n]))
    figures = {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(), "think_median_s": args.think,
               "driver": "websocket protocol (Streamlit BackMsg/ForwardMsg), one thread per participant",
               "load_avg_1m_before": round(os.getloadavg()[0], 2), "setups": {}}
    with tempfile.TemporaryDirectory(prefix="bench-browser-load-") as tmp:
        url, pids, stop = floor_setup(Path(tmp) / "floor")
        try:
            floor = run_level(url, args.floor_n, args.think, pids, floor_participant, [None])
        finally:
            stop()
        floor.pop("_acks")
        figures["floor"] = floor
        print(f"floor (minimal page), {args.floor_n} participants: p50 {floor['p50_ms']} ms, "
              f"p99 {floor['p99_ms']} ms, server CPU {floor['server_cpu_ms_per_click']} ms per click")
        for kind in args.setups:
            results = []
            for n in levels:
                url, pids, database_url, stop, sources = app_setup(kind, Path(tmp) / f"{kind}-{n}")
                try:
                    level = run_level(url, n, args.think, pids, survey_participant, sources)
                    lost, duplicated = check_stored(database_url, level.pop("_acks"))
                finally:
                    stop()
                level.update(lost=lost, duplicated=duplicated,
                             cpu_vs_floor=round(level["server_cpu_ms_per_click"] / max(floor["server_cpu_ms_per_click"],
                                                                                       0.1), 2))
                results.append(level)
                print(f"{kind} N={n}: click to next image p50 {level['p50_ms']} / p95 {level['p95_ms']} / "
                      f"p99 {level['p99_ms']} ms; {level['clicks']} clicks; lost {lost}, duplicated {duplicated}; "
                      f"server CPU {level['server_cpu_ms_per_click']} ms per click ({level['cpu_vs_floor']}x the "
                      f"floor); errors {level['errors']}", flush=True)
            under = [r["n"] for r in results if r["p99_ms"] is not None and r["p99_ms"] < 1000 and not r["errors"]]
            figures["setups"][kind] = {"levels": results, "largest_n_p99_under_1s": max(under) if under else None}
    figures["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
