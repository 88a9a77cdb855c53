"""The zoo's registry, a leaf (as timm's _registry): ModelSpec, the ModelError
family and @register_model, which files each architecture's small builder
function under its name. models/zoo.py is the door that builds them.

Unlike timm, every entry also declares what the rest of the study needs to use
it without knowing the architecture: input size, normalisation, Grad-CAM target
layer (and the token reshape a ViT needs). This package imports nothing from
study/, so it raises its own ModelError family; study/ turns them into
StudyError for the command line and the pages."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from torch import nn


class ModelError(Exception):
    """A model cannot be built or loaded as asked; the message says why."""


class UnknownModelError(ModelError):
    pass


class WeightsUnavailableError(ModelError):
    """Pretrained weights asked for but not obtainable (e.g. offline)."""


class CheckpointError(ModelError):
    """A checkpoint file that is corrupt or does not match the zoo."""


CamLayers = Callable[[nn.Module], list[nn.Module]]


@dataclass(frozen=True)
class ModelSpec:
    """What a caller needs to feed, explain and describe a model."""

    name: str
    input_size: tuple[int, int]
    # None means "scale to [0, 1] and stop" (the paper's MinMaxScaler).
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    cam_target_layer: CamLayers
    # Turns a ViT's (B, tokens, C) activations into (B, C, h, w); None for CNNs.
    cam_reshape: Callable | None = None
    pretrained_available: bool = False
    family: str = "paper"
    description: str = ""
    # Side of the Grad-CAM map at input_size, documented per entry.
    cam_resolution: int | None = None
    in_chans: int = 3
    cfg: dict = field(default_factory=dict, compare=False)

    @staticmethod
    def num_params(model: nn.Module) -> int:
        return sum(p.numel() for p in model.parameters())


@dataclass(frozen=True)
class _Entry:
    builder: Callable[..., nn.Module]
    spec: ModelSpec
    # Resolves the spec for one cfg (e.g. img_size changes the input size).
    resolve: Callable[[ModelSpec, dict], ModelSpec] | None


_REGISTRY: dict[str, _Entry] = {}


def register_model(spec: ModelSpec, resolve: Callable[[ModelSpec, dict], ModelSpec] | None = None):
    """Decorator: file the builder function under spec.name."""

    def wrap(builder: Callable[..., nn.Module]):
        if spec.name in _REGISTRY:
            raise ValueError(f"model {spec.name!r} registered twice")
        _REGISTRY[spec.name] = _Entry(builder, spec, resolve)
        return builder

    return wrap


def registered(name: str) -> _Entry | None:
    return _REGISTRY.get(name)


def registered_names() -> list[str]:
    return list(_REGISTRY)
