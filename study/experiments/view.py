"""A reproduction's results as sections, each a titled table (ours beside the
paper's) with an optional chart. The markdown report and the Experiments page
both draw these, so the two never disagree."""
from __future__ import annotations

from dataclasses import dataclass, field

import plotly.graph_objects as go

from study import paper
from study.experiments import charts
from study.data.filters import get as filter_info
from study.experiments.plan import cnn_label
from study.ml.runs import get_run, original_test
from study.paper import percent


@dataclass
class Section:
    title: str
    note: str = ""
    rows: list[dict] = field(default_factory=list)  # one table; keys are the column headers
    prose: bool = False  # rows of sentences: drawn as a wrapping table, not a grid of numbers
    figure: go.Figure | None = None
    chart_name: str | None = None  # its HTML file in the report folder


def _num(value) -> str:
    return "–" if value is None else f"{value:.2f}"


def _at(rows: list[dict], key: str, value) -> dict | None:
    return next((r for r in rows if r.get(key) == value), None)


# ---------------------------------------------------------------- sweeps

def sweep_claims(results: dict) -> list[dict]:
    """Each statement the paper makes about its sweeps, and what our run says
    to it ("not in our grid" where we did not train that configuration)."""
    grid, claims = results["grid"], []
    by_test = sorted(grid, key=lambda r: -1 if r["test"] is None else r["test"])
    for key, bound, word in (("worst", "test_below", "below"), ("best", "test_above", "above")):
        claim = paper.SWEEPS[key]
        mine = next((r for r in grid if cnn_label(r) == cnn_label(claim)), None)
        extreme = by_test[0] if key == "worst" else by_test[-1]
        ours = (f"{cnn_label(claim)}: test {_num(mine['test'])}%, rank {by_test.index(mine) + 1} of {len(grid)} "
                "from the worst" if mine else f"{cnn_label(claim)} is not in our grid")
        claims.append({"the paper": f"{key} test accuracy ({word} {claim[bound]:.0f}%) with {cnn_label(claim)}",
                       "ours": f"{ours}; our {key}: {cnn_label(extreme)} at {_num(extreme['test'])}%"})
    low, high = _at(results["l2"], "l2", 0.001), _at(results["l2"], "l2", 0.1)
    claims.append({"the paper": paper.SWEEPS["l2"],
                   "ours": f"L2 0.001: test {_num(low['test'])}%; L2 0.1: test {_num(high['test'])}%"
                   if low and high else "0.001 and 0.1 are not both in our L2 list"})
    mid = _at(results["dropout"], "dropout", 0.2)
    claims.append({"the paper": paper.SWEEPS["dropout"],
                   "ours": f"dropout 0.2: test {_num(mid['test'])}%" if mid else "0.2 is not in our dropout list"})
    return claims


def _sweep_sections(results: dict) -> list[Section]:
    grid, best = results["grid"], cnn_label(results["best"])
    return [
        Section("Sweeps of the configurable CNN: the paper's statements and ours", rows=sweep_claims(results),
                prose=True),
        Section("Figure 5: Layers and units", note="Validation and test accuracy for each configuration of "
                "conv layers (c), dense layers (d) and units per dense layer (u).",
                rows=[{"conv": r["n_conv"], "dense": r["n_dense"], "units": r["dense_units"],
                       "val %": r["val"], "test %": r["test"]} for r in grid],
                figure=charts.layers_figure(grid), chart_name="figure5-layers"),
        Section("Figure 6: L2 strength", note=f"On the grid's best model by validation accuracy ({best}). "
                "Keras-style lambda; Adam's weight_decay is 2 lambda.",
                rows=[{"L2": r["l2"], "val %": r["val"], "test %": r["test"]} for r in results["l2"]],
                figure=charts.knob_figure(results["l2"], "l2"), chart_name="figure6-l2"),
        Section("Figure 7: Dropout rate", note=f"On the grid's best model by validation accuracy ({best}).",
                rows=[{"dropout": r["dropout"], "val %": r["val"], "test %": r["test"]} for r in results["dropout"]],
                figure=charts.knob_figure(results["dropout"], "dropout"), chart_name="figure7-dropout"),
    ]


# ---------------------------------------------------------------- the other tables

def _augment_sections(results: dict, model: str) -> list[Section]:
    rows = results["rows"]
    return [Section(
        f"Augmentation (ours: `{model}` from scratch)",
        note="The paper trained EfficientNetB0 on images with random rotations, shifts and flips and reached "
             f"only about {paper.EFFICIENTNET_AUGMENTED_TEST:.2f}% test accuracy; we train `{model}` without and "
             "with the same kind of augmentation.",
        rows=[{"training images": name, "train %": rows[name]["train"], "val %": rows[name]["val"],
               "test %": rows[name]["test"],
               "paper test %": paper.EFFICIENTNET_AUGMENTED_TEST if name == "augmented" else None}
              for name in ("plain", "augmented")],
        figure=charts.augment_figure(rows, model), chart_name="augmentation")]


TABLE3_COLUMNS = ("filter", "paper model", "paper train %", "paper val %", "paper test %",
                  "our train %", "our val %", "our test %")
TABLE4_COLUMNS = ("filter", "paper test on original %", "our test on original %")


def filter_comparison(name: str, ours: dict) -> dict:
    """One filter of the paper's Tables 3 and 4, ours beside the paper's: the
    filter's label, the paper's model, train/val/test accuracy on filtered
    images and the test on the original images, all in percent. `ours` has
    train, val, test, test_original (percent, None where not measured) and,
    where the original images could not be tested, a note saying why."""
    ref = paper.TABLE3.get(name, (None, None, None))
    original = ours.get("test_original")
    note = ours.get("note")
    return {"filter": filter_info(name).label, "paper model": paper.TABLE3_MODEL.get(name, "–"),
            "paper train %": ref[0], "paper val %": ref[1], "paper test %": ref[2],
            "our train %": ours.get("train"), "our val %": ours.get("val"), "our test %": ours.get("test"),
            "paper test on original %": paper.TABLE4.get(name),
            "our test on original %": original if original is not None else f"– ({note})" if note else "–"}


def filter_results(engine, jobs: list[dict]) -> tuple[list[dict], list[dict]]:
    """The single-filter experiments among `jobs` (study.jobs.list_jobs, newest
    first) as the paper's two tables: (Table 3 rows, Table 4 rows), each row led
    by job, status and model, then filter_comparison()'s columns of that table."""
    table3, table4 = [], []
    for job in jobs:
        if job["kind"] != "filter":
            continue
        run = get_run(engine, job["run_id"]) if job["run_id"] else None
        metrics = (run or {}).get("metrics") or {}
        original = original_test(run, job)
        ours = {"train": percent(metrics.get("train_acc")), "val": percent(metrics.get("val_acc")),
                "test": percent(metrics.get("test_accuracy")), "test_original": percent(original.get("accuracy")),
                "note": original.get("skipped")}
        row = filter_comparison(job["params"]["filter"], ours)
        lead = {"job": job["id"], "status": job["status"], "model": job["params"]["model"]}
        table3.append({**lead, **{column: row[column] for column in TABLE3_COLUMNS}})
        table4.append({**lead, **{column: row[column] for column in TABLE4_COLUMNS}})
    return table3, table4


def _filter_sections(results: dict, model: str) -> list[Section]:
    rows, ref = results["rows"], results["rows"].get("none")
    compared = [filter_comparison(n, rows[n]) for n in paper.TABLE3]
    table3 = [{column: row[column] for column in TABLE3_COLUMNS} for row in compared]
    table4 = [{column: row[column] for column in TABLE4_COLUMNS} for row in compared]
    reference = (f" Our `{model}` without any filter: train {_num(ref['train'])} %, val {_num(ref['val'])} %, "
                 f"test {_num(ref['test'])} %." if ref else "")
    return [
        Section(f"Table 3: trained and tested on filtered images (ours: `{model}` from scratch)",
                note="The paper fine-tuned EfficientNetB0 (ImageNet weights) for three filters and LeNet for SRM; "
                     f"we train `{model}` for all four, so only the SRM row is the same model." + reference,
                rows=table3),
        Section("Table 4: the filtered-image models tested on the original test images", rows=table4,
                figure=charts.filters_figure(rows), chart_name="tables3-4"),
    ]


def _table1_sections(results: dict) -> list[Section]:
    rows, body, unavailable = results["rows"], [], []
    for entry, (name, *ref) in paper.TABLE1.items():
        ours = rows.get(entry, {})
        missing = "unavailable" in ours
        if missing:
            unavailable.append(f"{name} (`{entry}`): {ours['unavailable']}")
        body.append({"model": name, "paper train %": ref[0], "paper val %": ref[1], "paper test %": ref[2],
                     **{f"our {k} %": "unavailable" if missing else ours.get(k) for k in ("train", "val", "test")}})
    note = ("**Pretrained ImageNet weights are unavailable offline here**, so these rows were not reproduced "
            "(a model trained from random weights is not the paper's experiment). Put the weights in the Hugging "
            "Face cache, or train with `--weights FILE`, then rerun. " + " ".join(unavailable)) if unavailable else ""
    return [Section("Table 1: pretrained models", note=note, rows=body, figure=charts.table1_figure(rows),
                    chart_name="table1")]


def _level(value) -> str:
    return "–" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)


def _robustness_sections(results: dict) -> list[Section]:
    models, rows = results["models"], results["rows"]
    trained_robust = [m for m in models if rows[m].get("augment") == "robust"]
    note = (f"CIFAKE test images ({results['n_test']:,}) as they may reach a person; every model sees the same "
            "perturbed images. P(AI) with each model's temperature; accuracy at P(AI) >= 0.5.")
    if trained_robust:
        note += (" " + ", ".join(trained_robust) + " trained with `--augment robust`: random levels of these very "
                 "perturbations, so its figures here are not an unseen test of robustness.")
    overview = [{"model": m, "checkpoint": rows[m].get("checkpoint") or "trained for this report",
                 "temperature": round(rows[m].get("temperature") or 1.0, 3), "augment": rows[m].get("augment"),
                 "clean accuracy %": rows[m]["clean"]["accuracy"], "clean AUROC": _level(rows[m]["clean"]["auroc"])}
                for m in models]
    out = [Section("Robustness: the models on clean test images", note=note, rows=overview)]
    for name, kind in results["perturbations"].items():
        table = [{kind["level_name"]: "clean",
                  **{f"{m} {k}": _cell(rows[m]["clean"], k) for m in models for k in ("acc %", "AUROC")}}]
        for i, level in enumerate(kind["levels"]):
            table.append({kind["level_name"]: level, **{f"{m} {k}": _cell(rows[m]["perturbations"][name][i], k)
                                                        for m in models for k in ("acc %", "AUROC")}})
        out.append(Section(kind["label"], rows=table, figure=charts.robustness_figure(results, name),
                           chart_name=f"robustness-{name}"))
    return out


def _cell(point: dict, key: str):
    return point["accuracy"] if key == "acc %" else _level(point["auroc"])


def sections(results: dict) -> list[Section]:
    plan = results["evidence"]["plan"]
    table = plan["table"]
    if table == "robustness":
        return _robustness_sections(results)
    if table in ("3", "4"):
        return _filter_sections(results, plan["model"])
    if table == "augment":
        return _augment_sections(results, plan["model"])
    if table == "sweeps":
        return _sweep_sections(results)
    return _table1_sections(results)


def evidence_lines(ev: dict) -> list[str]:
    """How the numbers were made: time, versions, data (a demo pool says so), plan."""
    ds, plan = ev["dataset"], ev["plan"]
    if plan["table"] == "robustness":
        scored = (f"checkpoints {', '.join(plan['checkpoints'])}" if plan.get("checkpoints") else
                  f"models {', '.join(plan['models'])} trained here with their own recipes, epochs "
                  f"{(plan.get('overrides') or {}).get('epochs', 'of the recipe')}, train images "
                  f"{'all' if plan['max_train'] is None else plan['max_train']}")
        how = f"{scored}; test images {'all' if plan.get('max_test') is None else plan['max_test']}, seed {plan['seed']}"
    else:
        how = (f"epochs {plan['epochs']}, train images {'all' if plan['max_train'] is None else plan['max_train']}, "
               f"batch {plan['batch_size']}, lr {plan['lr']}, seed {plan['seed']}, quick {plan['quick']}")
    return [
        f"wall time: {ev['wall_seconds']} s; {ev['when']}",
        f"python {ev['python']}, torch {ev['torch']}, {ev['machine']}, {ev['cpu_threads']} CPU threads, "
        f"CUDA {'yes' if ev['cuda'] else 'no'}",
        f"data: {ds['source']} (fingerprint {ds['fingerprint'][:12]})"
        + (" — **synthetic demo pool, not CIFAKE: these numbers say nothing about the paper**" if ds["is_demo"] else ""),
        how,
    ]
