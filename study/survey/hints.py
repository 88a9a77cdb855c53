"""The model hints of a set's hinted conditions: computed once, when the set is
made, from one finished training run, and frozen in the database (db model_hint)
with the run's id and its checkpoint's sha256, so everybody in a condition sees
the same verdict for an image whatever happens to the run later. A hint carries
the verdict, P(AI-generated) and the Grad-CAM overlay, never an id or a label."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from db.runs import get_run
from study.errors import StudyError
from study.labels import FAKE, answer_name


@dataclass(frozen=True)
class Hint:
    """What a hinted condition shows beside one image."""

    verdict: int
    p_ai: float
    cam_png: bytes | None  # only for model_cam

    @property
    def words(self) -> str:
        """The hint as the participant reads it."""
        return f"The AI model says: **{answer_name(self.verdict)}** (it gives a {self.p_ai:.0%} chance that " \
               f"it is {answer_name(FAKE)})."


@dataclass(frozen=True)
class HintRun:
    run_id: int
    checkpoint_path: Path
    sha256: str


def hint_run(engine: Engine, run_id: int) -> HintRun:
    """The run whose verdicts a set will show: finished, with its checkpoint on disk."""
    run = get_run(engine, int(run_id))
    if run is None:
        raise StudyError(f"--hint-run {run_id}: there is no training run {run_id} (the Training page lists the finished runs)")
    path = Path(run["checkpoint_path"] or "")
    if run["status"] != "finished" or not run["checkpoint_path"] or not path.is_file():
        raise StudyError(f"--hint-run {run_id}: run {run_id} is {run['status']} and has no checkpoint on disk; "
                         "hints need a finished run with its checkpoint")
    digest = hashlib.sha256()
    with path.open("rb") as checkpoint:
        for block in iter(lambda: checkpoint.read(1 << 20), b""):
            digest.update(block)
    return HintRun(int(run_id), path, digest.hexdigest())


def compute_hints(run: HintRun, images: dict[str, np.ndarray], display_px: int | None) -> list[dict]:
    """One row per image: the model's verdict, P(AI-generated) and its Grad-CAM overlay.
    images: CIFAKE's 32x32 pixels, whose overlay is enlarged (whole pixels) to about
    display_px as the picture itself is; or an image set's pictures at their own size
    (display_px None), whose overlay is drawn over the whole picture at display size
    (models.explain.display_size), what the model did not see dimmed."""
    from study.ml import live  # torch: only a set with hinted conditions needs it

    loaded = live.load_model(run.checkpoint_path)
    rows = []
    for image_id, picture in images.items():
        result = live.predict_and_explain(loaded, picture)
        size = None
        if display_px is not None:
            scale = max(display_px // picture.shape[0], 1)
            size = (picture.shape[1] * scale, picture.shape[0] * scale)
        rows.append({"image_id": image_id, "p_ai": float(result.p_ai), "verdict": int(result.predicted),
                     "cam_png": live.overlay_png(picture, result, size=size)})
    return rows
