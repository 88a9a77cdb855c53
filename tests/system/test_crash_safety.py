"""An app process killed with SIGKILL in the middle of surveys loses no committed
answer, and every participant resumes at the next unanswered image afterwards.

The "app process" is a child Python process running several participants at
once (one thread each) through the same functions the survey page calls
(consent, answer_questions, begin, current_step, submit_answer), with its own
engine on the study database, SQLite or PostgreSQL. After each committed answer
it writes one acknowledgement line to its stdout: that pipe plays the part of
the participant's browser, so an acknowledged answer is one a participant saw
accepted. The test kills the process (SIGKILL: no cleanup, transactions cut
off half-way) once enough answers were acknowledged, checks the database,
starts a fresh process that resumes everybody, and checks again at the end.

Run as a script, this file is that child process.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

N_PARTICIPANTS = 6
SIZE = 15
KILL_AFTER_ACKS = 30  # about 5 of 15 answers each: everybody is in the middle
REPO = Path(__file__).resolve().parents[2]  # run as a script too: no tests/helpers.py


def answer_for(index: int, position: int) -> int:
    """Each participant's answers are a fixed pattern, so a changed answer shows."""
    return (index + position) % 2


def confidence_for(position: int) -> int:
    return position % 5 + 1


# --- the child: an app process -----------------------------------------------------

def _child(names: list[str], pause_s: float) -> None:
    from db import open_database
    from study import survey
    from study.config import get_settings

    engine = open_database(get_settings().database_url)
    out_lock = threading.Lock()

    def say(**message) -> None:
        with out_lock:  # one whole line per message, flushed: what the client has seen
            sys.stdout.write(json.dumps(message) + "\n")
            sys.stdout.flush()

    def participant(index: int, name: str) -> None:
        visit = survey.Visit(prolific_pid=name)
        arrival = survey.current_step(engine, visit)
        token = arrival.token if arrival.stage == "resume" else survey.consent(engine, visit)
        survey.answer_questions(engine, token, None, None)
        survey.begin(engine, token)
        step = survey.current_step(engine, survey.Visit(token=token))
        say(event="resumed", name=name, stage=step.stage, position=step.position)
        while step.stage == "image":
            answer = answer_for(index, step.position)
            outcome = survey.submit_answer(engine, token, step.position, answer, confidence_for(step.position))
            say(event="ack", name=name, position=step.position, answer=outcome.answer, status=outcome.status)
            time.sleep(pause_s)
            step = survey.current_step(engine, survey.Visit(token=token))
        say(event="finished", name=name, stage=step.stage)

    threads = [threading.Thread(target=participant, args=(i, name)) for i, name in enumerate(names)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    _child(sys.argv[2].split(","), float(sys.argv[3]))
    raise SystemExit(0)


# --- the test ----------------------------------------------------------------------

from sqlalchemy import func, select  # noqa: E402

NAMES = [f"crash{i}" for i in range(N_PARTICIPANTS)]


def _start_app_process(pause_s: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, "child", ",".join(NAMES), str(pause_s)],
        cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _messages(lines) -> list[dict]:
    return [json.loads(line) for line in lines if line.startswith("{") and line.rstrip().endswith("}")]


def _stored(engine) -> dict[str, dict[int, tuple[int, int | None]]]:
    """{prolific id: {position: (answer, confidence)}} as the database holds it."""
    from db.schema import Answer, Participant

    query = select(Participant.prolific_pid, Answer.position, Answer.answer, Answer.confidence).join(
        Participant, Participant.id == Answer.participant_id)
    stored: dict[str, dict[int, tuple[int, int | None]]] = {name: {} for name in NAMES}
    with engine.connect() as conn:
        for name, position, answer, confidence in conn.execute(query):
            assert position not in stored[name], f"{name} has two answers at position {position}"
            stored[name][position] = (int(answer), confidence)
    return stored


def _assert_every_acknowledged_answer_is_stored_once(engine, acks: list[dict]) -> dict:
    from db.schema import Answer

    stored = _stored(engine)
    for ack in acks:
        index = NAMES.index(ack["name"])
        expected = answer_for(index, ack["position"])
        assert ack["answer"] == expected  # what the participant saw accepted...
        assert stored[ack["name"]].get(ack["position"]) == (expected, confidence_for(ack["position"]))  # ...is kept
    for name, answers in stored.items():
        # Committed answers are 1..k with no gap: nothing half-written survived the kill.
        assert sorted(answers) == list(range(1, len(answers) + 1)), name
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(Answer)).scalar()
        distinct = conn.execute(
            select(func.count()).select_from(select(Answer.participant_id, Answer.image_id).distinct().subquery())
        ).scalar()
    assert rows == distinct == sum(len(a) for a in stored.values())
    return stored


def test_a_killed_app_process_loses_no_answer_and_everybody_resumes_where_they_were(backend):
    from db import open_database
    from db.engine import dispose
    from study import survey
    from study.data import active
    from study.config import get_settings

    url = get_settings().database_url
    engine = open_database(url)
    survey.create_set(engine, active.dataset_by_source("demo"), size=SIZE, seed=8)

    # 1. Participants answer; the process is killed once KILL_AFTER_ACKS answers were acknowledged.
    first = _start_app_process(pause_s=0.02)
    seen: list[str] = []
    try:
        for line in first.stdout:
            seen.append(line)
            if sum(m["event"] == "ack" for m in _messages(seen)) >= KILL_AFTER_ACKS:
                first.send_signal(signal.SIGKILL)
                break
        seen.extend(first.stdout.read().splitlines(keepends=True))  # lines already on the wire
    finally:
        first.kill()
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL, first.stderr.read()
    first_acks = [m for m in _messages(seen) if m["event"] == "ack"]
    assert all(m["status"] == "stored" for m in first_acks)
    assert not any(m["event"] == "finished" for m in _messages(seen)), "killed too late: nobody was mid-survey"

    stored = _assert_every_acknowledged_answer_is_stored_once(engine, first_acks)
    assert sum(len(a) for a in stored.values()) < N_PARTICIPANTS * SIZE

    # Each participant's link now opens the next unanswered image.
    for name in NAMES:
        token = survey.current_step(engine, survey.Visit(prolific_pid=name)).token
        step = survey.current_step(engine, survey.Visit(token=token))
        assert (step.stage, step.position) == ("image", len(stored[name]) + 1), name

    # 2. A fresh process (the restarted server) resumes everybody and finishes.
    dispose(url)
    second = _start_app_process(pause_s=0.0)
    output, errors = second.communicate(timeout=120)
    assert second.returncode == 0, errors
    messages = _messages(output.splitlines())
    resumed = {m["name"]: m["position"] for m in messages if m["event"] == "resumed"}
    assert resumed == {name: len(stored[name]) + 1 for name in NAMES}
    second_acks = [m for m in messages if m["event"] == "ack"]
    assert all(m["status"] == "stored" for m in second_acks)
    assert {m["name"] for m in messages if m["event"] == "finished" and m["stage"] == "done"} == set(NAMES)

    engine = open_database(url)
    final = _assert_every_acknowledged_answer_is_stored_once(engine, first_acks + second_acks)
    assert all(len(answers) == SIZE for answers in final.values())
    for name in NAMES:
        token = survey.current_step(engine, survey.Visit(prolific_pid=name)).token
        done = survey.current_step(engine, survey.Visit(token=token))
        assert done.stage == "done" and done.completion_code and done.score.total == SIZE


# --- the same through a real Streamlit server -------------------------------------------
# Participants are websocket clients of `streamlit run streamlit_app.py` (tests/streamlit_wire.py),
# clicking the page's own widgets; an answer counts as acknowledged when the page went on to
# the next image. The server is SIGKILLed mid-survey and restarted on the same port.

import re  # noqa: E402

from study.survey.flow import INSTRUCTIONS_GUARD_MS, NEW_IMAGE_GUARD_MS, QUESTIONS_GUARD_MS  # noqa: E402

WIRE_PARTICIPANTS = 4
WIRE_SIZE = 6  # short surveys: each click is a whole page run, and CI time counts
WIRE_KILL_AFTER_ACKS = 8
_IMAGE = re.compile(r"Image (\d+) of (\d+)")


def _position(session, elements) -> int | None:
    found = _IMAGE.search(session.text(elements))
    return int(found.group(1)) if found else None


def _answer_until_stopped(session, elements, index: int, acks: list, lock, limit: int | None = None) -> list:
    """Click through the images; record (index, position, answer) once the page moved on."""
    position = _position(session, elements)
    while position is not None and (limit is None or position <= limit):
        time.sleep(NEW_IMAGE_GUARD_MS / 1000 + 0.1)  # past the page's guard: a person looks first
        answer = answer_for(index, position)
        elements = session.click(elements, "Real photo" if answer == 0 else "AI-generated")
        after = _position(session, elements)
        if after == position + 1 or (after is None and "Thank you" in session.text(elements)):
            with lock:
                acks.append({"name": NAMES[index], "position": position, "answer": answer})
        position = after
    return elements


def _wire_participant(url: str, index: int, acks: list, tokens: dict, lock) -> None:
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    from streamlit_wire import Session

    session = Session(url)
    try:
        elements = session.run()
        agree = session.widget_id(elements, "checkbox", "I have read the information above and agree to take part.")
        elements = session.run("", [WidgetState(id=agree, bool_value=True)])
        elements = session.click(elements, "Continue", **{agree: True})
        tokens[index] = dict(pair.split("=", 1) for pair in session.query_string.split("&"))["p"]
        time.sleep(QUESTIONS_GUARD_MS / 1000 + 0.1)
        elements = session.click(elements, "Skip these questions")
        time.sleep(INSTRUCTIONS_GUARD_MS / 1000 + 0.1)  # reading the instructions
        elements = session.click(elements, "Start")
        _answer_until_stopped(session, elements, index, acks, lock)
    except Exception:  # the server was killed under us: what was acknowledged is in `acks`
        pass
    finally:
        session.close()


def _stored_by_token(engine, tokens: dict) -> dict[int, dict[int, int]]:
    from db.schema import Answer, Participant

    query = select(Participant.token, Answer.position, Answer.answer).join(
        Participant, Participant.id == Answer.participant_id)
    by_index = {index: {} for index in tokens}
    index_of = {token: index for index, token in tokens.items()}
    with engine.connect() as conn:
        for token, position, answer in conn.execute(query):
            assert position not in by_index[index_of[token]]
            by_index[index_of[token]][position] = int(answer)
    for answers in by_index.values():
        assert sorted(answers) == list(range(1, len(answers) + 1))
    return by_index


def test_a_killed_streamlit_server_loses_no_answer_and_the_page_resumes_after_restart(backend, tmp_path):
    from db import open_database
    from db.engine import dispose
    from study import survey
    from study.data import active
    from study.config import get_settings
    from streamlit_wire import Session, make_server

    url = get_settings().database_url
    engine = open_database(url)
    survey.create_set(engine, active.dataset_by_source("demo"), size=WIRE_SIZE, seed=9)
    server = make_server(tmp_path, "wire-secret", database_url=url).start()
    acks, tokens, lock = [], {}, threading.Lock()
    try:
        threads = [threading.Thread(target=_wire_participant, args=(server.url, i, acks, tokens, lock))
                   for i in range(WIRE_PARTICIPANTS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 90
        while len(acks) < WIRE_KILL_AFTER_ACKS and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()
        for thread in threads:
            thread.join(timeout=60)
        assert len(acks) >= WIRE_KILL_AFTER_ACKS and len(tokens) == WIRE_PARTICIPANTS

        stored = _stored_by_token(engine, tokens)
        for ack in acks:  # every answer a participant saw accepted survived the kill
            assert stored[NAMES.index(ack["name"])][ack["position"]] == ack["answer"]
        assert any(len(a) < WIRE_SIZE for a in stored.values()), "killed too late: nobody was mid-survey"

        dispose(url)
        server.start()  # same port, same database: the participants' links work again
        resumed = {}

        def come_back(index: int, token: str) -> None:
            session = Session(server.url, query_string=f"p={token}")
            try:
                elements = session.run()
                resumed[index] = _position(session, elements)
                _answer_until_stopped(session, elements, index, acks, lock)
            finally:
                session.close()

        threads = [threading.Thread(target=come_back, args=item) for item in tokens.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        # Each link opens the next unanswered image (a finished one: the score page).
        assert resumed == {i: (len(a) + 1 if len(a) < WIRE_SIZE else None) for i, a in stored.items()}
    finally:
        server.stop()
    final = _stored_by_token(engine, tokens)
    assert all(len(answers) == WIRE_SIZE for answers in final.values())
    for ack in acks:
        assert final[NAMES.index(ack["name"])][ack["position"]] == ack["answer"]
