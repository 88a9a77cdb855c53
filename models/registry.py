"""The model zoo's one door, in the style of timm: each architecture is a small
function under @register_model, and create_model(name, **cfg) builds it.

Unlike timm, every entry also declares what the rest of the study needs to use
it without knowing the architecture: input size, normalisation, Grad-CAM target
layer (and the token reshape a ViT needs). This package imports nothing from
study/, so it raises its own ModelError family; study/ turns them into
StudyError for the command line and the pages."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
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


def _ensure_loaded() -> None:
    # Importing the entry modules registers them; done lazily so that importing
    # the registry alone stays cheap and free of import cycles.
    from models import backbones, paper_cnns  # noqa: F401


def list_models() -> list[str]:
    """The paper's from-scratch models first, then the backbones."""
    _ensure_loaded()
    return sorted(_REGISTRY, key=lambda name: _REGISTRY[name].spec.family != "paper")


def _entry(name: str) -> _Entry:
    _ensure_loaded()
    if name not in _REGISTRY:
        raise UnknownModelError(f"unknown model {name!r}; valid models: {', '.join(list_models())}")
    return _REGISTRY[name]


def get_spec(name: str, **cfg) -> ModelSpec:
    """The spec that create_model(name, **cfg) would attach, without building."""
    entry = _entry(name)
    spec = entry.resolve(entry.spec, cfg) if entry.resolve else entry.spec
    return replace(spec, cfg=dict(cfg))


def create_model(name: str, **cfg) -> nn.Module:
    """Build a model; its resolved ModelSpec is attached as model.spec."""
    entry = _entry(name)
    spec = get_spec(name, **cfg)
    try:
        model = entry.builder(**cfg)
    except TypeError as err:  # an option this entry does not take
        raise ModelError(f"model {name!r}: {err}") from err
    model.spec = spec
    return model
