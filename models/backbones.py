"""ImageNet backbones fine-tuned with a 2-class head, built through timm.

CIFAKE's 32x32 images are enlarged (bilinear, in models.predict) to each
backbone's input size, because these networks downsample by 32 (ViT: patches of
16) and a native 32x32 input would leave a 1x1 map, useless for Grad-CAM.

| entry | timm name | default input | Grad-CAM layer | map at default |
| resnet50 | resnet50 | 224 | layer4 | 7x7 |
| vgg16 | vgg16.tv_in1k | 224 | features[-1] (last pool) | 7x7 |
| efficientnet_b0 | efficientnet_b0 | 224 | bn2 (conv_head + BN + act) | 7x7 |
| densenet121 | densenet121 | 224 | features.norm5 | 7x7 |
| vit_base_patch16_224 | vit_base_patch16_224 | 224 | blocks[-1].norm1 (tokens -> 14x14) | 14x14 |

`img_size=` changes the enlargement (CNN maps are img_size/32, ViT's img_size/16);
keep it >= 128 (ViT >= 64) where Grad-CAM must give at least 4x4.

Pretrained weights come from the Hugging Face hub through timm. Offline, a
request fails within seconds (not after timm's minute of retries) and names
the two ways out: no pretrained weights, or a local weights file."""
from __future__ import annotations

import functools
import os
import socket
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

import timm
import timm.models
from huggingface_hub import try_to_load_from_cache  # timm's own dependency, loaded by timm anyway
from torch import nn

from models.registry import ModelSpec, WeightsUnavailableError, register_model

DEFAULT_SIDE = 224
HUB_PROBE_TIMEOUT_S = 3.0


def vit_tokens_to_map(tensor, prefix_tokens: int = 1):
    """(B, prefix + h*w, C) -> (B, C, h, w), dropping the class token."""
    tokens = tensor[:, prefix_tokens:, :]
    side = int(round(tokens.shape[1] ** 0.5))
    return tokens.reshape(tokens.shape[0], side, side, tokens.shape[2]).permute(0, 3, 1, 2)


def _hub_reachable() -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co").hostname
    try:
        socket.create_connection((host, 443), timeout=HUB_PROBE_TIMEOUT_S).close()
        return True
    except OSError:
        return False


def _cached_weights(hub_id: str) -> str | None:
    for filename in ("model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(hub_id, filename)
        if isinstance(found, str):
            return found
    return None


def _weights_overlay(entry: str, timm_name: str, pretrained: bool, weights: str | None) -> dict | None:
    """timm's pretrained_cfg_overlay pointing at a local file, or None to let
    timm download. Raises WeightsUnavailableError when neither can work."""
    if weights:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise WeightsUnavailableError(f"weights file {path} does not exist (expected a .pth or .safetensors)")
        return {"file": str(path.resolve())}
    if not pretrained:
        return None
    hub_id = timm.models.get_pretrained_cfg(timm_name).hf_hub_id
    cached = _cached_weights(hub_id) if hub_id else None
    if cached:
        return {"file": cached}
    if not _hub_reachable():
        raise WeightsUnavailableError(
            f"pretrained weights for {entry} ({hub_id}) are not cached and the Hugging Face hub cannot be "
            "reached; train without them (--no-pretrained, pretrained=False) or give a local weights file "
            "(--weights FILE, a .pth or .safetensors)"
        )
    return None


def _build(entry: str, timm_name: str, *, pretrained: bool = False, weights: str | None = None,
           img_size: int | None = None, drop_rate: float = 0.0) -> nn.Module:
    kwargs: dict = {"num_classes": 2, "drop_rate": drop_rate}
    if timm_name.startswith("vit_"):
        kwargs["img_size"] = img_size or DEFAULT_SIDE
    overlay = _weights_overlay(entry, timm_name, pretrained, weights)
    if overlay:
        kwargs["pretrained_cfg_overlay"] = overlay
    wants_weights = bool(pretrained or weights)
    try:
        return timm.create_model(timm_name, pretrained=wants_weights, **kwargs)
    except Exception as err:  # timm/hub raise many kinds; all mean "no weights"
        if not wants_weights:
            raise
        source = weights or "the Hugging Face hub"
        raise WeightsUnavailableError(
            f"could not load pretrained weights for {entry} from {source}: {err}; train without them "
            "(--no-pretrained) or give a local weights file (--weights FILE)"
        ) from err


def _register(entry: str, timm_name: str, cam: str, stride: int, description: str, reshape=None) -> None:
    cfg = timm.models.get_pretrained_cfg(timm_name)
    spec = ModelSpec(
        name=entry,
        input_size=(DEFAULT_SIDE, DEFAULT_SIDE),
        mean=tuple(cfg.mean),
        std=tuple(cfg.std),
        cam_target_layer=lambda model: [model.get_submodule(cam)],
        cam_reshape=reshape,
        pretrained_available=True,
        family="backbone",
        description=description,
        cam_resolution=DEFAULT_SIDE // stride,
    )

    def resolve(spec: ModelSpec, cfg: dict) -> ModelSpec:
        side = int(cfg.get("img_size") or DEFAULT_SIDE)
        return replace(spec, input_size=(side, side), cam_resolution=side // stride)

    register_model(spec, resolve)(functools.partial(_build, entry, timm_name))


_register("resnet50", "resnet50", "layer4", 32, "ResNet50 (timm resnet50), ImageNet, 2-class head")
_register("vgg16", "vgg16.tv_in1k", "features.30", 32, "VGG16 (timm vgg16.tv_in1k), ImageNet, 2-class head")
_register("efficientnet_b0", "efficientnet_b0", "bn2", 32, "EfficientNetB0 (timm), ImageNet, 2-class head")
_register("densenet121", "densenet121", "features.norm5", 32, "DenseNet121 (timm), ImageNet, 2-class head")
_register("vit_base_patch16_224", "vit_base_patch16_224", "blocks.11.norm1", 16,
          "ViT-B/16 (timm vit_base_patch16_224), ImageNet-21k>1k, 2-class head", reshape=vit_tokens_to_map)
