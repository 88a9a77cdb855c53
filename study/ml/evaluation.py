"""Evaluation of a trained model on a split: accuracy, per-class precision /
recall / F1 and the confusion matrix (scikit-learn), plus the same accuracy
on the test images whose pixel content does not also occur in train
(CIFAKE has 378 such leaked test images, all FAKE); AUROC, log loss and
expected calibration error of P(AI-generated) as the app shows it (with the
checkpoint's temperature), and the same before and after that scaling."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import classification_report, confusion_matrix

from models.calibration import temperature_of
from models.checkpoint import load_checkpoint
from models.predict import predict_logits, predict_proba, to_tensor_nchw
from models.registry import CheckpointError, ModelError
from study.data import filters
from study.data.datasets import SIZE, content_groups
from study.data.model_view import model_views
from study.errors import StudyError
from study.labels import CLASS_NAMES, FAKE, REAL, THRESHOLD, predicted_labels
from study.ml import calibration


def open_checkpoint(path: str | Path, device: str | torch.device = "cpu"):
    """(model, spec, meta) with the zoo's errors turned into StudyError."""
    try:
        return load_checkpoint(path, device=device)
    except (CheckpointError, ModelError) as err:
        raise StudyError(str(err)) from err


def input_side(meta: dict) -> int:
    """The side of the pictures a checkpoint's model was trained on: what every
    picture is brought to before it (study.data.model_view); older checkpoints and
    CIFAKE's: 32."""
    return int((meta.get("extra") or {}).get("input_side") or SIZE)


def image_filter_of(meta: dict) -> str | None:
    """The image filter a checkpoint's run trained with: its pictures must pass it again."""
    return ((meta.get("extra") or {}).get("train_config") or {}).get("filter")


def predict_pictures(model, spec, meta: dict, pictures: np.ndarray | list[np.ndarray]) -> np.ndarray:
    """P(AI) of each picture as the checkpoint's model takes it: brought to the side it
    was trained on (study.data.model_view; pictures already at that side as they are),
    then through the filter its run trained with."""
    views = model_views(pictures, input_side(meta))
    return predict_proba(model, filters.apply(image_filter_of(meta), views), spec)


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


def probability_metrics(labels: np.ndarray, logits: np.ndarray, temperature: float) -> dict:
    """AUROC, log loss and ECE of P(AI) as shown (logits already divided by the
    temperature), and under "calibration" the same before and after scaling."""
    labels = np.asarray(labels, dtype=np.int64)
    raw = np.asarray(logits, dtype=np.float64) * temperature  # what the net gave before the division
    report = calibration.calibration_report(labels, raw, temperature)
    shown = report["after"]
    return {"auroc": calibration.auroc(labels, calibration.p_ai(logits)), "log_loss": shown["log_loss"],
            "ece": shown["ece"], "temperature": float(temperature), "calibration": report}


def evaluate_model(model, dataset, split: str = "test", *, spec=None, image_filter: str | None = None,
                   batch_size: int = 500, device=None) -> dict:
    """Metrics of `model` on one split of `dataset`; P(AI) per image (p_ai) is not kept."""

    part = dataset.split(split)
    images = filters.apply(image_filter, part.images)
    spec = spec or model.spec
    if len(part.labels) == 0:
        raise StudyError("nothing to evaluate: the split has no images")
    logits = predict_logits(model, spec, to_tensor_nchw(images), batch_size, device).double().numpy()
    p_ai = calibration.p_ai(logits)
    metrics = {"split": split, **compute_metrics(part.labels, p_ai),
               **probability_metrics(part.labels, logits, temperature_of(model))}
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
