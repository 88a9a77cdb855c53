"""The app as `make run` serves it: a real Streamlit server process."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def test_server_answers_health_and_serves_the_landing_page(study_home):
    port = _free_port()
    env = {**os.environ, "STUDY_HOME": str(study_home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 90
        health = None
        while time.monotonic() < deadline and health is None:
            try:
                health = _get(f"http://127.0.0.1:{port}/_stcore/health")
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.5)
        assert health == (200, "ok")
        status, html = _get(f"http://127.0.0.1:{port}/")
        assert status == 200 and "<html" in html.lower()
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    # The first start generated the researcher secret and said where, not what.
    secret_file = study_home / "researcher_password.txt"
    assert "Traceback" not in output
    if secret_file.exists():  # created once the first session ran the app script
        assert secret_file.read_text().strip() not in output
