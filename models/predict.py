"""From uint8 images to what a model eats, and from its logits to P(AI).

One function prepares a batch for training, evaluation and prediction alike,
so the three can never disagree about resizing or normalisation."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.labels import FAKE
from models.registry import ModelSpec


def to_tensor_nchw(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(N, H, W, C) uint8 -> (N, C, H, W) uint8 tensor, still uint8 (4x less to move)."""
    if not isinstance(images, torch.Tensor):
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError(f"expected (N, H, W, C) uint8 images, got {images.shape} {images.dtype}")
        # Transpose in numpy: one copy, and a writable one (dataset arrays are read-only).
        return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise ValueError(f"expected (N, H, W, C) uint8 images, got {tuple(images.shape)} {images.dtype}")
    return images.permute(0, 3, 1, 2).contiguous()


def prepare_batch(batch_u8: torch.Tensor, spec: ModelSpec, transform=None) -> torch.Tensor:
    """(N, C, H, W) uint8 on any device -> float input for the model: [0, 1],
    then `transform` (training augmentation, at native size), enlarged to
    spec.input_size, then the entry's mean/std if it has one."""
    x = batch_u8.float().div_(255.0)
    if transform is not None:
        x = transform(x)
    if tuple(x.shape[-2:]) != tuple(spec.input_size):
        x = F.interpolate(x, size=spec.input_size, mode="bilinear", align_corners=False)
    if spec.mean is not None:
        mean = torch.tensor(spec.mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        std = torch.tensor(spec.std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        x = (x - mean) / std
    return x


@torch.no_grad()
def predict_logits(model: nn.Module, spec: ModelSpec, images_u8_nchw: torch.Tensor,
                   batch_size: int = 256, device: torch.device | str | None = None) -> torch.Tensor:
    """Logits (N, 2) on the CPU for (N, C, H, W) uint8 images, in eval mode."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    try:
        for start in range(0, len(images_u8_nchw), batch_size):
            batch = images_u8_nchw[start:start + batch_size].to(device, non_blocking=True)
            out.append(model(prepare_batch(batch, spec)).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, 2)


def predict_proba(model: nn.Module, images: np.ndarray, spec: ModelSpec | None = None,
                  batch_size: int = 256, device: torch.device | str | None = None) -> np.ndarray:
    """P(AI-generated) for (N, 32, 32, C) uint8 images, as a float64 array."""
    spec = spec or model.spec
    logits = predict_logits(model, spec, to_tensor_nchw(images), batch_size, device)
    return torch.softmax(logits, dim=1)[:, FAKE].double().numpy()
