"""The paper's image filters (its Table 2), as pure functions on uint8 batches
(N, H, W, 3) -> uint8 batches; the input is never modified (dataset arrays are
read-only). Training, evaluation, prediction and the filter page all go
through apply(name, images), so a model always sees the filter it learned on.

Choices, where the paper does not say:
- Gaussian blur: 3x3 kernel, sigma 0 = OpenCV's rule from the size (0.8 px
  for 3x3); borders reflect (OpenCV's BORDER_REFLECT_101), as for median.
- Median blur: 3x3 (the smallest aperture: removes isolated salt/pepper pixels).
- Gray World: per image, each channel scaled so its mean equals the mean of the
  three channel means (a one-colour image becomes that colour's grey).
- SRM: the three high-pass kernels of Zhou et al. 2018 (RGB-N), applied to the
  image's luma (the paper fed LeNet ONE channel). "srm" averages the three
  residuals into one channel; "srm3" keeps one channel per kernel. A residual r
  is stored as clip(128 + gain * r): 128 means "no residual" (a flat image),
  gain 4 spreads CIFAKE's small residuals (a few grey levels) over the byte.
  The model gets in_chans from the filtered array's last axis.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np
from scipy import ndimage

from study.errors import StudyError

SRM_ZERO = 128  # the stored value of a zero residual

# Zhou, Han, Morariu, Davis (CVPR 2018), "Learning Rich Features for Image
# Manipulation Detection", Fig. 3: the three SRM kernels, each summing to zero.
SRM_KERNELS: dict[str, np.ndarray] = {
    "KB": np.array([
        [0, 0, 0, 0, 0],
        [0, -1, 2, -1, 0],
        [0, 2, -4, 2, 0],
        [0, -1, 2, -1, 0],
        [0, 0, 0, 0, 0],
    ], np.float32) / 4,
    "KV": np.array([
        [-1, 2, -2, 2, -1],
        [2, -6, 8, -6, 2],
        [-2, 8, -12, 8, -2],
        [2, -6, 8, -6, 2],
        [-1, 2, -2, 2, -1],
    ], np.float32) / 12,
    "second_order": np.array([
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
        [0, 1, -2, 1, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
    ], np.float32) / 2,
}

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601, as OpenCV's RGB2GRAY


def _check(images: np.ndarray, channels: tuple[int, ...] = (3,)) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in channels:
        want = " or ".join(str(c) for c in channels)
        raise StudyError(f"a filter expects uint8 images shaped (N, H, W, {want}); got {images.shape} {images.dtype}")
    return images


def _per_image(images: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    out = np.empty_like(images)
    for i, image in enumerate(images):
        out[i] = fn(np.ascontiguousarray(image))
    return out


def gray_world(images: np.ndarray) -> np.ndarray:
    """Per-image channel gains so that every channel's mean is the grey mean.
    A channel that is all zero stays zero (no gain can lift it)."""
    images = _check(images)
    x = images.astype(np.float32)
    means = x.mean(axis=(1, 2), keepdims=True)  # (N, 1, 1, 3)
    grey = means.mean(axis=-1, keepdims=True)
    gains = np.divide(grey, means, out=np.zeros_like(means), where=means > 0)
    return np.clip(np.rint(x * gains), 0, 255).astype(np.uint8)


def gaussian_blur(images: np.ndarray, ksize: int = 3, sigma: float = 0.0) -> np.ndarray:
    images = _check(images)
    if ksize < 1 or ksize % 2 == 0:
        raise StudyError(f"Gaussian blur needs an odd kernel size >= 1, got {ksize}")
    return _per_image(images, lambda im: cv2.GaussianBlur(im, (ksize, ksize), sigma))


def median_blur(images: np.ndarray, ksize: int = 3) -> np.ndarray:
    images = _check(images)
    if ksize < 3 or ksize % 2 == 0:
        raise StudyError(f"median blur needs an odd kernel size >= 3, got {ksize}")
    return _per_image(images, lambda im: cv2.medianBlur(im, ksize))


def srm_residuals(images: np.ndarray, channels: int = 1, gain: float = 4.0) -> np.ndarray:
    """The SRM noise residuals of each image's luma, (N, H, W, channels) uint8:
    channels=1 is the mean of the three kernels' residuals, channels=3 one per kernel."""
    images = _check(images)
    if channels not in (1, 3):
        raise StudyError(f"SRM gives 1 or 3 channels, not {channels}")
    luma = images.astype(np.float32) @ _LUMA  # (N, H, W)
    # One correlation over the whole batch: the (1, 5, 5) kernel never mixes images.
    residuals = [ndimage.correlate(luma, k[None], mode="mirror") for k in SRM_KERNELS.values()]
    stacked = np.stack(residuals, axis=-1)
    if channels == 1:
        stacked = stacked.mean(axis=-1, keepdims=True)
    return np.clip(np.rint(SRM_ZERO + gain * stacked), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class FilterInfo:
    name: str
    label: str  # as the paper's tables name it
    fn: Callable[[np.ndarray], np.ndarray]
    out_channels: int
    description: str


FILTERS: dict[str, FilterInfo] = {f.name: f for f in (
    FilterInfo("grayworld", "Gray World", gray_world, 3, "per-image channel gains to the grey mean"),
    FilterInfo("gaussian", "Gaussian Blur", gaussian_blur, 3, "3x3 Gaussian, sigma 0.8 (OpenCV's rule for 3x3)"),
    FilterInfo("median", "Median Blur", median_blur, 3, "3x3 median"),
    FilterInfo("srm", "SRM Filter", srm_residuals, 1,
               "mean of the three SRM residuals of the luma, one channel, 128 = zero"),
    FilterInfo("srm3", "SRM (3 kernels)", lambda im: srm_residuals(im, channels=3), 3,
               "the three SRM residuals of the luma, one channel each, 128 = zero"),
)}

# The four filters of the paper's Tables 2-4, in its order.
PAPER_FILTERS = ("grayworld", "gaussian", "median", "srm")

_ALIASES = {"gray_world": "grayworld", "grey_world": "grayworld", "greyworld": "grayworld",
            "gaussian_blur": "gaussian", "blur": "gaussian", "median_blur": "median"}


def names() -> list[str]:
    return list(FILTERS)


def get(name: str) -> FilterInfo:
    key = (name or "").strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in FILTERS:
        raise StudyError(f"unknown filter {name!r}; expected one of {', '.join(FILTERS)}")
    return FILTERS[key]


def apply(name: str | None, images: np.ndarray) -> np.ndarray:
    """The named filter of a uint8 batch; None or '' or 'none' returns the images unchanged."""
    if not name or str(name).lower() == "none":
        return images
    return get(name).fn(images)
