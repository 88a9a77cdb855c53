"""An image set as training and evaluation data (`--data set:NAME`): every stored
picture brought to side x side by the models' one rule (study/data/model_view.py),
as one uint8 array in the same cache as CIFAKE's (study/data/cache.py), with a
fixed train/test split.

The split: within each (label, generator) group, the pictures ordered by a hash
of their content, the first TEST_SHARE of them (at least one when the group has
two or more) are the test split. It depends on the pictures alone, so importing
more pictures keeps the old ones where they were unless their group's count
moves the cut, and every model trained on the set is tested on the same images.
Generators are spread over both splits, so a test accuracy is never that of an
unseen generator by accident."""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Callable

import numpy as np
from sqlalchemy import Engine

from study.data import cache as data_cache
from study.data.datasets import Dataset, default_cache_dir, duplicates_report, make_dataset
from study.data.image_sets import pool
from study.data.imports import stored_rgb
from study.data.model_view import METHOD, model_view
from study.errors import StudyError
from study.labels import CLASS_NAMES

TEST_SHARE = 0.2
MIN_SIDE, MAX_SIDE = 8, 1024
Progress = Callable[[int, int], None]


def check_side(side: int) -> int:
    if not MIN_SIDE <= int(side) <= MAX_SIDE:
        raise StudyError(f"--resolution must be between {MIN_SIDE} and {MAX_SIDE} pixels, got {side}")
    return int(side)


def test_split(ids: np.ndarray, labels: np.ndarray, generators: np.ndarray, share: float = TEST_SHARE) -> np.ndarray:
    """'train' or 'test' per picture (see the module's docstring)."""
    splits = np.full(len(ids), "train", dtype=object)
    keys = np.array([hashlib.sha256(f"split\0{i}".encode()).hexdigest() for i in ids.tolist()])
    for label in np.unique(labels):
        for generator in np.unique(generators[labels == label]):
            members = np.flatnonzero((labels == label) & (generators == generator))
            if len(members) < 2:
                continue
            ordered = members[np.argsort(keys[members], kind="stable")]
            splits[ordered[:max(1, round(share * len(members)))]] = "test"
    return splits.astype(str)


def image_set_dataset(engine: Engine, source: str, side: int, *, cache_dir: Path | None = None,
                      progress: Progress | None = None) -> Dataset:
    """The image set named by source ("set:NAME") at side x side, from the cache when
    it holds this very content at this side, else decoded from the store and cached."""
    side = check_side(side)
    images_of = pool(engine, source)
    if len(images_of.ids) == 0:
        raise StudyError(f"the image set {images_of.name!r} holds no pictures")
    cache_dir = default_cache_dir(cache_dir)
    fingerprint = hashlib.sha256(
        f"{images_of.fingerprint}\0{side}\0{METHOD}\0test share {TEST_SHARE}".encode()).hexdigest()
    cache_key = f"{images_of.source} at {side}x{side}"  # one cache per set and side; older contents pruned
    hit = data_cache.read_cache(cache_dir, fingerprint)
    if hit is not None:
        arrays, report = hit
        return make_dataset(arrays, fingerprint=fingerprint, source=images_of.source, is_demo=False,
                            report=dict(report, from_cache=True))
    started = time.perf_counter()
    order = np.argsort(images_of.ids, kind="stable")  # ids sorted, as every Dataset's are
    ids, labels, generators = images_of.ids[order], images_of.labels[order], images_of.generators[order]
    images = np.empty((len(ids), side, side, 3), np.uint8)
    for n, image_id in enumerate(ids.tolist()):
        images[n] = model_view(stored_rgb(image_id), side).pixels
        if progress and (n + 1) % 50 == 0:
            progress(n + 1, len(ids))
    splits = test_split(ids, labels, generators)
    dup_count, dup_report = duplicates_report(ids, splits, labels, images)
    counts = {split: {name: int(((splits == split) & (labels == value)).sum())
                      for value, name in enumerate(CLASS_NAMES)} for split in ("train", "test")}
    report = {
        "source": cache_key, "image_set": images_of.name, "fingerprint": fingerprint, "n_images": int(len(ids)),
        "side": side, "conversion": METHOD, "split_rule": f"{TEST_SHARE:.0%} of each label and generator, "
        "by content hash", "counts": counts, "duplicates": dup_report,
        "decode_seconds": round(time.perf_counter() - started, 3), "from_cache": False,
    }
    arrays = {"images": images, "labels": labels, "ids": ids, "splits": splits, "dup_count": dup_count}
    data_cache.write_cache(cache_dir, fingerprint, arrays, report)
    data_cache.prune_stale(cache_dir, cache_key, keep=fingerprint)
    if progress:
        progress(len(ids), len(ids))
    return make_dataset(arrays, fingerprint=fingerprint, source=images_of.source, is_demo=False, report=report)
