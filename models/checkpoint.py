"""Checkpoints: the weights plus everything needed to trust them later.

A checkpoint is a torch.save'd dict of plain types and tensors, so it loads
with weights_only=True (no pickled code runs). Loading rebuilds the model from
the zoo by name and cfg and insists the state dict fits it exactly.

A checkpoint carries the temperature fitted on its validation split
("temperature"; models/calibration.py): loading applies it, so the loaded model
gives calibrated probabilities. A checkpoint written without one loads at 1.0."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import timm
import torch
from torch import nn

from models.calibration import set_temperature, temperature_of
from models.labels import CLASS_NAMES
from models.registry import CheckpointError, ModelError, ModelSpec
from models.zoo import create_model

CHECKPOINT_VERSION = 1
CLASSES = dict(enumerate(CLASS_NAMES))  # as every checkpoint stores them: {0: "REAL", 1: "FAKE"}


def library_versions() -> dict[str, str]:
    return {"torch": str(torch.__version__), "timm": str(timm.__version__)}  # plain str: weights_only loads


def save_checkpoint(path: str | Path, model: nn.Module, *, cfg: dict | None = None,
                    metrics: dict | None = None, dataset_fingerprint: str | None = None,
                    extra: dict | None = None) -> Path:
    """Write atomically (temp file + rename): a crash never leaves half a file
    under the final name."""
    spec: ModelSpec = model.spec
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "checkpoint_version": CHECKPOINT_VERSION,
        "model": spec.name,
        # Weights are in the state dict; never ask for a download when loading.
        "cfg": {k: v for k, v in dict(cfg if cfg is not None else spec.cfg).items()
                if k not in ("pretrained", "weights")},
        "classes": dict(CLASSES),
        "metrics": metrics or {},
        "dataset_fingerprint": dataset_fingerprint,
        "versions": library_versions(),
        "extra": extra or {},
        "temperature": temperature_of(model),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_checkpoint(path: str | Path) -> dict:
    """The raw dict, checked for shape but not yet turned into a model."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch.load of junk raises almost anything (struct.error, IndexError, ...)
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or not written by "
                              f"this study): {str(err).splitlines()[0] if str(err) else type(err).__name__}") from err
    if not isinstance(payload, dict) or "checkpoint_version" not in payload:
        raise CheckpointError(f"{path} is a torch file but not a study checkpoint (no checkpoint_version)")
    if payload["checkpoint_version"] != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path} has checkpoint_version {payload['checkpoint_version']!r}; "
                              f"this version of the study reads version {CHECKPOINT_VERSION}")
    for key in ("model", "cfg", "state_dict", "classes"):
        if key not in payload:
            raise CheckpointError(f"{path} lacks {key!r}; expected a study checkpoint")
    if {int(k): v for k, v in payload["classes"].items()} != CLASSES:
        raise CheckpointError(f"{path} maps classes {payload['classes']}; expected {CLASSES}")
    return payload


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, ModelSpec, dict]:
    """(model in eval mode, its spec, everything else in the file but the weights)."""
    payload = read_checkpoint(path)
    try:
        model = create_model(payload["model"], **dict(payload["cfg"]))
    except ModelError as err:
        raise CheckpointError(f"{path} names a model the zoo cannot build: {err}") from err
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as err:
        first = " ".join(str(err).split())[:300]  # one line for the CLI
        raise CheckpointError(f"{path}: weights do not fit model {payload['model']!r} "
                              f"with cfg {payload['cfg']}: {first}") from err
    temperature = payload.get("temperature", 1.0)
    try:
        set_temperature(model, temperature)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path} has an unusable temperature {temperature!r}: {err}") from err
    model.to(device).eval()
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    meta["temperature"] = temperature_of(model)
    return model, model.spec, meta
