"""`python -m study data ...` as a researcher runs it: a subprocess, STUDY_HOME in tmp_path."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cifake_folders import make_kaggle_folder
from helpers import run_study

def study(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return run_study(*args, home=tmp_path / "home", **env)


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_prepare_then_status_is_served_from_the_cache(tmp_path):
    source = make_kaggle_folder(tmp_path / "cifake", per_class=3)
    prepared = study(tmp_path, "data", "prepare", str(source), "--json")
    assert prepared.returncode == 0, prepared.stderr
    report = json.loads(prepared.stdout)
    assert report["n_images"] == 12 and report["from_cache"] is False
    assert report["counts"] == {"test": {"REAL": 3, "FAKE": 3}, "train": {"REAL": 3, "FAKE": 3}}
    assert Path(report["cache_path"]).is_file()
    assert str(tmp_path / "home") in report["cache_path"]

    status = study(tmp_path, "data", "status", "--json")
    assert status.returncode == 0, status.stderr
    state = json.loads(status.stdout)
    assert state["prepared"] is True and state["from_cache"] is True
    assert state["source"] == str(source) and state["source_from"] == "database"
    assert state["counts"] == report["counts"] and state["duplicates"] == report["duplicates"]
    assert state["cache_path"] == report["cache_path"]

    again = study(tmp_path, "data", "prepare", str(source))
    assert again.returncode == 0 and "read from cache" in again.stdout and "REAL" in again.stdout


def test_status_says_when_the_cache_is_stale(tmp_path):
    source = make_kaggle_folder(tmp_path / "cifake", per_class=3)
    assert study(tmp_path, "data", "prepare", str(source), "--json").returncode == 0
    extra = source / "test" / "REAL" / "new.jpg"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(extra)
    status = study(tmp_path, "data", "status", "--json")
    assert status.returncode == 0
    state = json.loads(status.stdout)
    assert state["prepared"] is False and "data prepare" in state["message"]


def test_status_with_nothing_prepared_points_to_the_demo_pool(tmp_path):
    status = study(tmp_path, "data", "status", "--json")
    assert status.returncode == 0
    state = json.loads(status.stdout)
    assert state["prepared"] is False and "demo pool" in state["message"]
    plain = study(tmp_path, "data", "status")
    assert "no CIFAKE prepared" in plain.stdout and "python -m study data prepare" in plain.stdout


def test_cifake_root_wins_over_the_database_setting(tmp_path):
    prepared = make_kaggle_folder(tmp_path / "prepared", per_class=3)
    other = make_kaggle_folder(tmp_path / "other", per_class=3)
    assert study(tmp_path, "data", "prepare", str(prepared), "--json").returncode == 0
    state = json.loads(study(tmp_path, "data", "status", "--json", CIFAKE_ROOT=str(other)).stdout)
    assert state["source"] == str(other) and state["source_from"] == "CIFAKE_ROOT"
    assert state["prepared"] is False  # `other` was never decoded


def test_a_folder_without_real_fake_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "photos"
    (bad / "train" / "cats").mkdir(parents=True)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(bad / "train" / "cats" / "a.jpg")
    result = study(tmp_path, "data", "prepare", str(bad))
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("error: ") and "train/REAL" in line and "test/FAKE" in line
    assert result.stdout == ""


def test_a_missing_path_exits_2_with_one_line(tmp_path):
    result = study(tmp_path, "data", "prepare", str(tmp_path / "nowhere"), "--json")
    assert result.returncode == 2 and "does not exist" in one_line(result.stderr)


# --- odd paths: one `error:` line and exit 2, never a traceback or a hang -----------------

def refused(result: subprocess.CompletedProcess, *words: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    line = one_line(result.stderr)
    assert line.startswith("error: ")
    for word in words:
        assert word in line, line
    return line


def test_a_symlink_loop_is_one_line(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    refused(study(tmp_path, "data", "prepare", str(loop)), str(loop), "loops")
    refused(study(tmp_path, "data", "prepare", str(loop / "cifake.zip")), "loops")


def test_a_home_folder_of_no_such_user_is_one_line(tmp_path):
    refused(study(tmp_path, "data", "prepare", "~nosuchuser-7c1f/cifake"), "no user 'nosuchuser-7c1f'")


def test_an_odd_cifake_root_or_train_data_is_one_line(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    refused(study(tmp_path, "data", "status", CIFAKE_ROOT=str(loop)), "loops")
    refused(study(tmp_path, "data", "status", CIFAKE_ROOT="~nosuchuser-7c1f/x"), "no user")
    refused(study(tmp_path, "train", "--model", "lenet", "--data", "~nosuchuser-7c1f/x"), "no user")


def test_a_nul_byte_in_the_path_is_one_line(tmp_path, monkeypatch, capsys):
    """A command line cannot carry NUL, so the same handler runs in this process."""
    from study import cli

    monkeypatch.setenv("STUDY_HOME", str(tmp_path / "home"))
    assert cli.main(["data", "prepare", str(tmp_path / "cif\0ake")]) == 2
    assert "NUL byte" in one_line(capsys.readouterr().err)


@pytest.mark.timeout(30)
def test_a_named_pipe_called_tar_is_refused_without_being_opened(tmp_path):
    pipe = tmp_path / "pipe.tar"
    os.mkfifo(pipe)
    refused(study(tmp_path, "data", "prepare", str(pipe)), "named pipe")


@pytest.mark.timeout(30)
def test_a_named_pipe_among_the_archives_is_refused_without_being_opened(tmp_path):
    archives = tmp_path / "archives"
    archives.mkdir()
    os.mkfifo(archives / "x.zip")
    refused(study(tmp_path, "data", "prepare", str(archives)), "x.zip", "named pipe")


@pytest.mark.timeout(30)
def test_a_named_pipe_among_the_images_is_refused_without_being_opened(tmp_path):
    source = make_kaggle_folder(tmp_path / "cifake", per_class=2)
    os.mkfifo(source / "train" / "REAL" / "9.jpg")
    refused(study(tmp_path, "data", "prepare", str(source)), "9.jpg", "named pipe")


@pytest.mark.timeout(60)
def test_status_of_a_prepared_source_replaced_by_a_named_pipe_does_not_hang(tmp_path):
    import tarfile

    folder = make_kaggle_folder(tmp_path / "cifake", per_class=2)
    archive = tmp_path / "cifake.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(folder, arcname=".")
    assert study(tmp_path, "data", "prepare", str(archive)).returncode == 0
    archive.unlink()
    os.mkfifo(archive)
    status = study(tmp_path, "data", "status", "--json")
    assert status.returncode == 0, status.stderr
    state = json.loads(status.stdout)
    assert state["prepared"] is False and "named pipe" in state["message"]


def test_a_path_behind_a_folder_we_may_not_enter_is_one_line(tmp_path):
    locked = tmp_path / "locked"
    make_kaggle_folder(locked / "cifake", per_class=1)
    locked.chmod(0)
    try:
        if os.access(locked, os.X_OK):  # os.geteuid() == 0, as in CI: root may enter any folder
            pytest.skip("running as root (CAP_DAC_OVERRIDE): permission denied cannot happen")
        refused(study(tmp_path, "data", "prepare", str(locked / "cifake")), "permission denied")
    finally:
        locked.chmod(0o700)


def test_bad_arguments_exit_2_with_one_line(tmp_path):
    result = study(tmp_path, "data", "prepare")
    assert result.returncode == 2
    one_line(result.stderr)
    result = study(tmp_path, "data", "frobnicate")
    assert result.returncode == 2
    one_line(result.stderr)


def test_download_offline_fails_fast_with_one_line(tmp_path):
    result = study(tmp_path, "data", "download", "--dest", str(tmp_path / "dl"), STUDY_OFFLINE="1")
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "no internet" in line and "kaggle.com" in line and "data prepare" in line


def test_download_handler_raises_download_error_when_kaggle_is_unreachable(tmp_path, monkeypatch, capsys):
    from study import cli
    from study.commands import data as data_command

    monkeypatch.setenv("STUDY_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(data_command, "kaggle_reachable", lambda: False)
    assert cli.main(["data", "download"]) == 2
    assert "no internet" in one_line(capsys.readouterr().err)


def test_prepare_records_the_dataset_in_the_database(tmp_path, monkeypatch):
    source = make_kaggle_folder(tmp_path / "cifake", per_class=3)
    report = json.loads(study(tmp_path, "data", "prepare", str(source), "--json").stdout)

    from db import open_database
    from db.datasets import get_setting, latest_prepared

    engine = open_database(f"sqlite:///{tmp_path / 'home' / 'study.db'}")
    assert get_setting(engine, "cifake_source") == str(source)
    latest = latest_prepared(engine)
    assert latest["fingerprint"] == report["fingerprint"] and latest["n_images"] == 12
    assert latest["report"]["counts"] == report["counts"]


def test_settings_and_prepared_rows_upsert(backend):
    """On SQLite and on PostgreSQL (conftest's `backend`)."""
    from db import open_database
    from db.datasets import get_setting, latest_prepared, record_prepared, set_setting
    from study.config import get_settings

    engine = open_database(get_settings().database_url)
    assert get_setting(engine, "cifake_source") is None and latest_prepared(engine) is None
    set_setting(engine, "cifake_source", "/a")
    set_setting(engine, "cifake_source", "/b")
    assert get_setting(engine, "cifake_source") == "/b"
    record_prepared(engine, "f1", "/a", 10, "/c/f1.npz", {"n_images": 10})
    record_prepared(engine, "f2", "/b", 20, "/c/f2.npz", {"n_images": 20})
    assert latest_prepared(engine)["fingerprint"] == "f2"
    record_prepared(engine, "f1", "/a", 11, "/c/f1.npz", {"n_images": 11})
    latest = latest_prepared(engine)
    assert latest["fingerprint"] == "f1" and latest["n_images"] == 11 and latest["report"] == {"n_images": 11}
