"""The app's defences on a real `streamlit run` server, spoken to in Streamlit's own
websocket protocol (the protobuf messages its browser client sends), so no browser
is needed: researcher URLs show a participant the survey; the researcher secret,
generated or from RESEARCHER_PASSWORD, never reaches the server's output; uploads
are capped and XSRF-protected. (The same doors in one process: tests/pages/test_security.py.)"""
from __future__ import annotations

import http.client
import re
import tomllib
from pathlib import Path

import pytest

from helpers import APP, REPO
from streamlit_wire import Server, Session, make_server
from study import auth


def _start_server(folder: Path, password: str | None) -> Server:
    server = make_server(folder, password)
    try:
        return server.start()
    except RuntimeError as err:
        pytest.fail(str(err))


@pytest.fixture(scope="module")
def server_with_env_password(tmp_path_factory):
    server = _start_server(tmp_path_factory.mktemp("env-secret"), "env-Secret-7f3a9c")
    yield server
    server.stop()


def _researcher_url_paths() -> list[str]:
    return re.findall(r'url_path="([^"]+)"', APP.read_text())


def test_researcher_urls_on_a_real_server_show_a_participant_the_survey(server_with_env_password):
    paths = [p for p in _researcher_url_paths() if p != "login"]
    assert {"setup", "survey-sets"} <= set(paths)
    session = Session(server_with_env_password.url)
    try:
        for path in paths:
            shown = session.text(session.run(path))
            assert "I have read the information above" in shown  # the survey's consent page instead
            for secret_sign in ("Setup", "Survey sets", "Prepare", "Create a set", "Download answers"):
                assert secret_sign not in shown
    finally:
        session.close()


def test_login_over_the_wire_and_the_password_never_reaches_the_log(server_with_env_password):
    server, password = server_with_env_password, "env-Secret-7f3a9c"
    session = Session(server.url)
    try:
        assert "Wrong password." in session.log_in("env-Secret-7f3a9d")
        assert "You are logged in as a researcher" in session.log_in(password)
        assert 'body: "Setup"' in session.text(session.run("setup"))
    finally:
        session.close()
    assert password not in server.output() and "env-Secret-7f3a9d" not in server.output()


def test_a_generated_secret_is_announced_by_its_file_never_by_its_value(tmp_path):
    server = _start_server(tmp_path, None)
    try:
        session = Session(server.url)
        try:
            assert "I have read the information above" in session.text(session.run())  # first run generates it
            secret_file = server.home / auth.SECRET_FILE
            secret = secret_file.read_text().strip()
            assert "You are logged in as a researcher" in session.log_in(secret)
        finally:
            session.close()
    finally:
        server.stop()
    output = server.output()
    assert str(secret_file) in output and secret not in output


def test_the_running_server_protects_uploads_with_xsrf_and_caps_their_size(server_with_env_password):
    server = server_with_env_password
    session = Session(server.url)
    try:
        session.run()
        upload = f"{server.url}/_stcore/upload_file/{session.session_id}/file1"

        def put(length: int, with_token: bool) -> int:
            """The status of a PUT announcing `length` bytes; the server answers on the
            headers alone, so the body is only sent when it is small."""
            conn = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=30)
            try:
                conn.putrequest("PUT", upload.removeprefix(server.url))
                conn.putheader("Content-Type", "application/octet-stream")
                conn.putheader("Content-Length", str(length))
                conn.putheader("Cookie", session.cookie)
                if with_token:
                    conn.putheader("X-Xsrftoken", session.xsrf)
                conn.endheaders(b"x" * length if length < 10_000 else None)
                return conn.getresponse().status
            finally:
                conn.close()

        assert put(100, with_token=False) == 403  # a forged cross-site request
        max_mb = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
        assert put(max_mb * 1024 * 1024 + 1, with_token=True) == 413
    finally:
        session.close()
