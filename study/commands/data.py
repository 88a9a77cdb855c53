"""`python -m study data prepare|status|download`: point the study at CIFAKE; `data import`: your own images."""
from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from study.commands import emit
from study.database import study_engine
from study.errors import DownloadError
from study.labels import CLASS_NAMES

KAGGLE_HANDLE = "birdy654/cifake-real-and-ai-generated-synthetic-images"
KAGGLE_PAGE = f"https://www.kaggle.com/datasets/{KAGGLE_HANDLE}"
PROBE = ("www.kaggle.com", 443)
PROBE_TIMEOUT_S = 3.0


def register(subparsers) -> None:
    data = subparsers.add_parser("data", help="prepare, inspect or download the CIFAKE dataset")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION", parser_class=type(data))
    sub.required = True

    prepare = sub.add_parser("prepare", help="decode a CIFAKE folder/zip/tar.gz once and make it the study's dataset")
    prepare.add_argument("source", help="Kaggle folder, Kaggle zip, .tar.gz, or a folder of those")
    prepare.add_argument("--json", action="store_true", help="print the report as one JSON object")
    prepare.add_argument("--no-cache", action="store_true", help="decode again even if a cache exists")
    prepare.set_defaults(handler=prepare_command)

    status = sub.add_parser("status", help="which dataset the study uses, read from the cache without decoding")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=status_command)

    imp = sub.add_parser("import", help="import your own images (a folder, zip or tar.gz with label folders or a "
                                        "CSV manifest) as an image set")
    imp.add_argument("source", help="folder, .zip or .tar.gz: label folders (REAL/FAKE, real/human, fake/ai/generated) "
                                    "or a manifest CSV (path,label[,generator][,category])")
    imp.add_argument("--name", required=True, help="the image set's name (letters, digits, - _ .)")
    imp.add_argument("--max-side", type=int, default=1536, help="long-side cap in pixels; larger images are "
                                                               "shrunk (default 1536)")
    imp.add_argument("--json", action="store_true", help="print the report as one JSON object")
    imp.set_defaults(handler=import_command)

    download = sub.add_parser("download", help="fetch CIFAKE from Kaggle (needs internet)")
    download.add_argument("--dest", type=Path, help="folder to download into (default STUDY_HOME/downloads)")
    download.add_argument("--json", action="store_true", help="print one JSON object")
    download.set_defaults(handler=download_command)


def import_command(args) -> int:
    from study.data.imports import NothingImported, import_images

    try:
        report = import_images(study_engine(), args.source, args.name, max_side=args.max_side)
    except NothingImported as err:
        # The one error line goes to stderr (as for every command); what failed, file by file, to stdout.
        emit({**err.report, "error": str(err)}, args.json,
             [f"  failed: {f['path']}: {f['reason']}" for f in err.report["failed"]])
        raise
    lines = [("unchanged: " if report["unchanged"] else "imported ") +
             f"image set {report['name']!r}: {report['imported']:,} images "
             f"({', '.join(f'{k} {v:,}' for k, v in report['by_label'].items())}) from {report['source']}",
             f"  {report['new_files']:,} new files in the store (the set's images take "
             f"{report['stored_bytes'] / 1e6:.1f} MB); "
             f"{len(report['converted']):,} converted, {len(report['duplicates']):,} duplicates kept once, "
             f"{len(report['failed']):,} failed"]
    lines += [f"  duplicate: {d['path']} (same as {d['same_as']})" for d in report["duplicates"]]
    lines += [f"  failed: {f['path']}: {f['reason']}" for f in report["failed"]]
    emit(report, args.json, lines)
    return 0


def _summary_lines(report: dict) -> list[str]:
    lines = []
    for split, per_label in report["counts"].items():
        lines.append(f"  {split:5s}  " + "  ".join(f"{name} {per_label[name]:>7,}" for name in CLASS_NAMES))
    dup = report["duplicates"]
    per_class = ", ".join(f"{name} {dup['by_label'][name]:,}" for name in CLASS_NAMES)
    lines.append(
        f"duplicates: {dup['groups']:,} contents shared by {dup['images_in_groups']:,} images "
        f"({per_class}); "
        f"{dup['across_splits']:,} test images also in train"
    )
    conv = report["converted"]
    lines.append(f"converted to 32x32 RGB: {conv['count']:,}"
                 + (f" (e.g. {', '.join(e['id'] for e in conv['examples'][:3])})" if conv["count"] else ""))
    if report.get("skipped_non_images"):
        lines.append(f"skipped non-image files: {report['skipped_non_images']:,}")
    lines.append(f"cache: {report['cache_path']}")
    return lines


def prepare_command(args) -> int:
    from study.data.sources import resolve_source
    from study.data.admin import prepare

    source = resolve_source(args.source)
    bars = []  # made on the first progress call, so an early error prints only its one line

    def progress(done: int, total: int) -> None:
        if not bars:
            from tqdm import tqdm

            bars.append(tqdm(total=0, unit="img", desc="decoding", file=sys.stderr, leave=False))
        bars[0].total = max(total, done)  # an archive's total grows while it is still being read
        bars[0].n = done
        bars[0].refresh()

    try:
        dataset = prepare(study_engine(), source, progress=None if args.json else progress,
                          use_cache=not args.no_cache)
    finally:
        for bar in bars:
            bar.close()
    report = dataset.report
    how = "read from cache" if report["from_cache"] else f"decoded in {report['decode_seconds']:.1f} s"
    lines = [f"prepared {len(dataset):,} images from {source} ({how})", *_summary_lines(report),
             "the study now uses this dataset (CIFAKE_ROOT, if set, still wins)"]
    emit(report, args.json, lines)
    return 0


def status_command(args) -> int:
    from study.data.admin import status

    report = status(study_engine())
    if not report["prepared"]:
        emit(report, args.json, [report["message"]])
        return 0
    lines = [f"CIFAKE: {report['n_images']:,} images from {report['source']} (set by {report['source_from']}), "
             "served from the cache", *_summary_lines(report)]
    emit(report, args.json, lines)
    return 0


def kaggle_reachable() -> bool:
    """A quick TCP probe, so that offline we fail in seconds instead of hanging in kagglehub.
    STUDY_OFFLINE=1 skips the network entirely."""
    if os.environ.get("STUDY_OFFLINE", "").strip() not in ("", "0"):
        return False
    try:
        with socket.create_connection(PROBE, timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def download_command(args) -> int:
    from study.config import get_settings

    dest = (args.dest or get_settings().download_dir / "cifake").expanduser().resolve()
    by_hand = (f"download the zip by hand from {KAGGLE_PAGE}, then run "
               f"`python -m study data prepare PATH_TO_ZIP_OR_FOLDER`")
    if not kaggle_reachable():
        raise DownloadError(f"no internet connection to www.kaggle.com; {by_hand}")
    try:
        import kagglehub

        path = kagglehub.dataset_download(KAGGLE_HANDLE, output_dir=str(dest))
    except Exception as err:  # kagglehub raises many kinds (HTTP, auth, disk); all mean the same to the user
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise DownloadError(f"Kaggle download failed ({first_line}); {by_hand}") from None
    command = f"python -m study data prepare {path}"
    emit({"path": str(path), "next": command}, args.json, [f"downloaded CIFAKE to {path}", f"next: {command}"])
    return 0
