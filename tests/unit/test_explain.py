"""Grad-CAM maps that mean something at 32x32, for every zoo model, without
hooks piling up; the overlay; and `python -m study explain`."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from models import explain as cam
from models.checkpoint import save_checkpoint
from models.predict import predict_proba
from models.registry import ModelError
from models.zoo import create_model, list_models
from study.ml import live
from study.cli import main

# Backbones at the smallest enlargement that still gives a 4x4 map (fast on a CPU).
SMALL = {"resnet50": {"img_size": 128}, "vgg16": {"img_size": 128}, "efficientnet_b0": {"img_size": 128},
         "densenet121": {"img_size": 128}, "vit_base_patch16_224": {"img_size": 64}}


def textured_image(seed: int = 0) -> np.ndarray:
    """An ordinary, non-constant picture: a gradient, a blob and some grain."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:32]
    blob = 120 * np.exp(-((xx - 20) ** 2 + (yy - 12) ** 2) / 40.0)
    base = np.stack([4 * xx, 4 * yy, 128 + 0 * xx], -1) + blob[..., None]
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def build(name: str):
    torch.manual_seed(0)  # untrained weights, but the same ones every run
    return create_model(name, **SMALL.get(name, {})).eval()


@pytest.fixture(scope="module")
def lenet():
    return build("lenet")


@pytest.mark.parametrize("name", list_models())
def test_every_zoo_model_gives_a_non_constant_map_at_the_images_size(name):
    model = build(name)
    layers = model.spec.cam_target_layer(model)
    result = cam.explain(model, textured_image(), method="gradcam")
    assert result.cam.shape == (32, 32) and result.cam.dtype == np.float32
    assert not result.is_constant, f"{name}: constant Grad-CAM map"
    assert 0.0 <= result.cam.min() and result.cam.max() <= 1.0
    assert min(result.native_shape) >= 4, f"{name}: native map {result.native_shape} is under 4x4"
    assert 0.0 <= result.p_ai <= 1.0
    # The predicted class, or (said in the note) the other one when nothing supports the prediction.
    assert result.target_class == result.predicted or (result.note and "instead" in result.note)
    assert all(not layer._forward_hooks and not layer._backward_hooks for layer in layers)


@pytest.mark.parametrize("method", cam.method_names())
def test_every_method_runs_for_each_class(lenet, method):
    for target in (None, 0, 1):
        result = cam.explain(lenet, textured_image(1), method=method, target_class=target)
        assert result.cam.shape == (32, 32)
        assert result.method == method
        if method == "eigencam":
            assert result.target_class is None  # a class-free method says so instead of pretending
        else:
            expected = (result.predicted if target is None else target)
            assert result.target_class == expected or (target is None and result.note)


def test_the_chosen_class_changes_the_map(lenet):
    image = textured_image(2)
    real = cam.explain(lenet, image, method="gradcam", target_class=0).cam
    fake = cam.explain(lenet, image, method="gradcam", target_class=1).cam
    assert not np.allclose(real, fake)


def test_the_probability_is_the_same_as_plain_prediction(lenet):
    images = np.stack([textured_image(s) for s in range(3)])
    plain = predict_proba(lenet, images)
    explained = [cam.explain(lenet, image).p_ai for image in images]
    np.testing.assert_allclose(explained, plain, atol=1e-5)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


def test_200_calls_leave_no_hooks_and_do_not_grow_memory(lenet):
    image = textured_image(3)
    layers = lenet.spec.cam_target_layer(lenet)
    for _ in range(20):  # allocator warm-up
        cam.explain(lenet, image)
    before = _rss_bytes()
    for i in range(200):
        cam.explain(lenet, image, method=("gradcam", "gradcam++", "eigencam")[i % 3])
    grown = _rss_bytes() - before
    assert sum(len(layer._forward_hooks) + len(layer._backward_hooks) for layer in layers) == 0
    assert not any(module._forward_hooks for module in lenet.modules())
    assert grown < 30 * 2**20, f"resident memory grew by {grown / 2**20:.1f} MiB over 200 calls"


def test_an_index_error_inside_the_cam_surfaces_as_itself_and_leaves_no_hooks():
    model = build("lenet")
    layers = model.spec.cam_target_layer(model)

    def broken_hook(module, inputs, output):
        raise IndexError("a bug inside the model's forward")

    handle = layers[0].register_forward_hook(broken_hook)
    try:
        with pytest.raises(IndexError, match="a bug inside"):  # not swallowed by grad-cam's __exit__
            cam.explain(model, textured_image())
    finally:
        handle.remove()
    assert sum(len(layer._forward_hooks) + len(layer._backward_hooks) for layer in layers) == 0


def test_bad_method_and_class_are_named(lenet):
    with pytest.raises(ModelError, match="gradcam"):
        cam.explain(lenet, textured_image(), method="magic")
    with pytest.raises(ModelError, match="0 \\(REAL\\) or 1 \\(FAKE\\)"):
        cam.explain(lenet, textured_image(), target_class=2)


def test_overlay_is_the_enlarged_image_under_the_map():
    image = textured_image()
    heat = np.zeros((32, 32), np.float32)
    heat[:8, :8] = 1.0
    plain = cam.overlay(image, heat, opacity=0.0)
    assert plain.shape == (256, 256, 3) and plain.dtype == np.uint8
    assert np.array_equal(plain, cam.enlarge(image))  # opacity 0 is the image itself
    assert np.array_equal(cam.enlarge(image)[:8, :8], np.broadcast_to(image[0, 0], (8, 8, 3)))  # whole pixels
    full = cam.overlay(image, heat, opacity=1.0)
    assert full[10, 10].tolist() != full[200, 200].tolist()  # hot corner vs cold rest


def test_live_model_from_a_checkpoint_is_locked_and_consistent(tmp_path, lenet):
    path = save_checkpoint(tmp_path / "lenet.pt", lenet)
    loaded = live.load_model(path)
    result = live.predict_and_explain(loaded, textured_image(), true_label=1)
    assert result.correct == (result.predicted == 1)
    assert not loaded.lock.locked()
    assert set(result.as_dict()) >= {"p_ai", "predicted", "method", "cam_layer", "cam_native"}


# --- the command line ---------------------------------------------------------------

@pytest.fixture
def checkpoint(tmp_path, lenet):
    return save_checkpoint(tmp_path / "lenet.pt", lenet)


def test_cli_writes_the_overlay_and_reports_p_ai(tmp_path, checkpoint, capsys):
    image_path = tmp_path / "photo.png"
    Image.fromarray(np.repeat(np.repeat(textured_image(), 3, 0), 2, 1)).save(image_path)  # 96x64: converted
    out = tmp_path / "cam.png"
    code = main(["explain", "--checkpoint", str(checkpoint), str(image_path), "--out", str(out),
                 "--method", "gradcam++", "--target-class", "1", "--json"])
    assert code == 0
    record = json.loads(capsys.readouterr().out)
    assert 0.0 <= record["p_ai"] <= 1.0 and record["predicted"] in ("REAL", "FAKE")
    assert record["target_class"] == "FAKE" and record["method"] == "gradcam++"
    assert record["cam_native"] == [16, 16]
    assert record["model_input"]["side"] == 32 and record["model_input"]["square"] == [0, 16, 64]
    assert record["model_input"]["steps"] == ["centre-cropped 64x96 to 64x64", "resized 64x64 to 32x32 (LANCZOS)"]
    with Image.open(out) as written:  # over the whole 64x96 picture, enlarged 2x with whole pixels
        assert written.size == (128, 192) and written.mode == "RGB"


def test_cli_readable_output(tmp_path, checkpoint, capsys):
    image_path = tmp_path / "a.png"
    Image.fromarray(textured_image()).save(image_path)
    assert main(["explain", "--checkpoint", str(checkpoint), str(image_path), "--out", str(tmp_path / "c.png")]) == 0
    text = capsys.readouterr().out
    assert "P(AI-generated) =" in text and "overlay written to" in text


@pytest.mark.parametrize("content", [b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_cli_bad_image_is_one_line_and_writes_nothing(tmp_path, checkpoint, capsys, content):
    image_path = tmp_path / "bad.png"
    image_path.write_bytes(content)
    out = tmp_path / "cam.png"
    assert main(["explain", "--checkpoint", str(checkpoint), str(image_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "bad.png" in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.png", "lenet.pt"]


def test_cli_missing_output_folder_and_missing_checkpoint(tmp_path, checkpoint, capsys):
    image_path = tmp_path / "a.png"
    Image.fromarray(textured_image()).save(image_path)
    assert main(["explain", "--checkpoint", str(checkpoint), str(image_path), "--out",
                 str(tmp_path / "no" / "cam.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
    missing = tmp_path / "missing.pt"
    assert main(["explain", "--checkpoint", str(missing), str(image_path), "--out", str(tmp_path / "c.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing.pt" in err
