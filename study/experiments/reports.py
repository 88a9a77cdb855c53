"""The reproduction reports on disk (Settings.reports_dir/<name>/results.json),
whether a page's background job or `python -m study reproduce` wrote them, so
the Experiments page shows headless runs too."""
from __future__ import annotations

import json
from pathlib import Path

from study.config import get_settings


def load_results(folder: Path) -> dict:
    return json.loads((Path(folder) / "results.json").read_text())


def report_headline(folder: Path) -> dict:
    """One report's headline: table, when, data, plan; "error" for a folder
    whose results cannot be read (it is listed, not hidden)."""
    folder = Path(folder)
    try:
        results = load_results(folder)
        ev, plan = results["evidence"], results["evidence"]["plan"]
        return {"folder": folder, "name": folder.name, "table": plan["table"], "when": ev["when"],
                "wall_seconds": ev["wall_seconds"], "source": ev["dataset"]["source"],
                "is_demo": bool(ev["dataset"]["is_demo"]), "epochs": plan["epochs"],
                "max_train": plan["max_train"], "quick": plan["quick"], "model": plan.get("model")}
    except (OSError, ValueError, KeyError, TypeError) as err:
        return {"folder": folder, "name": folder.name, "error": f"unreadable results.json ({type(err).__name__})"}


def list_reports(root: Path | None = None, tables: tuple[str, ...] | None = None) -> list[dict]:
    """Finished reports, newest first; `tables` keeps only those tables (unreadable ones stay listed)."""
    root = Path(root) if root else get_settings().reports_dir
    found = [report_headline(p.parent) for p in root.glob("*/results.json")] if root.is_dir() else []
    if tables is not None:
        found = [r for r in found if "error" in r or r["table"] in tables]
    return sorted(found, key=lambda r: r.get("when") or "", reverse=True)
