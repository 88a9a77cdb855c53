"""What happens to an image on its way to a person: re-compressed, blurred,
grainy, shrunk and enlarged again. Each perturbation is a pure function of a
uint8 batch (N, H, W, 3) and a level, returning a new uint8 batch of the same
shape (the input is never modified). The robustness report scores models at
fixed levels (LEVELS, easiest first); `--augment robust` trains on random
levels drawn from the same functions (random_perturbation), so what a model
is trained on and tested with can never drift apart.

- jpeg: Pillow's encoder at a quality (90 .. 10; lower is harder), Pillow's
  default 4:2:0 chroma subsampling, as a web upload would be.
- blur: OpenCV Gaussian blur with that sigma in pixels (kernel from sigma,
  borders reflected, as the paper's Gaussian filter in filters.py).
- noise: additive Gaussian noise with that sigma in grey levels of 255,
  rounded and clipped; seeded, so a report is reproducible.
- rescale: shrunk to that share of the side with area averaging (24 or 16 px
  for 32), then enlarged back bilinearly: the detail a thumbnail loses."""
from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from study.errors import StudyError


def _check(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise StudyError(f"a perturbation expects uint8 images shaped (N, H, W, 3); got {images.shape} {images.dtype}")
    return images


def jpeg(images: np.ndarray, quality: float, rng: np.random.Generator | None = None) -> np.ndarray:
    images = _check(images)
    quality = int(round(quality))
    if not 1 <= quality <= 100:
        raise StudyError(f"JPEG quality must be in 1..100, not {quality}")
    out = np.empty_like(images)
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image, "RGB").save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            out[i] = np.asarray(decoded.convert("RGB"))
    return out


def blur(images: np.ndarray, sigma: float, rng: np.random.Generator | None = None) -> np.ndarray:
    images = _check(images)
    if not sigma > 0:
        raise StudyError(f"blur sigma must be positive, not {sigma}")
    out = np.empty_like(images)
    for i, image in enumerate(images):
        out[i] = cv2.GaussianBlur(np.ascontiguousarray(image), (0, 0), sigmaX=float(sigma),
                                  borderType=cv2.BORDER_REFLECT_101)
    return out


def noise(images: np.ndarray, sigma: float, rng: np.random.Generator | None = None) -> np.ndarray:
    images = _check(images)
    if not sigma > 0:
        raise StudyError(f"noise sigma must be positive, not {sigma}")
    rng = rng if rng is not None else np.random.default_rng(0)
    grain = rng.normal(0.0, float(sigma), images.shape).astype(np.float32)
    return np.clip(np.rint(images.astype(np.float32) + grain), 0, 255).astype(np.uint8)


def rescale(images: np.ndarray, factor: float, rng: np.random.Generator | None = None) -> np.ndarray:
    images = _check(images)
    if not 0 < factor < 1:
        raise StudyError(f"a rescale factor must be in (0, 1), not {factor}")
    height, width = images.shape[1:3]
    small = (max(1, int(round(width * factor))), max(1, int(round(height * factor))))
    out = np.empty_like(images)
    for i, image in enumerate(images):
        shrunk = cv2.resize(np.ascontiguousarray(image), small, interpolation=cv2.INTER_AREA)
        out[i] = cv2.resize(shrunk, (width, height), interpolation=cv2.INTER_LINEAR)
    return out


@dataclass(frozen=True)
class Perturbation:
    name: str
    label: str
    level_name: str  # what a level is, with its unit
    levels: tuple  # the report's levels, easiest first
    fn: Callable[..., np.ndarray]
    # --augment robust draws a level uniformly from this range (both ends included)
    augment_range: tuple[float, float]


PERTURBATIONS: dict[str, Perturbation] = {p.name: p for p in (
    Perturbation("jpeg", "JPEG re-compression", "quality (0-100)", (90, 70, 50, 30, 10), jpeg, (10, 95)),
    Perturbation("blur", "Gaussian blur", "sigma (pixels)", (0.5, 1.0, 1.5), blur, (0.3, 1.5)),
    Perturbation("noise", "Gaussian noise", "sigma (grey levels of 255)", (4, 8, 16, 32), noise, (2, 32)),
    Perturbation("rescale", "Down-then-up scaling", "share of the side", (0.75, 0.5), rescale, (0.5, 0.9)),
)}


def names() -> list[str]:
    return list(PERTURBATIONS)


def get(name: str) -> Perturbation:
    if name not in PERTURBATIONS:
        raise StudyError(f"unknown perturbation {name!r}; expected one of {', '.join(PERTURBATIONS)}")
    return PERTURBATIONS[name]


def apply(name: str, images: np.ndarray, level, seed: int = 0) -> np.ndarray:
    """One perturbation at one level of a whole batch (noise seeded by `seed`)."""
    return get(name).fn(images, level, np.random.default_rng(seed))


def random_perturbation(images: np.ndarray, rng: np.random.Generator, keep: float = 0.5) -> np.ndarray:
    """--augment robust: each image kept as it is with probability `keep`, else
    given one perturbation chosen uniformly, at a level drawn uniformly from its
    augment_range, its own level per image."""
    images = _check(images)
    out = images.copy()
    kinds = list(PERTURBATIONS.values())
    choice = np.where(rng.random(len(images)) < keep, -1, rng.integers(0, len(kinds), len(images)))
    for k, kind in enumerate(kinds):
        rows = np.flatnonzero(choice == k)
        for row in rows:
            level = rng.uniform(*kind.augment_range)
            out[row] = kind.fn(images[row:row + 1], level, rng)[0]
    return out
