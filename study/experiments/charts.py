"""The reproduction's charts as plotly figures, beside the paper's numbers:
the report writes them as HTML, the Experiments page draws them. One builder
per figure, so both show the same thing."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.colors import DEFAULT_PLOTLY_COLORS
from plotly.subplots import make_subplots

from study import paper
from study.data.filters import get as filter_info
from study.experiments.plan import cnn_label


def _val_test_lines(fig: go.Figure, x: list[str], rows: list[dict]) -> None:
    fig.add_scatter(x=x, y=[r.get("val") for r in rows], name="ours: validation", mode="lines+markers")
    fig.add_scatter(x=x, y=[r.get("test") for r in rows], name="ours: test", mode="lines+markers")


def layers_figure(grid: list[dict]) -> go.Figure:
    """Figure 5: validation and test accuracy over conv x dense layers x units,
    with the two configurations the paper names marked."""
    labels = [cnn_label(r) for r in grid]
    fig = go.Figure()
    _val_test_lines(fig, labels, grid)
    for key, bound, word in (("worst", "test_below", "below"), ("best", "test_above", "above")):
        claim = paper.SWEEPS[key]
        label = cnn_label(claim)
        if label in labels:
            fig.add_scatter(x=[label], y=[claim[bound]], mode="markers", marker_symbol="x", marker_size=12,
                            name=f"paper: {key}, test {word} {claim[bound]:.0f}%")
    fig.update_layout(title="Figure 5: conv layers × dense layers × units per dense layer",
                      xaxis_title="configuration (conv c, dense d, units u)", yaxis_title="accuracy (%)")
    return fig


def knob_figure(rows: list[dict], key: str) -> go.Figure:
    """Figure 6 (key "l2") or Figure 7 (key "dropout") on the best grid model."""
    title = {"l2": "Figure 6: L2 regularisation strength", "dropout": "Figure 7: dropout rate"}[key]
    fig = go.Figure()
    _val_test_lines(fig, [str(r[key]) for r in rows], rows)
    if key == "dropout":
        fig.add_hline(y=89, line_dash="dot", annotation_text="paper: dropout 0.2 kept test above 89%")
    fig.update_layout(title=title, xaxis_title=key, xaxis_type="category", yaxis_title="accuracy (%)")
    return fig


def augment_figure(rows: dict, model: str) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=["plain", "augmented"], y=[rows["plain"]["test"], rows["augmented"]["test"]],
                name=f"ours ({model})")
    fig.add_bar(x=["augmented"], y=[paper.EFFICIENTNET_AUGMENTED_TEST], name="paper (EfficientNetB0)")
    fig.update_layout(barmode="group", yaxis_title="test accuracy (%)", yaxis_range=[0, 100], title="Augmentation")
    return fig


def filters_figure(rows: dict) -> go.Figure:
    names = [filter_info(n).label for n in paper.TABLE3]
    fig = go.Figure()
    fig.add_bar(name="paper: test on filtered", x=names, y=[paper.TABLE3[n][2] for n in paper.TABLE3])
    fig.add_bar(name="ours: test on filtered", x=names, y=[rows[n]["test"] for n in paper.TABLE3])
    fig.add_bar(name="paper: test on original", x=names, y=[paper.TABLE4.get(n) for n in paper.TABLE3])
    fig.add_bar(name="ours: test on original", x=names, y=[rows[n].get("test_original") for n in paper.TABLE3])
    fig.update_layout(barmode="group", yaxis_title="accuracy (%)", yaxis_range=[0, 100],
                      title="Tables 3 and 4: filtered training")
    return fig


def table1_figure(rows: dict) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(name="paper test", x=[v[0] for v in paper.TABLE1.values()], y=[v[3] for v in paper.TABLE1.values()])
    fig.add_bar(name="ours test", x=[v[0] for v in paper.TABLE1.values()],
                y=[rows.get(e, {}).get("test") for e in paper.TABLE1])
    fig.update_layout(barmode="group", yaxis_title="test accuracy (%)", yaxis_range=[0, 100], title="Table 1")
    return fig


def robustness_figure(results: dict, name: str) -> go.Figure:
    """One perturbation: accuracy (left) and AUROC (right) of every model from
    the clean images through each level, easiest first; one colour per model."""
    kind = results["perturbations"][name]
    x = ["clean", *[str(level) for level in kind["levels"]]]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("accuracy (%)", "AUROC"))
    for i, label in enumerate(results["models"]):
        row = results["rows"][label]
        points = [row["clean"], *row["perturbations"][name]]
        colour = DEFAULT_PLOTLY_COLORS[i % len(DEFAULT_PLOTLY_COLORS)]
        for col, key in ((1, "accuracy"), (2, "auroc")):
            fig.add_scatter(x=x, y=[p[key] for p in points], name=label, legendgroup=label, showlegend=col == 1,
                            mode="lines+markers", line_color=colour, row=1, col=col)
    fig.update_xaxes(type="category", title_text=kind["level_name"])
    fig.update_layout(title=f"{kind['label']}: {kind['level_name']}, easiest first")
    return fig
