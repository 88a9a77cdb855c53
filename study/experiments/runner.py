"""`python -m study reproduce`: the paper's experiments headless, our numbers
next to the paper's (study/paper.py) in a markdown report with plotly HTML
charts (plotly.js written once beside them, so the report opens offline).

- table 3 and 4 run the same trainings: one model per filter, trained and
  tested on filtered images (Table 3), then tested on the original test images
  (Table 4). The paper used EfficientNetB0 (LeNet for SRM); on a CPU we use one
  from-scratch model for all four (default lenet) and say so in the report.
- table 1 needs ImageNet weights; where they cannot be had offline the report
  says so plainly instead of showing a from-scratch number as if comparable.
- sweeps: the configurable `cnn` over conv x dense layers x units, then L2
  strength and dropout on the best of that grid (Figures 5-7); L2 0 and
  dropout 0 are that best training itself, reused rather than repeated.
- augment: the same model without and with the paper's augmentation (random
  rotations, shifts and flips); the paper's augmented EfficientNetB0 fell to 50%.
- robustness: chosen checkpoints (else the fast detector and LeNet, trained
  here with their own recipes) scored on test images re-compressed, blurred,
  noised and rescaled (study/experiments/robustness.py).
`quick` is a CPU smoke run: 800 train images, two epochs, small grids.
Trainings go through study.ml.training.train (no run records): a report is the
artefact, with the evidence (versions, device, seeds, wall time) in it, and
OUT/progress.json follows the run (study/experiments/progress.py)."""
from __future__ import annotations

import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from study import paper
from study.data.filters import PAPER_FILTERS
from study.errors import DownloadError
from study.experiments.plan import Plan, cnn_label, grid_configs, trainings_planned
from study.experiments.progress import ExperimentCancelled, Tracker
from study.experiments.report import write_report
from study.experiments.robustness import run_robustness
from study.ml import evaluation  # by module, so that a test can stand in for evaluate_model everywhere
from study.ml.training import TrainConfig, build_model, train
from study.paper import percent

# ---------------------------------------------------------------- one experiment

def train_and_test(plan: Plan, dataset, model: str, *, tracker: Tracker, label: str, model_cfg: dict | None = None,
                   image_filter: str | None = None, weight_decay: float = 0.0, test_original: bool = False,
                   augment: bool = False) -> dict:
    """Train on (filtered) train images; accuracies in percent: train, val,
    test (filtered like training) and, if asked, test on the original images.
    Raises ExperimentCancelled when the tracker's stop hook asks."""
    config = TrainConfig(model=model, model_cfg=dict(model_cfg or {}), epochs=plan.epochs, seed=plan.seed,
                         batch_size=plan.batch_size, lr=plan.lr,
                         filter=image_filter, device=plan.device, max_train=plan.max_train,
                         weight_decay=weight_decay, num_threads=plan.threads, augment=augment,
                         patience=plan.patience)
    started = time.perf_counter()
    tracker.begin(label, plan.epochs)
    result = train(config, dataset, [tracker])
    if result.status == "cancelled":
        raise ExperimentCancelled(f"cancelled during {label}; {tracker.state['done']} of "
                                  f"{tracker.state['total']} trainings had finished")
    summary = result.summary()
    row = {"train": percent(summary["train_acc"]), "val": percent(summary["val_acc"]),
           "epochs_run": summary["epochs_run"], "n_train": summary["n_train"], "device": result.device}
    test = evaluation.evaluate_model(result.model, dataset, "test", spec=result.spec, image_filter=image_filter)
    row["test"] = percent(test["accuracy"])
    if test_original:
        if result.spec.in_chans != 3:
            row["test_original"] = None
            row["note"] = f"{result.spec.in_chans}-channel model: cannot take the original RGB images"
        else:
            original = evaluation.evaluate_model(result.model, dataset, "test", spec=result.spec, image_filter=None)
            row["test_original"] = percent(original["accuracy"])
    row["seconds"] = round(time.perf_counter() - started, 1)
    tracker.finish(label, row)
    return row


# ---------------------------------------------------------------- the tables

def run_filters(plan: Plan, dataset, tracker: Tracker, log=print) -> dict:
    """Tables 3 and 4: one training per filter of the paper."""
    rows = {}
    for name in PAPER_FILTERS:
        log(f"filter {name}: training {plan.model}")
        rows[name] = train_and_test(plan, dataset, plan.model, tracker=tracker, label=f"{plan.model} on {name}",
                                    image_filter=name, test_original=True)
    log(f"no filter: training {plan.model} (the reference)")
    rows["none"] = train_and_test(plan, dataset, plan.model, tracker=tracker, label=f"{plan.model}, no filter",
                                  test_original=False)
    return {"rows": rows}


def run_table1(plan: Plan, dataset, tracker: Tracker, log=print) -> dict:
    rows = {}
    for entry in paper.TABLE1:
        try:
            build_model(entry, {"pretrained": True})
        except DownloadError as err:
            rows[entry] = {"unavailable": str(err)}
            log(f"{entry}: pretrained weights unavailable")
            tracker.finish(f"{entry} (weights unavailable)", {})
            continue
        log(f"{entry}: fine-tuning from ImageNet weights")
        rows[entry] = train_and_test(plan, dataset, entry, tracker=tracker, label=entry,
                                     model_cfg={"pretrained": True})
    return {"rows": rows}


def run_sweeps(plan: Plan, dataset, tracker: Tracker, log=print) -> dict:
    grid_rows = []
    for cfg in grid_configs(plan):
        log(f"cnn {cfg}")
        grid_rows.append({**cfg, **train_and_test(plan, dataset, "cnn", tracker=tracker,
                                                  label=f"cnn {cnn_label(cfg)}", model_cfg=cfg)})
    best = max(grid_rows, key=lambda r: (r["val"] or 0))
    best_cfg = {k: best[k] for k in ("n_conv", "n_dense", "dense_units")}
    best_label = cnn_label(best_cfg)
    same_as_best = {k: v for k, v in best.items() if k not in best_cfg}

    def knob_row(key: str, value, **change) -> dict:
        if not value:  # L2 0 or dropout 0 is the grid's best model again: the same seeded training
            return {key: value, **same_as_best, "reused": f"the grid's {best_label} training"}
        return {key: value, **train_and_test(plan, dataset, "cnn", tracker=tracker,
                                             label=f"cnn {best_label}, {key} {value}", **change)}

    # Keras' L2 adds lambda * sum(w^2) to the loss; Adam's weight_decay adds
    # wd * w to the gradient, the gradient of (wd / 2) * sum(w^2): wd = 2 lambda.
    l2_rows = [knob_row("l2", lam, model_cfg=best_cfg, weight_decay=2 * lam) for lam in plan.l2]
    dropout_rows = [knob_row("dropout", p, model_cfg={**best_cfg, "dropout": p}) for p in plan.dropout]
    return {"grid": grid_rows, "best": best_cfg, "l2": l2_rows, "dropout": dropout_rows}


def run_augmentation(plan: Plan, dataset, tracker: Tracker, log=print) -> dict:
    """The paper's augmentation experiment, on the model of tables 3/4."""
    rows = {}
    for name, augment in (("plain", False), ("augmented", True)):
        log(f"{name}: training {plan.model}")
        rows[name] = train_and_test(plan, dataset, plan.model, tracker=tracker, label=f"{plan.model}, {name}",
                                    augment=augment)
    return {"rows": rows}


RUNNERS = {"1": run_table1, "3": run_filters, "4": run_filters, "sweeps": run_sweeps, "augment": run_augmentation,
           "robustness": run_robustness}


def evidence(plan: Plan, dataset, seconds: float) -> dict:
    return {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "wall_seconds": round(seconds, 1),
            "python": platform.python_version(), "torch": torch.__version__, "machine": platform.machine(),
            "cpu_threads": torch.get_num_threads(), "cuda": torch.cuda.is_available(),
            "dataset": {"source": dataset.source, "fingerprint": dataset.fingerprint,
                        "is_demo": bool(dataset.is_demo)},
            "plan": {k: v for k, v in plan.__dict__.items()}}


def reproduce(table: str, dataset, *, out: Path, quick: bool = False, log=print, should_stop=None,
              **overrides) -> dict:
    """Run one table's experiments and write out/report.md, out/results.json
    and the HTML charts; out/progress.json follows the run as it goes.
    should_stop (polled between batches) cancels it: ExperimentCancelled.
    Returns {"report": path, "results": ..., "files": [...]}."""
    plan = Plan.make(table, quick, **overrides)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tracker = Tracker(out, table, trainings_planned(plan), should_stop)
    started = time.perf_counter()
    try:
        results = RUNNERS[table](plan, dataset, tracker, log=log)
    except (ExperimentCancelled, KeyboardInterrupt):
        tracker.end("cancelled")
        raise
    except BaseException:
        tracker.end("failed")
        raise
    results["evidence"] = evidence(plan, dataset, time.perf_counter() - started)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    files = write_report(table, results, out)
    tracker.end("finished")
    return {"report": str(out / "report.md"), "results": results, "files": [str(f) for f in files]}
