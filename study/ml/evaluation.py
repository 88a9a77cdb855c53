"""Evaluation of a trained model on a split: accuracy, per-class precision /
recall / F1 and the confusion matrix (scikit-learn), plus the same accuracy
on the test images whose pixel content does not also occur in train
(CIFAKE has 378 such leaked test images, all FAKE)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import classification_report, confusion_matrix

from models.checkpoint import load_checkpoint
from models.predict import predict_proba
from models.registry import CheckpointError, ModelError
from study.data import filters
from study.data.datasets import content_groups
from study.errors import StudyError
from study.labels import CLASS_NAMES, FAKE, REAL, THRESHOLD, predicted_labels


def open_checkpoint(path: str | Path, device: str | torch.device = "cpu"):
    """(model, spec, meta) with the zoo's errors turned into StudyError."""
    try:
        return load_checkpoint(path, device=device)
    except (CheckpointError, ModelError) as err:
        raise StudyError(str(err)) from err


def compute_metrics(labels: np.ndarray, p_ai: np.ndarray, threshold: float = THRESHOLD) -> dict:
    """Accuracy, per-class report and confusion matrix (rows = truth REAL, FAKE;
    columns = predicted REAL, FAKE)."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = predicted_labels(p_ai, threshold)
    if len(labels) == 0:
        raise StudyError("nothing to evaluate: the split has no images")
    report = classification_report(labels, predicted, labels=[REAL, FAKE], target_names=CLASS_NAMES,
                                   output_dict=True, zero_division=0)
    per_class = {name: {k: float(report[name][k]) for k in ("precision", "recall", "f1-score", "support")}
                 for name in CLASS_NAMES}
    for entry in per_class.values():
        entry["f1"] = entry.pop("f1-score")
        entry["support"] = int(entry["support"])
    return {
        "n": int(len(labels)),
        "accuracy": float((predicted == labels).mean()),
        "per_class": per_class,
        "macro_f1": float(report["macro avg"]["f1-score"]),
        "confusion_matrix": confusion_matrix(labels, predicted, labels=[REAL, FAKE]).tolist(),
    }


def leaked_mask(dataset, split: str = "test") -> np.ndarray | None:
    """True where an image of `split` has the same pixels as some train image;
    None when the dataset has no train split to leak from."""
    if split == "train" or not np.any(dataset.splits == "train"):
        return None
    train = dataset.split("train")
    part = dataset.split(split)
    group, _ = content_groups(np.concatenate([train.images, part.images]))
    in_train = np.isin(group[len(train.images):], group[:len(train.images)])
    return in_train


def evaluate_model(model, dataset, split: str = "test", *, spec=None, image_filter: str | None = None,
                   batch_size: int = 500, device=None) -> dict:
    """Metrics of `model` on one split of `dataset`; P(AI) per image (p_ai) is not kept."""

    part = dataset.split(split)
    images = filters.apply(image_filter, part.images)
    p_ai = predict_proba(model, images, spec=spec, batch_size=batch_size, device=device)
    metrics = {"split": split, **compute_metrics(part.labels, p_ai)}
    leaked = leaked_mask(dataset, split)
    if leaked is not None:
        keep = ~leaked
        metrics["n_leaked"] = int(leaked.sum())
        metrics["n_leak_free"] = int(keep.sum())
        metrics["accuracy_leak_free"] = (
            float((predicted_labels(p_ai[keep]) == part.labels[keep]).mean()) if keep.any() else None
        )
    if split == "train":
        metrics["note"] = "train split: these images were used for training, so this is not a test accuracy"
    return metrics
