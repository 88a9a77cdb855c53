"""The Results page's charts of the conditions (plotly), from `by_condition`
(conditions.py): one builder per chart, each labelled with its n, and nothing
drawn for a figure that is "not enough data"."""
from __future__ import annotations

import plotly.graph_objects as go

from study.analysis.conditions import CONFIDENCE_LEVELS, NOT_ENOUGH, reliance_rows

CHANCE = 0.5


def accuracy_figure(data: dict) -> go.Figure:
    """Mean accuracy of each condition's completed participants (score / set size)
    with its 95% t interval; a condition without enough data is named, not drawn."""
    names, means, up, down, notes = [], [], [], [], []
    for c in data["conditions"]:
        s = c["score"]
        names.append(c["name"])
        mean, low, high = s["mean_accuracy"], s["mean_accuracy_ci_low"], s["mean_accuracy_ci_high"]
        means.append(mean)
        up.append(None if high is None else high - mean)
        down.append(None if low is None else mean - low)
        notes.append(f"n = {s['n']}" if mean is not None else f"{NOT_ENOUGH} (n = {s['n']})")
    figure = go.Figure(go.Bar(x=names, y=means, text=[n if m is not None else "" for n, m in zip(notes, means)],
                              textposition="inside", insidetextanchor="start", constraintext="none",
                              error_y={"type": "data", "array": up, "arrayminus": down, "visible": True}))
    for name, mean, note in zip(names, means, notes):
        if mean is None:  # nothing to draw: say why where the bar would be
            figure.add_annotation(x=name, y=0.05, text=note, showarrow=False)
    figure.add_hline(y=CHANCE, line_dash="dot", annotation_text="chance")
    figure.update_layout(title="Accuracy per condition (completed participants, 95% CI)",
                         xaxis_title="condition", yaxis_title="mean accuracy (score / set size)",
                         yaxis_range=[0, 1.1], yaxis_tickformat=".0%")
    return figure


def reliance_figure(data: dict) -> go.Figure:
    """For each hinted condition: agreement with the model when it was right / wrong,
    and in after_first conditions the switches towards and away from it."""
    rows = reliance_rows(data)
    figure = go.Figure()
    for label in dict.fromkeys(r["figure"] for r in rows):
        these = [r for r in rows if r["figure"] == label]
        figure.add_bar(name=label, x=[r["condition"] for r in these], y=[r["share"] for r in these],
                       text=[f"n = {r['answers']}" if r["share"] is not None else f"{NOT_ENOUGH} (n = {r['answers']})"
                             for r in these], textposition="outside",
                       hovertemplate="%{y:.1%}, %{text}<extra>" + label + "</extra>")
    figure.update_layout(title="Reliance on the model (share of answers; n = answers)", barmode="group",
                         xaxis_title="condition", yaxis_title="share of answers", yaxis_range=[0, 1.1],
                         yaxis_tickformat=".0%", legend_title_text="")
    return figure


def calibration_figure(data: dict) -> go.Figure:
    """Accuracy at each confidence level, a line per condition; the dotted line is
    what 1 = guessing (50%) to 5 = certain (100%) would mean if taken literally."""
    figure = go.Figure()
    for c in data["conditions"]:
        levels = c["calibration"]
        figure.add_scatter(x=[lv["confidence"] for lv in levels], y=[lv["share"] for lv in levels],
                           mode="lines+markers", name=c["name"], connectgaps=False,
                           customdata=[[lv["n_answers"], lv["n_participants"]] for lv in levels],
                           hovertemplate="confidence %{x}: %{y:.1%} right (n = %{customdata[0]} answers, "
                                         "%{customdata[1]} participants)")
    literal = [CHANCE + (level - 1) * (1 - CHANCE) / (len(CONFIDENCE_LEVELS) - 1) for level in CONFIDENCE_LEVELS]
    figure.add_scatter(x=list(CONFIDENCE_LEVELS), y=literal, mode="lines", line_dash="dot", line_color="grey",
                       name="1 = guess, 5 = certain")
    figure.update_layout(title="Calibration: accuracy at each confidence level", xaxis_title="confidence (1-5)",
                         yaxis_title="share right", yaxis_range=[0, 1.05], yaxis_tickformat=".0%",
                         xaxis_tickvals=list(CONFIDENCE_LEVELS))
    return figure
