"""How long CIFAKE's train split takes to decode, and how much the array cache saves.

    .venv/bin/python bench/data_load.py [ARCHIVE] [--no-compare]

Decodes ARCHIVE (default: the shared pack's cifake-train.tar.gz) into a fresh
temporary cache the default way, then loads it again from that cache (the
baseline for the cache is the decode). Unless --no-compare, it then decodes the
other way too (a process pool where the default is one process, or the reverse),
the baseline for the choice of default_workers(). Prints readable lines, then
ONE JSON line with the figures.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT = REPO.parent / "shared" / "data" / "cifake" / "cifake-train.tar.gz"


def timed(load, source, cache_dir, **kwargs):
    """(dataset, wall seconds, CPU seconds of this process alone: the workers' are not in it)."""
    started, cpu = time.perf_counter(), time.process_time()
    dataset = load(source, cache_dir=cache_dir, **kwargs)
    return dataset, time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    from study.data.datasets import default_workers, load_dataset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--no-compare", action="store_true",
                        help="skip decoding the other way (process pool vs one process)")
    args = parser.parse_args()
    if not args.archive.exists():
        sys.exit(f"error: {args.archive} does not exist; pass the CIFAKE train archive as the argument")

    figures = {"source": str(args.archive), "cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
               # Other work on the machine slows decoding and shrinks what the pool can win.
               "load_avg_1m_before": round(os.getloadavg()[0], 2), "default_workers": default_workers()}
    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        cache_dir = Path(tmp) / "cache"
        decoded, decode_s, reader_cpu_s = timed(load_dataset, args.archive, cache_dir, use_cache=False)
        cached, cache_s, _ = timed(load_dataset, args.archive, cache_dir)
        assert cached.report["from_cache"] and len(cached) == len(decoded)
        assert (cached.images == decoded.images).all()
        cache_bytes = Path(decoded.report["cache_path"]).stat().st_size
        if not args.no_compare:
            # The path the default did not take: the pool where it decoded in-process, else one process.
            other = max(1, figures["cpus"] - 1) if default_workers() == 0 else 0
            _, other_s, _ = timed(load_dataset, args.archive, Path(tmp) / "other", use_cache=False, workers=other)
            figures.update(other_workers=other, other_decode_s=round(other_s, 3),
                           default_speedup_over_other=round(other_s / decode_s, 2))
    n = len(decoded)
    print(f"images:                   {n:,}")
    print(f"decode (workers={figures['default_workers']}):       {decode_s:6.2f} s  ({n / decode_s:,.0f} images/s)")
    print(f"load from cache:          {cache_s:6.2f} s  ({decode_s / cache_s:.0f}x faster, {cache_bytes / 2**20:.0f} MiB)")
    dup = decoded.report["duplicates"]
    print(f"duplicates:               {dup['groups']:,} contents in {dup['images_in_groups']:,} images {dup['by_label']}")
    figures.update(
        images=n,
        decode_s=round(decode_s, 3),
        cache_load_s=round(cache_s, 3),
        speedup=round(decode_s / cache_s, 1),
        decode_images_per_s=round(n / decode_s),
        cache_mib=round(cache_bytes / 2**20, 1),
        duplicate_groups=dup["groups"],
        main_cpu_s=round(reader_cpu_s, 3),  # this process only; pool workers' CPU is not in it
        load_avg_1m_after=round(os.getloadavg()[0], 2),
    )
    if "other_decode_s" in figures:
        print(f"decode with workers={figures['other_workers']}: {figures['other_decode_s']:6.2f} s  "
              f"(the default is {figures['default_speedup_over_other']}x as fast)")
    print(json.dumps(figures))


if __name__ == "__main__":  # the process pool's forkserver must not re-run the bench
    main()
