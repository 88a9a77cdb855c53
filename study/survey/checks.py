"""Attention checks and the pre-registered exclusion rules of a set.

A catch trial is a picture that says, in large letters, which button to press.
Each participant gets the set's number of them, before seeded image positions
(never before the first image), each asking for a seeded answer; their answers
are stored apart (db attention_answer) and never enter a score.

The exclusion rules are fixed with the set, before anybody consents:
- failed_checks: leave out anyone who pressed the wrong button on a check (they
  then also stop counting for the balance of the conditions);
- speeder_ms: leave out anyone whose median response time is below this;
- incomplete: leave out anyone who did not answer every image.
`excluded()` applies them; the results report how many each rule left out."""
from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from statistics import median

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from study.errors import StudyError
from study.labels import answer_name

MAX_CHECKS = 5
MIN_SPEEDER_MS, MAX_SPEEDER_MS = 100, 10_000
RULE_NAMES = {"failed_checks": "failed an attention check", "speeder": "median response time below the limit",
              "incomplete": "did not answer every image"}


@dataclass(frozen=True)
class ExclusionRules:
    failed_checks: bool = False
    speeder_ms: int | None = None
    incomplete: bool = False

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "ExclusionRules":
        return cls(**(data or {}))

    def describe(self) -> str:
        parts = []
        if self.failed_checks:
            parts.append("failed attention checks")
        if self.speeder_ms:
            parts.append(f"median response time below {self.speeder_ms} ms")
        if self.incomplete:
            parts.append("incomplete surveys")
        return "leaves out " + ", ".join(parts) if parts else "leaves nobody out"


def validate(attention_checks: int, size: int, rules: ExclusionRules) -> None:
    if not 0 <= attention_checks <= MAX_CHECKS:
        raise StudyError(f"--attention-checks must be between 0 and {MAX_CHECKS}, got {attention_checks}")
    if attention_checks >= size:
        raise StudyError(f"--attention-checks ({attention_checks}) must be fewer than the images ({size})")
    if rules.failed_checks and not attention_checks:
        raise StudyError("--exclude-failed-checks needs attention checks: add --attention-checks K")
    if rules.speeder_ms is not None and not MIN_SPEEDER_MS <= rules.speeder_ms <= MAX_SPEEDER_MS:
        raise StudyError(f"--exclude-speeders must be between {MIN_SPEEDER_MS} and {MAX_SPEEDER_MS} ms, "
                         f"got {rules.speeder_ms}")


def check_positions(seed: int, participant_id: int, checks: int, size: int) -> list[int]:
    """The image positions (2..size) that a check comes before, sorted: seeded, so the
    same on every reload and recomputable from the data."""
    if not checks:
        return []
    rng = np.random.default_rng([int(seed), int(participant_id), 7])
    return sorted(int(p) for p in rng.choice(np.arange(2, size + 1), size=checks, replace=False))


def expected_answer(seed: int, participant_id: int, ordinal: int) -> int:
    """Which button check number `ordinal` asks for."""
    return int(np.random.default_rng([int(seed), int(participant_id), 11, int(ordinal)]).integers(2))


def check_png(expected: int, size: int) -> bytes:
    """The catch trial's picture: the button to press, in large letters."""
    image = Image.new("RGB", (size, size), (236, 236, 236))
    draw = ImageDraw.Draw(image)
    lines = ["This is a check.", "Please click", f"“{answer_name(expected)}”"]
    fonts = [ImageFont.load_default(size=size // 14), ImageFont.load_default(size=size // 12),
             ImageFont.load_default(size=size // 9)]
    y = size * 0.22
    for line, font in zip(lines, fonts):
        width = draw.textlength(line, font=font)
        draw.text(((size - width) / 2, y), line, fill=(20, 20, 20), font=font)
        y += font.size * 1.8
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def excluded(rules: ExclusionRules, people: list[dict]) -> dict[int, list[str]]:
    """participant id -> the rules that leave them out, for people given as dicts with
    id, completed (bool), failed_checks (int) and response_ms (list of their answers' times)."""
    out: dict[int, list[str]] = {}
    for person in people:
        reasons = []
        if rules.failed_checks and person["failed_checks"]:
            reasons.append("failed_checks")
        if rules.speeder_ms and person["response_ms"] and median(person["response_ms"]) < rules.speeder_ms:
            reasons.append("speeder")
        if rules.incomplete and not person["completed"]:
            reasons.append("incomplete")
        if reasons:
            out[int(person["id"])] = reasons
    return out

