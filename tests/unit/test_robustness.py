"""The robustness perturbations (each changes the image, each level harder than
the last), `--augment robust`, and `python -m study reproduce --table
robustness` on the demo pool: a report with one chart per perturbation."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import run_cli as run

from study.data import perturbations
from study.errors import StudyError
from study.experiments.reports import list_reports
from study.experiments.view import sections
from study.ml.training import RobustAugment, make_transform


def fixture_images(n: int = 8, seed: int = 0) -> np.ndarray:
    """Ordinary pictures with edges, smooth areas and fine texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:32]
    base = np.stack([6 * xx, 6 * yy, 255 * ((xx // 8 + yy // 8) % 2)], -1).astype(np.float32)
    images = base[None] * rng.uniform(0.5, 1.0, (n, 1, 1, 3)) + rng.normal(0, 10, (n, 32, 32, 3))
    return np.clip(images, 0, 255).astype(np.uint8)


def distortion(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


@pytest.mark.parametrize("name", perturbations.names())
def test_each_level_changes_the_image_and_is_harder_than_the_last(name):
    images = fixture_images()
    before = images.copy()
    kind = perturbations.get(name)
    errors = []
    for level in kind.levels:
        changed = perturbations.apply(name, images, level)
        assert changed.shape == images.shape and changed.dtype == np.uint8
        assert np.array_equal(images, before)  # the input is never modified
        errors.append(distortion(images, changed))
    assert errors[0] > 0, f"{name} at {kind.levels[0]} leaves the images as they were"
    assert all(a < b for a, b in zip(errors, errors[1:])), f"{name}: {dict(zip(kind.levels, errors))}"


def test_the_levels_are_the_issues_and_bad_levels_are_refused():
    assert perturbations.get("jpeg").levels == (90, 70, 50, 30, 10)
    assert perturbations.get("blur").levels == (0.5, 1.0, 1.5)
    assert perturbations.get("noise").levels == (4, 8, 16, 32)
    assert perturbations.get("rescale").levels == (0.75, 0.5)
    for name, level in (("jpeg", 0), ("blur", 0), ("noise", -1), ("rescale", 1.0)):
        with pytest.raises(StudyError):
            perturbations.apply(name, fixture_images(1), level)
    with pytest.raises(StudyError, match="expected one of"):
        perturbations.get("sepia")


def test_noise_is_seeded_so_a_report_is_reproducible():
    images = fixture_images(2)
    assert np.array_equal(perturbations.apply("noise", images, 8, seed=3),
                          perturbations.apply("noise", images, 8, seed=3))


def test_robust_augmentation_perturbs_about_half_and_flips():
    assert isinstance(make_transform("robust", 0), RobustAugment) and make_transform("none", 0) is None
    x = torch.from_numpy(fixture_images(64)).permute(0, 3, 1, 2).float() / 255
    y = make_transform("robust", 0)(x)
    assert y.shape == x.shape and y.dtype == torch.float32 and 0 <= y.min() and y.max() <= 1
    same = [torch.allclose(y[i], x[i], atol=1 / 255) or torch.allclose(y[i], x[i].flip(2), atol=1 / 255)
            for i in range(64)]
    assert 12 < sum(same) < 52  # kept (maybe mirrored) with probability 1/2
    flipped = make_transform("flip", 0)(x)
    assert all(torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(2)) for i in range(64))


def test_quick_robustness_report_trains_both_recipes_and_draws_a_chart_per_perturbation(tmp_path, capsys):
    out = tmp_path / "rob"
    code, printed, _ = run(capsys, "reproduce", "--table", "robustness", "--quick", "--data", "demo", "--out", out,
                           "--threads", "1", "--max-test", "200", "--json")
    assert code == 0, printed
    results = json.loads((out / "results.json").read_text())
    assert results["models"] == ["cifake_resnet (fast recipe)", "lenet (paper recipe)"] and results["n_test"] == 200
    for label in results["models"]:
        row = results["rows"][label]
        assert 0 <= row["clean"]["accuracy"] <= 100
        for name, kind in perturbations.PERTURBATIONS.items():
            assert [p["level"] for p in row["perturbations"][name]] == list(kind.levels)
    for name in perturbations.names():
        assert (out / f"robustness-{name}.html").exists()
    drawn = sections(results)
    assert [s.chart_name for s in drawn if s.figure is not None] == [f"robustness-{n}" for n in perturbations.names()]
    assert len(drawn[1].figure.data) == 4  # two models x (accuracy, AUROC)
    report = (out / "report.md").read_text()
    assert "JPEG re-compression" in report and "quality (0-100)" in report and "trained here with their own" in report


def test_robustness_scores_chosen_checkpoints_without_training(tmp_path, capsys, monkeypatch):
    code, out, _ = run(capsys, "train", "--model", "lenet", "--data", "demo", "--epochs", "1", "--max-train", "200",
                       "--device", "cpu", "--threads", "1", "--json")
    checkpoint = json.loads(out)["checkpoint"]
    from study.experiments import robustness

    monkeypatch.setattr(robustness, "train", lambda *a, **k: pytest.fail("a checkpoint needs no training"))
    folder = tmp_path / "reports" / "robustness-1"
    code, out, _ = run(capsys, "reproduce", "--table", "robustness", "--checkpoint", checkpoint, "--data", "demo",
                       "--max-test", "100", "--out", folder, "--json")
    assert code == 0
    results = json.loads((folder / "results.json").read_text())
    [label] = results["models"]
    assert label.endswith("lenet") and results["rows"][label]["checkpoint"] == checkpoint
    assert [r["table"] for r in list_reports(tmp_path / "reports")] == ["robustness"]

    code, _, err = run(capsys, "reproduce", "--table", "robustness", "--checkpoint", tmp_path / "nope.pt",
                       "--data", "demo")
    assert code == 2 and "does not exist" in err
