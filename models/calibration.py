"""Temperature scaling as part of a loaded model: the logits are divided by the
model's temperature T in its own forward pass, so every caller (evaluation,
prediction, Grad-CAM and its P(AI), the survey's hints, Results) gets the
calibrated P(AI-generated) without knowing about it.

It is a forward hook on the top module, not a layer: the state dict (and with
it every checkpoint written before temperatures existed) stays the same, and a
checkpoint without a temperature loads with T = 1, i.e. unchanged. Dividing by
a positive T never changes which class is predicted, only how sure the model
says it is. The fit itself (minimising the validation log loss) is the
training's (study/ml/calibration.py)."""
from __future__ import annotations

import math

from torch import nn

_HANDLE = "_temperature_hook"


def temperature_of(model: nn.Module) -> float:
    """The model's temperature; 1.0 when none was set."""
    return float(getattr(model, "temperature", 1.0))


def set_temperature(model: nn.Module, temperature: float) -> nn.Module:
    """From now on the model's logits are divided by `temperature`; 1.0 removes
    the scaling. Setting it again replaces the previous one."""
    temperature = float(temperature)
    if not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"a temperature must be a positive number, not {temperature}")
    old = getattr(model, _HANDLE, None)
    if old is not None:
        old.remove()
    model.temperature = temperature
    handle = None
    if temperature != 1.0:
        handle = model.register_forward_hook(lambda _module, _inputs, logits: logits / temperature)
    object.__setattr__(model, _HANDLE, handle)  # a plain attribute, not a submodule or a buffer
    return model
