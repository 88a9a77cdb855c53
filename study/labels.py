"""The study's vocabulary, in one place: label 0 = REAL (a camera photo), 1 = FAKE
(AI-generated), the class names, the participants' answer names, and the 0.5
threshold on P(AI-generated) at which a model says FAKE. The models' half comes
from models/labels.py (models/ may not import study/), so there is one
definition of each; what only people see (the answer buttons' words) is here."""
from __future__ import annotations

from models.labels import (
    CLASS_NAMES,
    FAKE,
    REAL,
    THRESHOLD,
    class_name,
    other_label,
    predicted_label,
    predicted_labels,
)

ANSWER_NAMES = ("Real photo", "AI-generated")  # index = answer (= the label it claims), as the buttons say

__all__ = ["ANSWER_NAMES", "CLASS_NAMES", "FAKE", "REAL", "THRESHOLD", "answer_name", "class_name", "other_label",
           "predicted_label", "predicted_labels"]


def answer_name(answer: int) -> str:
    """answer_name(1) == "AI-generated": an answer in the participants' words."""
    return ANSWER_NAMES[int(answer)]
