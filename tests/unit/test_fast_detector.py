"""The fast detector (issue 16), on tiny data in seconds: the net's shapes for
each size and its Grad-CAM map, its recipe as a preset of `train`, the
temperature fitted on the validation split and carried by the checkpoint,
the new `evaluate --json` figures, the model in Live predictions, and the
one-cycle schedule."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import run_cli as run

from models.calibration import set_temperature, temperature_of
from models.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from models.predict import predict_proba
from models.zoo import create_model, get_spec, list_models
from study.ml import calibration, live
from study.ml.recipe import FAST_RECIPE, TrainConfig
from study.ml.training import lr_factor, train

SIZES = {"cifake_resnet": (16, 32, 64), "cifake_resnet_m": (64, 128, 256)}
TINY = ["--epochs", "1", "--batch-size", "50", "--max-train", "300", "--device", "cpu", "--threads", "1"]


def textured(n: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:32]
    base = np.stack([4 * xx, 4 * yy, 128 + 0 * xx], -1)[None] + rng.normal(0, 20, (n, 32, 32, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- the net

@pytest.mark.parametrize("name,widths", SIZES.items())
def test_each_size_has_its_shapes_and_an_8x8_cam_map(name, widths):
    assert name in list_models()
    torch.manual_seed(0)
    model = create_model(name)
    spec = model.spec
    assert spec.input_size == (32, 32) and spec.family == "fast" and spec.cam_resolution == 8
    assert model.stem[0].out_channels == widths[0] and model.fc.in_features == widths[2]
    assert model.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    seen = []
    layer = spec.cam_target_layer(model)[0]
    handle = layer.register_forward_hook(lambda _m, _i, out: seen.append(out))
    model.train()
    out = model(torch.rand(3, 3, 32, 32))
    handle.remove()
    assert out.shape == (3, 2) and seen[0].shape == (3, widths[2], 8, 8)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_eval_averages_the_image_and_its_mirror():
    torch.manual_seed(0)
    model = create_model("cifake_resnet").eval()
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        both = model(x)
        assert torch.allclose(both, model(x.flip(3)), atol=1e-5)  # a mirror gets the same answer
        plain = create_model("cifake_resnet", tta=False)
        plain.load_state_dict(model.state_dict())
        plain.eval()
        assert torch.allclose(both, (plain(x) + plain(x.flip(3))) / 2, atol=1e-5)


def test_other_widths_and_one_channel_inputs():
    model = create_model("cifake_resnet", widths=[8, 8, 8], in_chans=1)
    assert get_spec("cifake_resnet", in_chans=1).in_chans == 1
    assert model(torch.rand(2, 1, 32, 32)).shape == (2, 2)


# ---------------------------------------------------------------- the preset

def test_the_fast_recipe_is_a_preset_and_the_paper_models_keep_theirs():
    fast = TrainConfig.for_model("cifake_resnet")
    assert (fast.optimizer, fast.schedule, fast.augment, fast.recipe) == ("sgd", "onecycle", "flip", "fast")
    assert fast.label_smoothing == FAST_RECIPE["label_smoothing"] > 0 and fast.patience is None
    assert TrainConfig.for_model("lenet") == TrainConfig(recipe="paper")
    assert TrainConfig.for_model("cifake_resnet", lr=0.05, epochs=None).lr == 0.05  # None = not given
    assert TrainConfig(augment=True).augment == "paper" and TrainConfig(augment=False).augment == "none"


@pytest.fixture
def captured(monkeypatch):
    """`train` up to the training itself: the config it would train with."""
    from study.ml import training

    seen = []

    def fake_run(config, dataset, **kwargs):
        seen.append(config)
        return {"run_id": 1, "status": "finished", "device": "cpu", "checkpoint": None, "metrics": {},
                "history": [], "seconds_per_epoch": None}

    monkeypatch.setattr(training, "run_training", fake_run)
    return seen


def test_train_uses_the_models_recipe_unless_a_flag_overrides_it(captured, capsys):
    assert run(capsys, "train", "--model", "cifake_resnet", "--data", "demo", "--json")[0] == 0
    assert run(capsys, "train", "--model", "cifake_resnet", "--data", "demo", "--lr", "0.05", "--epochs", "3",
               "--augment", "robust", "--no-calibrate", "--json")[0] == 0
    assert run(capsys, "train", "--model", "lenet", "--data", "demo", "--augment", "--json")[0] == 0
    fast, changed, paper = captured
    assert fast == TrainConfig.for_model("cifake_resnet")
    assert (changed.lr, changed.epochs, changed.augment, changed.calibrate) == (0.05, 3, "robust", False)
    assert changed.batch_size == FAST_RECIPE["batch_size"] and changed.schedule == "onecycle"
    assert (paper.optimizer, paper.lr, paper.batch_size, paper.epochs, paper.augment) == ("adam", 2e-4, 100, 10,
                                                                                           "paper")


@pytest.mark.skipif(torch.cuda.is_available(), reason="there is a GPU here")
def test_cuda_without_a_gpu_is_one_clear_line(capsys):
    code, _, err = run(capsys, "train", "--model", "cifake_resnet", "--data", "demo", "--device", "cuda")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "no CUDA GPU" in lines[0]


def test_the_one_cycle_schedule_rises_then_falls_to_almost_zero():
    factors = [lr_factor(step, 100, "onecycle", 0.2) for step in range(100)]
    assert factors[0] == pytest.approx(0.05) and max(factors) == factors[19] == 1.0
    assert all(a <= b for a, b in zip(factors[:20], factors[1:20])) and factors[-1] == pytest.approx(1 / 80)
    assert lr_factor(7, 100, "constant", 0.2) == 1.0


# ---------------------------------------------------------------- calibration

def test_the_temperature_fit_lowers_the_log_loss_of_an_overconfident_model():
    rng = np.random.default_rng(0)
    log_odds = rng.normal(0, 2, 4000)  # honest: each label drawn with exactly this P(AI)
    labels = (rng.random(4000) < 1 / (1 + np.exp(-log_odds))).astype(int)
    overconfident = 6.0 * np.stack([np.zeros(4000), log_odds], 1)  # the same ranking, six times too sure
    temperature = calibration.fit_temperature(overconfident, labels)
    assert 4.5 < temperature < 7.5
    assert calibration.nll(overconfident, labels, temperature) < calibration.nll(overconfident, labels) - 0.3
    report = calibration.calibration_report(labels, overconfident, temperature)
    assert report["after"]["ece"] < report["before"]["ece"] and report["after"]["log_loss"] < report["before"]["log_loss"]
    assert calibration.fit_temperature(overconfident[:5], np.ones(5, dtype=int)) == 1.0  # one class: nothing to fit


def test_the_model_applies_its_temperature_and_the_checkpoint_carries_it(tmp_path):
    torch.manual_seed(0)
    model = create_model("lenet").eval()
    images = textured(4)
    raw = predict_proba(model, images)
    set_temperature(model, 4.0)
    scaled = predict_proba(model, images)
    assert temperature_of(model) == 4.0 and np.all(np.abs(scaled - 0.5) <= np.abs(raw - 0.5) + 1e-9)
    assert np.array_equal(raw >= 0.5, scaled >= 0.5)  # the predictions stay the same

    path = save_checkpoint(tmp_path / "m.pt", model)
    loaded, _spec, meta = load_checkpoint(path)
    assert meta["temperature"] == 4.0 and np.allclose(predict_proba(loaded, images), scaled)

    payload = read_checkpoint(path)  # a checkpoint from before temperatures: T = 1
    del payload["temperature"]
    torch.save(payload, tmp_path / "old.pt")
    old, _spec, meta = load_checkpoint(tmp_path / "old.pt")
    assert meta["temperature"] == 1.0 and np.allclose(predict_proba(old, images), raw)


def test_training_fits_the_temperature_on_the_validation_split():
    from study.data.demo import demo_pool

    config = TrainConfig.for_model("cifake_resnet", epochs=2, batch_size=50, max_train=300, device="cpu",
                                   num_threads=1)
    result = train(config, demo_pool(n_train=400, n_test=100))
    fitted = result.calibration
    assert fitted["n"] == result.n_val == 30 and fitted["temperature"] == temperature_of(result.model)
    assert fitted["after"]["log_loss"] <= fitted["before"]["log_loss"] + 1e-9
    assert result.summary()["temperature"] == fitted["temperature"]


# ---------------------------------------------------------------- evaluate and Live predictions

@pytest.fixture
def fast_checkpoint(capsys):
    code, out, _ = run(capsys, "train", "--model", "cifake_resnet", "--data", "demo", *TINY, "--json")
    assert code == 0
    return json.loads(out)


def test_evaluate_json_reports_the_probability_figures_before_and_after_scaling(fast_checkpoint, capsys):
    assert fast_checkpoint["metrics"]["val_calibration"]["temperature"] > 0
    code, out, _ = run(capsys, "evaluate", "--checkpoint", fast_checkpoint["checkpoint"], "--data", "demo", "--json")
    metrics = json.loads(out)["metrics"]
    assert code == 0
    for key in ("accuracy", "accuracy_leak_free", "n_leaked", "auroc", "log_loss", "ece", "temperature"):
        assert key in metrics, key
    assert 0 <= metrics["auroc"] <= 1 and 0 <= metrics["ece"] <= 1
    cal = metrics["calibration"]
    assert cal["temperature"] == metrics["temperature"] == fast_checkpoint["metrics"]["temperature"]
    assert set(cal["before"]) == set(cal["after"]) == {"log_loss", "ece", "brier"}
    assert cal["after"]["log_loss"] == pytest.approx(metrics["log_loss"])

    code, out, _ = run(capsys, "evaluate", "--checkpoint", fast_checkpoint["checkpoint"], "--data", "demo")
    assert code == 0 and "AUROC" in out


def test_live_predictions_show_the_fast_detector_with_an_8x8_map(fast_checkpoint):
    loaded = live.load_model(fast_checkpoint["checkpoint"])
    image = textured(1)[0]
    result = live.predict_and_explain(loaded, image)
    assert result.native_shape == (8, 8) and result.cam.shape == (32, 32) and not result.map_is_empty
    assert result.layer == "stage2"
    # The P(AI) beside the map is the calibrated one every other view shows.
    assert result.p_ai == pytest.approx(float(predict_proba(loaded.model, image[None])[0]), abs=1e-5)
    assert temperature_of(loaded.model) == fast_checkpoint["metrics"]["temperature"]


def test_a_training_job_passes_the_augmentation_and_plans_the_recipes_epochs():
    from study import jobs

    argv = jobs.train_argv({"model": "cifake_resnet", "augment": "robust"}, "cpu")
    assert argv[argv.index("--augment") + 1] == "robust" and "--epochs" not in argv
    assert jobs.train_argv({"model": "lenet", "augment": True}, "cpu")[-1] == "--augment"  # the paper's
    job = {"kind": "train", "run_id": None, "params": {"model": "cifake_resnet"}}
    assert jobs.progress(job)["epochs_planned"] == FAST_RECIPE["epochs"]
    assert jobs.progress({**job, "params": {"model": "lenet"}})["epochs_planned"] == TrainConfig().epochs


def test_results_model_p_ai_is_the_calibrated_one(tmp_path):
    from study.analysis.humans_vs_models import predict_set

    torch.manual_seed(0)
    model = set_temperature(create_model("lenet").eval(), 3.0)
    path = save_checkpoint(tmp_path / "m.pt", model)
    images = textured(3)
    assert np.allclose(predict_set(str(path), images), predict_proba(model, images))
