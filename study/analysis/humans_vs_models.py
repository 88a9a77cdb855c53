"""Humans against models on the same images the humans saw.

A model's P(AI) is computed on the survey set's own images (the whole pool for
a pool design), with the image filter its run was trained with. A model says
"AI-generated" when P(AI) >= study.labels.THRESHOLD (0.5). Humans are compared
in two ways: pooled (every answer is one prediction) and by the per-image human
majority (ties left out, see study/analysis/images.py), which is what Cohen's
kappa uses.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import classification_report, cohen_kappa_score, confusion_matrix

from study.errors import StudyError
from study.labels import CLASS_NAMES, FAKE, REAL, predicted_labels
from study.ml import evaluation  # by module, so that a test can stand in for open_checkpoint everywhere
from study.ml.runs import usable_runs


@dataclass(frozen=True)
class ModelChoice:
    """A finished training run whose checkpoint is on disk."""

    run_id: int
    model: str
    checkpoint_path: str
    dataset_source: str | None
    test_accuracy: float | None

    @property
    def key(self) -> str:
        return f"run {self.run_id} {self.model}"


def available_models(engine) -> list[ModelChoice]:
    """Finished runs, newest first, whose checkpoint file still exists (study.ml.runs.usable_runs)."""
    return [ModelChoice(r.run_id, r.model, r.checkpoint_path, r.data or None, r.test_accuracy)
            for r in usable_runs(engine)]


def model_choice(engine, run_id: int) -> ModelChoice:
    """One finished run with its checkpoint, or a StudyError naming what is wrong."""
    for choice in available_models(engine):
        if choice.run_id == run_id:
            return choice
    valid = ", ".join(str(c.run_id) for c in available_models(engine))
    valid = valid or "none yet (train one: `python -m study train`)"
    raise StudyError(f"run {run_id} is not a finished training run with a checkpoint on disk; finished runs: {valid}")


def predict_set(checkpoint_path: str, pictures: np.ndarray | list[np.ndarray]) -> np.ndarray:
    """P(AI) of each picture from one checkpoint: brought to the side its model was
    trained on (study.data.model_view; CIFAKE's 32x32 images are taken as they are),
    then the filter its run was trained with, so the model sees what it learned on."""
    return evaluation.predict_pictures(*evaluation.open_checkpoint(checkpoint_path), pictures)


def _report(labels, predicted) -> dict:
    """sklearn's classification report as a dict (REAL, FAKE, accuracy, averages)."""
    return classification_report(labels, predicted, labels=[REAL, FAKE], target_names=CLASS_NAMES,
                                 output_dict=True, zero_division=0)


def _confusion(labels, predicted) -> list[list[int]]:
    """Rows: true REAL, FAKE; columns: answered/predicted REAL, FAKE."""
    if len(labels) == 0:
        return [[0, 0], [0, 0]]
    return confusion_matrix(labels, predicted, labels=[REAL, FAKE]).tolist()


def kappa(a, b) -> float | None:
    """Cohen's kappa, None when undefined (fewer than 2 items, or both raters
    always gave one and the same class, so chance agreement is 1)."""
    a, b = np.asarray(a, dtype=int), np.asarray(b, dtype=int)
    if len(a) < 2:
        return None
    with warnings.catch_warnings():  # sklearn warns on the undefined case we turn into None
        warnings.simplefilter("ignore")
        value = float(cohen_kappa_score(a, b, labels=[REAL, FAKE]))
    return None if np.isnan(value) else value


@dataclass(frozen=True)
class HumanComparison:
    n_answers: int
    accuracy: float | None
    confusion: list[list[int]]
    report: dict
    majority_n: int  # images with a human majority
    majority_ties: int  # images answered but tied
    majority_accuracy: float | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def compare_humans(answers: pd.DataFrame, images: pd.DataFrame) -> HumanComparison:
    """Pooled answers against the labels; and the per-image majority (images from per_image)."""
    labels, said = answers["label"].to_numpy(int), answers["answer"].to_numpy(int)
    majority = images["majority"].to_numpy(float)
    has = ~np.isnan(majority)
    ties = int(((images["n"] > 0) & ~has).sum())
    right = (majority[has] == images["label"].to_numpy(float)[has])
    return HumanComparison(
        n_answers=len(answers),
        accuracy=float((labels == said).mean()) if len(answers) else None,
        confusion=_confusion(labels, said),
        report=_report(labels, said) if len(answers) else {},
        majority_n=int(has.sum()),
        majority_ties=ties,
        majority_accuracy=float(right.mean()) if has.any() else None,
    )


@dataclass(frozen=True)
class ModelComparison:
    key: str
    n_images: int
    accuracy: float
    confusion: list[list[int]]
    report: dict
    kappa_vs_majority: float | None  # over images with a human majority
    agreement_with_majority: float | None  # share of those images where both say the same
    n_compared: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def compare_model(key: str, images: pd.DataFrame, p_ai: np.ndarray) -> ModelComparison:
    """One model on the set's images (rows of per_image, p_ai aligned with them)."""
    labels = images["label"].to_numpy(int)
    predicted = predicted_labels(p_ai)
    majority = images["majority"].to_numpy(float)
    has = ~np.isnan(majority)
    human = majority[has].astype(int)
    return ModelComparison(
        key=key,
        n_images=len(labels),
        accuracy=float((predicted == labels).mean()) if len(labels) else float("nan"),
        confusion=_confusion(labels, predicted),
        report=_report(labels, predicted) if len(labels) else {},
        kappa_vs_majority=kappa(human, predicted[has]),
        agreement_with_majority=float((human == predicted[has]).mean()) if has.any() else None,
        n_compared=int(has.sum()),
    )
