"""How fast `data import` stores a researcher's own images, beside decoding the same
files alone (the baseline: what any reader of these files pays).

    .venv/bin/python bench/import_speed.py [--images 2000] [--side 512]

Generates N photo-like side x side JPEGs (smooth gradients with noise, half in a
REAL folder, half in FAKE) in a temporary folder, decodes them all once with
Pillow (the baseline), then imports them into a fresh STUDY_HOME (decode, checks,
re-encode as metadata-free PNG, thumbnail, content-addressed store, one database
transaction). Prints readable lines, then ONE JSON line with the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def make_images(root: Path, n: int, side: int) -> int:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:side, 0:side] / side
    total = 0
    for i in range(n):
        folder = root / ("REAL" if i % 2 else "FAKE")
        folder.mkdir(parents=True, exist_ok=True)
        base = np.stack([x * rng.uniform(80, 255), y * rng.uniform(80, 255), (x + y) / 2 * rng.uniform(80, 255)], -1)
        pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        path = folder / f"{i:05d}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        total += path.stat().st_size
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--side", type=int, default=512)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        source, home = Path(tmp) / "source", Path(tmp) / "home"
        source_bytes = make_images(source, args.images, args.side)
        files = sorted(source.rglob("*.jpg"))

        started = time.perf_counter()
        for path in files:  # the baseline: decoding alone
            with Image.open(path) as image:
                image.convert("RGB").load()
        decode_s = time.perf_counter() - started

        os.environ["STUDY_HOME"] = str(home)
        os.environ.pop("DATABASE_URL", None)
        from db import open_database
        from study.config import get_settings
        from study.data.imports import import_images

        engine = open_database(get_settings().database_url)
        started = time.perf_counter()
        report = import_images(engine, source, "bench", max_side=max(args.side, 32))
        import_s = time.perf_counter() - started
        store_bytes = sum(p.stat().st_size for p in (home / "images").rglob("*.png"))
    figures = {
        "images": args.images, "side": args.side, "cpus": len(os.sched_getaffinity(0)),
        "python": platform.python_version(), "imported": report["imported"],
        "load_avg_1m_after": round(os.getloadavg()[0], 2),  # other work on the machine slows both
        "decode_only_s": round(decode_s, 2), "decode_only_images_per_s": round(args.images / decode_s, 1),
        "import_s": round(import_s, 2), "import_images_per_s": round(args.images / import_s, 1),
        "import_vs_decode": round(import_s / decode_s, 2),
        "source_mb": round(source_bytes / 1e6, 1), "store_mb": round(store_bytes / 1e6, 1),
        "store_vs_source": round(store_bytes / source_bytes, 2),
    }
    print(f"decoding {args.images} {args.side}x{args.side} JPEGs alone: {decode_s:.1f} s "
          f"({figures['decode_only_images_per_s']} images/s)")
    print(f"importing them: {import_s:.1f} s ({figures['import_images_per_s']} images/s, "
          f"{figures['import_vs_decode']}x the decoding alone)")
    print(f"store: {figures['store_mb']} MB of PNG + thumbnails for {figures['source_mb']} MB of JPEG "
          f"({figures['store_vs_source']}x): lossless pixels, no metadata")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
