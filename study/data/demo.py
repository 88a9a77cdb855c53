"""A synthetic stand-in for CIFAKE, so the app and the tests work before anyone
downloads the real data. Clearly marked: is_demo=True, source="demo", DEMO_NOTE.

REAL: smooth gradients and soft colour blobs with camera-like grain.
FAKE: the same kind of scene, with less grain, slightly richer colour and a clear
high-frequency periodic texture (the kind of generator artefact a small CNN
learns quickly, as it does on CIFAKE).
"""
from __future__ import annotations

import hashlib

import numpy as np

from study.data.datasets import SIZE, Dataset, build_report, duplicates_report, make_dataset
from study.labels import CLASS_NAMES, FAKE, REAL

DEMO_NOTE = "demo — synthetic images, not CIFAKE"
DEMO_VERSION = 2  # bump when the pictures change, so caches keyed on the fingerprint miss


def _scenes(rng: np.random.Generator, n: int, fake: bool) -> np.ndarray:
    """n images (n, 32, 32, 3) uint8 of one class, all at once."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / (SIZE - 1)
    # Background: a linear gradient between two colours in a random direction.
    angle = rng.uniform(0, 2 * np.pi, (n, 1, 1)).astype(np.float32)
    ramp = (np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5) + 0.5).clip(0, 1)[..., None]
    c0, c1 = rng.uniform(20, 235, (2, n, 1, 1, 3)).astype(np.float32)
    image = c0 * (1 - ramp) + c1 * ramp
    # Three soft blobs, blended over the background.
    for _ in range(3):
        cy, cx = rng.uniform(0.1, 0.9, (2, n, 1, 1)).astype(np.float32)
        sigma = rng.uniform(0.08, 0.3, (n, 1, 1)).astype(np.float32)
        weight = 0.8 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))[..., None]
        colour = rng.uniform(0, 255, (n, 1, 1, 3)).astype(np.float32)
        image = image + weight * (colour - image)
    if fake:
        grey = image.mean(axis=-1, keepdims=True)
        image = grey + 1.15 * (image - grey)  # a touch more saturated
        period = rng.choice(np.array([2.0, 3.0, 4.0], np.float32), (n, 1, 1))
        fx, fy = rng.integers(0, 2, (2, n, 1, 1)) * 2 - 1
        # cos with |phase| <= pi/4 keeps a period-2 texture from vanishing on the pixel grid.
        phase = rng.uniform(-np.pi / 4, np.pi / 4, (n, 1, 1)).astype(np.float32)
        texture = np.cos(2 * np.pi * (fx * xx + fy * yy) * (SIZE - 1) / period + phase)
        image = image + rng.uniform(14, 20, (n, 1, 1, 1)).astype(np.float32) * texture[..., None]
        grain = 1.5
    else:
        grain = 5.0
    image += grain * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def demo_pool(n_train: int = 2000, n_test: int = 400, seed: int = 0) -> Dataset:
    """Deterministic, balanced (half REAL, half FAKE per split), no duplicates.
    Each split has its own random stream, so the test images do not depend on n_train."""
    images, ids, splits, labels = [], [], [], []
    for split_no, (split, n) in enumerate((("test", n_test), ("train", n_train))):
        rng = np.random.default_rng([seed, split_no, DEMO_VERSION])
        for label, name in enumerate(CLASS_NAMES):
            count = n // 2 if label == REAL else n - n // 2
            images.append(_scenes(rng, count, fake=label == FAKE))
            ids += [f"{split}/{name}/demo-{i:05d}.png" for i in range(count)]
            splits += [split] * count
            labels += [label] * count
    ids = np.array(ids, dtype=str)
    order = np.argsort(ids, kind="stable")  # same ordering rule as a real dataset
    images = np.concatenate(images)[order]
    ids, splits, labels = ids[order], np.array(splits, dtype=str)[order], np.array(labels, dtype=np.int64)[order]
    fingerprint = hashlib.sha256(f"demo:{n_train}:{n_test}:{seed}:{DEMO_VERSION}".encode()).hexdigest()
    dup_count, dup_report = duplicates_report(ids, splits, labels, images)
    report = build_report(source="demo", fingerprint=fingerprint, ids=ids, splits=splits, labels=labels,
                          dup_report=dup_report, converted=[], tally=None, decode_seconds=0.0, cache_path=None)
    report["note"] = DEMO_NOTE
    arrays = {"images": images, "labels": labels, "ids": ids, "splits": splits, "dup_count": dup_count}
    return make_dataset(arrays, fingerprint=fingerprint, source="demo", is_demo=True, report=report)
