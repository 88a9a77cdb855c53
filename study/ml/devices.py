"""Which device trains: CUDA, then Apple's MPS, then the CPU, unless asked."""
from __future__ import annotations

import torch

from study.errors import StudyError

CHOICES = ("auto", "cpu", "cuda", "mps")


def pick_device(requested: str = "auto") -> torch.device:
    requested = (requested or "auto").lower()
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = requested.split(":")[0]
    if kind not in CHOICES:
        raise StudyError(f"unknown device {requested!r}; expected one of {', '.join(CHOICES)} (or cuda:N)")
    if kind == "cuda" and not torch.cuda.is_available():
        raise StudyError("device 'cuda' asked for, but no CUDA GPU is available here; use --device cpu or auto")
    if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise StudyError("device 'mps' asked for, but MPS is not available here; use --device cpu or auto")
    return torch.device(requested)


def device_description(device: torch.device) -> str:
    """What a run records as its device: "cuda (NVIDIA H200)", "cpu (8 threads)", "mps"."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)
