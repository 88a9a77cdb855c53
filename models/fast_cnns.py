"""A fast from-scratch detector for 32x32 images, in the manner of airbench and
of the DAWNBench ResNets: a small BatchNorm ResNet-style net that trains to a
strong CIFAKE accuracy in minutes on a CPU, with its recipe in
study/ml/recipe.py (one-cycle schedule, label smoothing, flips).

    stem     conv3x3 > BN > GELU                                 32x32, w0
    stage1   conv3x3 > maxpool > BN > GELU, + residual(2 x conv)  16x16, w1
    stage2   conv3x3 > maxpool > BN > GELU, + residual(2 x conv)   8x8, w2
    head     global average pool > linear(w2, 2)

Why this shape:
- Only two poolings: what tells a generated image from a photo at 32x32 is
  mostly fine texture, and the last stage stays at 8x8, which is also the
  Grad-CAM map (stage2's output, the residual sum): 8x8 native, every cell a
  4x4 patch of the image, instead of the 1x1 of a deeper net.
- Pool before BatchNorm (airbench's order): the BN and activation run on a
  quarter of the pixels, for the same function up to the pooling's order.
- Convs without bias: the BatchNorm after each one has its own.
- channels_last: the memory layout oneDNN (CPU) and cuDNN (GPU) convolve
  fastest; the weights are stored so and each input is turned so.
- Test-time flip averaging (`tta`, on by default): in eval mode the logits are
  the mean over the image and its horizontal mirror, computed as ONE batch of
  both, so a Grad-CAM hook sees one activation whose first half is the image
  itself. Training mode sees the image alone.

Sizes: `cifake_resnet` (s: widths 16/32/64, ~0.12M parameters) is the CPU
size; `cifake_resnet_m` (64/128/256, ~1.8M) the GPU size. `widths=[a, b, c]`
sets other widths."""
from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from models.registry import ModelSpec, register_model

SIDE = 32
WIDTHS = {"s": (16, 32, 64), "m": (64, 128, 256)}
CAM_SIDE = SIDE // 4  # two 2x2 poolings


def _conv_bn(cin: int, cout: int, pool: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, bias=False)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    layers += [nn.BatchNorm2d(cout), nn.GELU()]
    return nn.Sequential(*layers)


class Stage(nn.Module):
    """A widening conv with pooling, then a residual pair of convs."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.down = _conv_bn(cin, cout, pool=True)
        self.residual = nn.Sequential(_conv_bn(cout, cout), _conv_bn(cout, cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(x)
        return x + self.residual(x)


class CifakeResNet(nn.Module):
    def __init__(self, widths: tuple[int, int, int], in_chans: int = 3, tta: bool = True):
        super().__init__()
        w0, w1, w2 = widths
        self.tta = bool(tta)
        self.stem = _conv_bn(in_chans, w0)
        self.stage1 = Stage(w0, w1)
        self.stage2 = Stage(w1, w2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(w2, 2)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stage2(self.stage1(self.stem(x)))

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        if self.training or not self.tta:
            return self._logits(x)
        n = x.shape[0]
        both = self._logits(torch.cat([x, x.flip(3)]))
        return (both[:n] + both[n:]) / 2


def _resolve(spec: ModelSpec, cfg: dict) -> ModelSpec:
    # A filter such as SRM may hand over fewer channels than RGB.
    return replace(spec, in_chans=int(cfg.get("in_chans", 3)))


def _spec(name: str, size: str) -> ModelSpec:
    w = WIDTHS[size]
    return ModelSpec(
        name=name,
        input_size=(SIDE, SIDE),
        mean=None,  # [0, 1]: the stem's BatchNorm does the centring
        std=None,
        cam_target_layer=lambda model: [model.stage2],
        family="fast",
        description=f"fast BatchNorm ResNet (size {size}: widths {w[0]}/{w[1]}/{w[2]}), from scratch, "
                    "flip-averaged at test time",
        cam_resolution=CAM_SIDE,
    )


def _build(size: str, in_chans: int = 3, tta: bool = True, widths=None) -> nn.Module:
    chosen = tuple(int(v) for v in (widths or WIDTHS[size]))
    if len(chosen) != 3 or min(chosen) < 1:
        raise TypeError(f"widths must be three positive numbers, got {widths!r}")
    return CifakeResNet(chosen, in_chans=in_chans, tta=tta).to(memory_format=torch.channels_last)


@register_model(_spec("cifake_resnet", "s"), _resolve)
def cifake_resnet(in_chans: int = 3, tta: bool = True, widths=None) -> nn.Module:
    return _build("s", in_chans, tta, widths)


@register_model(_spec("cifake_resnet_m", "m"), _resolve)
def cifake_resnet_m(in_chans: int = 3, tta: bool = True, widths=None) -> nn.Module:
    return _build("m", in_chans, tta, widths)
