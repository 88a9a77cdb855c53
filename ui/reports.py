"""Drawing a reproduction report (study/experiments/view.py sections) on a page:
a picker over the reports on disk, the demo warning, tables, charts, how the
numbers were made, and the markdown to download."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from study.experiments.reports import list_reports, load_results
from study.experiments.report import markdown_table
from study.experiments.view import evidence_lines, sections


def report_picker(tables: tuple[str, ...], names: dict[str, str], key: str) -> dict | None:
    """A select box over the reports of these tables, newest first; None if there are none."""
    reports = list_reports(tables=tables)
    if not reports:
        return None

    def label(report: dict) -> str:
        if "error" in report:
            return f"{report['name']} ({report['error']})"
        data = "demo" if report["is_demo"] else report["source"]
        return f"{report['name']} · {names.get(report['table'], report['table'])} · {data} · {report['when']}"

    return st.selectbox("Report", reports, format_func=label, key=key)


def draw_report(report: dict, key: str) -> None:
    if "error" in report:
        st.warning(f"{report['folder']}: {report['error']}. The run may have been interrupted while writing; "
                   "rerun the experiment.")
        return
    results = load_results(report["folder"])
    if report["is_demo"]:
        st.warning("Synthetic demo pool, not CIFAKE: these numbers say nothing about the paper.")
    for section in sections(results):
        st.markdown(f"#### {section.title}")
        if section.note:
            st.markdown(section.note)
        if section.rows and section.prose:
            st.markdown(markdown_table(section.rows))
        elif section.rows:
            st.dataframe(pd.DataFrame(section.rows), hide_index=True)
        if section.figure is not None:
            st.plotly_chart(section.figure, key=f"{key}-{report['name']}-{section.chart_name}")
    with st.expander("How these numbers were made"):
        st.markdown("\n".join(f"- {line}" for line in evidence_lines(results["evidence"])))
    report_md = report["folder"] / "report.md"
    if report_md.exists():
        st.download_button("Download report.md", report_md.read_bytes(), file_name=f"{report['name']}-report.md",
                           mime="text/markdown", key=f"{key}-download")
