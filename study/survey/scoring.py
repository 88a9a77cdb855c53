"""A participant's score: how many of their answers match the images' labels."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScoredAnswer:
    position: int  # 1-based, as shown ("image k of n")
    answer: int  # the label it claims: REAL (0, "Real photo") or FAKE (1, "AI-generated"); see study.labels
    label: int
    confidence: int | None

    @property
    def correct(self) -> bool:
        return self.answer == self.label


@dataclass(frozen=True)
class Score:
    correct: int
    total: int
    items: tuple[ScoredAnswer, ...]

    @property
    def fraction(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.correct}/{self.total}"


def is_correct(answer: int, label: int) -> bool:
    return int(answer) == int(label)


def score(items: list[ScoredAnswer], total: int | None = None) -> Score:
    """total defaults to the number of answers; pass the survey size to score a partial run."""
    ordered = tuple(sorted(items, key=lambda item: item.position))
    return Score(
        correct=sum(item.correct for item in ordered),
        total=len(ordered) if total is None else total,
        items=ordered,
    )
