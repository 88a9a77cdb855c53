"""The model zoo: every entry builds, runs forward and backward at its input
size, declares a usable Grad-CAM layer; checkpoints round-trip; bad inputs
give clear errors."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from models import backbones
from models.checkpoint import load_checkpoint, save_checkpoint
from models.predict import predict_proba
from models.registry import CheckpointError, ModelError, UnknownModelError, WeightsUnavailableError
from models.zoo import create_model, get_spec, list_models

PAPER = ["logreg", "lenet", "lenet2", "cnn_nopool", "cnn"]
# Small inputs keep the CPU tests quick; the Grad-CAM resolution at the
# default 224 input is checked from the spec instead.
BACKBONES = {"resnet50": 64, "efficientnet_b0": 64, "densenet121": 64}
BIG_BACKBONES = {"vgg16": 64, "vit_base_patch16_224": 32}


def test_zoo_lists_paper_models_and_backbones():
    names = list_models()
    assert names[:5] == PAPER
    assert set(BACKBONES) | set(BIG_BACKBONES) <= set(names)


def _forward_backward(model, side: int, batch: int = 2):
    x = torch.rand(batch, model.spec.in_chans, side, side)
    activations = []
    layer = model.spec.cam_target_layer(model)[0]
    handle = layer.register_forward_hook(lambda _m, _i, out: activations.append(out))
    model.train()
    out = model(x)
    handle.remove()
    assert out.shape == (batch, 2)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    act = activations[0]
    if model.spec.cam_reshape is not None:
        act = model.spec.cam_reshape(act)
    return act


@pytest.mark.parametrize("name", PAPER)
def test_paper_model_forward_backward_and_cam_map(name):
    model = create_model(name)
    assert model.spec.input_size == (32, 32)
    assert model.spec.mean is None  # the paper scales to [0, 1] only
    act = _forward_backward(model, 32)
    assert act.ndim == 4 and act.shape[-1] == act.shape[-2] == model.spec.cam_resolution >= 4


@pytest.mark.parametrize("name,side", BACKBONES.items())
def test_backbone_forward_backward_without_weights(name, side):
    model = create_model(name, pretrained=False, img_size=side)
    assert model.spec.input_size == (side, side)
    assert model.spec.pretrained_available and model.spec.mean is not None
    act = _forward_backward(model, side)
    assert act.shape[-1] == side // 32 == model.spec.cam_resolution
    assert get_spec(name).cam_resolution >= 4  # at the default 224 input


@pytest.mark.slow
@pytest.mark.parametrize("name,side", BIG_BACKBONES.items())
def test_big_backbone_forward_backward_without_weights(name, side):
    model = create_model(name, pretrained=False, img_size=side)
    act = _forward_backward(model, side, batch=1)
    assert act.ndim == 4 and act.shape[-1] == model.spec.cam_resolution
    assert get_spec(name).cam_resolution >= 4


def test_vit_tokens_reshape_drops_class_token():
    tokens = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)
    grid = backbones.vit_tokens_to_map(tokens)
    assert grid.shape == (2, 3, 2, 2)
    assert torch.equal(grid[0, :, 0, 0], tokens[0, 1])


def test_cnn_is_configurable():
    small = create_model("cnn", n_conv=1, n_dense=0)
    deep = create_model("cnn", n_conv=4, n_dense=4, dense_units=512, dropout=0.2)
    assert small.spec.num_params(small) < deep.spec.num_params(deep)
    for model in (small, deep):
        act = _forward_backward(model, 32)
        assert act.shape[-1] == model.spec.cam_resolution >= 4


def test_unknown_model_lists_valid_ones():
    with pytest.raises(UnknownModelError, match="lenet2"):
        create_model("lenet3")


def test_unknown_option_is_a_model_error():
    with pytest.raises(ModelError, match="lenet"):
        create_model("lenet", depth=3)


def test_pretrained_offline_fails_fast_and_names_the_way_out(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(backbones, "_cached_weights", lambda hub_id: None)
    started = time.monotonic()
    with pytest.raises(WeightsUnavailableError) as info:
        create_model("resnet50", pretrained=True)
    assert time.monotonic() - started < 30  # not timm's minute of retries
    assert "--no-pretrained" in str(info.value) and "--weights" in str(info.value)


def test_local_weights_file_is_used(tmp_path):
    source = create_model("resnet50", pretrained=False)
    path = tmp_path / "resnet50.pth"
    torch.save(source.state_dict(), path)
    loaded = create_model("resnet50", weights=str(path))
    assert torch.equal(loaded.conv1.weight, source.conv1.weight)
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        create_model("resnet50", weights=str(tmp_path / "missing.pth"))


def _images(n=6, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def test_predict_gives_probabilities_and_enlarges_for_backbones():
    images = _images()
    for model in (create_model("lenet"), create_model("resnet50", img_size=64)):
        p = predict_proba(model, images)
        assert p.shape == (6,) and np.all((p >= 0) & (p <= 1))


def test_checkpoint_round_trip_gives_identical_predictions(tmp_path):
    torch.manual_seed(0)
    model = create_model("cnn", n_conv=3, dropout=0.1)
    path = save_checkpoint(tmp_path / "c.pt", model, metrics={"accuracy": 0.5}, dataset_fingerprint="abc")
    loaded, spec, meta = load_checkpoint(path)
    images = _images()
    assert np.array_equal(predict_proba(model, images), predict_proba(loaded, images))
    assert spec.name == "cnn" and meta["cfg"] == {"n_conv": 3, "dropout": 0.1}
    assert meta["classes"] == {0: "REAL", 1: "FAKE"} and meta["dataset_fingerprint"] == "abc"
    assert {"torch", "timm"} <= set(meta["versions"])
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write left nothing behind


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pt"
    for junk in (b"not a checkpoint at all", b"\x00\x01\x02\x03", b"abc" * 1000):
        bad.write_bytes(junk)
        with pytest.raises(CheckpointError, match="not a readable checkpoint"):
            load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(2)}, plain)
    with pytest.raises(CheckpointError, match="not a study checkpoint"):
        load_checkpoint(plain)


def _tampered(tmp_path, **changes):
    path = save_checkpoint(tmp_path / "ok.pt", create_model("lenet"))
    payload = torch.load(path, weights_only=True)
    payload.update(changes)
    torch.save(payload, path)
    return path


def test_mismatched_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="weights do not fit"):
        load_checkpoint(_tampered(tmp_path, model="lenet2"))
    with pytest.raises(CheckpointError, match="cannot build"):
        load_checkpoint(_tampered(tmp_path, model="no_such_net"))
    with pytest.raises(CheckpointError, match="checkpoint_version"):
        load_checkpoint(_tampered(tmp_path, checkpoint_version=99))
