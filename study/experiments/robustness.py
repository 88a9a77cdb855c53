"""The robustness report (`python -m study reproduce --table robustness`): how
the models' accuracy and AUROC on CIFAKE test fall as the images are
re-compressed, blurred, noised and shrunk, as they would be on their way to a
person (study/data/perturbations.py, levels easiest first).

Chosen checkpoints are scored as they are (their temperature and their
training's image filter included); without any, each model of the plan is
trained first with its own recipe (the fast detector's and the paper's). Every
perturbed test set is made once and shown to every model, with the noise
seeded, so the models see the very same images."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from models.predict import predict_proba
from study.data import filters, perturbations
from study.experiments.plan import Plan
from study.experiments.progress import ExperimentCancelled, Tracker
from study.labels import predicted_labels
from study.ml import (
    calibration,
    evaluation,  # by module, so that a test can stand in for open_checkpoint everywhere
)
from study.ml.recipe import TrainConfig
from study.ml.training import train
from study.paper import percent

CLEAN = "clean"


class Scored:
    """One model under test: how to feed it, and what to call it."""

    def __init__(self, label: str, model, spec, image_filter: str | None, info: dict):
        self.label, self.model, self.spec, self.image_filter, self.info = label, model, spec, image_filter, info

    def p_ai(self, images: np.ndarray) -> np.ndarray:
        return predict_proba(self.model, filters.apply(self.image_filter, images), spec=self.spec)


def training_config(plan: Plan, model: str) -> TrainConfig:
    """The model's own recipe, with only what the plan was explicitly given."""
    given = {k: plan.overrides.get(k) for k in ("epochs", "max_train", "batch_size", "lr", "patience")}
    return TrainConfig.for_model(model, **given, seed=plan.seed, device=plan.device, num_threads=plan.threads)


def _from_checkpoint(path: str) -> Scored:
    model, spec, meta = evaluation.open_checkpoint(path)
    extra = meta.get("extra") or {}
    train_config = extra.get("train_config") or {}
    run = extra.get("run_id")
    label = f"run {run} {meta['model']}" if run is not None else f"{Path(path).stem} ({meta['model']})"
    return Scored(label, model, spec, train_config.get("filter"),
                  {"model": meta["model"], "checkpoint": str(path), "temperature": meta.get("temperature", 1.0),
                   "augment": train_config.get("augment")})


def _trained(plan: Plan, dataset, name: str, tracker: Tracker, log) -> Scored:
    config = training_config(plan, name)
    label = f"{name} ({config.recipe} recipe)"
    log(f"training {label}: {config.epochs} epochs")
    tracker.begin(label, config.epochs)
    started = time.perf_counter()
    result = train(config, dataset, [tracker])
    if result.status == "cancelled":
        raise ExperimentCancelled(f"cancelled while training {label}")
    summary = result.summary()
    tracker.finish(label, {"train": percent(summary["train_acc"]), "val": percent(summary["val_acc"])})
    return Scored(label, result.model, result.spec, None,
                  {"model": name, "checkpoint": None, "temperature": summary["temperature"],
                   "augment": config.augment, "epochs_run": summary["epochs_run"], "n_train": summary["n_train"],
                   "train_seconds": round(time.perf_counter() - started, 1)})


def images_under_test(dataset, max_test: int | None, seed: int):
    """(images, labels) of the test split, or a seeded subset with as many of each class."""
    part = dataset.split("test")
    images, labels = part.images, np.asarray(part.labels)
    if max_test is None or max_test >= len(labels):
        return images, labels
    rng = np.random.default_rng(seed)
    rows = np.concatenate([rng.permutation(np.flatnonzero(labels == value))[:max_test // 2]
                           for value in np.unique(labels)])
    rows.sort()
    return images[rows], labels[rows]


def _score(labels: np.ndarray, p_ai: np.ndarray) -> dict:
    return {"accuracy": percent(float((predicted_labels(p_ai) == labels).mean())),
            "auroc": calibration.auroc(labels, p_ai)}


def run_robustness(plan: Plan, dataset, tracker: Tracker, log=print) -> dict:
    scored = [_from_checkpoint(path) for path in plan.checkpoints]
    if not scored:
        scored = [_trained(plan, dataset, name, tracker, log) for name in plan.models]
    images, labels = images_under_test(dataset, plan.max_test, plan.seed)
    log(f"scoring {len(scored)} model(s) on {len(labels):,} test images")
    rows = {s.label: {**s.info, CLEAN: _score(labels, s.p_ai(images)), "perturbations": {}} for s in scored}
    for name, kind in perturbations.PERTURBATIONS.items():
        for level in kind.levels:
            if tracker.should_stop():
                raise ExperimentCancelled(f"cancelled while scoring {kind.label} at {level}")
            changed = perturbations.apply(name, images, level, seed=plan.seed)
            for s in scored:
                rows[s.label]["perturbations"].setdefault(name, []).append(
                    {"level": level, **_score(labels, s.p_ai(changed))})
        log(f"{kind.label}: done")
    return {"models": [s.label for s in scored], "rows": rows, "n_test": int(len(labels)),
            "perturbations": {name: {"label": k.label, "level_name": k.level_name, "levels": list(k.levels)}
                              for name, k in perturbations.PERTURBATIONS.items()}}
