import warnings

import numpy as np
import pytest
from PIL import Image

from samkit.errors import ImageConversionWarning, ImageError
from samkit.images import to_rgb_uint8

RGB = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)


def test_rgb_uint8_passes_unchanged_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = to_rgb_uint8(RGB)
    np.testing.assert_array_equal(out, RGB)
    assert out.flags.c_contiguous


def test_non_contiguous_view_is_made_contiguous():
    view = RGB[:, ::-1]
    out = to_rgb_uint8(view)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, view)


@pytest.mark.parametrize("gray", [RGB[..., 0], RGB[..., :1]])
def test_grayscale_is_converted_with_warning(gray):
    with pytest.warns(ImageConversionWarning, match="Grayscale .* converted to RGB"):
        out = to_rgb_uint8(gray)
    assert out.shape == (4, 5, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], RGB[..., 0])


def test_rgba_is_converted_by_dropping_alpha():
    rgba = np.concatenate([RGB, np.full((4, 5, 1), 7, np.uint8)], axis=2)
    with pytest.warns(ImageConversionWarning, match="RGBA .* dropping the alpha"):
        out = to_rgb_uint8(rgba)
    np.testing.assert_array_equal(out, RGB)


@pytest.mark.parametrize(
    "dtype, message",
    [
        (np.float32, "Float images .* rejected"),
        (np.float64, "Float images .* rejected"),
        (np.uint16, "16-bit images .* rejected"),
        (np.bool_, "masks, not images"),
        (np.int32, "must be uint8"),
    ],
)
def test_other_dtypes_are_rejected(dtype, message):
    with pytest.raises(ImageError, match=message):
        to_rgb_uint8(RGB.astype(dtype))


@pytest.mark.parametrize(
    "shape, message",
    [
        ((4, 5, 2), "Expected 3 colour channels"),
        ((3, 4, 5), "Expected 3 colour channels"),
        ((2, 4, 5, 3), "Batches are not accepted"),
        ((0, 5, 3), "empty"),
    ],
)
def test_bad_shapes_are_rejected(shape, message):
    with pytest.raises(ImageError, match=message):
        to_rgb_uint8(np.zeros(shape, np.uint8))


def test_not_an_array_is_rejected():
    with pytest.raises(ImageError, match="got list"):
        to_rgb_uint8([[1, 2, 3]])


def test_pil_images():
    np.testing.assert_array_equal(to_rgb_uint8(Image.fromarray(RGB)), RGB)
    with pytest.warns(ImageConversionWarning, match="mode 'RGBA' converted to RGB by PIL \\(alpha dropped\\)"):
        out = to_rgb_uint8(Image.fromarray(RGB).convert("RGBA"))
    np.testing.assert_array_equal(out, RGB)
    with pytest.warns(ImageConversionWarning, match="mode 'L'"):
        assert to_rgb_uint8(Image.fromarray(RGB[..., 0])).shape == (4, 5, 3)
    with pytest.raises(ImageError, match="mode 'I;16'"):
        to_rgb_uint8(Image.fromarray(RGB[..., 0].astype(np.uint16)))
    with pytest.raises(ImageError, match="mode 'F'"):
        to_rgb_uint8(Image.fromarray(RGB[..., 0].astype(np.float32)))
