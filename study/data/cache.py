"""The decoded-array cache: one uncompressed .npz of arrays plus a .json report per
source fingerprint, each written to a temp file and renamed into place, so a crash
leaves either the old state or the whole new one, never half a cache."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from study.data.sources import walk_layout_files, describe_kind, is_archive, is_image_name
from study.errors import DatasetError

# Bump when decoding or the cached arrays change meaning: old caches then miss.
CACHE_VERSION = 2
ARRAYS = ("images", "labels", "ids", "splits", "dup_count")


def source_fingerprint(source: str | Path) -> str:
    """sha256 hex identifying the source's current content.

    An archive hashes its bytes (CIFAKE's are ~40 MB, a fraction of a second);
    a folder hashes the sorted (relative path, size, mtime_ns) of its image files
    and archives, which catches edits without reading 100k files."""
    path = Path(source).expanduser().resolve()
    kind = describe_kind(path)
    digest = hashlib.sha256()
    if kind == "archive":
        digest.update(f"archive\0{path.name}\0".encode())
        try:
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError as err:
            raise DatasetError(f"cannot read {path}: {err.strerror or err}") from None
        return digest.hexdigest()
    digest.update(b"folder\0")
    entries = []
    for relpath, full in walk_layout_files(path):
        if full is not None and (is_image_name(relpath) or is_archive(full)):
            stat = full.stat()
            entries.append((relpath, stat.st_size, stat.st_mtime_ns))
    for relpath, size, mtime in sorted(entries):
        digest.update(f"{relpath}\0{size}\0{mtime}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def cache_paths(cache_dir: Path, fingerprint: str) -> tuple[Path, Path]:
    return cache_dir / f"{fingerprint}.npz", cache_dir / f"{fingerprint}.json"


def _atomic_write(target: Path, write) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_cache(cache_dir: Path, fingerprint: str, arrays: dict[str, np.ndarray], report: dict) -> Path:
    """Arrays first, report last: the report's presence marks a complete cache."""
    npz_path, json_path = cache_paths(cache_dir, fingerprint)
    _atomic_write(npz_path, lambda handle: np.savez(handle, **{k: arrays[k] for k in ARRAYS}))
    stored = dict(report, cache_version=CACHE_VERSION)
    _atomic_write(json_path, lambda handle: handle.write(json.dumps(stored, indent=1).encode()))
    return npz_path


def read_cache(cache_dir: Path, fingerprint: str) -> tuple[dict[str, np.ndarray], dict] | None:
    """The cached arrays and report, or None if absent, from an older version, or damaged."""
    npz_path, json_path = cache_paths(cache_dir, fingerprint)
    if not (npz_path.is_file() and json_path.is_file()):
        return None
    try:
        report = json.loads(json_path.read_text())
        if report.get("cache_version") != CACHE_VERSION:
            return None
        with np.load(npz_path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in ARRAYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # a damaged cache is just a miss: the source decodes again
    return arrays, report


def prune_stale(cache_dir: Path, source: str, keep: str) -> list[str]:
    """Delete the caches of earlier content of the same source (each is ~360 MB for
    CIFAKE); nothing reads them, since a lookup always uses the current fingerprint."""
    pruned = []
    for json_path in cache_dir.glob("*.json"):
        fingerprint = json_path.stem
        if fingerprint == keep:
            continue
        try:
            if json.loads(json_path.read_text()).get("source") != source:
                continue
        except (OSError, ValueError):
            continue
        npz_path, _ = cache_paths(cache_dir, fingerprint)
        json_path.unlink(missing_ok=True)  # the report first: without it the arrays are never read
        npz_path.unlink(missing_ok=True)
        pruned.append(fingerprint)
    return pruned
