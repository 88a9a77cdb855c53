"""The paper's from-scratch models (section 3.4): a logistic regression on the
3,072 pixels, LeNet, LeNet2, a LeNet without pooling, and the configurable small
CNN of its hyper-parameter sweeps. All take 32x32 inputs scaled to [0, 1].

ReLU throughout: the paper does not name its activations, and ReLU is what a
2023 Keras LeNet uses. Padding "same" keeps the arithmetic of the sizes simple. ReLUs are not in-place
so that Grad-CAM can hook the activation after the last conv (the Keras habit
of explaining a conv layer with its activation included)."""
from __future__ import annotations

from dataclasses import replace

from torch import nn

from models.registry import ModelSpec, register_model

SIDE = 32


def _spec(name: str, description: str, cam: str, cam_resolution: int) -> ModelSpec:
    return ModelSpec(
        name=name,
        input_size=(SIDE, SIDE),
        mean=None,
        std=None,
        cam_target_layer=lambda model: [model.get_submodule(cam)],
        description=description,
        cam_resolution=cam_resolution,
    )


def _with_chans(spec: ModelSpec, cfg: dict) -> ModelSpec:
    # A filter such as SRM may hand over fewer channels than RGB.
    return replace(spec, in_chans=int(cfg.get("in_chans", 3)))


def _conv(cin: int, cout: int, k: int = 5) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, padding=k // 2), nn.ReLU()]


def _head(features: int, hidden: int = 500) -> list[nn.Module]:
    return [nn.Flatten(), nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, 2)]


class LogReg(nn.Module):
    """Softmax regression on raw pixels. `pixels` is an identity layer so that
    Grad-CAM has a 32x32 "layer" to explain (it reduces to gradient x input)."""

    def __init__(self, in_chans: int = 3):
        super().__init__()
        self.pixels = nn.Identity()
        self.fc = nn.Linear(in_chans * SIDE * SIDE, 2)

    def forward(self, x):
        return self.fc(self.pixels(x).flatten(1))


@register_model(_spec("logreg", "logistic regression on the 3,072 pixels", "pixels", 32), _with_chans)
def logreg(in_chans: int = 3) -> nn.Module:
    return LogReg(in_chans)


@register_model(
    _spec("lenet", "conv20@5 > pool > conv50@5 > pool > dense500 > 2", "features.4", 16), _with_chans
)
def lenet(in_chans: int = 3) -> nn.Module:
    model = nn.Sequential()
    model.features = nn.Sequential(*_conv(in_chans, 20), nn.MaxPool2d(2), *_conv(20, 50), nn.MaxPool2d(2))
    model.classifier = nn.Sequential(*_head(50 * 8 * 8))
    return model


@register_model(
    _spec("lenet2", "LeNet with each conv doubled: (conv20@5)x2 > pool > (conv50@5)x2 > pool > dense500",
          "features.8", 16),
    _with_chans,
)
def lenet2(in_chans: int = 3) -> nn.Module:
    model = nn.Sequential()
    model.features = nn.Sequential(
        *_conv(in_chans, 20), *_conv(20, 20), nn.MaxPool2d(2),
        *_conv(20, 50), *_conv(50, 50), nn.MaxPool2d(2),
    )
    model.classifier = nn.Sequential(*_head(50 * 8 * 8))
    return model


@register_model(
    _spec("cnn_nopool", "LeNet without pooling: conv20@5 > conv50@5 > dense500 (full 32x32 maps)",
          "features.3", 32),
    _with_chans,
)
def cnn_nopool(in_chans: int = 3) -> nn.Module:
    model = nn.Sequential()
    model.features = nn.Sequential(*_conv(in_chans, 20), *_conv(20, 50))
    model.classifier = nn.Sequential(*_head(50 * SIDE * SIDE))
    return model


def _cnn_cam_side(n_conv: int) -> int:
    """Side of the last conv's activation: pooling halves until 4x4, after it."""
    side = SIDE
    for _ in range(n_conv - 1):
        side = side // 2 if side > 4 else side
    return side


def _cnn_spec(spec: ModelSpec, cfg: dict) -> ModelSpec:
    return replace(_with_chans(spec, cfg), cam_resolution=_cnn_cam_side(int(cfg.get("n_conv", 2))))


def _last_activation(model: nn.Module) -> list[nn.Module]:
    convs = [i for i, m in enumerate(model.features) if isinstance(m, nn.Conv2d)]
    return [model.features[convs[-1] + 1]]  # the ReLU right after the last conv


@register_model(
    ModelSpec(
        name="cnn",
        input_size=(SIDE, SIDE),
        mean=None,
        std=None,
        cam_target_layer=_last_activation,
        description="configurable CNN for the paper's sweeps: n_conv, n_dense, dense_units, dropout "
        "(L2 = weight decay)",
        cam_resolution=16,
    ),
    _cnn_spec,
)
def cnn(
    n_conv: int = 2,
    n_dense: int = 1,
    dense_units: int = 128,
    dropout: float = 0.0,
    base_filters: int = 32,
    kernel_size: int = 3,
    in_chans: int = 3,
) -> nn.Module:
    """conv blocks (conv > ReLU > 2x2 pool, filters doubling), then n_dense
    dense layers of dense_units with dropout, then the 2-class head. Pooling
    stops at 4x4 so deep stacks keep a usable Grad-CAM map."""
    if n_conv < 1 or n_dense < 0 or dense_units < 1 or not 0 <= dropout < 1:
        raise TypeError("needs n_conv >= 1, n_dense >= 0, dense_units >= 1 and 0 <= dropout < 1")
    model = nn.Sequential()
    layers: list[nn.Module] = []
    cin, side = in_chans, SIDE
    for i in range(n_conv):
        cout = base_filters * 2 ** min(i, 3)
        layers += [nn.Conv2d(cin, cout, kernel_size, padding=kernel_size // 2), nn.ReLU()]
        if side > 4:
            layers.append(nn.MaxPool2d(2))
            side //= 2
        cin = cout
    model.features = nn.Sequential(*layers)
    head: list[nn.Module] = [nn.Flatten()]
    width = cin * side * side
    for _ in range(n_dense):
        head += [nn.Linear(width, dense_units), nn.ReLU(), nn.Dropout(dropout)]
        width = dense_units
    head.append(nn.Linear(width, 2))
    model.classifier = nn.Sequential(*head)
    return model
