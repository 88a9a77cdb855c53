"""What the live-prediction page and `python -m study explain` need: a trained
checkpoint loaded once, then P(AI) and a CAM for one image at a time.

A LoadedModel carries its own lock: grad-cam hooks sit on the model's layers
for the length of a call, so two sessions explaining with the same model at
once would mix their activations. Different models run side by side."""
from __future__ import annotations

import io
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from torch import nn

from models import explain as cam
from models.registry import ModelError, ModelSpec
from study.data import filters
from study.data.model_view import View, model_view
from study.errors import StudyError
from study.labels import class_name
from study.ml import evaluation  # by module, so that a test can stand in for open_checkpoint everywhere
# LiveLink field -> the page's query parameter
_QUERY_NAMES = {"run_id": "run", "set_id": "set", "position": "image", "image_id": "id"}


@dataclass(frozen=True)
class LiveLink:
    """What a link to the Live predictions page asks it to show: a training
    run's model among those compared, and an image, either a survey set's
    (set id and pool position) or a dataset's (its id). It travels as the
    page's query string: ?run=R, ?set=S&image=P, ?id=test/REAL/...jpg."""

    run_id: int | None = None
    set_id: int | None = None
    position: int | None = None
    image_id: str | None = None

    def query_params(self) -> dict[str, str]:
        return {name: str(getattr(self, attr)) for attr, name in _QUERY_NAMES.items()
                if getattr(self, attr) is not None}

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> tuple["LiveLink", list[str]]:
        """The link in a query string, and one line for each part of it that is
        not a number where one is needed (that part is then ignored)."""
        values, problems = {}, []
        for attr, name in _QUERY_NAMES.items():
            raw = query.get(name)
            if raw is None or not str(raw).strip():
                continue
            if attr == "image_id":
                values[attr] = str(raw).strip()
                continue
            try:
                values[attr] = int(str(raw).strip())
            except ValueError:
                problems.append(f"the link's {name}={raw!r} is not a number, so it is ignored")
        return cls(**values), problems


def wanted_index(options: Sequence, wanted, what: str, fallback: int = 0) -> tuple[int, str | None]:
    """The index of the option a link asks for, or fallback with a line that
    says why (None when the link asks for nothing)."""
    options = list(options)
    if wanted is None or not options:
        return fallback, None
    if wanted in options:
        return options.index(wanted), None
    return fallback, f"there is no {what} {wanted} (the link asks for it); showing {what} {options[fallback]}"


def models_to_compare(choices: Sequence, run_id: int | None) -> tuple[list[str], str | None]:
    """The models compared first (keys of analysis_models.ModelChoice): the run
    a link names, else the newest finished run; and a line when the named run
    cannot be shown (not finished, no checkpoint on disk, or no such run)."""
    if not choices:
        return [], None
    for choice in choices:
        if choice.run_id == run_id:
            return [choice.key], None
    if run_id is None:
        return [choices[0].key], None
    return [choices[0].key], (f"run {run_id} (from the link) is not a finished training run with a checkpoint on "
                              f"disk; showing {choices[0].key} instead")


@dataclass(frozen=True, eq=False)
class LoadedModel:
    checkpoint_path: str
    model: nn.Module
    spec: ModelSpec
    meta: dict
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def image_filter(self) -> str | None:
        """The filter the run trained with; its images must pass it again here."""
        return evaluation.image_filter_of(self.meta)

    @property
    def run_id(self) -> int | None:
        return (self.meta.get("extra") or {}).get("run_id")

    @property
    def input_side(self) -> int:
        """The side of the pictures it was trained on: every picture is brought to it first."""
        return evaluation.input_side(self.meta)

    @property
    def title(self) -> str:
        run = f"run {self.run_id} " if self.run_id is not None else ""
        return f"{run}{self.spec.name}"


@dataclass(frozen=True)
class LiveResult:
    p_ai: float
    predicted: int
    true_label: int | None
    target_class: int | None
    method: str
    cam: np.ndarray  # (side, side) float32 in [0, 1], over the model's view of the picture
    native_shape: tuple[int, int]
    layer: str
    note: str | None = None
    view: View | None = None  # what the model saw of the picture (its square, its side, the steps)

    @property
    def predicted_name(self) -> str:
        return class_name(self.predicted)

    @property
    def correct(self) -> bool | None:
        return None if self.true_label is None else self.predicted == self.true_label

    @property
    def map_is_empty(self) -> bool:
        return float(self.cam.max() - self.cam.min()) < 1e-6

    def as_dict(self) -> dict:
        return {"p_ai": self.p_ai, "predicted": self.predicted_name, "true_label":
                None if self.true_label is None else class_name(self.true_label), "correct": self.correct,
                "method": self.method, "target_class": None if self.target_class is None else
                class_name(self.target_class), "cam_layer": self.layer, "cam_native": list(self.native_shape),
                "map_is_empty": self.map_is_empty, "note": self.note,
                "model_input": None if self.view is None else {
                    "side": int(self.view.pixels.shape[0]), "square": list(self.view.box),
                    "original_size": list(self.view.original_size), "steps": list(self.view.steps)}}


def load_model(checkpoint_path: str | Path) -> LoadedModel:
    """The checkpoint as a model on the CPU in eval mode (StudyError if it cannot be)."""
    model, spec, meta = evaluation.open_checkpoint(checkpoint_path)
    for parameter in model.parameters():
        parameter.requires_grad_(True)  # Grad-CAM needs the graph; training may have frozen layers
    return LoadedModel(str(checkpoint_path), model, spec, meta)


def predict_and_explain(loaded: LoadedModel, picture: np.ndarray, *, method: str = cam.DEFAULT_METHOD,
                        target_class: int | None = None, true_label: int | None = None) -> LiveResult:
    """P(AI) and the CAM for one (H, W, 3) uint8 RGB picture of any size, as the
    model takes it (its centre square at the model's side, study.data.model_view),
    under the model's lock."""
    picture = np.asarray(picture, dtype=np.uint8)
    if picture.ndim != 3 or picture.shape[2] != 3:
        raise StudyError(f"expected one RGB picture (height, width, 3), got shape {picture.shape}")
    view = model_view(picture, loaded.input_side)
    seen = filters.apply(loaded.image_filter, view.pixels[None])[0]
    try:
        with loaded.lock:
            result = cam.explain(loaded.model, seen, loaded.spec, method=method, target_class=target_class)
    except ModelError as err:
        raise StudyError(str(err)) from err
    return LiveResult(p_ai=result.p_ai, predicted=result.predicted, true_label=true_label,
                      target_class=result.target_class, method=result.method, cam=result.cam,
                      native_shape=result.native_shape, layer=result.layer, note=result.note, view=view)


def model_input_text(view: View | None) -> str:
    """One line on what the model saw of the picture."""
    if view is None:
        return ""
    side = view.pixels.shape[0]
    width, height = view.original_size
    if not view.steps:
        return f"The model took the {side}x{side} picture as it is."
    seen = "the whole picture" if view.whole else f"its centre square ({view.box[2]}x{view.box[2]} of {width}x{height}; " \
                                                   "the rest is dimmed in the overlay)"
    return f"The model saw {seen}, resized to {side}x{side}, the side it was trained on."


def overlay_png(picture: np.ndarray, result: LiveResult, opacity: float = cam.DEFAULT_OPACITY,
                size: tuple[int, int] | None = None) -> bytes:
    """The result's map over the whole picture it explains, as PNG bytes (the page
    shows them, the CLI writes them, a survey hint freezes them): at display size
    (models.explain.display_size) unless `size` is given."""
    box = result.view.box if result.view is not None else (0, 0, picture.shape[1])
    return _png(cam.overlay_on_original(picture, result.cam, box, opacity=opacity, size=size))


def display_png(picture: np.ndarray) -> bytes:
    """The picture at the size its overlay is drawn (small ones enlarged with whole pixels)."""
    return _png(cam.at_display_size(picture))


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()
