"""The paper's filters, checked against answers known without running them."""
from __future__ import annotations

import numpy as np
import pytest

from study.data import filters
from study.errors import StudyError


def solid(colour, n=2, side=32) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (n, side, side, 3)).copy()


def noisy(n=3, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def test_gray_world_turns_a_one_colour_image_grey():
    out = filters.gray_world(solid((200, 100, 30)))
    assert out.dtype == np.uint8 and out.shape == (2, 32, 32, 3)
    assert np.all(out == 110)  # (200 + 100 + 30) / 3


def test_gray_world_balances_channel_means_per_image():
    images = noisy()
    images[0, ..., 0] //= 3  # a strong colour cast on one image only
    out = filters.gray_world(images).astype(float)
    means = out.mean(axis=(1, 2))
    assert np.allclose(means, means.mean(axis=1, keepdims=True), atol=1.0)


def test_gray_world_leaves_an_all_zero_channel_black():
    out = filters.gray_world(solid((0, 90, 30), n=1))
    assert np.all(out[..., 0] == 0)


def test_srm_of_a_constant_image_is_the_zero_residual():
    for name in ("srm", "srm3"):
        out = filters.apply(name, solid((17, 140, 250)))
        assert np.all(out == filters.SRM_ZERO), name


def test_srm_shapes_and_the_paper_single_channel():
    assert filters.apply("srm", noisy()).shape == (3, 32, 32, 1)
    assert filters.apply("srm3", noisy()).shape == (3, 32, 32, 3)
    assert filters.get("srm").out_channels == 1


def test_srm_kernels_are_high_pass():
    for name, kernel in filters.SRM_KERNELS.items():
        assert kernel.shape == (5, 5) and abs(kernel.sum()) < 1e-6, name
    assert filters.SRM_KERNELS["KB"][2, 2] == -1  # -4 / 4
    assert filters.SRM_KERNELS["KV"][2, 2] == -1  # -12 / 12
    assert filters.SRM_KERNELS["second_order"][2, 2] == -1  # -2 / 2


def test_srm_of_a_linear_ramp_is_zero_inside():
    # Every SRM kernel is at least second order: a linear ramp leaves no residual.
    ramp = np.tile((np.arange(32) * 4).astype(np.uint8)[None, :, None], (32, 1, 3))[None]
    out = filters.apply("srm3", ramp)
    assert np.all(out[0, 2:-2, 2:-2] == filters.SRM_ZERO)


def test_srm_sees_a_single_bright_pixel():
    image = solid((100, 100, 100), n=1)
    image[0, 16, 16] = 255
    out = filters.apply("srm", image)
    assert out[0, 16, 16, 0] < filters.SRM_ZERO  # the centre taps are negative
    assert out[0, 0, 0, 0] == filters.SRM_ZERO  # far away nothing changes


def test_median_removes_salt_noise():
    clean = solid((90, 120, 60))
    salty = clean.copy()
    rng = np.random.default_rng(1)
    ys, xs = rng.integers(0, 32, (2, 40))
    salty[:, ys, xs] = 255
    assert not np.array_equal(salty, clean)
    assert np.array_equal(filters.median_blur(salty), clean)


def test_gaussian_keeps_flat_images_and_smooths_noise():
    flat = solid((10, 20, 30))
    assert np.array_equal(filters.gaussian_blur(flat), flat)
    images = noisy()
    assert filters.gaussian_blur(images).astype(float).std() < images.astype(float).std() * 0.8


def test_filters_never_touch_read_only_input():
    images = noisy()
    images.setflags(write=False)
    before = images.copy()
    for name in filters.names():
        filters.apply(name, images)
    assert np.array_equal(images, before)


def test_apply_none_and_aliases():
    images = noisy()
    assert filters.apply(None, images) is images
    assert filters.apply("none", images) is images
    assert filters.get("Gray-World").name == "grayworld"


def test_unknown_filter_and_bad_input_name_what_was_expected():
    with pytest.raises(StudyError, match="expected one of"):
        filters.apply("sepia", noisy())
    with pytest.raises(StudyError, match="uint8"):
        filters.apply("median", noisy().astype(np.float32))


def test_none_or_an_empty_name_leaves_the_images_alone_and_a_named_filter_applies():
    images = solid((5, 5, 5))
    assert filters.apply(None, images) is images and filters.apply("", images) is images
    out = filters.apply("srm", solid((5, 5, 5)))
    assert out.shape[-1] == 1 and np.all(out == filters.SRM_ZERO)
