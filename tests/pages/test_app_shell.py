"""The app's doors: participants see only the survey; researcher pages need the
secret, also when asked for directly."""
import os
import stat
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from study import auth
from helpers import APP as APP_FILE, REPO

APP = str(APP_FILE)
TIMEOUT = 60


def _titles(at) -> list[str]:
    return [t.value for t in at.title]


def _assert_setup_refused(at) -> None:
    """The researcher pages are not registered in a participant's navigation."""
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/setup.py")


def test_no_pages_folder_beside_the_entry_point():
    # Streamlit runs the files of a `pages/` folder beside the entry point as
    # pages of their own (bypassing st.navigation and its login gate) until the
    # entry point has run once in the process; so our pages live in app_pages/.
    assert not (REPO / "pages").exists()


def _researcher_app(monkeypatch, password="correct horse"):
    monkeypatch.setenv("RESEARCHER_PASSWORD", password)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/login.py").run()
    return at


def test_landing_page_renders_without_errors():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "Setup" not in _titles(at)


def test_wrong_password_is_refused(monkeypatch):
    at = _researcher_app(monkeypatch)
    at.text_input[0].input("guess")
    at.button[0].click().run()
    assert any("Wrong password" in e.value for e in at.error)
    _assert_setup_refused(at)


def test_researcher_reaches_setup_after_login(monkeypatch):
    at = _researcher_app(monkeypatch)
    at.text_input[0].input("correct horse")
    at.button[0].click().run()
    assert not at.error
    at.switch_page("app_pages/setup.py").run()
    assert not at.exception
    assert "Setup" in _titles(at)
    # Before CIFAKE is prepared the Setup page says the app serves the demo pool.
    assert any("demo pool" in w.value for w in at.warning)


def test_secret_is_generated_once_owner_only_and_never_printed(study_home, capsys):
    first = auth.researcher_secret()
    second = auth.researcher_secret()
    assert first == second and len(first) >= 16
    path = auth.secret_path()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    printed = capsys.readouterr().err
    assert str(path) in printed and first not in printed


def test_environment_secret_wins_over_generated(monkeypatch):
    monkeypatch.setenv("RESEARCHER_PASSWORD", "from-env")
    assert auth.researcher_secret() == "from-env"
    assert not auth.secret_path().exists()


def test_repeated_wrong_passwords_are_slowed_down(monkeypatch):
    waits = []
    monkeypatch.setattr(auth.time, "sleep", waits.append)
    for _ in range(4):
        assert not auth.check_password("nope", "secret", client="10.0.0.9")
    assert waits == [0.0, 0.5, 1.0, 2.0]
    assert auth.check_password("secret", "secret", client="10.0.0.9")
    assert auth.failure_delay("10.0.0.9") == 0.0


def test_a_process_pool_child_does_not_rerun_the_app(tmp_path):
    # Streamlit installs the entry point as __main__; each child of a decoding pool
    # started from a page re-runs that file as __mp_main__ (multiprocessing's spawn and
    # forkserver). Before the guard, every child opened the database (a "database is
    # locked" crash beside the parent's writes) and drew the navigation.
    home = tmp_path / "home"
    child = f"import runpy; runpy.run_path({APP!r}, run_name='__mp_main__')"
    done = subprocess.run([sys.executable, "-c", child], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "STUDY_HOME": str(home)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not (home / "study.db").exists()
