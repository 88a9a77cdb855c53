"""Small helpers shared by the AppTest page tests."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from helpers import APP, APP_PAGES

TEXT_KINDS = ("markdown", "error", "info", "warning", "success", "subheader", "code", "caption")


def researcher_page(name: str, timeout: float = 90) -> AppTest:
    """A page of app_pages/ as a logged-in researcher sees it (not yet run)."""
    at = AppTest.from_file(APP_PAGES / name, default_timeout=timeout)
    at.session_state["researcher"] = True
    return at


def researcher_app(page: str, timeout: float = 120) -> AppTest:
    """The whole app, logged in, run on one of its researcher pages ("app_pages/x.py")."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state["researcher"] = True
    at.run()  # the navigation registers the researcher pages on a run
    return at.switch_page(page).run()


def texts(at: AppTest) -> str:
    """Everything a person reads on the page, as one string."""
    return "\n".join(str(e.value) for kind in TEXT_KINDS for e in getattr(at, kind))
