"""The model zoo's one door, in the style of timm's _factory: create_model(name,
**cfg) builds any registered architecture with its ModelSpec attached, and
list_models() names them. Importing this module registers every entry (the
paper's CNNs, the fast from-scratch detector and the timm backbones), so the
registry below stays a leaf."""
from __future__ import annotations

from dataclasses import replace

from torch import nn

from models import backbones, fast_cnns, paper_cnns  # noqa: F401  (importing them registers their entries)
from models.registry import ModelError, ModelSpec, UnknownModelError, registered, registered_names


FAMILY_ORDER = {"paper": 0, "fast": 1}  # then the backbones


def list_models() -> list[str]:
    """The paper's from-scratch models first, then the fast detector, then the backbones."""
    return sorted(registered_names(), key=lambda name: FAMILY_ORDER.get(registered(name).spec.family, 2))


def _entry(name: str):
    entry = registered(name)
    if entry is None:
        raise UnknownModelError(f"unknown model {name!r}; valid models: {', '.join(list_models())}")
    return entry


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
