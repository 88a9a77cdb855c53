"""CIFAKE as one uint8 array: decoded once with Pillow, cached per source
fingerprint, with stable ids, labels, splits and a duplicate count per image.

Sources and layout: study/data/sources.py. Cache and fingerprint: study/data/cache.py.
"""
from __future__ import annotations

import functools
import hashlib
import io
import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageOps

from study.config import get_settings
from study.data import cache as data_cache
from study.data.model_view import square
from study.data.sources import RawImage, Tally, iter_images, resolve_source
from study.errors import DatasetError
from study.labels import CLASS_NAMES

SIZE = 32
CONVERSION_METHOD = "centre-crop to square, then Pillow LANCZOS resize to 32x32 RGB (alpha dropped, 16-bit scaled to 8-bit)"
CHUNK = 2048  # images per worker task: big enough to amortise pickling, small enough to pipeline
_FORMATS = {".png": "PNG", ".webp": "WEBP"}  # anything else is tried as JPEG first

ARRAY_FIELDS = data_cache.ARRAYS  # the per-image columns of a Dataset, as cached
source_fingerprint = data_cache.source_fingerprint
Progress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class Dataset:
    images: np.ndarray  # (N, 32, 32, 3) uint8, C-contiguous, read-only
    labels: np.ndarray  # (N,) int64, 0 = REAL, 1 = FAKE
    ids: np.ndarray  # (N,) str, dataset-relative path, e.g. "test/REAL/0000 (3).jpg"
    splits: np.ndarray  # (N,) str, "train" / "test"
    dup_count: np.ndarray  # (N,) int64, images in the whole dataset with this pixel content
    fingerprint: str
    source: str
    is_demo: bool
    report: dict

    def __len__(self) -> int:
        return len(self.ids)

    def split(self, name: str) -> Dataset:
        """The images of one split; dup_count still counts the whole dataset."""
        where = np.flatnonzero(self.splits == name)
        if len(where) == 0:
            have = ", ".join(sorted(set(self.splits.tolist()))) or "none"
            raise DatasetError(f"split {name!r} is not in this dataset; it has: {have}")
        # Ids are sorted, so a split is one contiguous run: slice it instead of copying.
        rows = slice(where[0], where[-1] + 1) if where[-1] - where[0] + 1 == len(where) else where
        arrays = {column: getattr(self, column)[rows] for column in ARRAY_FIELDS}
        return make_dataset(arrays, fingerprint=self.fingerprint, source=self.source, is_demo=self.is_demo,
                            report=self.report)

    def index_of(self, image_id: str) -> int:
        try:
            return self._positions[image_id]
        except KeyError:
            raise DatasetError(f"image id {image_id!r} is not in dataset {self.source}") from None

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {image_id: i for i, image_id in enumerate(self.ids.tolist())}


def make_dataset(arrays: dict[str, np.ndarray], *, fingerprint: str, source: str, is_demo: bool, report: dict) -> Dataset:
    fixed = {
        "images": np.ascontiguousarray(arrays["images"], dtype=np.uint8),
        "labels": np.asarray(arrays["labels"], dtype=np.int64),
        "ids": np.asarray(arrays["ids"], dtype=str),
        "splits": np.asarray(arrays["splits"], dtype=str),
        "dup_count": np.asarray(arrays["dup_count"], dtype=np.int64),
    }
    for array in fixed.values():
        array.flags.writeable = False  # shared by every page and job: copy before editing
    return Dataset(**fixed, fingerprint=fingerprint, source=source, is_demo=is_demo, report=report)


# ---------------------------------------------------------------- decoding

def _to_rgb32(image: Image.Image) -> np.ndarray:
    """Any size or mode to 32x32 RGB uint8."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # Pillow's own I;16 -> L conversion clips at 255; scale the 16 bits down instead.
        deep = np.asarray(image, dtype=np.int64)
        image = Image.fromarray(np.clip(deep >> 8, 0, 255).astype(np.uint8), "L")
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(square(image, SIZE), dtype=np.uint8)


@functools.lru_cache(maxsize=None)
def _formats(suffix: str) -> tuple[str, ...]:
    """Pillow tries these in order; the extension's own format first skips needless probing."""
    first = _FORMATS.get(suffix, "JPEG")
    return (first,) + tuple(f for f in ("JPEG", "PNG", "WEBP") if f != first)


def decode_chunk(items: list[tuple[str, bytes]]) -> tuple[np.ndarray, list[dict]]:
    """Decode (id, bytes) pairs into (n, 32, 32, 3); also returns what had to be converted.
    Runs in worker processes, so it must stay a top-level function."""
    out = np.empty((len(items), SIZE, SIZE, 3), dtype=np.uint8)
    rows = out.reshape(len(items), -1)
    converted = []
    for i, (image_id, data) in enumerate(items):
        try:
            image = Image.open(io.BytesIO(data), formats=_formats(os.path.splitext(image_id)[1].lower()))
            image.load()  # raises on truncated data: LOAD_TRUNCATED_IMAGES stays off
            if image.mode == "RGB" and image.size == (SIZE, SIZE):
                rows[i] = memoryview(image.tobytes())  # the common case: one copy, no array wrapper
            else:
                converted.append({"id": image_id, "size": list(image.size), "mode": image.mode})
                out[i] = _to_rgb32(image)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
            raise DatasetError(f"cannot decode image {image_id}: {err}; fix or remove this file and prepare again") from None
    return out, converted


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # a container's share, not the host's count
    except AttributeError:
        return os.cpu_count() or 1


def default_workers() -> int:
    """Decoding processes to start beside this one, which reads and unpacks (tarfile is
    pure Python, nearly as slow as decoding). On 2 cores the pool measured no faster
    than one process (bench/data_load.py: 0.76x to 1.16x, within noise, on a busy
    2-core box), so it starts only where there are cores to spare: one worker per
    core beyond this one."""
    cpus = _usable_cpus()
    return min(cpus - 1, 4) if cpus >= 3 else 0


def _pool(workers: int) -> ProcessPoolExecutor:
    # forkserver, not fork: the app's server threads make fork unsafe (spawn where there is none).
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def _decode_source(source: Path, tally: Tally, progress: Progress | None, workers: int | None):
    """Read and decode in a pipeline: the main process streams bytes while workers decode.
    Sources smaller than one chunk never start a pool."""
    ids, splits, labels = [], [], []
    done: list[tuple[np.ndarray, list[dict]]] = []
    pending: deque[Future] = deque()
    chunk: list[tuple[str, bytes]] = []
    pool = None
    decoded = 0
    if workers is None:
        workers = default_workers()

    def finish(result):
        nonlocal decoded
        done.append(result)
        decoded += len(result[0])
        if progress:
            progress(decoded, len(ids))

    try:
        image: RawImage
        for image in iter_images(source, tally):
            ids.append(image.id)
            splits.append(image.split)
            labels.append(image.label)
            chunk.append((image.id, image.data))
            if len(chunk) == CHUNK:
                if workers > 0:
                    pool = pool or _pool(workers)
                    pending.append(pool.submit(decode_chunk, chunk))
                    if progress:
                        progress(decoded, len(ids))
                    while len(pending) > 6:  # bounds the raw bytes held in flight
                        finish(pending.popleft().result())
                else:
                    finish(decode_chunk(chunk))
                chunk = []
        tail = decode_chunk(chunk) if chunk else None  # this process would only wait otherwise
        while pending:
            finish(pending.popleft().result())
        if tail is not None:
            finish(tail)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    images = np.concatenate([r[0] for r in done]) if done else np.empty((0, SIZE, SIZE, 3), np.uint8)
    converted = [c for r in done for c in r[1]]
    return images, np.array(ids, dtype=str), np.array(splits, dtype=str), np.array(labels, dtype=np.int64), converted


# ---------------------------------------------------------------- duplicates and report

def content_groups(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group index per image, images per group) by exact pixel content."""
    flat = np.ascontiguousarray(images).reshape(len(images), -1)
    digests = np.array([hashlib.blake2b(row, digest_size=16).digest() for row in flat], dtype="S16")
    _, inverse, counts = np.unique(digests, return_inverse=True, return_counts=True)
    return inverse.reshape(-1), counts


def duplicates_report(ids, splits, labels, images) -> tuple[np.ndarray, dict]:
    group, counts = content_groups(images)
    dup_count = counts[group].astype(np.int64)
    in_group = dup_count > 1
    within = {}
    for split in sorted(set(splits.tolist())):
        _, per = np.unique(group[splits == split], return_counts=True)
        within[split] = int((per > 1).sum())
    # A content under both labels would be a labelling conflict, not just a repeat.
    lowest, highest = np.full(len(counts), len(CLASS_NAMES)), np.full(len(counts), -1)
    np.minimum.at(lowest, group, labels)
    np.maximum.at(highest, group, labels)
    examples = [sorted(ids[group == g].tolist()) for g in np.flatnonzero(counts > 1)[:5]]
    report = {
        "groups": int((counts > 1).sum()),
        "images_in_groups": int(in_group.sum()),
        "within": within,
        "across_splits": int(np.isin(group[splits == "test"], group[splits == "train"]).sum()),
        "across_labels": int((lowest != highest).sum()),
        "by_label": {name: int((in_group & (labels == value)).sum()) for value, name in enumerate(CLASS_NAMES)},
        "examples": examples,
        "method": "identical decoded pixels (blake2b of each image's bytes)",
    }
    return dup_count, report


def build_report(*, source: str, fingerprint: str, ids, splits, labels, dup_report: dict, converted: list[dict],
                 tally: Tally | None, decode_seconds: float, cache_path: str | None) -> dict:
    counts = {}
    for split in sorted(set(splits.tolist())):
        counts[split] = {name: int(((splits == split) & (labels == value)).sum())
                         for value, name in enumerate(CLASS_NAMES)}
    return {
        "source": source,
        "fingerprint": fingerprint,
        "n_images": int(len(ids)),
        "counts": counts,
        "duplicates": dup_report,
        "converted": {"count": len(converted), "examples": converted[:5], "method": CONVERSION_METHOD},
        "skipped_non_images": tally.skipped if tally else 0,
        "skipped_examples": tally.skipped_examples if tally else [],
        "cache_path": cache_path,
        "from_cache": False,
        "decode_seconds": round(decode_seconds, 3),
    }


# ---------------------------------------------------------------- loading

def default_cache_dir(cache_dir: Path | None = None) -> Path:
    """Where decoded datasets are cached: cache_dir when given, else the study's."""
    if cache_dir is not None:
        return Path(cache_dir)
    return get_settings().cache_dir / "datasets"


def _resolve(source: str | Path) -> Path:
    return resolve_source(source)  # odd paths (loops, ~nobody, NUL) become DatasetError


def _from_cache(path: Path, cache_dir: Path, fingerprint: str) -> Dataset | None:
    started = time.perf_counter()
    hit = data_cache.read_cache(cache_dir, fingerprint)
    if hit is None:
        return None
    arrays, report = hit
    # The same archive may have moved: the report names where it was loaded from now.
    report = dict(report, source=str(path), from_cache=True,
                  cache_load_seconds=round(time.perf_counter() - started, 3))
    return make_dataset(arrays, fingerprint=fingerprint, source=str(path), is_demo=False, report=report)


def cached_dataset(source: str | Path, *, cache_dir: Path | None = None) -> Dataset | None:
    """The dataset from the cache of the source's CURRENT fingerprint, or None. Never decodes."""
    path = _resolve(source)
    return _from_cache(path, default_cache_dir(cache_dir), source_fingerprint(path))


def load_dataset(source: str | Path, *, cache_dir: Path | None = None, progress: Progress | None = None,
                 use_cache: bool = True, workers: int | None = None) -> Dataset:
    """CIFAKE from a folder, zip, tar(.gz) or folder of archives; decoded once, then cached.

    use_cache=False decodes even if a cache exists (and rewrites it).
    workers: decoding processes beside this one (default: default_workers(), 0 on 2 cores);
    0 decodes in this process only (the bench's baseline)."""
    path = _resolve(source)
    cache_dir = default_cache_dir(cache_dir)
    fingerprint = source_fingerprint(path)
    if use_cache and (hit := _from_cache(path, cache_dir, fingerprint)) is not None:
        return hit

    started = time.perf_counter()
    tally = Tally()
    images, ids, splits, labels, converted = _decode_source(path, tally, progress, workers)
    order = np.argsort(ids, kind="stable")
    if np.any(order != np.arange(len(order))):  # most containers already list in id order
        images, ids, splits, labels = images[order], ids[order], splits[order], labels[order]
    dup_count, dup_report = duplicates_report(ids, splits, labels, images)
    decode_seconds = time.perf_counter() - started
    npz_path, _ = data_cache.cache_paths(cache_dir, fingerprint)
    report = build_report(source=str(path), fingerprint=fingerprint, ids=ids, splits=splits, labels=labels,
                          dup_report=dup_report, converted=converted, tally=tally,
                          decode_seconds=decode_seconds, cache_path=str(npz_path))
    arrays = {"images": images, "labels": labels, "ids": ids, "splits": splits, "dup_count": dup_count}
    data_cache.write_cache(cache_dir, fingerprint, arrays, report)
    data_cache.prune_stale(cache_dir, str(path), keep=fingerprint)
    return make_dataset(arrays, fingerprint=fingerprint, source=str(path), is_demo=False, report=report)

