"""Grad-CAM for one image through the grad-cam package (pytorch_grad_cam), on
each zoo entry's declared target layer.

Why these layers, and why maps mean something at 32x32 (at least 4x4 native):

| entry | layer (models/*.py) | native map | how |
| logreg | `pixels` (identity on the input) | 32x32 | Grad-CAM on the input = channel-weighted image |
| lenet, lenet2 | ReLU after the last conv, before its pool | 16x16 | last conv kept at full stride |
| cnn_nopool | ReLU after the second conv | 32x32 | no pooling at all |
| cnn | ReLU after the last conv | 32 / 2^(n_conv-1), never < 4 | pooling stops at 4x4 |
| cifake_resnet, cifake_resnet_m | `stage2` (the last residual sum) | 8x8 | two poolings only; with test-time flip averaging the model runs the image and its mirror as one batch, and the map is the image's half |
| resnet50, vgg16, efficientnet_b0, densenet121 | last stage | input/32 = 7x7 at 224 | the 32x32 image is enlarged (bilinear) to 224 before the model |
| vit_base_patch16_224 | `blocks.11.norm1`, tokens -> 14x14 | input/16 = 14x14 | same enlargement; class token dropped |

At a native 32x32 input the backbones' last stage would be 1x1, a blank map;
enlarging the input (models.predict.prepare_batch, img_size >= 128, ViT >= 64)
is what keeps 4x4 or more. The map is computed at the model's input size by
the package, then brought back to the image's own size (area averaging).

The target is P(class) after the softmax (the package's
ClassifierOutputSoftmaxTarget; see ProbabilityOf for why not the raw logit).

A CAM object is created per call and its hooks are released in a `finally`,
so a long-lived model never collects them. Not the package's `with` block: in
grad-cam 1.5.7 its __exit__ returns True on an IndexError, which would swallow
an error raised while computing the map and surface later as an unrelated
UnboundLocalError."""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch
from pytorch_grad_cam import (
    EigenCAM,
    EigenGradCAM,
    GradCAM,
    GradCAMPlusPlus,
    HiResCAM,
    LayerCAM,
    XGradCAM,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from torch import nn

from models.labels import FAKE, REAL, class_name, other_label, predicted_label
from models.predict import prepare_batch, to_tensor_nchw
from models.registry import ModelError, ModelSpec

# Name -> (class, label). Gradient-free EigenCAM ignores the target class.
METHODS: dict[str, tuple[type, str]] = {
    "gradcam": (GradCAM, "Grad-CAM"),
    "gradcam++": (GradCAMPlusPlus, "Grad-CAM++"),
    "hirescam": (HiResCAM, "HiResCAM"),
    "xgradcam": (XGradCAM, "XGrad-CAM"),
    "layercam": (LayerCAM, "LayerCAM"),
    "eigencam": (EigenCAM, "EigenCAM (first principal component; no class)"),
    "eigengradcam": (EigenGradCAM, "EigenGrad-CAM"),
}
CLASS_AWARE = frozenset(METHODS) - {"eigencam"}
DEFAULT_METHOD = "gradcam"
DISPLAY_SCALE = 8  # 32 px -> 256 px on screen and in the CLI's file
SMALL_DISPLAY_PX = 256  # pictures smaller than this are enlarged (whole pixels) to about it
MAX_DISPLAY_PX = 1024  # larger ones are drawn shrunk to this long side: a screen shows no more
UNSEEN_DIM = 0.55  # share of grey over the part of a picture the model did not see
DEFAULT_OPACITY = 0.5


@dataclass(frozen=True)
class Explanation:
    p_ai: float  # P(AI-generated) from the same forward pass the map explains
    predicted: int  # REAL (0) or FAKE (1)
    target_class: int | None  # the class explained; None for class-free methods
    method: str
    cam: np.ndarray  # (H, W) float32 in [0, 1] at the image's own size
    native_shape: tuple[int, int]  # the target layer's map, before any resizing
    layer: str  # the target layer's name in the model
    note: str | None = None  # said beside the map when it is not what was asked for

    @property
    def is_constant(self) -> bool:
        return float(self.cam.max() - self.cam.min()) < 1e-6


class ProbabilityOf:
    """The CAM target: P(class) after the softmax, the very number shown beside
    the map. With two classes its gradient is p(1-p) times that of the log-odds
    (logit_c - logit_other), so the map shows what moves the DECISION; a raw
    logit (ClassifierOutputTarget) also follows features that raise both logits
    alike, and on weak models often has no positive evidence at all (a blank
    map). category None = the class this very forward pass predicts."""

    def __init__(self, category: int | None):
        self.category = category

    def __call__(self, model_output: torch.Tensor) -> torch.Tensor:
        category = self.category
        if category is None:
            category = int(model_output.detach().argmax(dim=-1).reshape(-1)[0])
        return ClassifierOutputSoftmaxTarget(category)(model_output)


def method_names() -> list[str]:
    return list(METHODS)


def _layer_name(model: nn.Module, layer: nn.Module) -> str:
    return next((name for name, module in model.named_modules() if module is layer), type(layer).__name__)


def _hooks_on(layers: list[nn.Module]) -> int:
    return sum(len(layer._forward_hooks) + len(layer._backward_hooks) for layer in layers)


def explain(model: nn.Module, image: np.ndarray, spec: ModelSpec | None = None, *,
            method: str = DEFAULT_METHOD, target_class: int | None = None) -> Explanation:
    """P(AI) and the CAM of one (H, W, C) uint8 image (the model's input
    channels, i.e. after any image filter). target_class None = the predicted
    class. The caller serialises calls per model: hooks live on its layers.

    With two classes and a softmax target, the two classes' Grad-CAM maps are
    the positive and the negative part of one signed map. When NO region raises
    the predicted class (its map is empty: the decision comes from the biases,
    as in an untrained or undecided model), the map of the other class is
    shown instead, labelled as such (target_class and note say so)."""
    result = _explain_once(model, image, spec, method=method, target_class=target_class)
    if target_class is None and result.target_class is not None and result.is_constant:
        other = other_label(result.predicted)
        flipped = _explain_once(model, image, spec, method=method, target_class=other)
        if not flipped.is_constant:
            return replace(flipped, note=f"no region raises the predicted class {class_name(result.predicted)}; "
                                         f"the map shows the evidence for {class_name(other)} instead")
    return result


def _explain_once(model: nn.Module, image: np.ndarray, spec: ModelSpec | None = None, *,
                  method: str = DEFAULT_METHOD, target_class: int | None = None) -> Explanation:
    spec = spec or model.spec
    if method not in METHODS:
        raise ModelError(f"unknown CAM method {method!r}; choose one of: {', '.join(METHODS)}")
    if target_class not in (None, REAL, FAKE):
        raise ModelError(f"target class must be {REAL} ({class_name(REAL)}) or {FAKE} ({class_name(FAKE)}), "
                         f"not {target_class!r}")
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3:
        raise ModelError(f"expected one (H, W, C) uint8 image, got {image.shape} {image.dtype}")
    height, width = image.shape[:2]
    device = next(model.parameters()).device
    x = prepare_batch(to_tensor_nchw(image[None]).to(device), spec)
    # An identity target layer (logreg) sees the input itself, which must carry
    # a gradient for the package's hook to fire.
    x.requires_grad_(True)
    layers = spec.cam_target_layer(model)
    cam_class, _label = METHODS[method]
    targets = [ProbabilityOf(target_class)]
    was_training = model.training
    cam = cam_class(model=model, target_layers=layers, reshape_transform=spec.cam_reshape)
    try:
        grayscale = cam(input_tensor=x, targets=targets)[0]
        logits = cam.outputs.detach().float()
        native = tuple(cam.activations_and_grads.activations[0].shape[-2:])
    finally:
        cam.activations_and_grads.release()  # what the package's __exit__ does, minus swallowing errors
        model.zero_grad(set_to_none=True)  # the backward pass's grads would otherwise stay allocated
        model.train(was_training)
    leaked = _hooks_on(layers)
    if leaked:  # a grad-cam release that did not happen would grow memory call by call
        raise RuntimeError(f"{leaked} CAM hooks left on {spec.name}'s target layer")
    p_ai = float(torch.softmax(logits, dim=1)[0, FAKE])
    predicted = predicted_label(p_ai)
    cam_map = _to_image_size(np.asarray(grayscale, dtype=np.float32), (height, width))
    explained = None if method not in CLASS_AWARE else (predicted if target_class is None else int(target_class))
    return Explanation(p_ai=p_ai, predicted=predicted, target_class=explained, method=method,
                       cam=cam_map, native_shape=(int(native[0]), int(native[1])),
                       layer=", ".join(_layer_name(model, layer) for layer in layers))


def _to_image_size(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The package's map (at the model's input size) back to the image's size,
    rescaled to [0, 1]; a constant map stays all zero (nothing to show)."""
    if cam.shape != size:
        cam = cv2.resize(cam, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    low, high = float(cam.min()), float(cam.max())
    if high - low < 1e-7:
        return np.zeros(size, np.float32)
    return ((cam - low) / (high - low)).astype(np.float32)


def overlay(image_rgb: np.ndarray, cam: np.ndarray, *, opacity: float = DEFAULT_OPACITY,
            scale: int = DISPLAY_SCALE) -> np.ndarray:
    """(H*scale, W*scale, 3) uint8: the image enlarged with nearest-neighbour
    (whole pixels, as everywhere in the study) under the CAM as a JET heat map,
    `opacity` being the heat map's share (0 = image only, 1 = map only)."""
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], not {opacity}")
    image_rgb = np.asarray(image_rgb, dtype=np.uint8)
    height, width = image_rgb.shape[:2]
    size = (width * scale, height * scale)
    big = cv2.resize(image_rgb, size, interpolation=cv2.INTER_NEAREST)
    # The map is smooth by nature: bilinear enlargement shows it without blocks.
    heat = cv2.resize(np.asarray(cam, np.float32), size, interpolation=cv2.INTER_LINEAR)
    heat_rgb = cv2.cvtColor(cv2.applyColorMap(np.uint8(255 * np.clip(heat, 0, 1)), cv2.COLORMAP_JET),
                            cv2.COLOR_BGR2RGB)
    # A plain blend, not the package's show_cam_on_image: that one rescales the
    # result by its maximum, so opacity 0 would not give back the image itself.
    mixed = (1.0 - opacity) * big.astype(np.float32) + opacity * heat_rgb.astype(np.float32)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def enlarge(image_rgb: np.ndarray, scale: int = DISPLAY_SCALE) -> np.ndarray:
    """The image enlarged with nearest-neighbour, never blurred."""
    image_rgb = np.asarray(image_rgb, dtype=np.uint8)
    return cv2.resize(image_rgb, (image_rgb.shape[1] * scale, image_rgb.shape[0] * scale),
                      interpolation=cv2.INTER_NEAREST)


def display_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) at which a picture and its map are drawn: small ones enlarged
    by a whole factor (at most DISPLAY_SCALE) to about SMALL_DISPLAY_PX, large ones
    shrunk to MAX_DISPLAY_PX on the long side, the rest at their own size."""
    longest = max(width, height, 1)
    if longest < SMALL_DISPLAY_PX:
        factor = min(DISPLAY_SCALE, max(1, SMALL_DISPLAY_PX // longest))
        return width * factor, height * factor
    if longest > MAX_DISPLAY_PX:
        shrink = MAX_DISPLAY_PX / longest
        return max(1, round(width * shrink)), max(1, round(height * shrink))
    return width, height


def at_display_size(picture_rgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """The picture at `size` (default display_size): enlarged with whole pixels, or
    shrunk by area averaging."""
    picture_rgb = np.asarray(picture_rgb, dtype=np.uint8)
    height, width = picture_rgb.shape[:2]
    out_w, out_h = size or display_size(width, height)
    return cv2.resize(picture_rgb, (out_w, out_h),
                      interpolation=cv2.INTER_NEAREST if out_w >= width else cv2.INTER_AREA)


def overlay_on_original(original_rgb: np.ndarray, cam: np.ndarray, box: tuple[int, int, int], *,
                        opacity: float = DEFAULT_OPACITY, size: tuple[int, int] | None = None) -> np.ndarray:
    """The map of a model's square view (box = (left, top, side) in the original's
    pixels, study.data.model_view) drawn over the whole original at `size` (default
    display_size): the heat map over the square the model saw, the rest of the
    picture dimmed, since the model did not see it."""
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], not {opacity}")
    picture = at_display_size(original_rgb, size).astype(np.float32)
    height, width = np.shape(original_rgb)[:2]
    out_h, out_w = picture.shape[:2]
    left, top, side = box
    x0, y0 = round(left * out_w / width), round(top * out_h / height)
    x1, y1 = round((left + side) * out_w / width), round((top + side) * out_h / height)
    seen = np.zeros((out_h, out_w), bool)
    seen[y0:y1, x0:x1] = True
    heat = cv2.resize(np.asarray(cam, np.float32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    heat_rgb = cv2.cvtColor(cv2.applyColorMap(np.uint8(255 * np.clip(heat, 0, 1)), cv2.COLORMAP_JET),
                            cv2.COLOR_BGR2RGB).astype(np.float32)
    mixed = picture.copy()
    mixed[y0:y1, x0:x1] = (1.0 - opacity) * picture[y0:y1, x0:x1] + opacity * heat_rgb
    mixed[~seen] = (1.0 - UNSEEN_DIM) * picture[~seen] + UNSEEN_DIM * 128.0
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
