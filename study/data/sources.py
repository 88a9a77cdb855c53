"""Reading CIFAKE's layout out of whatever container a researcher has: a Kaggle
folder, Kaggle's zip, a tar(.gz), or a folder of such archives.

Everything here yields raw file bytes with a canonical id; decoding happens in
study/data/datasets.py. Ids are `split/LABEL/name` (lower-case split, upper-case
label, `/` separators) so that one image has one id whichever container it came
from.
"""
from __future__ import annotations

import errno
import os
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from study.errors import DatasetError
from study.labels import CLASS_NAMES

SPLITS = ("train", "test")
# A class folder's name, in any case -> (the class name an id carries, its label).
LABEL_FOLDERS = {name.lower(): (name, label) for label, name in enumerate(CLASS_NAMES)}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
EXPECTED = f"expected {', '.join(f'`{s}/{name}`' for s in SPLITS for name in CLASS_NAMES)} folders with images"
# Finder and macOS zip leave these beside real files; `._x.jpg` is not a JPEG.
JUNK_FOLDERS = {"__macosx", ".ds_store", "@eadir"}


@dataclass(frozen=True)
class RawImage:
    id: str
    split: str
    label: int
    data: bytes


@dataclass
class Tally:
    """What a source held besides its images, for the report and error messages."""

    skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # folders and top-level files, for "what was found"
    per_class: dict[tuple[str, str], int] = field(default_factory=dict)
    class_folders: set[tuple[str, str]] = field(default_factory=set)  # even empty ones

    def skip(self, name: str) -> None:
        self.skipped += 1
        if len(self.skipped_examples) < 5:
            self.skipped_examples.append(name)


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def _is_junk(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") or p.lower() in JUNK_FOLDERS for p in parts)


def _folder_parts(folder: str) -> tuple[str, ...]:
    return tuple(p for p in folder.split("/") if p not in ("", "."))  # tar -C dir . writes ./names


def _classify_folder(parts: tuple[str, ...]) -> tuple[str, str, str, int] | None:
    """(prefix, split, LABEL, label value) when parts are split/label under at most
    one leading folder, else None."""
    if _is_junk(parts):
        return None
    if len(parts) == 2:
        prefix, (split, label) = "", parts
    elif len(parts) == 3:
        prefix, split, label = parts
    else:
        return None
    if split.lower() not in SPLITS or label.lower() not in LABEL_FOLDERS:
        return None
    return (prefix, split.lower(), *LABEL_FOLDERS[label.lower()])


class _Layout:
    """Turns member paths into RawImages, checking they all hang off one root."""

    def __init__(self, where: str, tally: Tally):
        self.where = where
        self.tally = tally
        self.prefixes: set[str] = set()
        self.ids: set[str] = set()
        self.folders: dict[str, tuple[str, str, str, int] | None] = {}  # 100k files sit in 4 folders

    def _folder(self, folder: str) -> tuple[str, str, str, int] | None:
        if folder not in self.folders:  # classify each folder once, not each of its files
            parts = _folder_parts(folder)
            if parts:
                self.tally.seen.add("/".join(parts[:3]) + "/")
            found = self.folders[folder] = _classify_folder(parts)
            if found is not None:
                self.tally.class_folders.add((found[1], found[2]))
        return self.folders[folder]

    def note_folder(self, folder: str) -> None:
        """A folder with no files still counts: an empty `test/FAKE` must be reported."""
        self._folder(folder.rstrip("/"))

    def accept(self, relpath: str, read) -> RawImage | None:
        folder, _, name = relpath.rpartition("/")
        found = self._folder(folder)
        if found is None or name.startswith(".") or not is_image_name(name):
            if not _folder_parts(folder):
                self.tally.seen.add(name)
            self.tally.skip(relpath)
            return None
        prefix, split, canon_label, label = found
        if prefix not in self.prefixes:
            self.prefixes.add(prefix)
            if len(self.prefixes) > 1:
                roots = ", ".join(sorted(p or "(top level)" for p in self.prefixes))
                raise DatasetError(f"{self.where}: the layout appears under more than one folder ({roots}); {EXPECTED} under one folder")
        image_id = f"{split}/{canon_label}/{name}"
        if image_id in self.ids:
            raise DatasetError(f"{self.where}: two files map to the same id {image_id!r} (folder names differ only in case?)")
        self.ids.add(image_id)
        key = (split, canon_label)
        self.tally.per_class[key] = self.tally.per_class.get(key, 0) + 1
        return RawImage(image_id, split, label, read())


def _iter_folder(root: Path, tally: Tally) -> Iterator[RawImage]:
    layout = _Layout(str(root), tally)
    for relpath, full in walk_layout_files(root):
        if full is None:
            layout.note_folder(relpath)
            continue
        image = layout.accept(relpath, lambda full=full: _read_file(full))
        if image is not None:
            yield image


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise DatasetError(f"cannot read image file {path}: {err.strerror or err}") from None


def walk_layout_files(root: Path) -> Iterator[tuple[str, Path | None]]:
    """(relative path, full path) of files at most four levels deep (one optional wrapper
    folder + split/label/name), sorted so that a folder always reads in the same order;
    each folder comes first as (relative path, None). Folders reached through a symlink
    are not entered (as os.walk). An image or archive name that is not a regular file
    (a named pipe, a socket, a device, a broken link or a link loop) raises DatasetError
    before anyone opens it: opening a named pipe waits forever."""
    yield from _walk(root, ())


def _walk(folder: Path, rel: tuple[str, ...]) -> Iterator[tuple[str, Path | None]]:
    if rel:
        yield "/".join(rel), None
    try:
        with os.scandir(folder) as entries:
            listed = sorted(entries, key=lambda entry: entry.name)
    except OSError as err:
        raise DatasetError(f"cannot list folder {folder}: {err.strerror or err}") from None
    subfolders = []
    for entry in listed:
        if _entry_is_dir(entry):
            if len(rel) < 3 and not entry.is_symlink():
                subfolders.append(entry)
            continue
        full = Path(entry.path)
        # is_file() needs no system call for a plain file (the directory says its type);
        # hidden names are never opened, so whatever they are may stay.
        if (not entry.is_file() and not entry.name.startswith(".")
                and (is_image_name(entry.name) or is_archive(full))):
            _refuse_special(full)
        yield "/".join((*rel, entry.name)), full
    for entry in subfolders:
        yield from _walk(Path(entry.path), (*rel, entry.name))


def _entry_is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a link we may not follow: it is looked at as a file, and reported there
        return False


SPECIAL_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
                 (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _special_kind(mode: int) -> str | None:
    return next((name for test, name in SPECIAL_KINDS if test(mode)), None)


def _stat(path: Path) -> os.stat_result | None:
    """os.stat(path) (following links), or None when nothing is there; any other
    failure (permission denied, a link loop, ...) is a DatasetError that says which."""
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise DatasetError(f"{path}: a symbolic link on the way loops back on itself; point at the real file or folder") from None
        reason = "permission denied" if isinstance(err, PermissionError) else (err.strerror or str(err))
        raise DatasetError(f"cannot read {path}: {reason}") from None


def _refuse_special(path: Path) -> None:
    """DatasetError for something in a dataset folder with a data file's name that is no file."""
    found = _stat(path)
    if found is None:
        raise DatasetError(f"{path} is a broken symbolic link; remove it or restore what it points to")
    kind = _special_kind(found.st_mode) or "not a regular file"
    raise DatasetError(f"{path} is {kind}, not a file: remove it from the dataset folder (it is never opened)")


def resolve_source(source: str | os.PathLike) -> Path:
    """The absolute path of a dataset source a person typed, `~` expanded and links
    resolved; every way the text itself can fail (a NUL byte, `~user` for no such user,
    a symlink loop) is a DatasetError, never RuntimeError or ValueError. What the
    path then is (missing, unreadable, a named pipe) describe_kind says."""
    text = os.fspath(source)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if "\0" in text:
        raise DatasetError(f"dataset path {text!r} contains a NUL byte; type the path again")
    if not text.strip():
        raise DatasetError("no dataset path given; expected a CIFAKE folder, zip, tar.gz, or a folder of those")
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # Path.expanduser's way of saying the user does not exist
        user = text[1:].split("/", 1)[0]
        raise DatasetError(f"cannot expand {text!r}: there is no user {user!r} on this machine") from None
    try:
        return path.resolve()
    except RuntimeError:  # Python 3.11's way of saying "Symlink loop"
        raise DatasetError(f"{path}: a symbolic link on the way loops back on itself; point at the real file or folder") from None
    except OSError as err:  # newer Pythons raise ELOOP as OSError
        raise DatasetError(f"cannot resolve {path}: {err.strerror or err}") from None


def _iter_zip(path: Path, tally: Tally) -> Iterator[RawImage]:
    layout = _Layout(path.name, tally)
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = info.filename.replace("\\", "/")  # some Windows tools write backslashes
                if info.is_dir():
                    layout.note_folder(name)
                    continue
                image = layout.accept(name, lambda info=info: archive.read(info))
                if image is not None:
                    yield image
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as err:
        raise DatasetError(f"{path} is not a readable zip archive ({err}); expected Kaggle's CIFAKE zip") from None


def _iter_tar(path: Path, tally: Tally) -> Iterator[RawImage]:
    layout = _Layout(path.name, tally)
    try:
        # "r|*" streams: members are read in order, nothing is extracted to disk.
        with tarfile.open(path, mode="r|*") as archive:
            for member in archive:
                if member.isdir():
                    layout.note_folder(member.name)
                if not member.isfile():
                    continue
                image = layout.accept(member.name, lambda member=member: archive.extractfile(member).read())
                if image is not None:
                    yield image
    except (tarfile.TarError, zlib.error, EOFError, OSError) as err:
        raise DatasetError(f"{path} is not a readable tar archive ({err}); expected a .tar/.tar.gz of the CIFAKE layout") from None


def _iter_archive(path: Path, tally: Tally) -> Iterator[RawImage]:
    if path.name.lower().endswith(".zip"):
        return _iter_zip(path, tally)
    return _iter_tar(path, tally)


def _has_layout(folder: Path) -> bool:
    def has_split(d: Path) -> bool:
        return any(c.is_dir() and c.name.lower() in SPLITS for c in _children(d))

    if has_split(folder):
        return True
    subdirs = [c for c in _children(folder) if c.is_dir()]
    return len(subdirs) == 1 and has_split(subdirs[0])


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(c for c in folder.iterdir() if not _is_junk((c.name,)))
    except OSError as err:
        raise DatasetError(f"cannot list folder {folder}: {err.strerror or err}") from None


def folder_archives(folder: Path) -> list[Path]:
    return [c for c in _children(folder) if c.is_file() and is_archive(c)]


def describe_kind(source: Path) -> str:
    """'folder', 'archives' (a folder of archives) or 'archive'; raises for anything else,
    without opening it: a named pipe called pipe.tar would otherwise be read forever."""
    found = _stat(source)
    if found is None:
        raise DatasetError(f"dataset source {source} does not exist; expected a CIFAKE folder, zip, tar.gz, or a folder of those")
    special = _special_kind(found.st_mode)
    if special:
        raise DatasetError(f"dataset source {source} is {special}, not a file or folder; "
                           "expected a CIFAKE folder, zip, tar.gz, or a folder of those")
    if not os.access(source, os.R_OK | (os.X_OK if stat.S_ISDIR(found.st_mode) else 0)):
        raise DatasetError(f"cannot read {source}: permission denied")
    if stat.S_ISDIR(found.st_mode):
        if _has_layout(source) or not folder_archives(source):
            return "folder"
        return "archives"
    if is_archive(source):
        return "archive"
    raise DatasetError(
        f"unsupported dataset source {source.name}: expected a folder, a .zip, a .tar.gz/.tgz/.tar, or a folder of those"
    )


def iter_images(source: Path, tally: Tally) -> Iterator[RawImage]:
    """Every image of source, in a stable order per container; checks the layout at the end."""
    kind = describe_kind(source)
    if kind == "folder":
        yield from _iter_folder(source, tally)
    elif kind == "archive":
        yield from _iter_archive(source, tally)
    else:
        seen: dict[str, str] = {}
        for archive in folder_archives(source):
            for image in _iter_archive(archive, tally):
                if image.id in seen:
                    raise DatasetError(f"{image.id!r} is in both {seen[image.id]} and {archive.name}; expected each split in one archive")
                seen[image.id] = archive.name
                yield image
    check_layout(source, tally)


def check_layout(source: Path, tally: Tally) -> None:
    splits = sorted({split for split, _ in [*tally.per_class, *tally.class_folders]})
    if not splits:
        found = ", ".join(sorted(tally.seen)[:8]) or "nothing"
        raise DatasetError(f"no CIFAKE layout in {source}: {EXPECTED}; found {found}")
    for split in splits:
        for label in CLASS_NAMES:
            if not tally.per_class.get((split, label)):
                have = ", ".join(f"{s}/{lab}" for s, lab in sorted(tally.per_class))
                raise DatasetError(f"{source}: `{split}/{label}` has no images; {EXPECTED} (found images in {have})")
