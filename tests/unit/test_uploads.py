"""Images people hand us: each odd file gets a correct conversion that is said
out loud, or one clear StudyError (never a traceback), and nothing is stored."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFile

from study.errors import StudyError
from study.data.uploads import MAX_PIXELS, decode_image, read_image_file


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def noise(width: int, height: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_a_32x32_rgb_png_is_used_exactly_as_is():
    pixels = noise(32, 32)
    decoded = decode_image(encoded(Image.fromarray(pixels), "PNG"), name="a.png")
    assert np.array_equal(decoded.pixels, pixels)
    assert not decoded.converted and "used as is" in decoded.description
    assert decoded.pixels.dtype == np.uint8 and not decoded.pixels.flags.writeable


def test_a_large_photo_is_centre_cropped_and_resized_and_says_so():
    decoded = decode_image(encoded(Image.fromarray(noise(300, 200)), "JPEG", quality=90), name="photo.jpg")
    assert decoded.pixels.shape == (32, 32, 3)
    assert decoded.original_size == (300, 200) and decoded.format == "JPEG"
    assert any("centre-cropped 300x200 to 200x200" in s for s in decoded.steps)
    assert any("resized 200x200 to 32x32" in s for s in decoded.steps)


def test_webp_is_read():
    decoded = decode_image(encoded(Image.fromarray(noise(32, 32)), "WEBP", lossless=True), name="x.webp")
    assert decoded.format == "WEBP" and decoded.pixels.shape == (32, 32, 3)


@pytest.mark.parametrize("data", [b"", b"hello, this is not an image", b"%PDF-1.4\n" + bytes(200)])
def test_bytes_that_are_not_an_image_are_refused_clearly(data):
    with pytest.raises(StudyError, match="PNG, JPEG, WebP or GIF"):
        decode_image(data, name="notes.txt")


def test_a_truncated_jpeg_is_refused_not_padded(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", False)
    whole = encoded(Image.fromarray(noise(64, 64)), "JPEG", quality=95)
    with pytest.raises(StudyError, match="could not be decoded as JPEG") as info:
        decode_image(whole[: len(whole) // 2], name="cut.jpg")
    assert "cut.jpg" in str(info.value)


def test_a_decompression_bomb_is_refused_before_decoding(monkeypatch):
    # 20,000 x 20,000 one-bit pixels compress to a few tens of kilobytes of PNG.
    bomb = encoded(Image.new("1", (20_000, 20_000)), "PNG")
    assert len(bomb) < 2_000_000
    decoded_anything = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded_anything.append(self))
    with pytest.raises(StudyError, match="decompression bomb") as info:
        decode_image(bomb, name="bomb.png")
    assert "megapixels" in str(info.value)
    assert decoded_anything == []


def test_our_own_pixel_limit_applies_below_pillows(monkeypatch):
    # 8,000 x 6,000 = 48 MP: under Pillow's bomb error, over our limit; refused from the header alone.
    big = encoded(Image.new("1", (8_000, 6_000)), "PNG")
    assert 8_000 * 6_000 > MAX_PIXELS
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("pixels were decoded"))
    with pytest.raises(StudyError, match="8000 x 6000"):
        decode_image(big, name="big.png")


def test_too_many_bytes_are_refused(monkeypatch):
    import study.data.uploads as uploads

    monkeypatch.setattr(uploads, "MAX_BYTES", 1000)
    with pytest.raises(StudyError, match="MB"):
        decode_image(encoded(Image.fromarray(noise(64, 64)), "PNG"), name="x.png")


def test_16_bit_grayscale_keeps_its_top_8_bits():
    deep = np.full((32, 32), 0x8000, dtype=np.uint16)
    deep[:16] = 0xFFFF
    image = Image.fromarray(deep)
    assert image.mode.startswith("I;16")
    decoded = decode_image(encoded(image, "PNG"), name="deep.png")
    assert decoded.pixels[0, 0].tolist() == [255, 255, 255]
    assert decoded.pixels[31, 0].tolist() == [128, 128, 128]  # Pillow's own convert would clip this to 255
    assert any("16-bit" in s for s in decoded.steps)


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # full magenta + yellow = red
    decoded = decode_image(encoded(cmyk, "JPEG", quality=100), name="print.jpg")
    red, green, blue = decoded.pixels[16, 16].astype(int)
    assert red > 200 and green < 60 and blue < 60
    assert any("CMYK" in s for s in decoded.steps)


def test_palette_with_transparency_is_composited_on_white():
    image = Image.new("P", (32, 32), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * (254 * 3))
    image.paste(0, (0, 0, 16, 32))  # the left half uses index 0, declared transparent
    decoded = decode_image(encoded(image, "PNG", transparency=0), name="p.png")
    assert decoded.original_mode == "P"
    assert decoded.pixels[10, 2].tolist() == [255, 255, 255]
    assert decoded.pixels[10, 30].tolist() == [255, 0, 0]
    assert any("palette" in s for s in decoded.steps) and any("white" in s for s in decoded.steps)


def test_a_plain_palette_image_is_expanded():
    image = Image.fromarray(noise(32, 32)).convert("P")
    decoded = decode_image(encoded(image, "PNG"), name="p.png")
    assert np.array_equal(decoded.pixels, np.asarray(image.convert("RGB")))
    assert decoded.steps == ["palette expanded to RGB"]


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_composited_on_white_and_said(mode):
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, 16:, 3] = 255  # right half opaque, left half fully transparent
    image = Image.fromarray(rgba, "RGBA").convert(mode)
    decoded = decode_image(encoded(image, "PNG"), name="a.png")
    assert decoded.pixels[5, 5].tolist() == [255, 255, 255]
    assert decoded.pixels[5, 25].tolist() != [255, 255, 255]
    assert any("composited on white" in s and "50%" in s for s in decoded.steps)


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_an_animation_gives_its_first_frame_and_says_so(fmt):
    red = Image.new("RGB", (32, 32), (255, 0, 0))
    blue = Image.new("RGB", (32, 32), (0, 0, 255))
    green = Image.new("RGB", (32, 32), (0, 255, 0))
    extra = {"lossless": True} if fmt == "WEBP" else {}
    data = encoded(red, fmt, save_all=True, append_images=[blue, green], duration=100, loop=0, **extra)
    decoded = decode_image(data, name=f"anim.{fmt.lower()}")
    red_value, _, blue_value = decoded.pixels[16, 16].astype(int)
    assert red_value > 200 and blue_value < 50
    assert any("animated (3 frames): first frame" in s for s in decoded.steps)


def test_exif_orientation_is_applied():
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)  # left half red, right half blue: a landscape picture
    pixels[:, 20:] = (0, 0, 255)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    decoded = decode_image(encoded(image, "JPEG", quality=100, exif=exif.tobytes()), name="phone.jpg")
    assert any("EXIF orientation" in s for s in decoded.steps)
    # Upright it is a portrait picture: red on top, blue below.
    assert decoded.pixels[2, 16, 0] > 200 and decoded.pixels[29, 16, 2] > 200


def test_grayscale_is_copied_to_three_channels():
    gray = Image.fromarray(np.arange(32 * 32, dtype=np.uint8).reshape(32, 32) % 251, "L")
    decoded = decode_image(encoded(gray, "PNG"), name="g.png")
    assert np.array_equal(decoded.pixels[..., 0], decoded.pixels[..., 2])
    assert decoded.steps == ["grayscale copied to R, G and B"]


def test_formats_outside_the_list_are_refused(tmp_path):
    with pytest.raises(StudyError, match="PNG, JPEG, WebP or GIF"):
        decode_image(encoded(Image.fromarray(noise(32, 32)), "BMP"), name="x.bmp")


def test_read_image_file_names_a_missing_file(tmp_path):
    with pytest.raises(StudyError, match="does not exist"):
        read_image_file(tmp_path / "nowhere.png")


def test_bad_inputs_store_nothing(tmp_path, study_home):
    for data in (b"junk", encoded(Image.new("1", (20_000, 20_000)), "PNG")):
        with pytest.raises(StudyError):
            decode_image(data)
    assert not study_home.exists()
