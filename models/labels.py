"""The two classes as every model of the zoo outputs them, in one place: label
(and logit) 0 = REAL, a camera photo; 1 = FAKE, AI-generated. P(AI-generated)
is the softmax's share of class 1, and a model says FAKE from THRESHOLD on.
study/labels.py re-exports these for the rest of the study, which is why this
module imports no torch: the survey page reads it too and stays light."""
from __future__ import annotations

import numpy as np

REAL = 0
FAKE = 1
CLASS_NAMES = ("REAL", "FAKE")  # index = label
THRESHOLD = 0.5  # on P(AI-generated): at or above it, a model says FAKE


def class_name(label: int) -> str:
    """class_name(1) == "FAKE"."""
    return CLASS_NAMES[int(label)]


def other_label(label: int) -> int:
    """The other class: REAL for FAKE and FAKE for REAL."""
    return REAL if int(label) == FAKE else FAKE


def predicted_label(p_ai: float) -> int:
    """What a model says for one image, from its P(AI-generated)."""
    return FAKE if p_ai >= THRESHOLD else REAL


def predicted_labels(p_ai, threshold: float = THRESHOLD) -> np.ndarray:
    """predicted_label for many images at once: an int64 array of labels."""
    return (np.asarray(p_ai) >= threshold).astype(np.int64)
