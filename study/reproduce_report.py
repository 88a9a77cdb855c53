"""The reproduction report: markdown tables with ours next to the paper's, and
plotly charts as HTML (plotly.min.js written once in the same folder, so the
charts open without internet; no image export needed)."""
from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from study import paper
from study.filters import get as filter_info


def _f(value) -> str:
    return "–" if value is None else f"{value:.2f}"


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _chart(fig: go.Figure, out: Path, name: str) -> Path:
    path = out / f"{name}.html"
    fig.update_layout(template="plotly_white", height=420)
    fig.write_html(path, include_plotlyjs="directory", full_html=True)
    return path


def _evidence_md(ev: dict) -> str:
    ds, plan = ev["dataset"], ev["plan"]
    lines = [
        "## Evidence",
        f"- wall time: {ev['wall_seconds']} s; {ev['when']}",
        f"- python {ev['python']}, torch {ev['torch']}, {ev['machine']}, {ev['cpu_threads']} CPU threads, "
        f"CUDA {'yes' if ev['cuda'] else 'no'}",
        f"- data: {ds['source']} (fingerprint {ds['fingerprint'][:12]})"
        + (" — **synthetic demo pool, not CIFAKE: these numbers say nothing about the paper**" if ds["is_demo"] else ""),
        f"- epochs {plan['epochs']}, train images {'all' if plan['max_train'] is None else plan['max_train']}, "
        f"batch {plan['batch_size']}, lr {plan['lr']}, seed {plan['seed']}, quick {plan['quick']}",
    ]
    return "\n".join(lines)


def _filters_md(results: dict, out: Path, model: str) -> tuple[str, list[Path]]:
    rows = results["rows"]
    t3 = [[filter_info(n).label, paper.TABLE3_MODEL[n], *map(_f, paper.TABLE3[n]),
           *map(_f, (rows[n]["train"], rows[n]["val"], rows[n]["test"]))] for n in paper.TABLE3]
    t4 = []
    for n in paper.TABLE3:
        ours = rows[n].get("test_original")
        t4.append([filter_info(n).label, _f(paper.TABLE4.get(n)), _f(ours) if ours is not None else
                   f"– ({rows[n].get('note', 'not measured')})"])
    ref = rows.get("none")
    text = [
        f"## Table 3: trained and tested on filtered images (ours: `{model}` from scratch)",
        "The paper fine-tuned EfficientNetB0 (ImageNet weights) for three filters and LeNet for SRM; "
        f"we train `{model}` for all four, so only the SRM row is the same model.",
        "",
        _table(["filter", "paper model", "paper train %", "paper val %", "paper test %",
                "our train %", "our val %", "our test %"], t3),
        "",
        (f"Our `{model}` without any filter: train {_f(ref['train'])} %, val {_f(ref['val'])} %, "
         f"test {_f(ref['test'])} %." if ref else ""),
        "",
        "## Table 4: the filtered-image models tested on the original test images",
        _table(["filter", "paper test on original %", "our test on original %"], t4),
    ]
    names = [filter_info(n).label for n in paper.TABLE3]
    fig = go.Figure()
    fig.add_bar(name="paper: test on filtered", x=names, y=[paper.TABLE3[n][2] for n in paper.TABLE3])
    fig.add_bar(name="ours: test on filtered", x=names, y=[rows[n]["test"] for n in paper.TABLE3])
    fig.add_bar(name="paper: test on original", x=names, y=[paper.TABLE4.get(n) for n in paper.TABLE3])
    fig.add_bar(name="ours: test on original", x=names, y=[rows[n].get("test_original") for n in paper.TABLE3])
    fig.update_layout(barmode="group", yaxis_title="accuracy (%)", yaxis_range=[0, 100],
                      title="Tables 3 and 4: filtered training")
    return "\n".join(text), [_chart(fig, out, "tables3-4")]


def _table1_md(results: dict, out: Path) -> tuple[str, list[Path]]:
    rows, body, unavailable = results["rows"], [], []
    for entry, (name, *ref) in paper.TABLE1.items():
        ours = rows.get(entry, {})
        if "unavailable" in ours:
            unavailable.append(f"- {name} (`{entry}`): {ours['unavailable']}")
            body.append([name, *map(_f, ref), "unavailable", "unavailable", "unavailable"])
        else:
            body.append([name, *map(_f, ref), _f(ours.get("train")), _f(ours.get("val")), _f(ours.get("test"))])
    text = ["## Table 1: pretrained models",
            _table(["model", "paper train %", "paper val %", "paper test %", "our train %", "our val %",
                    "our test %"], body)]
    if unavailable:
        text += ["", "**Pretrained ImageNet weights are unavailable offline here**, so these rows were not "
                 "reproduced (a model trained from random weights is not the paper's experiment). Put the "
                 "weights in the Hugging Face cache, or train with `--weights FILE`, then rerun.", *unavailable]
    fig = go.Figure()
    fig.add_bar(name="paper test", x=[v[0] for v in paper.TABLE1.values()], y=[v[3] for v in paper.TABLE1.values()])
    fig.add_bar(name="ours test", x=[v[0] for v in paper.TABLE1.values()],
                y=[rows.get(e, {}).get("test") for e in paper.TABLE1])
    fig.update_layout(barmode="group", yaxis_title="test accuracy (%)", yaxis_range=[0, 100], title="Table 1")
    return "\n".join(text), [_chart(fig, out, "table1")]


def _sweeps_md(results: dict, out: Path) -> tuple[str, list[Path]]:
    grid = results["grid"]
    text = ["## Sweeps of the configurable CNN (Figures 5-7)",
            f"Paper: worst test accuracy (<81%) with {paper.SWEEPS['worst']}; best (>89%) with "
            f"{paper.SWEEPS['best']}; L2: {paper.SWEEPS['l2']}; dropout: {paper.SWEEPS['dropout']}.",
            "", "### Layers and units",
            _table(["conv", "dense", "units", "val %", "test %"],
                   [[r["n_conv"], r["n_dense"], r["dense_units"], _f(r["val"]), _f(r["test"])] for r in grid]),
            "", f"Best of our grid by validation accuracy: {results['best']} (used for L2 and dropout).",
            "", "### L2 strength (Keras-style lambda; Adam weight_decay = 2 lambda)",
            _table(["L2", "val %", "test %"], [[r["l2"], _f(r["val"]), _f(r["test"])] for r in results["l2"]]),
            "", "### Dropout",
            _table(["dropout", "val %", "test %"],
                   [[r["dropout"], _f(r["val"]), _f(r["test"])] for r in results["dropout"]])]
    files = []
    labels = [f"{r['n_conv']}c-{r['n_dense']}d-{r['dense_units']}u" for r in grid]
    fig = go.Figure()
    fig.add_scatter(x=labels, y=[r["val"] for r in grid], name="validation", mode="lines+markers")
    fig.add_scatter(x=labels, y=[r["test"] for r in grid], name="test", mode="lines+markers")
    fig.update_layout(title="Figure 5: conv layers x dense layers x units", yaxis_title="accuracy (%)")
    files.append(_chart(fig, out, "figure5-layers"))
    for key, title, name in (("l2", "Figure 6: L2 strength", "figure6-l2"), ("dropout", "Figure 7: dropout",
                                                                             "figure7-dropout")):
        rows = results[key]
        fig = go.Figure()
        fig.add_scatter(x=[str(r[key]) for r in rows], y=[r["val"] for r in rows], name="validation",
                        mode="lines+markers")
        fig.add_scatter(x=[str(r[key]) for r in rows], y=[r["test"] for r in rows], name="test", mode="lines+markers")
        fig.update_layout(title=title, xaxis_title=key, yaxis_title="accuracy (%)")
        files.append(_chart(fig, out, name))
    return "\n".join(text), files


def _augment_md(results: dict, out: Path, model: str) -> tuple[str, list[Path]]:
    rows = results["rows"]
    text = [f"## Augmentation (ours: `{model}` from scratch)",
            "The paper trained EfficientNetB0 on images with random rotations, shifts and flips and reached only "
            f"about {paper.EFFICIENTNET_AUGMENTED_TEST:.2f}% test accuracy; we train `{model}` without and with the "
            "same kind of augmentation.", "",
            _table(["training images", "train %", "val %", "test %", "paper test %"],
                   [["plain", *map(_f, (rows["plain"]["train"], rows["plain"]["val"], rows["plain"]["test"])), "–"],
                    ["augmented", *map(_f, (rows["augmented"]["train"], rows["augmented"]["val"],
                                            rows["augmented"]["test"])),
                     _f(paper.EFFICIENTNET_AUGMENTED_TEST)]])]
    fig = go.Figure()
    fig.add_bar(x=["plain", "augmented"], y=[rows["plain"]["test"], rows["augmented"]["test"]], name=f"ours ({model})")
    fig.add_bar(x=["augmented"], y=[paper.EFFICIENTNET_AUGMENTED_TEST], name="paper (EfficientNetB0)")
    fig.update_layout(barmode="group", yaxis_title="test accuracy (%)", yaxis_range=[0, 100], title="Augmentation")
    return "\n".join(text), [_chart(fig, out, "augmentation")]


def write_report(table: str, results: dict, out: Path) -> list[Path]:
    if table in ("3", "4"):
        body, charts = _filters_md(results, out, results["evidence"]["plan"]["model"])
    elif table == "1":
        body, charts = _table1_md(results, out)
    elif table == "augment":
        body, charts = _augment_md(results, out, results["evidence"]["plan"]["model"])
    else:
        body, charts = _sweeps_md(results, out)
    human = paper.HUMAN_BASELINE
    lines = [f"# Reproduction of table {table}", "",
             f"Human baseline in the paper: {human['mean_score']}/{human['out_of']} ({human['mean_pct']}%) "
             f"over {human['participants']} people.", "", body, "",
             "Charts: " + ", ".join(f"[{c.stem}]({c.name})" for c in charts), "",
             _evidence_md(results["evidence"]), ""]
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return [report, *charts, out / "results.json"]
