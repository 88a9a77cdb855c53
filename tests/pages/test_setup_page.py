"""The researcher's Setup page: prepares CIFAKE from a path on the server and
says clearly what went wrong with a bad one."""
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from cifake_folders import make_kaggle_folder
from apptest_helpers import researcher_app

def logged_in_setup(monkeypatch) -> AppTest:
    return researcher_app("app_pages/setup.py", timeout=60)


def test_prepare_from_a_folder_makes_it_the_apps_dataset(monkeypatch, tmp_path):
    source = make_kaggle_folder(tmp_path / "cifake")
    at = logged_in_setup(monkeypatch)
    assert any("demo pool" in w.value for w in at.warning)
    at.text_input[0].input(str(source))
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert any(str(source) in s.value for s in at.success)
    table = at.table[0].value
    assert set(table.columns) == {"train", "test"}

    # The CLI sees the same dataset, from the cache.
    from db import open_database
    from study.data import admin as dataset_admin
    from study.config import get_settings

    status = dataset_admin.status(open_database(get_settings().database_url))
    assert status["prepared"] and status["n_images"] == 16 and status["from_cache"]


def test_a_wrong_folder_gives_one_clear_message_and_changes_nothing(monkeypatch, tmp_path):
    wrong = tmp_path / "holiday_photos"
    wrong.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(wrong / "beach.jpg")
    at = logged_in_setup(monkeypatch)
    at.text_input[0].input(str(wrong))
    at.button[0].click().run()
    assert not at.exception
    assert len(at.error) == 1 and "REAL" in at.error[0].value
    assert any("demo pool" in w.value for w in at.warning)


def _odd_paths(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """name -> (what the researcher types, what the message must say)."""
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    pipe = tmp_path / "pipe.tar"
    os.mkfifo(pipe)
    folder = make_kaggle_folder(tmp_path / "cifake", per_class=1)
    os.mkfifo(folder / "x.zip")
    return {
        "symlink loop": (str(loop), "loops"),
        "no such user": ("~nosuchuser-7c1f/cifake", "no user 'nosuchuser-7c1f'"),
        "NUL byte": (str(tmp_path / "cif\0ake"), "NUL byte"),
        "named pipe": (str(pipe), "named pipe"),
        "named pipe inside": (str(folder), "x.zip is a named pipe"),
    }


@pytest.mark.timeout(120)
def test_odd_paths_give_one_clear_message_and_change_nothing(monkeypatch, tmp_path):
    at = logged_in_setup(monkeypatch)
    for name, (typed, says) in _odd_paths(tmp_path).items():
        at.text_input[0].input(typed)
        at.button[0].click().run()
        assert not at.exception, name
        assert len(at.error) == 1 and says in at.error[0].value, (name, [e.value for e in at.error])
        assert any("demo pool" in w.value for w in at.warning), name


@pytest.mark.timeout(60)
def test_a_prepared_archive_replaced_by_a_named_pipe_does_not_hang_the_page(monkeypatch, tmp_path):
    folder = make_kaggle_folder(tmp_path / "cifake", per_class=1)
    archive = tmp_path / "cifake.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(folder, arcname=".")
    at = logged_in_setup(monkeypatch)
    at.text_input[0].input(str(archive))
    at.button[0].click().run()
    assert not at.exception and not at.error
    archive.unlink()
    os.mkfifo(archive)
    at.run()
    assert not at.exception
    assert any("cannot be read" in w.value and "named pipe" in w.value for w in at.warning)


def test_an_image_set_is_imported_from_the_page_and_listed(monkeypatch, tmp_path):
    root = tmp_path / "own"
    for label in ("real", "AI"):
        (root / label).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((40 + i, 60, 3), 50 * i + (100 if label == "AI" else 0), np.uint8)).save(
                root / label / f"{i}.png")
    (root / "AI" / "broken.png").write_bytes(b"nope")
    at = logged_in_setup(monkeypatch)
    form = [t for t in at.text_input if t.label == "Folder or archive on the server"][0]
    form.input(str(root))
    [t for t in at.text_input if t.label == "Name of the image set"][0].input("own-set")
    [b for b in at.button if b.label == "Import"][0].click().run()
    assert not at.exception and not at.error
    assert "Imported **own-set**: 4 images (REAL 2, FAKE 2)." in [s.value for s in at.success]
    assert any("1 could not be imported" in c.value for c in at.caption)
    listing = at.dataframe[-1].value
    assert list(listing["name"]) == ["own-set"] and list(listing["images"]) == [4]
    [t for t in at.text_input if t.label == "Name of the image set"][0].input("bad name!")
    [b for b in at.button if b.label == "Import"][0].click().run()
    assert "--name must be" in at.error[0].value
