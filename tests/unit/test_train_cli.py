"""`python -m study models | train | evaluate | predict`, through study.cli.main
as a person would call it: one JSON object with --json, one error line and
exit code 2 for a mistake."""
from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cifake_folders import make_kaggle_folder
from study.cli import main
from helpers import run_cli as run

QUICK = ["--epochs", "1", "--batch-size", "50", "--lr", "1e-3", "--device", "cpu", "--max-train", "300"]


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One quick demo-pool training shared by the tests that need a checkpoint."""
    import os

    home = tmp_path_factory.mktemp("cli_home")
    old = os.environ.get("STUDY_HOME")
    os.environ["STUDY_HOME"] = str(home)
    try:
        from contextlib import redirect_stdout
        from io import StringIO

        buffer = StringIO()
        with redirect_stdout(buffer):
            assert main(["train", "--model", "lenet", "--data", "demo", *QUICK, "--json"]) == 0
        return json.loads(buffer.getvalue())
    finally:
        if old is None:
            os.environ.pop("STUDY_HOME", None)
        else:
            os.environ["STUDY_HOME"] = old


def test_models_lists_the_zoo_with_sizes(capsys):
    code, out, _ = run(capsys, "models", "--json")
    rows = {r["name"]: r for r in json.loads(out)["models"]}
    assert code == 0
    assert rows["lenet"]["params"] == 1_628_072 and rows["lenet"]["input_size"] == [32, 32]
    assert rows["resnet50"]["input_size"] == [224, 224] and rows["vit_base_patch16_224"]["pretrained_available"]
    code, out, _ = run(capsys, "models")
    assert "cnn_nopool" in out and "1,628,072" in out


def test_train_prints_run_checkpoint_and_metrics(trained):
    assert trained["status"] == "finished" and trained["run_id"] >= 1
    assert Path(trained["checkpoint"]).is_file()
    assert trained["checkpoint"].endswith(f"{trained['run_id']}-lenet.pt")
    assert 0 <= trained["metrics"]["test_accuracy"] <= 1
    assert trained["metrics"]["test"]["n"] == 400
    assert len(trained["history"]) == 1 and trained["seconds_per_epoch"] > 0
    assert trained["device"].startswith("cpu") and trained["dataset"]["is_demo"]


def test_train_without_json_shows_readable_lines(capsys):
    code, out, err = run(capsys, "train", "--model", "logreg", "--data", "demo", *QUICK)
    assert code == 0
    assert "checkpoint:" in out and "test accuracy" in out and "training on cpu" in err


def test_train_also_tests_a_filter_run_on_the_original_images_when_asked(capsys, tmp_path):
    """What a filter job's process runs: the paper's Table 4 in the training's own process."""
    code, out, _ = run(capsys, "train", "--model", "logreg", "--data", "demo", *QUICK, "--filter", "median",
                       "--also-test-original", "--json")
    metrics = json.loads(out)["metrics"]
    assert code == 0 and metrics["test_original"]["n"] == metrics["test"]["n"] == 400
    assert 0 <= metrics["test_original"]["accuracy"] <= 1
    code, out, _ = run(capsys, "train", "--model", "logreg", "--data", "demo", *QUICK, "--filter", "srm",
                       "--also-test-original")
    assert code == 0 and "test on the original images: the model takes 1 channel(s)" in out
    # Without a test split there is nothing to test on: refused before training, as the job queue refuses it.
    train_only = make_kaggle_folder(tmp_path / "train-pack")
    shutil.rmtree(train_only / "test")
    code, _, err = run(capsys, "train", "--model", "logreg", "--data", train_only, *QUICK, "--filter", "median",
                       "--also-test-original")
    assert code == 2 and "no test split" in one_error_line(err)


def test_evaluate_and_predict_a_checkpoint(trained, capsys, tmp_path):
    code, out, err = run(capsys, "evaluate", "--checkpoint", trained["checkpoint"], "--data", "demo", "--json")
    result = json.loads(out)
    assert code == 0 and result["metrics"]["accuracy"] == trained["metrics"]["test_accuracy"]
    assert result["warnings"] == []

    code, out, err = run(capsys, "evaluate", "--checkpoint", trained["checkpoint"], "--data", "demo",
                         "--split", "train")
    assert code == 0 and "NOT a test accuracy" in err and "seen in training" in out

    rng = np.random.default_rng(0)
    files = []
    for name, size in (("a.png", 32), ("b.jpg", 64), ("c.webp", 32)):
        path = tmp_path / name
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
        files.append(path)
    code, out, _ = run(capsys, "predict", "--checkpoint", trained["checkpoint"], *files, "--json")
    rows = json.loads(out)["predictions"]
    assert code == 0 and [Path(r["image"]).name for r in rows] == ["a.png", "b.jpg", "c.webp"]
    assert all(0 <= r["p_ai"] <= 1 for r in rows)


def test_evaluate_warns_about_another_dataset(trained, capsys, tmp_path):
    root = make_kaggle_folder(tmp_path / "tiny", suffix=".png", seed=1)
    code, out, err = run(capsys, "evaluate", "--checkpoint", trained["checkpoint"], "--data", root, "--json")
    assert code == 0 and "another dataset" in json.loads(out)["warnings"][0]


def test_unknown_model_lists_the_valid_ones(capsys):
    code, _, err = run(capsys, "train", "--model", "lenet3", "--data", "demo")
    assert code == 2 and "lenet2" in one_error_line(err) and "cnn_nopool" in err


def test_offline_pretrained_backbone_fails_in_one_line(capsys, monkeypatch):
    from models import backbones

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(backbones, "_cached_weights", lambda hub_id: None)
    code, _, err = run(capsys, "train", "--model", "resnet50", "--data", "demo")
    assert code == 2 and "--no-pretrained" in one_error_line(err)


def test_corrupt_or_mismatched_checkpoint_is_one_line(capsys, tmp_path, trained):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage")
    code, _, err = run(capsys, "evaluate", "--checkpoint", bad, "--data", "demo")
    assert code == 2 and "not a readable checkpoint" in one_error_line(err)

    import torch

    payload = torch.load(trained["checkpoint"], weights_only=True)
    payload["model"] = "lenet2"
    mismatched = tmp_path / "mismatched.pt"
    torch.save(payload, mismatched)
    code, _, err = run(capsys, "predict", "--checkpoint", mismatched, bad)
    assert code == 2 and "do not fit" in one_error_line(err)


def test_non_image_file_is_one_line(capsys, tmp_path, trained):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    code, _, err = run(capsys, "predict", "--checkpoint", trained["checkpoint"], text)
    assert code == 2 and "notes.txt" in one_error_line(err) and "PNG" in err


def test_predict_decodes_files_as_explain_and_the_app_do(capsys, tmp_path, trained):
    """One decoder: a decompression bomb is refused by its size cap, and a
    transparent PNG is put on white (as an upload is), not dropped to black."""
    from PIL import Image

    from study.data import uploads

    bomb = tmp_path / "bomb.png"
    Image.new("L", (9000, 9000)).save(bomb, optimize=True)  # 81 Mpx in a few kB
    code, _, err = run(capsys, "predict", "--checkpoint", trained["checkpoint"], bomb)
    assert code == 2 and "bomb.png" in one_error_line(err)

    clear = tmp_path / "clear.png"
    Image.new("RGBA", (32, 32), (10, 200, 30, 0)).save(clear)
    code, out, _ = run(capsys, "predict", "--checkpoint", trained["checkpoint"], clear, "--json")
    shown = uploads.read_image_file(clear).pixels
    assert code == 0 and (shown == 255).all()  # the decoder the app shows puts it on white
    from study.commands.train import read_image_files

    assert (read_image_files([clear]) == shown).all()


def test_dataset_with_one_class_is_one_line(capsys, tmp_path):
    archive = tmp_path / "only-real.tar.gz"
    rng = np.random.default_rng(2)
    with tarfile.open(archive, "w:gz") as tar:
        for i in range(6):
            path = tmp_path / f"{i}.png"
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(path)
            tar.add(path, arcname=f"train/REAL/{i}.png")
    code, _, err = run(capsys, "train", "--model", "lenet", "--data", archive, *QUICK)
    assert code == 2 and "REAL" in one_error_line(err)


def test_missing_data_source_is_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--model", "lenet", "--data", tmp_path / "nowhere")
    assert code == 2 and "does not exist" in one_error_line(err)


def test_a_source_without_a_train_split_stops_before_training(capsys, tmp_path):
    from db import open_database
    from db.runs import list_runs
    from study.config import ensure_home

    source = make_kaggle_folder(tmp_path / "test-pack")
    shutil.rmtree(source / "train")
    code, out, err = run(capsys, "train", "--model", "lenet", "--data", source, *QUICK)
    assert code == 2 and out == ""
    assert "has only the test split, no train split" in one_error_line(err)
    assert list_runs(open_database(ensure_home().database_url)) == []  # no run was started

