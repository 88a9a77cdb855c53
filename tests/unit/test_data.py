"""The CIFAKE dataset layer: every container, ids, labels, duplicates, conversions,
the cache, the error messages, and the demo pool. Data is generated in tmp_path."""
from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from study.data import datasets as data_module
from study.data.datasets import cached_dataset, decode_chunk, load_dataset, source_fingerprint
from study.data.demo import DEMO_NOTE, demo_pool
from study.errors import DatasetError, StudyError
from study.labels import CLASS_NAMES

# STUDY_HOME is a fresh tmp folder for every test: tests/conftest.py's `study_home`.

def jpeg(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def noise(seed: int, size: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def make_files(label_names=("REAL", "FAKE"), split_names=("train", "test")) -> dict[str, bytes]:
    """6 images per split and label, canonical id -> bytes (folder names may vary in case).

    Special ones: train/FAKE/dup-a.jpg == dup-b.jpg (a duplicate within train),
    test/FAKE/leak.jpg == train/FAKE/f0.jpg (a test image also in train),
    test/REAL/big.jpg is 64x64, train/REAL/grey.jpg is greyscale."""
    files = {}
    seed = 0
    for split in ("train", "test"):
        for label in CLASS_NAMES:
            for i in range(6):
                seed += 1
                files[f"{split}/{label}/{label[0].lower()}{i}.jpg"] = jpeg(noise(seed))
    dup = jpeg(noise(1000))
    files.pop("train/FAKE/f4.jpg"), files.pop("train/FAKE/f5.jpg")
    files["train/FAKE/dup-a.jpg"] = files["train/FAKE/dup-b.jpg"] = dup
    files.pop("test/FAKE/f5.jpg")
    files["test/FAKE/leak.jpg"] = files["train/FAKE/f0.jpg"]
    files.pop("test/REAL/r5.jpg")
    files["test/REAL/big.jpg"] = jpeg(noise(2000, size=64))
    files.pop("train/REAL/r5.jpg")
    files["train/REAL/grey.jpg"] = jpeg(noise(3000)[:, :, 0], "L")
    return files


def on_disk_name(image_id: str, label_names, split_names) -> str:
    split, label, name = image_id.split("/")
    return f"{split_names[('train', 'test').index(split)]}/{label_names[CLASS_NAMES.index(label)]}/{name}"


def write_folder(root: Path, files, label_names=("REAL", "FAKE"), split_names=("train", "test")) -> Path:
    for image_id, data in files.items():
        path = root / on_disk_name(image_id, label_names, split_names)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_zip(path: Path, files, top: str = "") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for image_id, data in files.items():
            archive.writestr(top + image_id, data)
    return path


def write_tar(path: Path, files, mode: str = "w:gz", top: str = "") -> Path:
    with tarfile.open(path, mode) as archive:
        for image_id, data in sorted(files.items()):
            info = tarfile.TarInfo(top + image_id)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def files():
    return make_files()


@pytest.fixture
def folder(tmp_path, files):
    return write_folder(tmp_path / "cifake", files)


def load(source, tmp_path, **kwargs):
    return load_dataset(source, cache_dir=tmp_path / "cache", **kwargs)


# ---------------------------------------------------------------- containers and ids

def test_folder_gives_ids_labels_splits_and_32x32_images(folder, files, tmp_path):
    dataset = load(folder, tmp_path)
    assert len(dataset) == len(files) == 24
    assert sorted(dataset.ids.tolist()) == sorted(files)
    assert dataset.images.shape == (24, 32, 32, 3) and dataset.images.dtype == np.uint8
    assert dataset.images.flags["C_CONTIGUOUS"]
    for image_id, label, split in zip(dataset.ids, dataset.labels, dataset.splits):
        assert CLASS_NAMES[label] == image_id.split("/")[1]
        assert split == image_id.split("/")[0]
    assert dataset.report["counts"] == {"test": {"REAL": 6, "FAKE": 6}, "train": {"REAL": 6, "FAKE": 6}}
    assert not dataset.is_demo and dataset.source == str(folder.resolve())
    # The pixels are what Pillow decodes from the file.
    i = dataset.index_of("train/REAL/r0.jpg")
    expected = np.asarray(Image.open(io.BytesIO(files["train/REAL/r0.jpg"])).convert("RGB"))
    assert np.array_equal(dataset.images[i], expected)


def test_every_container_gives_the_same_ids_and_pixels(tmp_path, files):
    reference = load(write_folder(tmp_path / "plain", files), tmp_path)
    archives = tmp_path / "archives"
    archives.mkdir()
    write_tar(archives / "cifake-train.tar.gz", {k: v for k, v in files.items() if k.startswith("train/")})
    write_zip(archives / "cifake-test.zip", {k: v for k, v in files.items() if k.startswith("test/")})
    wrapped = tmp_path / "wrapped"
    write_folder(wrapped / "CIFAKE-download", files)
    sources = {
        "zip with a top-level folder": write_zip(tmp_path / "cifake.zip", files, top="cifake/"),
        "tar.gz": write_tar(tmp_path / "cifake.tar.gz", files),
        "plain tar": write_tar(tmp_path / "cifake.tar", files, mode="w"),
        "tar of `-C dir .` (./ names)": write_tar(tmp_path / "dot.tgz", files, top="./"),
        "folder of archives": archives,
        "folder with one wrapper folder": wrapped,
        "lower/mixed-case folders": write_folder(tmp_path / "cased", files, ("real", "Fake"), ("Train", "TEST")),
    }
    for what, source in sources.items():
        dataset = load(source, tmp_path)
        assert dataset.ids.tolist() == reference.ids.tolist(), what
        assert np.array_equal(dataset.labels, reference.labels), what
        assert np.array_equal(dataset.images, reference.images), what
        assert np.array_equal(dataset.dup_count, reference.dup_count), what


def test_a_folder_with_only_one_split_loads(tmp_path, files):
    only_test = {k: v for k, v in files.items() if k.startswith("test/")}
    dataset = load(write_folder(tmp_path / "t", only_test), tmp_path)
    assert set(dataset.splits.tolist()) == {"test"}
    assert dataset.report["counts"] == {"test": {"REAL": 6, "FAKE": 6}}


def test_split_and_index_of(folder, tmp_path):
    dataset = load(folder, tmp_path)
    test = dataset.split("test")
    assert len(test) == 12 and set(test.splits.tolist()) == {"test"}
    assert test.fingerprint == dataset.fingerprint and test.report is dataset.report
    assert test.ids[test.index_of("test/FAKE/leak.jpg")] == "test/FAKE/leak.jpg"
    with pytest.raises(DatasetError, match="nope.jpg"):
        dataset.index_of("test/REAL/nope.jpg")
    with pytest.raises(DatasetError, match="valid"):
        dataset.split("valid")


def test_arrays_are_read_only_so_a_shared_dataset_cannot_be_corrupted(folder, tmp_path):
    dataset = load(folder, tmp_path)
    with pytest.raises(ValueError):
        dataset.images[0, 0, 0, 0] = 1


def test_non_images_inside_are_counted_not_fatal(folder, tmp_path):
    (folder / "README.md").write_text("hello")
    (folder / "train" / "REAL" / ".DS_Store").write_bytes(b"\0\1")
    (folder / "train" / "REAL" / "._r0.jpg").write_bytes(b"mac resource fork")
    dataset = load(folder, tmp_path)
    assert len(dataset) == 24
    assert dataset.report["skipped_non_images"] == 3


# ---------------------------------------------------------------- duplicates and conversions

def test_duplicates_report(folder, tmp_path):
    dataset = load(folder, tmp_path)
    dup = dataset.report["duplicates"]
    assert dup["groups"] == 2 and dup["images_in_groups"] == 4
    assert dup["within"] == {"test": 0, "train": 1}
    assert dup["across_splits"] == 1
    assert dup["by_label"] == {"REAL": 0, "FAKE": 4}
    assert dup["across_labels"] == 0
    assert ["train/FAKE/dup-a.jpg", "train/FAKE/dup-b.jpg"] in dup["examples"]
    assert ["test/FAKE/leak.jpg", "train/FAKE/f0.jpg"] in dup["examples"]
    counts = dict(zip(dataset.ids.tolist(), dataset.dup_count.tolist()))
    assert counts["train/FAKE/dup-a.jpg"] == counts["test/FAKE/leak.jpg"] == 2
    assert counts["train/REAL/r0.jpg"] == 1
    # Subsets keep the whole-dataset count: the leaked test image still says 2.
    test = dataset.split("test")
    assert test.dup_count[test.index_of("test/FAKE/leak.jpg")] == 2


def test_other_sizes_and_modes_are_converted_and_reported(folder, tmp_path):
    dataset = load(folder, tmp_path)
    converted = dataset.report["converted"]
    assert converted["count"] == 2
    by_id = {e["id"]: e for e in converted["examples"]}
    assert by_id["test/REAL/big.jpg"]["size"] == [64, 64]
    assert by_id["train/REAL/grey.jpg"]["mode"] == "L"
    grey = dataset.images[dataset.index_of("train/REAL/grey.jpg")]
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 0], grey[..., 2])


def png(array: np.ndarray, mode: str) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(array) if mode != "P" else Image.fromarray(array).convert("P")
    if mode == "I;16":
        image = Image.fromarray(array.astype(np.uint16))
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_decode_converts_rgba_palette_16bit_cmyk_and_odd_shapes():
    rgba = np.dstack([noise(1), np.full((32, 32), 128, np.uint8)])
    white16 = np.full((20, 40), 65535, np.uint16)
    cmyk = io.BytesIO()
    Image.fromarray(noise(2)).convert("CMYK").save(cmyk, "JPEG")
    items = [
        ("x/REAL/rgba.png", png(rgba, "RGBA")),
        ("x/REAL/palette.png", png(noise(3), "P")),
        ("x/REAL/deep.png", png(white16, "I;16")),
        ("x/REAL/cmyk.jpg", cmyk.getvalue()),
        ("x/REAL/wide.jpg", jpeg(noise(4, size=64)[:20])),
    ]
    images, converted = decode_chunk(items)
    assert images.shape == (5, 32, 32, 3) and images.dtype == np.uint8
    assert [c["id"] for c in converted] == [i for i, _ in items]
    assert np.array_equal(images[0], noise(1))  # alpha dropped, colour kept
    assert images[2].min() == 255  # 16-bit white stays white, not clipped to grey


# ---------------------------------------------------------------- cache and fingerprint

def test_second_load_reads_the_cache_and_a_changed_source_decodes_again(folder, tmp_path):
    first = load(folder, tmp_path)
    assert first.report["from_cache"] is False
    assert Path(first.report["cache_path"]).is_file()
    second = load(folder, tmp_path)
    assert second.report["from_cache"] is True
    assert np.array_equal(second.images, first.images) and second.ids.tolist() == first.ids.tolist()
    assert second.report["duplicates"] == first.report["duplicates"]

    path = folder / "train" / "REAL" / "r0.jpg"
    path.write_bytes(jpeg(noise(999)))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert cached_dataset(folder, cache_dir=tmp_path / "cache") is None
    third = load(folder, tmp_path)
    assert third.report["from_cache"] is False and third.fingerprint != first.fingerprint
    assert not np.array_equal(third.images, first.images)
    # The stale cache of the old content is gone; only the current one is kept.
    assert not Path(first.report["cache_path"]).exists()
    assert [p.name for p in (tmp_path / "cache").glob("*.npz")] == [f"{third.fingerprint}.npz"]


def test_use_cache_false_decodes_again(folder, tmp_path):
    load(folder, tmp_path)
    assert load(folder, tmp_path, use_cache=False).report["from_cache"] is False


def test_archive_fingerprint_follows_its_bytes(tmp_path, files):
    archive = write_tar(tmp_path / "c.tar.gz", files)
    before = source_fingerprint(archive)
    assert load(archive, tmp_path).fingerprint == before
    assert load(archive, tmp_path).report["from_cache"] is True
    write_tar(archive, dict(files, **{"test/REAL/extra.jpg": jpeg(noise(77))}))
    assert source_fingerprint(archive) != before
    again = load(archive, tmp_path)
    assert again.report["from_cache"] is False and len(again) == 25


def test_cached_dataset_never_decodes(folder, tmp_path, monkeypatch):
    assert cached_dataset(folder, cache_dir=tmp_path / "cache") is None
    load(folder, tmp_path)

    def no_decoding(*args, **kwargs):
        raise AssertionError("cached_dataset decoded")

    monkeypatch.setattr(data_module, "_decode_source", no_decoding)
    monkeypatch.setattr(data_module, "decode_chunk", no_decoding)
    hit = cached_dataset(folder, cache_dir=tmp_path / "cache")
    assert hit is not None and len(hit) == 24 and hit.report["from_cache"] is True


def test_cache_defaults_under_study_home(folder, study_home):
    dataset = load_dataset(folder)
    assert Path(dataset.report["cache_path"]).parent == study_home / "cache" / "datasets"
    assert load_dataset(folder).report["from_cache"] is True


def test_a_crash_while_writing_leaves_no_half_cache(folder, tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(np, "savez", crash)
        with pytest.raises(KeyboardInterrupt):
            load(folder, tmp_path)
    assert not list((tmp_path / "cache").glob("*"))  # no temp file, no npz, no json
    assert cached_dataset(folder, cache_dir=tmp_path / "cache") is None
    assert load(folder, tmp_path).report["from_cache"] is False


def test_a_damaged_cache_is_a_miss(folder, tmp_path):
    first = load(folder, tmp_path)
    Path(first.report["cache_path"]).write_bytes(b"garbage")
    again = load(folder, tmp_path)
    assert again.report["from_cache"] is False and np.array_equal(again.images, first.images)


def test_parallel_decoding_gives_the_same_arrays(folder, tmp_path, monkeypatch):
    serial = load(folder, tmp_path, workers=0, use_cache=False)
    monkeypatch.setattr(data_module, "CHUNK", 5)  # forces several chunks through the process pool
    parallel = load(folder, tmp_path, workers=2, use_cache=False)
    assert parallel.ids.tolist() == serial.ids.tolist()
    assert np.array_equal(parallel.images, serial.images)
    assert parallel.report["converted"]["count"] == 2


def test_a_corrupt_image_in_a_parallel_chunk_fails_the_load(folder, tmp_path, monkeypatch):
    (folder / "train" / "REAL" / "r1.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    monkeypatch.setattr(data_module, "CHUNK", 5)
    with pytest.raises(DatasetError, match=r"train/REAL/r1\.jpg"):
        load(folder, tmp_path, workers=2)


# ---------------------------------------------------------------- errors a person can fix

def test_missing_path(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load(tmp_path / "nowhere", tmp_path)


def test_folder_without_real_fake_names_what_was_expected_and_found(tmp_path):
    root = tmp_path / "cats"
    (root / "train" / "cats").mkdir(parents=True)
    (root / "train" / "cats" / "a.jpg").write_bytes(jpeg(noise(1)))
    with pytest.raises(DatasetError) as err:
        load(root, tmp_path)
    message = str(err.value)
    for expected in ("train/REAL", "train/FAKE", "test/REAL", "test/FAKE", "found", "train/"):
        assert expected in message


def test_empty_class_is_named(tmp_path, files):
    root = write_folder(tmp_path / "c", {k: v for k, v in files.items() if not k.startswith("test/FAKE/")})
    (root / "test" / "FAKE").mkdir()
    with pytest.raises(DatasetError, match="`test/FAKE` has no images"):
        load(root, tmp_path)


def test_a_split_whose_class_folders_are_all_empty_is_reported(tmp_path, files):
    train_only = {k: v for k, v in files.items() if k.startswith("train/")}
    root = write_folder(tmp_path / "c", train_only)
    (root / "test" / "REAL").mkdir(parents=True)
    (root / "test" / "FAKE").mkdir()
    with pytest.raises(DatasetError, match="`test/REAL` has no images"):
        load(root, tmp_path)
    archive = tmp_path / "c.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for image_id, data in train_only.items():
            out.writestr(image_id, data)
        out.writestr("test/FAKE/", b"")  # a directory entry, as zip tools write for empty folders
    with pytest.raises(DatasetError, match="`test/REAL` has no images"):
        load(archive, tmp_path)


def test_corrupt_image_is_named_and_fails_the_whole_load(folder, tmp_path):
    (folder / "test" / "REAL" / "r2.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(DatasetError, match=r"test/REAL/r2\.jpg"):
        load(folder, tmp_path)
    assert not list((tmp_path / "cache").glob("*.npz"))


def test_truncated_jpeg_is_not_silently_padded(folder, tmp_path, files):
    good = files["test/REAL/r3.jpg"]
    (folder / "test" / "REAL" / "r3.jpg").write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetError, match=r"test/REAL/r3\.jpg"):
        load(folder, tmp_path)


@pytest.mark.parametrize("name, expected", [("bad.zip", "zip"), ("bad.tar.gz", "tar"), ("bad.tgz", "tar"), ("bad.tar", "tar")])
def test_corrupt_or_fake_archive(tmp_path, name, expected):
    path = tmp_path / name
    path.write_bytes(b"this is not an archive at all" * 10)
    with pytest.raises(DatasetError, match=f"not a readable {expected} archive"):
        load(path, tmp_path)


def test_truncated_tar_gz(tmp_path, files):
    whole = write_tar(tmp_path / "whole.tar.gz", files).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DatasetError, match="cut.tar.gz"):
        load(cut, tmp_path)


def test_unsupported_source_type(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("a,b\n")
    with pytest.raises(DatasetError, match="unsupported dataset source"):
        load(path, tmp_path)


def test_the_same_split_in_two_archives_is_refused(tmp_path, files):
    root = tmp_path / "twice"
    root.mkdir()
    write_tar(root / "a.tar.gz", files)
    write_zip(root / "b.zip", files)
    with pytest.raises(DatasetError, match="both"):
        load(root, tmp_path)


def test_dataset_errors_are_study_errors():
    assert issubclass(DatasetError, StudyError)


# ---------------------------------------------------------------- the demo pool

def test_demo_pool_is_deterministic_balanced_marked_and_unique():
    pool = demo_pool()
    again = demo_pool()
    assert np.array_equal(pool.images, again.images) and pool.ids.tolist() == again.ids.tolist()
    assert pool.fingerprint == again.fingerprint
    assert pool.is_demo and pool.source == "demo" and pool.report["note"] == DEMO_NOTE
    assert pool.report["counts"] == {"test": {"REAL": 200, "FAKE": 200}, "train": {"REAL": 1000, "FAKE": 1000}}
    assert pool.images.shape == (2400, 32, 32, 3) and pool.images.dtype == np.uint8
    assert pool.report["duplicates"]["groups"] == 0 and set(pool.dup_count.tolist()) == {1}
    assert pool.ids[0].startswith("test/FAKE/demo-") and pool.ids[0].endswith(".png")
    assert len(set(pool.ids.tolist())) == len(pool)
    assert not np.array_equal(demo_pool(seed=1).images, pool.images)


def test_demo_classes_differ_in_high_frequency_energy():
    """The FAKE texture must be there for a small CNN to learn; check it crudely."""
    pool = demo_pool(n_train=200, n_test=40)
    grey = pool.images.astype(np.float32).mean(axis=-1)
    energy = np.abs(np.diff(grey, axis=1)).mean(axis=(1, 2)) + np.abs(np.diff(grey, axis=2)).mean(axis=(1, 2))
    assert energy[pool.labels == 1].mean() != pytest.approx(energy[pool.labels == 0].mean(), rel=0.05)
    assert len(pool.split("test")) == 40


# ---------------------------------------------------------------- the real data, when it is there

@pytest.mark.slow
def test_real_cifake_test_split(shared_cifake, tmp_path):
    """Skips (conftest's `shared_cifake`) when the pack is not beside the repository."""
    dataset = load(shared_cifake / "cifake-test.tar.gz", tmp_path)
    assert len(dataset) == 18_000
    assert dataset.report["counts"] == {"test": {"REAL": 9_000, "FAKE": 9_000}}
    assert dataset.report["converted"]["count"] == 0
    assert dataset.report["duplicates"]["by_label"]["REAL"] == 0
    assert dataset.ids[0] == "test/FAKE/0 (10).jpg"
    # Byte-identical copies inside the test split (MANIFEST.tsv.gz): 38 contents in 76 FAKE files.
    assert dataset.report["duplicates"]["groups"] == 38
    assert dataset.report["duplicates"]["images_in_groups"] == 76
