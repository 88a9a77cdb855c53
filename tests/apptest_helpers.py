"""Small helpers shared by the AppTest page tests."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parents[1] / "app_pages"
TEXT_KINDS = ("markdown", "error", "info", "warning", "success", "subheader", "code", "caption")


def researcher_page(name: str, timeout: float = 90) -> AppTest:
    """A page of app_pages/ as a logged-in researcher sees it (not yet run)."""
    at = AppTest.from_file(PAGES / name, default_timeout=timeout)
    at.session_state["researcher"] = True
    return at


def texts(at: AppTest) -> str:
    """Everything a person reads on the page, as one string."""
    return "\n".join(str(e.value) for kind in TEXT_KINDS for e in getattr(at, kind))
