"""A survey set's conditions: what one group of participants is shown.

A condition bundles four choices (as Groh et al. 2022 and Kamali et al. 2025 varied them):
- hint: none | model (the model's verdict and P(AI-generated)) | model_cam (the same
  and its Grad-CAM overlay beside the image);
- hint_timing: before (the hint comes with the image) | after_first (the person
  answers, then sees the hint and gives a final answer; both answers are kept);
- feedback: none | each (right or wrong after every answer, before the next image)
  | end (right or wrong for every image at the end, as the seed study);
- display_ms: None (the image stays) or the time after which it is hidden.

The built-in bundles are named by their hint (control, model, model_cam); the
command line's options set the rest, the same for every hinted condition. The
design is frozen once the first person consents (sets.py)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from study.errors import StudyError

HINTS = ("none", "model", "model_cam")
HINT_TIMINGS = ("before", "after_first")
FEEDBACK = ("none", "each", "end")
BUILT_IN = {"control": "none", "model": "model", "model_cam": "model_cam"}
MIN_DISPLAY_MS, MAX_DISPLAY_MS = 100, 60_000
MAX_CONDITIONS = 8


@dataclass(frozen=True)
class Condition:
    name: str
    hint: str = "none"
    hint_timing: str = "before"
    feedback: str = "end"
    display_ms: int | None = None

    @property
    def shows_hint(self) -> bool:
        return self.hint != "none"

    @property
    def asks_twice(self) -> bool:
        """after_first: a first answer without the hint, a final one with it."""
        return self.shows_hint and self.hint_timing == "after_first"

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """One line for the researcher: what this condition shows."""
        if not self.shows_hint:
            shown = "the image only"
        else:
            what = "the model's verdict" + (" and its Grad-CAM map" if self.hint == "model_cam" else "")
            shown = what + (" with the image" if self.hint_timing == "before" else " after a first answer")
        shown += {"none": ", no feedback", "each": ", right/wrong after each answer",
                  "end": ", right/wrong at the end"}[self.feedback]
        if self.display_ms:
            shown += f", image hidden after {self.display_ms} ms"
        return shown


def parse_conditions(names: str | list[str] | None, *, hint_timing: str = "before", feedback: str = "end",
                     display_ms: int | None = None) -> list[Condition]:
    """The conditions of `--conditions control,model,model_cam` with the options that
    set the rest (the same for every condition; hint_timing matters only to hinted ones)."""
    if names is None or names == "":
        names = ["control"]
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    if any(not n for n in names):
        raise StudyError("--conditions is a comma-separated list such as control,model,model_cam (no empty names)")
    unknown = [n for n in names if n not in BUILT_IN]
    if unknown:
        raise StudyError(f"unknown condition {unknown[0]!r}; the conditions are {', '.join(BUILT_IN)}")
    if len(set(names)) != len(names):
        raise StudyError("each condition may appear once in --conditions")
    if len(names) > MAX_CONDITIONS:
        raise StudyError(f"at most {MAX_CONDITIONS} conditions per set")
    _one_of("--hint-timing", hint_timing, HINT_TIMINGS)
    _one_of("--feedback", feedback, FEEDBACK)
    if display_ms is not None and not MIN_DISPLAY_MS <= int(display_ms) <= MAX_DISPLAY_MS:
        raise StudyError(f"--display-ms must be between {MIN_DISPLAY_MS} and {MAX_DISPLAY_MS} (or left out), "
                         f"got {display_ms}")
    return [Condition(name, BUILT_IN[name], hint_timing if BUILT_IN[name] != "none" else "before", feedback,
                      None if display_ms is None else int(display_ms)) for name in names]


def from_row(row) -> Condition:
    return Condition(row.name, row.hint, row.hint_timing, row.feedback, row.display_ms)


def needs_hints(conditions: list[Condition]) -> bool:
    return any(c.shows_hint for c in conditions)


def _one_of(option: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise StudyError(f"{option} must be one of {', '.join(allowed)}, got {value!r}")
