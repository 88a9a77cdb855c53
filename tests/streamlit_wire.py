"""A real `streamlit run streamlit_app.py` server, and a client that speaks
Streamlit's own websocket protocol (the protobuf messages its browser client
sends): one `Session` is one browser tab, without a browser. Used by the
security and crash-safety tests."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from helpers import APP, REPO, free_port

START_TIMEOUT_S = 90


@dataclass
class Server:
    url: str
    port: int
    home: Path
    log: Path
    env: dict
    proc: subprocess.Popen | None = None
    app: Path = APP

    @property
    def database_url(self) -> str:
        return self.env.get("DATABASE_URL") or f"sqlite:///{self.home / 'study.db'}"

    def output(self) -> str:
        return self.log.read_text()

    def start(self) -> "Server":
        """Start (or restart, on the same port and STUDY_HOME) and wait until healthy."""
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", str(self.app), "--server.port", str(self.port),
                 "--server.address", "127.0.0.1", "--server.headless", "true"],
                cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"streamlit did not start:\n{self.output()}")
            time.sleep(0.3)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, transactions are cut off where they are."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def make_server(folder: Path, password: str | None, database_url: str | None = None, app: Path = APP) -> Server:
    """A server (not yet started) with its own STUDY_HOME in folder."""
    home, port = folder / "home", free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CIFAKE_ROOT", "RESEARCHER_PASSWORD")}
    env["STUDY_HOME"] = str(home)
    if password:
        env["RESEARCHER_PASSWORD"] = password
    if database_url:
        env["DATABASE_URL"] = database_url
    return Server(f"http://127.0.0.1:{port}", port, home, folder / "server.log", env, app=app)


class Session:
    """One browser tab: runs pages, sends widget values, follows query-string changes."""

    def __init__(self, base_url: str, query_string: str = ""):
        from websockets.sync.client import connect

        with urllib.request.urlopen(base_url + "/_stcore/health", timeout=5) as response:
            self.cookie = response.headers["set-cookie"].split(";")[0]
        self.xsrf = self.cookie.split("=", 1)[1]
        ws_url = base_url.replace("http://", "ws://") + "/_stcore/stream"
        self._connection = connect(ws_url, subprotocols=["streamlit", self.xsrf], open_timeout=30,
                                   additional_headers={"Cookie": self.cookie, "Origin": base_url})
        self.ws = self._connection.__enter__()
        self.session_id: str | None = None
        self.query_string = query_string

    def run(self, page: str = "", widgets=()) -> list:
        """Run a page (its URL path) as the browser would; returns the elements the
        last complete run showed (after any st.rerun)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        message.rerun_script.page_name = page
        message.rerun_script.query_string = self.query_string
        message.rerun_script.widget_states.widgets.extend(widgets)
        self.ws.send(message.SerializeToString())
        elements = []
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(self.ws.recv(timeout=60))
            kind = forward.WhichOneof("type")
            if kind == "new_session":
                self.session_id = forward.new_session.initialize.session_id
                elements = []  # a new run starts (e.g. after st.rerun): show what it shows
            elif kind == "page_info_changed":
                self.query_string = forward.page_info_changed.query_string  # st.query_params[...] = ...
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                elements.append(forward.delta.new_element)
            elif kind == "script_finished" and (
                    forward.script_finished != ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN):
                return elements

    @staticmethod
    def text(elements) -> str:
        return "\n".join(str(element) for element in elements)

    @staticmethod
    def widget_id(elements, kind: str, label: str) -> str:
        for element in elements:
            if element.WhichOneof("type") == kind and getattr(element, kind).label == label:
                return getattr(element, kind).id
        raise LookupError(f"no {kind} labelled {label!r} on the page:\n{Session.text(elements)[:2000]}")

    def click(self, elements, label: str, page: str = "", **other_widgets) -> list:
        """Press the button labelled `label` (other_widgets: widget id -> bool value)."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        states = [WidgetState(id=self.widget_id(elements, "button", label), trigger_value=True)]
        states += [WidgetState(id=wid, bool_value=value) for wid, value in other_widgets.items()]
        return self.run(page, states)

    def log_in(self, password: str) -> str:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        form = self.run("login")
        field = next(e.text_input.id for e in form if e.WhichOneof("type") == "text_input")
        submit = next(e.button.id for e in form if e.WhichOneof("type") == "button")
        return self.text(self.run("login", [WidgetState(id=field, string_value=password),
                                            WidgetState(id=submit, trigger_value=True)]))

    def close(self) -> None:
        try:
            self._connection.__exit__(None, None, None)
        except Exception:  # the server may be gone already (killed on purpose)
            pass
