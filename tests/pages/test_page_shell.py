"""How the pages look, whatever the machine: researcher pages fill the window
(in the centred column the Results page cut its figures, tables and buttons),
the survey keeps its centred column; icons and marks need no emoji font (lab
machines and kiosks often lack one: they would show empty boxes); pages ask
study/ and never open the database themselves; numbers read the same everywhere."""
from __future__ import annotations

import ast
import math
import re

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from ui import formatting
from apptest_helpers import researcher_app
from helpers import APP as APP_FILE, REPO

APP = str(APP_FILE)
PAGES = sorted((REPO / "app_pages").glob("*.py"))
DRAWING = [REPO / "streamlit_app.py", *PAGES, *sorted((REPO / "ui").glob("*.py"))]
RESEARCHER_PAGES = ["setup", "survey_admin", "results", "predict", "training", "filters", "experiments"]
# Pictographs, dingbats and symbols that only an emoji font draws (✅ ❌ 🖼️ 🔍 …),
# and the variation selector that asks for emoji presentation.
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F]")


@pytest.fixture
def layouts(monkeypatch) -> list[str | None]:
    """The layout of every st.set_page_config call, in order (the app still gets the call)."""
    calls, real = [], streamlit.set_page_config

    def record(*args, **kwargs):
        calls.append(kwargs.get("layout"))
        return real(*args, **kwargs)

    monkeypatch.setattr(streamlit, "set_page_config", record)
    return calls


def test_a_participant_gets_the_centred_survey(layouts):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert layouts and layouts[-1] == "centered"


@pytest.mark.parametrize("name", ["results", "training"])
def test_researcher_pages_are_wide_and_the_survey_stays_centred(layouts, name):
    at = researcher_app(f"app_pages/{name}.py", timeout=60)
    assert not at.exception
    assert layouts[-1] == "wide"
    at.switch_page("app_pages/survey.py").run()  # a researcher trying the survey sees what participants see
    assert layouts[-1] == "centered"


def test_every_researcher_page_is_registered_wide():
    """The entry point decides by membership in its list of researcher pages:
    every researcher page must be in it."""
    source = (REPO / "streamlit_app.py").read_text()
    block = source[source.index("researcher_pages = ["):source.index("page = st.navigation(")]
    for name in RESEARCHER_PAGES:
        assert f'"app_pages/{name}.py"' in block
    assert 'layout="wide" if page in researcher_pages else "centered"' in source


@pytest.mark.parametrize("path", DRAWING, ids=lambda p: str(p.relative_to(REPO)))
def test_nothing_drawn_needs_an_emoji_font(path):
    found = sorted(set(EMOJI.findall(path.read_text(encoding="utf-8"))))
    assert not found, f"{path.name} draws {found}: use a :material/...: icon or words instead"


def test_page_icons_are_material_symbols():
    source = (REPO / "streamlit_app.py").read_text()
    constants = dict(re.findall(r'^([A-Z_]+) = "([^"]*)"$', source, re.M))
    icons = [constants.get(value, value.strip('"')) for value in re.findall(r"icon=([^,)]+)", source)]
    assert len(icons) >= 10  # two pages for everyone, seven researcher pages, the favicon
    assert all(re.fullmatch(r":material/[a-z_]+:", icon) for icon in icons), icons


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_no_page_opens_the_database_itself(path):
    tree = ast.parse(path.read_text())
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [m for m in imported if m == "db" or m.startswith("db.") or m == "sqlalchemy"], \
        f"{path.name} imports the database layer; ask a study wing instead"


def test_numbers_read_the_same_on_every_page():
    assert formatting.pct(0.56432) == "56.4%"
    assert formatting.pct(0.85123, 2) == "85.12%"
    assert formatting.pct(1) == "100.0%" and formatting.pct(0.5, 0) == "50%"
    assert formatting.number(8.456) == "8.46" and formatting.number(1234.4, 0) == "1234"
    for missing in (None, math.nan, float("nan")):
        assert formatting.pct(missing) == formatting.number(missing) == formatting.MISSING == "–"
