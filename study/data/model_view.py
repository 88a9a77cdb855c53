"""What a model sees of a picture of any size: its centre square, resized with
LANCZOS to the side the model's training images had (CIFAKE's: 32).

One rule for everything a model reads: CIFAKE when it is prepared, an upload on
Live predictions, a file given to `predict` or `explain`, an imported picture in
a survey hint or in a training set made from an image set (`--data set:NAME`),
so training, evaluation and prediction never disagree. The square is kept (not
the whole picture squeezed) because a generator's traces live in the pixels'
local statistics, which squeezing would change differently for each aspect
ratio. What was left out is shown honestly: the Grad-CAM overlay is drawn over
the whole original with the part the model did not see dimmed
(models.explain.overlay_on_original, using `box`)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

RESIZE_FILTER = Image.Resampling.LANCZOS
METHOD = "centre square, then Pillow LANCZOS to the model's side"


def centre_square(width: int, height: int) -> tuple[int, int, int]:
    """(left, top, side) of the largest centred square of a width x height picture."""
    side = min(width, height)
    return (width - side) // 2, (height - side) // 2, side


def square(image: Image.Image, side: int, steps: list[str] | None = None) -> Image.Image:
    """The picture's centre square at side x side; each step taken is said in `steps`."""
    width, height = image.size
    if width != height:
        left, top, short = centre_square(width, height)
        image = image.crop((left, top, left + short, top + short))
        if steps is not None:
            steps.append(f"centre-cropped {width}x{height} to {short}x{short}")
    if image.size != (side, side):
        if steps is not None:
            steps.append(f"resized {image.size[0]}x{image.size[1]} to {side}x{side} (LANCZOS)")
        image = image.resize((side, side), RESIZE_FILTER)
    return image


@dataclass(frozen=True)
class View:
    """A picture as a model of input side `side` takes it."""

    pixels: np.ndarray  # (side, side, 3) uint8
    box: tuple[int, int, int]  # (left, top, side) of the seen square in the original's pixels
    original_size: tuple[int, int]  # (width, height)
    steps: list[str] = field(default_factory=list)  # empty: the picture was already side x side

    @property
    def whole(self) -> bool:
        """Whether the model saw the whole picture (it was square)."""
        return self.box[2] == self.original_size[0] == self.original_size[1]


def model_view(rgb: np.ndarray, side: int) -> View:
    """The (side, side, 3) uint8 view of one (H, W, 3) uint8 RGB picture."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected one (H, W, 3) RGB picture, got shape {rgb.shape}")
    height, width = rgb.shape[:2]
    box = centre_square(width, height)
    if (height, width) == (side, side):
        return View(rgb, box, (width, height))
    steps: list[str] = []
    pixels = np.asarray(square(Image.fromarray(rgb, "RGB"), side, steps), dtype=np.uint8)
    return View(pixels, box, (width, height), steps)


def model_views(pictures: np.ndarray | Sequence[np.ndarray], side: int) -> np.ndarray:
    """(N, side, side, 3) uint8 of pictures of any sizes; an array already at the
    side is returned as it is."""
    if isinstance(pictures, np.ndarray) and pictures.ndim == 4 and pictures.shape[1:3] == (side, side):
        return pictures
    if len(pictures) == 0:
        return np.zeros((0, side, side, 3), np.uint8)
    return np.stack([model_view(picture, side).pixels for picture in pictures])
