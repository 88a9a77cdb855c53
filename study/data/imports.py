"""Import a researcher's own images as an image set, once and safely.

Each file is read by the hostile-upload rules (study/data/uploads.py: byte and
pixel caps checked before decoding, truncated files refused, EXIF orientation
applied, 16-bit, CMYK, palette, alpha and animation converted and said), shrunk
to the long-side cap if larger (LANCZOS), and stored as a PNG of its pixels
alone: no EXIF, no file name, no GPS, nothing but pixels. The store is
content-addressed (STUDY_HOME/images/ab/abcd....png, a thumbnail beside it in
thumbs/): identical contents are stored once, and a duplicate within an import
is reported and kept once. The manifest (label, generator, category, size,
source path) goes into the database in one transaction; if anything fails on
the way, the files this import wrote are removed again. Importing the same
source under the same name again changes nothing."""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image
from sqlalchemy import Engine

import db.image_sets as q
from study.config import ensure_home
from study.data.import_sources import Candidate, Skipped, candidates
from study.data.uploads import ImageInputError, decode_rgb
from study.errors import DatasetError, StudyError
from study.labels import CLASS_NAMES, FAKE, REAL

DEFAULT_MAX_SIDE = 1536
MIN_MAX_SIDE, MAX_MAX_SIDE = 32, 8192
THUMB_SIDE = 256
CONFLICT = "the same picture is also in the source under the other label: left out"
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")

Progress = Callable[[int, int], None]


class NothingImported(StudyError):
    """No file of the source could be imported; the report says why for each."""

    def __init__(self, message: str, report: dict):
        super().__init__(message)
        self.report = report


@dataclass
class Prepared:
    sha256: str
    png: bytes
    thumb: bytes
    width: int
    height: int
    steps: list[str] = field(default_factory=list)


def store_root() -> Path:
    return ensure_home().home / "images"


def image_path(sha256: str, *, thumb: bool = False) -> Path:
    return store_root() / ("thumbs" if thumb else "") / sha256[:2] / f"{sha256}.png"


def prepare_image(data: bytes, name: str, max_side: int) -> Prepared:
    """Bytes of one file -> the PNG that will be stored (pixels only) and its thumbnail."""
    rgb, _fmt, _size, _mode, steps = decode_rgb(data, name)
    width, height = rgb.size
    if max(width, height) > max_side:
        scale = max_side / max(width, height)
        rgb = rgb.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.LANCZOS)
        steps.append(f"shrunk {width}x{height} to {rgb.size[0]}x{rgb.size[1]} (long side {max_side}, LANCZOS)")
    png = _png(rgb)
    thumb_image = rgb.copy()
    thumb_image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return Prepared(hashlib.sha256(png).hexdigest(), png, _png(thumb_image), rgb.size[0], rgb.size[1], steps)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # A new file from pixels: no metadata travels. zlib level 1: photos' noise barely
    # compresses anyway, and level 6 took 2.5x as long for 6% more bytes (512 px photos).
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def import_images(engine: Engine, source: str | os.PathLike, name: str, *, max_side: int = DEFAULT_MAX_SIDE,
                  progress: Progress | None = None) -> dict:
    """Import every image of `source` as the image set `name`; returns the report.
    Raises NothingImported (with the report) when no file could be imported."""
    _check_name(name)
    if not MIN_MAX_SIDE <= int(max_side) <= MAX_MAX_SIDE:
        raise StudyError(f"--max-side must be between {MIN_MAX_SIDE} and {MAX_MAX_SIDE} pixels, got {max_side}")
    root, files = candidates(source)
    files = list(files)
    report = {"name": name, "source": str(root), "max_side": int(max_side), "imported": 0,
              "by_label": {CLASS_NAMES[REAL]: 0, CLASS_NAMES[FAKE]: 0}, "duplicates": [], "failed": [],
              "converted": [], "unchanged": False, "new_files": 0, "stored_bytes": 0}
    items: dict[str, dict] = {}
    prepared: dict[str, Prepared] = {}
    conflicts: set[str] = set()
    for done, item in enumerate(files, start=1):
        if isinstance(item, Skipped):
            report["failed"].append({"path": item.path, "reason": item.reason})
        else:
            _take(item, max_side, items, prepared, report, conflicts)
        if progress:
            progress(done, len(files))
    if not items:
        lines = "; ".join(f"{f['path']}: {f['reason']}" for f in report["failed"][:3])
        raise NothingImported(f"nothing could be imported from {root}" + (f" ({lines})" if lines else
                              ": it holds no JPEG, PNG or WebP files"), report)
    written = _store(prepared)
    try:
        outcome = q.save_image_set(engine, name=name, source=str(root), max_side=int(max_side),
                                   items=list(items.values()), report=_summary(report, items))
    except BaseException as err:
        for path in written:  # nothing half-imported stays behind
            path.unlink(missing_ok=True)
        if isinstance(err, q.NameTaken):
            raise StudyError(f"an image set named {name!r} exists with other images; choose another --name") from None
        raise
    report.update(imported=len(items), unchanged=outcome == "unchanged", new_files=len(written) // 2,
                  stored_bytes=sum(len(p.png) for p in prepared.values()), set_id=q.image_set_id(engine, name))
    for item in items.values():
        report["by_label"][CLASS_NAMES[item["label"]]] += 1
    return report


def _take(item: Candidate, max_side: int, items: dict, prepared: dict, report: dict, conflicts: set) -> None:
    try:
        ready = prepare_image(item.read(), item.path, max_side)
    except (ImageInputError, ValueError, OSError) as err:
        report["failed"].append({"path": item.path, "reason": str(err)})
        return
    if ready.sha256 in conflicts:
        report["failed"].append({"path": item.path, "reason": CONFLICT})
        return
    if ready.sha256 in items:
        first = items[ready.sha256]
        if first["label"] != item.label:  # one picture cannot be both: neither copy is kept
            conflicts.add(ready.sha256)
            del items[ready.sha256], prepared[ready.sha256]
            report["failed"] += [{"path": first["source_path"], "reason": CONFLICT},
                                 {"path": item.path, "reason": CONFLICT}]
            return
        report["duplicates"].append({"path": item.path, "same_as": first["source_path"]})
        return
    if ready.steps:
        report["converted"].append({"path": item.path, "steps": ready.steps})
    prepared[ready.sha256] = ready
    items[ready.sha256] = {"sha256": ready.sha256, "label": item.label, "generator": item.generator,
                           "category": item.category, "width": ready.width, "height": ready.height,
                           "source_path": item.path}


def _store(prepared: dict[str, Prepared]) -> list[Path]:
    """Write what the store lacks (temporary file, then rename: never a half file);
    returns the paths this call created."""
    written = []
    try:
        for ready in prepared.values():
            for path, data in ((image_path(ready.sha256), ready.png), (image_path(ready.sha256, thumb=True), ready.thumb)):
                if path.exists():
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".part") as tmp:
                    tmp.write(data)
                os.replace(tmp.name, path)
                written.append(path)
    except OSError as err:
        for path in written:
            path.unlink(missing_ok=True)
        raise DatasetError(f"cannot write the image store under {store_root()}: {err.strerror or err}") from None
    return written


def _summary(report: dict, items: dict) -> dict:
    return {"failed": len(report["failed"]), "duplicates": len(report["duplicates"]),
            "converted": len(report["converted"]), "images": len(items)}


def _check_name(name: str) -> None:
    if not name or len(name) > 100 or not set(name) <= NAME_CHARS:
        raise StudyError(f"--name must be 1-100 letters, digits, '-', '_' or '.', got {name!r}")


def read_stored(sha256: str, *, thumb: bool = False) -> bytes:
    """The stored PNG of one image (exactly the bytes people are shown)."""
    path = image_path(sha256, thumb=thumb)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"image {sha256[:12]}… is missing from the store at {path.parent}; import the set "
                           "again") from None


def stored_rgb(sha256: str) -> np.ndarray:
    """The stored picture's pixels, (H, W, 3) uint8 RGB (the store holds RGB PNGs only)."""
    with Image.open(io.BytesIO(read_stored(sha256))) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
