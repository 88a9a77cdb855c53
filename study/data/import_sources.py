"""What an image-set import reads: the files of a folder, a zip or a tar(.gz), each
with its label (and category, generator) from label folders or a CSV manifest.
Nothing is decoded here; a file that cannot be taken is a `Skipped` with its
reason, never an exception, so one bad file never stops an import.

Label folders: a folder named REAL or FAKE, or real, human (a camera photo) or
fake, ai, generated (AI-generated), any case, anywhere in the file's path; the
other folders on the path form its category ("animals/cats"). A CSV manifest at
the top of the source (the only .csv there) lists `path,label[,generator][,category]`
instead, paths relative to the source."""
from __future__ import annotations

import csv
import io
import os
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from study.data.sources import resolve_source
from study.errors import DatasetError
from study.labels import FAKE, REAL

LABEL_WORDS = {"real": REAL, "human": REAL, "fake": FAKE, "ai": FAKE, "generated": FAKE}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
MAX_FILE_BYTES = 20 * 1024 * 1024  # as uploads: one photo, never a whole archive's worth
MAX_DEPTH = 8
JUNK = ("__MACOSX",)


@dataclass(frozen=True)
class Candidate:
    path: str  # inside the source, with "/"
    label: int
    category: str | None
    generator: str | None
    read: Callable[[], bytes]


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def label_of(word: str) -> int | None:
    text = str(word).strip().lower()
    if text in ("0", "1"):
        return int(text)
    return LABEL_WORDS.get(text)


def candidates(source: str | os.PathLike) -> tuple[Path, Iterator[Candidate | Skipped]]:
    """The resolved source and its files, lazily (archives stream)."""
    path = resolve_source(source)
    try:
        found = os.stat(path)
    except FileNotFoundError:
        raise DatasetError(f"{path} does not exist; expected a folder, a .zip or a .tar.gz of images") from None
    except OSError as err:
        raise DatasetError(f"cannot read {path}: {err.strerror or err}") from None
    if stat.S_ISDIR(found.st_mode):
        return path, _labelled(_folder_files(path))
    if not stat.S_ISREG(found.st_mode):
        raise DatasetError(f"{path} is not a file or folder; expected a folder, a .zip or a .tar.gz of images")
    name = path.name.lower()
    if name.endswith(".zip"):
        return path, _labelled(_zip_files(path))
    if name.endswith((".tar", ".tar.gz", ".tgz")):
        return path, _labelled(_tar_files(path))
    raise DatasetError(f"{path} is neither a folder nor a .zip, .tar or .tar.gz archive")


# --- labels ----------------------------------------------------------------------

def _labelled(files: Iterator[tuple[str, Callable[[], bytes]] | Skipped]) -> Iterator[Candidate | Skipped]:
    """Files -> candidates, by the CSV manifest if there is one, else by label folders.
    The files are listed first (names only, nothing read) to find the manifest."""
    listed = list(files)
    manifests = [f for f in listed if not isinstance(f, Skipped) and "/" not in f[0] and f[0].lower().endswith(".csv")]
    if len(manifests) > 1:
        raise DatasetError(f"found {len(manifests)} CSV files at the top ({', '.join(m[0] for m in manifests)}); "
                           "keep one manifest (path,label[,generator][,category])")
    if manifests:
        yield from _by_manifest(manifests[0], listed)
        return
    images = [f for f in listed if isinstance(f, Skipped) or f[0].lower().endswith(IMAGE_SUFFIXES)]
    wrapper = _common_wrapper([f[0] for f in images if not isinstance(f, Skipped)])
    for item in images:
        if isinstance(item, Skipped):
            yield item
            continue
        relpath, read = item
        folders = PurePosixPath(relpath).parts[:-1][1 if wrapper else 0:]
        labels = {(label_of(f), f) for f in folders if label_of(f) is not None and not f.isdigit()}
        if not labels:
            yield Skipped(relpath, "no label folder on its path (expected REAL/FAKE, or real, human, fake, ai, "
                                   "generated in any case)")
        elif len({label for label, _ in labels}) > 1:
            yield Skipped(relpath, "two label folders that disagree on its path: "
                                   + ", ".join(sorted(f for _, f in labels)))
        else:
            category = "/".join(f for f in folders if label_of(f) is None or f.isdigit()) or None
            yield Candidate(relpath, next(iter(labels))[0], category, None, read)


def _common_wrapper(paths: list[str]) -> bool:
    """Whether every file sits in one wrapper folder that is no label (e.g. the folder a zip was made of)."""
    firsts = {PurePosixPath(p).parts[0] for p in paths if len(PurePosixPath(p).parts) > 2}
    return len(firsts) == 1 and all(len(PurePosixPath(p).parts) > 2 for p in paths) and \
        label_of(next(iter(firsts))) is None


def _by_manifest(manifest, listed) -> Iterator[Candidate | Skipped]:
    name, read = manifest
    files = {f[0]: f[1] for f in listed if not isinstance(f, Skipped)}
    try:
        text = read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(f"manifest {name} is not UTF-8 text") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    columns = {c.strip().lower() for c in (rows[0].keys() if rows else [])}
    if not {"path", "label"} <= columns:
        raise DatasetError(f"manifest {name} needs the columns path and label (and optionally generator, "
                           f"category); found: {', '.join(sorted(columns)) or 'nothing'}")
    for number, raw in enumerate(rows, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        where = f"{name} line {number}"
        path = row["path"].replace("\\", "/")
        pure = PurePosixPath(path)
        if not path or pure.is_absolute() or ".." in pure.parts:
            yield Skipped(f"{where}: {path or '(empty)'}", "the path must be relative to the manifest's folder")
            continue
        label = label_of(row["label"])
        if label is None:
            yield Skipped(f"{where}: {path}", f"label {row['label']!r} is not one of REAL, FAKE, real, human, "
                                              "fake, ai, generated, 0, 1")
            continue
        if path not in files:
            yield Skipped(f"{where}: {path}", "listed in the manifest but not found")
            continue
        yield Candidate(path, label, row.get("category") or None, row.get("generator") or None, files[path])


# --- files -----------------------------------------------------------------------

def _folder_files(root: Path) -> Iterator[tuple[str, Callable[[], bytes]] | Skipped]:
    def walk(folder: Path, rel: tuple[str, ...]):
        try:
            with os.scandir(folder) as entries:
                listed = sorted(entries, key=lambda e: e.name)
        except OSError as err:
            yield Skipped("/".join(rel) or ".", f"cannot list this folder: {err.strerror or err}")
            return
        for entry in listed:
            if entry.name.startswith(".") or entry.name in JUNK:
                continue
            relpath = "/".join((*rel, entry.name))
            if entry.is_dir(follow_symlinks=False):
                if len(rel) < MAX_DEPTH:
                    yield from walk(Path(entry.path), (*rel, entry.name))
                continue
            if not entry.is_file(follow_symlinks=False):
                if entry.name.lower().endswith((*IMAGE_SUFFIXES, ".csv")):
                    yield Skipped(relpath, "not a regular file (a link, a named pipe or a device): never opened")
                continue
            size = entry.stat(follow_symlinks=False).st_size
            if size > MAX_FILE_BYTES:
                yield Skipped(relpath, f"{size / 1e6:.1f} MB; files up to {MAX_FILE_BYTES / 1e6:.0f} MB are read")
                continue
            yield relpath, (lambda p=entry.path: Path(p).read_bytes())

    yield from walk(root, ())


def _zip_files(path: Path) -> Iterator[tuple[str, Callable[[], bytes]] | Skipped]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise DatasetError(f"{path} is not a readable zip archive ({err})") from None
    for info in archive.infolist():
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if info.is_dir() or any(p.startswith(".") or p in JUNK for p in parts):
            continue
        if info.file_size > MAX_FILE_BYTES:
            yield Skipped(name, f"{info.file_size / 1e6:.1f} MB unpacked; files up to {MAX_FILE_BYTES / 1e6:.0f} MB are read")
            continue
        yield name, (lambda info=info: _read_zip_member(archive, info))


def _read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as err:
        raise ValueError(f"cannot be read from the zip archive ({err})") from None


def _tar_files(path: Path) -> Iterator[tuple[str, Callable[[], bytes]] | Skipped]:
    # Random access (not a stream): the manifest may come after the images it lists.
    try:
        archive = tarfile.open(path, mode="r:*")
        members = archive.getmembers()
    except (tarfile.TarError, zlib.error, EOFError, OSError) as err:
        raise DatasetError(f"{path} is not a readable tar archive ({err})") from None
    for member in members:
        parts = PurePosixPath(member.name).parts
        if member.isdir() or any(p.startswith(".") or p in JUNK for p in parts):
            continue
        if not member.isfile():
            if member.name.lower().endswith(IMAGE_SUFFIXES):
                yield Skipped(member.name, "not a regular file in the archive (a link or a device): never read")
            continue
        if member.size > MAX_FILE_BYTES:
            yield Skipped(member.name, f"{member.size / 1e6:.1f} MB; files up to {MAX_FILE_BYTES / 1e6:.0f} MB are read")
            continue
        yield member.name, (lambda m=member: archive.extractfile(m).read())
