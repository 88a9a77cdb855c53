"""The app as `make run` serves it: a real Streamlit server process."""
import urllib.request

from streamlit_wire import Session, make_server
from study import auth


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def test_server_answers_health_and_serves_the_landing_page(tmp_path):
    server = make_server(tmp_path, password=None).start()
    try:
        assert _get(f"{server.url}/_stcore/health") == (200, "ok")
        status, html = _get(f"{server.url}/")
        assert status == 200 and "<html" in html.lower()
        session = Session(server.url)
        try:  # a first visitor runs the app script: the consent page, and the secret is generated
            assert "I have read the information above" in session.text(session.run())
        finally:
            session.close()
    finally:
        server.stop()
    output = server.output()
    assert "Traceback" not in output
    secret = (server.home / auth.SECRET_FILE).read_text().strip()
    assert secret and secret not in output
