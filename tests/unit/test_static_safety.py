"""Safety read from the code and the configuration, without running anything: pages
render HTML only from constant strings written in the code, and the server's
configuration caps uploads and keeps XSRF protection on (the running server:
tests/system/test_security_server.py)."""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from helpers import APP, REPO


def _html_calls(path: Path):
    """(line, what) for every st.html call and every unsafe_allow_html=True in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "html":
            yield node, "st.html"
        for keyword in node.keywords:
            if keyword.arg == "unsafe_allow_html" and not (
                    isinstance(keyword.value, ast.Constant) and keyword.value.value is False):
                yield node, "unsafe_allow_html"


def test_pages_render_html_only_from_constant_strings_written_in_the_code():
    files = [APP, *sorted((REPO / "app_pages").glob("*.py")), *sorted((REPO / "ui").glob("*.py"))]
    offenders = []
    for path in files:
        for call, what in _html_calls(path):
            body = call.args[0] if call.args else None
            if not (isinstance(body, ast.Constant) and isinstance(body.value, str)):
                offenders.append(f"{path.relative_to(REPO)}:{call.lineno} {what} with non-constant content")
    assert offenders == []


def test_project_config_caps_uploads_and_keeps_xsrf_on():
    server = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]
    assert server["enableXsrfProtection"] is True
    assert 1 <= server["maxUploadSize"] <= 10  # MB: single small images
    assert server["maxMessageSize"] <= 200
