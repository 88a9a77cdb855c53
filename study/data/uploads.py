"""Any image a person hands us (page upload, CLI path) -> upright RGB uint8 at
its own size (and CIFAKE's 32x32 view of it), with every conversion said out loud, and every bad file refused with one
clear StudyError instead of a traceback. Nothing is written anywhere.

Safety: the byte size is capped, the declared pixel size is checked from the
header BEFORE any pixel is decoded (Pillow's Image.open reads only the header),
and Pillow's own decompression-bomb guard (Image.MAX_IMAGE_PIXELS) stays on as
a second line. Truncated files are refused, never padded with grey.

The resize rule is every model's (study/data/model_view.py): the centre square,
LANCZOS to the model's side (32 for CIFAKE's models), so an upload is treated
like a CIFAKE image would be."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from study.data.datasets import SIZE
from study.data.model_view import square
from study.errors import StudyError

FORMATS = ("PNG", "JPEG", "WEBP", "GIF")  # what Pillow may try; anything else is refused
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp"]  # what the page's uploader offers
MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel photo is fine; a 20,000 x 20,000 "image" is not
SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
WHITE = (255, 255, 255)
EXIF_ORIENTATION = 0x0112


class ImageInputError(StudyError):
    """An uploaded or named file that cannot be used as an image."""


@dataclass(frozen=True)
class DecodedImage:
    pixels: np.ndarray  # (32, 32, 3) uint8, read-only: CIFAKE's view of it
    original: np.ndarray  # (H, W, 3) uint8 upright RGB at its own size, read-only (what models' views start from)
    name: str
    format: str
    original_size: tuple[int, int]  # (width, height) as declared by the file
    original_mode: str
    steps: list[str] = field(default_factory=list)  # what was done, in order; empty = used as is
    reading_steps: tuple[str, ...] = ()  # the steps to `original` alone (orientation, mode), not the 32x32 view's

    @property
    def converted(self) -> bool:
        return bool(self.steps)

    @property
    def description(self) -> str:
        head = f"{self.format} {self.original_size[0]}x{self.original_size[1]} {self.original_mode}"
        return f"{head}: " + ("; ".join(self.steps) if self.steps else "already 32x32 RGB, used as is")

    @property
    def read_as(self) -> str:
        """How the file was read into `original` (format, size, mode, and any orientation
        or mode steps), without CIFAKE's 32x32 view: each model makes its own."""
        head = f"{self.format} {self.original_size[0]}x{self.original_size[1]} {self.original_mode}"
        return head + "".join(f"; {step}" for step in self.reading_steps)

    def as_dict(self) -> dict:
        return {"name": self.name, "format": self.format, "original_size": list(self.original_size),
                "original_mode": self.original_mode, "steps": list(self.steps), "description": self.description}


def read_image_file(path: str | Path) -> DecodedImage:
    """decode_image for a file on disk (the CLI), with the same checks."""
    path = Path(path)
    if not path.is_file():
        raise ImageInputError(f"image file {path} does not exist (expected a PNG, JPEG, WebP or GIF file)")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ImageInputError(f"{path.name} is {size / 1e6:.1f} MB; images up to {MAX_BYTES / 1e6:.0f} MB are accepted")
    return decode_image(path.read_bytes(), name=path.name)


def decode_image(data: bytes, name: str = "upload") -> DecodedImage:
    """Bytes of a PNG, JPEG, WebP or GIF -> 32x32 RGB uint8 and what was done to it."""
    rgb, fmt, (width, height), mode, steps = decode_rgb(data, name)
    original = np.array(rgb, dtype=np.uint8)
    reading_steps = tuple(steps)
    pixels = _to_32(rgb, steps)
    pixels.flags.writeable = original.flags.writeable = False
    return DecodedImage(pixels=pixels, original=original, name=name, format=fmt, original_size=(width, height),
                        original_mode=mode, steps=steps, reading_steps=reading_steps)


def decode_rgb(data: bytes, name: str = "upload") -> tuple[Image.Image, str, tuple[int, int], str, list[str]]:
    """Bytes of a PNG, JPEG, WebP or GIF -> an upright RGB image at its own size, with
    (format, declared size, mode, the steps taken), under the same caps and checks."""
    if not data:
        raise ImageInputError(f"{name} is empty; expected a PNG, JPEG, WebP or GIF image")
    if len(data) > MAX_BYTES:
        raise ImageInputError(f"{name} is {len(data) / 1e6:.1f} MB; images up to {MAX_BYTES / 1e6:.0f} MB are accepted")
    image = _open_header(data, name)
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageInputError(
            f"{name} declares {width} x {height} pixels ({width * height / 1e6:.0f} megapixels); images up to "
            f"{MAX_PIXELS / 1e6:.0f} megapixels are accepted (refused before decoding: it may be a decompression bomb)")
    fmt, mode = image.format or "?", image.mode
    steps: list[str] = []
    if getattr(image, "is_animated", False):
        # Frame 0 is what Image.open positions on; n_frames is cheap after the size check.
        steps.append(f"animated ({getattr(image, 'n_frames', '?')} frames): first frame used")
    try:
        image.load()  # the only place pixels are decoded; raises on truncated data
        rgb = _to_rgb(image, steps)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as err:
        raise ImageInputError(f"{name} could not be decoded as {fmt}: {_reason(err)}") from None
    return rgb, fmt, (width, height), mode, steps


def _open_header(data: bytes, name: str) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError:
        raise ImageInputError(f"{name} declares more pixels than Pillow's safety limit; images up to "
                              f"{MAX_PIXELS / 1e6:.0f} megapixels are accepted (refused: possible decompression bomb)") from None
    except UnidentifiedImageError:
        raise ImageInputError(f"{name} is not an image this study reads; expected a PNG, JPEG, WebP or GIF file") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:  # a header that lies about itself
        raise ImageInputError(f"{name} has a broken image header: {_reason(err)}") from None


def _reason(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if "truncated" in text.lower():
        return f"{text} (the file ends early: re-save or re-download it)"
    return text


def _to_rgb(image: Image.Image, steps: list[str]) -> Image.Image:
    """Any Pillow mode -> RGB, recording each step."""
    orientation = image.getexif().get(EXIF_ORIENTATION)
    if orientation not in (None, 1):  # exif_transpose copies even when there is nothing to do
        image = ImageOps.exif_transpose(image)
        steps.append(f"turned upright by its EXIF orientation tag ({orientation})")
    mode = image.mode
    if mode in SIXTEEN_BIT:
        # Pillow's own I;16 -> L clips at 255; keep the top 8 of the 16 bits instead (as study.data does).
        deep = np.asarray(image, dtype=np.int64)
        image = Image.fromarray(np.clip(deep >> 8, 0, 255).astype(np.uint8), "L")
        steps.append(f"{mode} (16-bit) scaled to 8-bit")
        mode = "L"
    if mode == "P":
        if "transparency" in image.info:
            image = image.convert("RGBA")
            steps.append("palette with transparency expanded to RGBA")
            mode = "RGBA"
        else:
            steps.append("palette expanded to RGB")
            return image.convert("RGB")
    if mode in ALPHA_MODES:
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba)[..., 3]
        background = Image.new("RGBA", rgba.size, WHITE + (255,))
        image = Image.alpha_composite(background, rgba).convert("RGB")
        transparent = float((alpha < 255).mean())
        steps.append(f"alpha channel ({mode}) composited on white ({transparent:.0%} of pixels not opaque)")
        return image
    if mode == "CMYK":
        steps.append("CMYK converted to RGB")
        return image.convert("RGB")
    if mode in ("L", "1"):
        steps.append("grayscale copied to R, G and B")
        return image.convert("RGB")
    if mode != "RGB":
        steps.append(f"{mode} converted to RGB")
        return image.convert("RGB")
    return image


def _to_32(image: Image.Image, steps: list[str]) -> np.ndarray:
    return np.array(square(image, SIZE, steps), dtype=np.uint8)
