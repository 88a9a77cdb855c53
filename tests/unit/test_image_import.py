"""Importing a researcher's own images (issue #15): a small mixed set made here
(several sizes and formats, an EXIF-rotated JPEG, CMYK, 16-bit, alpha, a
duplicate, broken files, a decompression bomb's header), from a folder, a zip,
a tar.gz and a CSV manifest; the report, the stored bytes (pixels only, no
metadata), re-imports that change nothing and failures that leave nothing."""
from __future__ import annotations

import io
import shutil
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import db.image_sets as q
from db import open_database
from helpers import run_cli
from study.config import get_settings
from study.data.imports import NothingImported, image_path, import_images, read_stored
from study.errors import StudyError

RNG = np.random.default_rng(3)


def pixels(h, w, channels=3):
    return RNG.integers(0, 256, (h, w, channels), dtype=np.uint8)


def jpeg_with_exif_rotation(path: Path) -> np.ndarray:
    """A 40x20 JPEG whose EXIF says 'rotate 90° clockwise to view' (orientation 6), GPS-free but tagged."""
    image = Image.fromarray(pixels(20, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "SecretCamera"  # maker: metadata that must not survive
    image.save(path, format="JPEG", quality=95, exif=exif.tobytes())
    return np.asarray(Image.open(path))


def bomb_png(path: Path, side: int = 30_000) -> None:
    """A tiny file whose header declares side x side pixels."""
    small = io.BytesIO()
    Image.new("RGB", (1, 1)).save(small, format="PNG")
    data = bytearray(small.getvalue())
    ihdr = 8 + 8  # signature, then length + type of the first chunk
    data[ihdr:ihdr + 8] = struct.pack(">II", side, side)
    crc = zlib.crc32(bytes(data[12:ihdr + 13])) & 0xFFFFFFFF
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))


@pytest.fixture
def source(tmp_path) -> Path:
    root = tmp_path / "my images"
    for folder in ("REAL/landscapes", "human", "AI/midjourney", "fake"):
        (root / folder).mkdir(parents=True)
    Image.fromarray(pixels(480, 640)).save(root / "REAL/landscapes/photo.jpg", quality=92)
    Image.fromarray(pixels(64, 64, 4)).save(root / "AI/midjourney/alpha.png")
    Image.fromarray(pixels(1000, 2000)).save(root / "fake/wide.webp", lossless=True)
    jpeg_with_exif_rotation(root / "human/rotated.jpg")
    Image.fromarray(pixels(50, 50)).convert("CMYK").save(root / "human/cmyk.jpg")
    Image.fromarray((RNG.integers(0, 65535, (30, 30))).astype(np.uint16)).save(root / "REAL/deep.png")
    shutil.copy(root / "REAL/landscapes/photo.jpg", root / "REAL/landscapes/photo copy.jpg")  # a duplicate
    (root / "fake/notes.png").write_bytes(b"this is not an image")
    good = io.BytesIO()
    Image.fromarray(pixels(100, 100)).save(good, format="JPEG")
    (root / "fake/truncated.jpg").write_bytes(good.getvalue()[:400])
    bomb_png(root / "fake/bomb.png")
    (root / "cats").mkdir()
    Image.fromarray(pixels(8, 8)).save(root / "cats/unlabelled.png")
    return root


def engine():
    return open_database(get_settings().database_url)


def test_a_folder_is_imported_with_a_report_of_everything_done_and_everything_refused(source):
    report = import_images(engine(), source, "mine", max_side=512)
    assert report["imported"] == 6 and report["by_label"] == {"REAL": 4, "FAKE": 2}
    assert [d["path"] for d in report["duplicates"]] == ["REAL/landscapes/photo.jpg"]  # "photo copy.jpg" sorts first
    failed = {f["path"]: f["reason"] for f in report["failed"]}
    assert set(failed) == {"fake/notes.png", "fake/truncated.jpg", "fake/bomb.png", "cats/unlabelled.png"}
    assert "not an image" in failed["fake/notes.png"] and "ends early" in failed["fake/truncated.jpg"]
    assert "decompression bomb" in failed["fake/bomb.png"] and "no label folder" in failed["cats/unlabelled.png"]
    steps = {c["path"]: " ".join(c["steps"]) for c in report["converted"]}
    assert "EXIF orientation" in steps["human/rotated.jpg"] and "CMYK" in steps["human/cmyk.jpg"]
    assert "16-bit" in steps["REAL/deep.png"] and "alpha" in steps["AI/midjourney/alpha.png"]
    assert "shrunk 2000x1000 to 512x256" in steps["fake/wide.webp"]
    rows = {r.source_path: r for r in q.items_of(engine(), report["set_id"])}
    assert rows["REAL/landscapes/photo copy.jpg"].category == "landscapes"
    assert rows["AI/midjourney/alpha.png"].category == "midjourney" and rows["AI/midjourney/alpha.png"].label == 1
    assert (rows["human/rotated.jpg"].width, rows["human/rotated.jpg"].height) == (20, 40)  # turned upright
    assert (rows["fake/wide.webp"].width, rows["fake/wide.webp"].height) == (512, 256)


def test_the_stored_bytes_are_the_pixels_alone(source):
    report = import_images(engine(), source, "mine", max_side=512)
    for row in q.items_of(engine(), report["set_id"]):
        stored = read_stored(row.sha256)
        image = Image.open(io.BytesIO(stored))
        assert image.format == "PNG" and image.mode == "RGB" and image.size == (row.width, row.height)
        assert not image.info.get("exif") and not image.getexif() and not getattr(image, "text", {})
        assert b"SecretCamera" not in stored and row.source_path.encode() not in stored
        assert image_path(row.sha256).name == f"{row.sha256}.png"
        thumb = Image.open(io.BytesIO(read_stored(row.sha256, thumb=True)))
        assert max(thumb.size) <= 256
    upright = next(r for r in q.items_of(engine(), report["set_id"]) if r.source_path == "human/rotated.jpg")
    original = np.asarray(Image.open(source / "human/rotated.jpg").convert("RGB"))
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(read_stored(upright.sha256)))), np.rot90(original, -1))


def test_importing_again_changes_nothing_and_another_set_under_the_name_is_refused(source, study_home):
    first = import_images(engine(), source, "mine", max_side=512)
    files = sorted(p for p in (study_home / "images").rglob("*") if p.is_file())
    again = import_images(engine(), source, "mine", max_side=512)
    assert again["unchanged"] and again["new_files"] == 0 and again["set_id"] == first["set_id"]
    (source / "REAL/extra").mkdir()
    Image.fromarray(pixels(33, 33)).save(source / "REAL/extra/new.png")
    with pytest.raises(StudyError, match="an image set named 'mine' exists with other images"):
        import_images(engine(), source, "mine", max_side=512)
    assert sorted(p for p in (study_home / "images").rglob("*") if p.is_file()) == files  # nothing left behind
    assert len(q.items_of(engine(), first["set_id"])) == 6


def test_the_same_set_from_a_zip_and_a_tar_gz(source, tmp_path):
    folder = import_images(engine(), source, "folder", max_side=512)
    archive = tmp_path / "mine.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                z.write(path, f"my images/{path.relative_to(source)}")  # one wrapper folder, as zips often have
    tarball = tmp_path / "mine.tar.gz"
    with tarfile.open(tarball, "w:gz") as t:
        t.add(source, arcname="my images")
    for name, path in (("zipped", archive), ("tarred", tarball)):
        report = import_images(engine(), path, name, max_side=512)
        assert report["imported"] == folder["imported"] and report["new_files"] == 0  # content-addressed: stored once
        stored = {(r.sha256, r.label, r.category) for r in q.items_of(engine(), report["set_id"])}
        assert stored == {(r.sha256, r.label, r.category) for r in q.items_of(engine(), folder["set_id"])}


def test_a_csv_manifest_gives_labels_generators_and_categories(tmp_path):
    root = tmp_path / "listed"
    (root / "files").mkdir(parents=True)
    for name in ("a", "b", "c"):
        Image.fromarray(pixels(40, 60)).save(root / f"files/{name}.png")
    (root / "manifest.csv").write_text(
        "path,label,generator,category\n"
        "files/a.png,real,,street\n"
        "files/b.png,AI,sdxl,portrait\n"
        "files/c.png,\"real,fake\",,\n"
        "files/missing.png,fake,,\n"
        "../outside.png,fake,,\n"
    )
    report = import_images(engine(), root, "listed")
    assert report["imported"] == 2
    rows = {r.source_path: r for r in q.items_of(engine(), report["set_id"])}
    assert (rows["files/b.png"].label, rows["files/b.png"].generator, rows["files/b.png"].category) == (
        1, "sdxl", "portrait")
    reasons = " | ".join(f"{f['path']}: {f['reason']}" for f in report["failed"])
    assert "line 4: files/c.png: label 'real,fake' is not one of" in reasons
    assert "line 5: files/missing.png: listed in the manifest but not found" in reasons
    assert "line 6: ../outside.png: the path must be relative" in reasons


def test_the_same_picture_under_both_labels_is_left_out(tmp_path):
    root = tmp_path / "mixed"
    for folder in ("real", "fake"):
        (root / folder).mkdir(parents=True)
    Image.fromarray(pixels(20, 20)).save(root / "real/x.png")
    shutil.copy(root / "real/x.png", root / "fake/x.png")
    Image.fromarray(pixels(20, 20)).save(root / "fake/y.png")
    report = import_images(engine(), root, "mixed")
    assert report["imported"] == 1 and {f["path"] for f in report["failed"]} == {"real/x.png", "fake/x.png"}


def test_nothing_importable_is_one_error_line_and_exit_2_with_the_reasons(capsys, tmp_path, study_home):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NothingImported, match="holds no JPEG, PNG or WebP files"):
        import_images(engine(), tmp_path / "empty", "empty")
    (tmp_path / "cats").mkdir()
    Image.fromarray(pixels(8, 8)).save(tmp_path / "cats/a.png")
    code, out, err = run_cli(capsys, "data", "import", tmp_path / "cats", "--name", "cats")
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: nothing could be imported")
    assert "a.png: no label folder on its path" in out
    assert q.list_image_sets(engine()) == [] and not (study_home / "images").exists()
    code, _, err = run_cli(capsys, "data", "import", tmp_path / "nowhere", "--name", "x")
    assert code == 2 and "does not exist" in err
    code, _, err = run_cli(capsys, "data", "import", tmp_path / "cats", "--name", "bad name!")
    assert code == 2 and "--name must be" in err


def test_the_command_line_import_prints_its_report(capsys, source):
    code, out, _ = run_cli(capsys, "data", "import", source, "--name", "mine", "--max-side", "512")
    assert code == 0 and "imported image set 'mine': 6 images (REAL 4, FAKE 2)" in out
    assert "duplicate: REAL/landscapes/photo.jpg (same as REAL/landscapes/photo copy.jpg)" in out
    code, out, _ = run_cli(capsys, "data", "import", source, "--name", "mine", "--max-side", "512", "--json")
    assert code == 0 and '"unchanged": true' in out
