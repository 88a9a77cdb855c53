"""Calibrated P(AI-generated): the temperature fit and the figures that say how
honest a probability is.

Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural
Networks"): one number T, fitted after training by minimising the log loss of
softmax(logits / T) on the validation split. It cannot change a prediction, only
its confidence, so accuracy and AUROC stay as they were. A net trained with
label smoothing is under-confident by design (T < 1 sharpens it); an
over-fitted one over-confident (T > 1 softens it). The fitted T travels in the
checkpoint and is applied on loading (models/calibration.py).

Expected calibration error: the images binned by confidence (the larger of
P(AI) and 1 - P(AI)) into 15 equal-width bins; the gap between each bin's mean
confidence and its accuracy, weighted by the bin's share of images."""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.metrics import log_loss, roc_auc_score

from study.labels import FAKE, REAL, predicted_labels

ECE_BINS = 15
# log T is searched in [-4, 4]: T from 0.018 to 55, far beyond any useful fit.
LOG_T_BOUNDS = (-4.0, 4.0)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the labels under softmax(logits / T)."""
    logits = np.asarray(logits, dtype=np.float64) / float(temperature)
    labels = np.asarray(labels, dtype=np.int64)
    return float(-log_softmax(logits, axis=1)[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 that minimises the mean log loss of softmax(logits / T); 1.0
    when there is nothing to fit on (no images, or one class only: then every
    T that sharpens looks better and the fit would say nothing)."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0 or len(np.unique(labels)) < 2:
        return 1.0
    found = minimize_scalar(lambda log_t: nll(logits, labels, np.exp(log_t)), bounds=LOG_T_BOUNDS,
                            method="bounded", options={"xatol": 1e-4})
    return float(np.exp(found.x))


def p_ai(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return softmax(np.asarray(logits, dtype=np.float64) / float(temperature), axis=1)[:, FAKE]


def expected_calibration_error(labels: np.ndarray, p_ai_values: np.ndarray, bins: int = ECE_BINS) -> float:
    labels = np.asarray(labels, dtype=np.int64)
    p = np.asarray(p_ai_values, dtype=np.float64)
    if len(labels) == 0:
        return float("nan")
    confidence = np.maximum(p, 1.0 - p)  # in [0.5, 1]
    correct = predicted_labels(p) == labels
    # Equal-width bins over [0, 1] as Guo et al.; with two classes only the upper half is ever used.
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    gap = 0.0
    for b in np.unique(which):
        inside = which == b
        gap += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(gap)


def auroc(labels: np.ndarray, p_ai_values: np.ndarray) -> float | None:
    """Area under the ROC curve of P(AI) for FAKE; None with one class only."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(np.unique(labels)) < 2:
        return None
    return float(roc_auc_score(labels, p_ai_values))


def probability_figures(labels: np.ndarray, p_ai_values: np.ndarray) -> dict:
    """log loss, ECE and Brier score of one set of probabilities."""
    labels = np.asarray(labels, dtype=np.int64)
    p = np.clip(np.asarray(p_ai_values, dtype=np.float64), 1e-12, 1 - 1e-12)
    return {"log_loss": float(log_loss(labels, p, labels=[REAL, FAKE])),
            "ece": expected_calibration_error(labels, p),
            "brier": float(np.mean((p - labels) ** 2))}


def calibration_report(labels: np.ndarray, raw_logits: np.ndarray, temperature: float) -> dict:
    """Before (T = 1) and after (the fitted T) scaling, on the same images."""
    return {"temperature": float(temperature), "ece_bins": ECE_BINS,
            "before": probability_figures(labels, p_ai(raw_logits)),
            "after": probability_figures(labels, p_ai(raw_logits, temperature))}
