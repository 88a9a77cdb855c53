"""The reproduction report: the sections of study/experiments/view.py as
markdown tables, and their plotly charts as HTML (plotly.min.js written once
in the same folder, so the charts open without internet)."""
from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from study import paper
from study.experiments.view import evidence_lines, sections


def _cell(column: str, value) -> str:
    """Percentages with two decimals; settings (an L2 of 0.0001) exactly as given."""
    if value is None:
        return "–"
    return f"{value:.2f}" if column.endswith("%") and isinstance(value, float) else str(value)


def markdown_table(rows: list[dict]) -> str:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(h, row.get(h)) for h in header) + " |" for row in rows]
    return "\n".join(lines)


def _chart(fig: go.Figure, out: Path, name: str) -> Path:
    path = out / f"{name}.html"
    fig.update_layout(template="plotly_white", height=420)
    fig.write_html(path, include_plotlyjs="directory", full_html=True)
    return path


def write_report(table: str, results: dict, out: Path) -> list[Path]:
    """out/report.md and one HTML file per chart; returns the files."""
    human = paper.HUMAN_BASELINE
    lines = [f"# Reproduction of table {table}", "",
             f"Human baseline in the paper: {human['mean_score']}/{human['out_of']} ({human['mean_pct']}%) "
             f"over {human['participants']} people.", ""]
    charts = []
    for section in sections(results):
        lines += [f"## {section.title}", ""]
        if section.note:
            lines += [section.note, ""]
        if section.rows:
            lines += [markdown_table(section.rows), ""]
        if section.figure is not None:
            charts.append(_chart(section.figure, out, section.chart_name))
    lines += ["Charts: " + ", ".join(f"[{c.stem}]({c.name})" for c in charts), "",
              "## Evidence", *[f"- {line}" for line in evidence_lines(results["evidence"])], ""]
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return [report, *charts, out / "results.json"]
