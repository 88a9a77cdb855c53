"""Tiny CIFAKE-shaped folders (Kaggle layout: train|test / REAL|FAKE / images)
for the tests that need a dataset on disk rather than the demo pool."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image


def make_kaggle_folder(root: Path, per_class: int = 4, suffix: str = ".jpg", seed: int = 0) -> Path:
    """Random 32x32 RGB images, per_class of each label in each split."""
    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        for label in ("REAL", "FAKE"):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}{suffix}", quality=95)
    return root


def prepare_source(root: Path, splits=("train", "test")) -> str:
    """A tiny Kaggle-layout folder (made, or cut down) with only these splits, prepared as the app's CIFAKE."""
    from db import open_database
    from study.config import ensure_home
    from study.data.admin import prepare

    if not root.exists():
        make_kaggle_folder(root)
    for split in {"train", "test"} - set(splits):
        shutil.rmtree(root / split, ignore_errors=True)
    return prepare(open_database(ensure_home().database_url), root).source
