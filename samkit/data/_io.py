"""Reading images and mask PNGs from disk for the loaders (PIL; errors name the file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["read_image", "read_label_png", "read_binary_png", "image_size"]

#: PIL modes converted to RGB by PIL without guessing a value range
_CONVERTIBLE = {"L", "LA", "P", "PA", "RGBA", "RGBX", "CMYK", "YCbCr", "1"}
#: PIL modes that hold integer labels as they are
_LABEL_MODES = {"L", "P", "I;16", "I;16B", "I;16L", "I", "1"}


def _open(path: Path):
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(path)
        img.load()
    except FileNotFoundError:
        raise
    except (UnidentifiedImageError, OSError, ImportError) as e:
        # ImportError: ultralytics, once imported, patches Image.open to load a HEIF plugin (pi_heif)
        # when PIL cannot identify the file; without that plugin the file is still no image
        raise ValueError(f"{path}: cannot read the image file ({e})") from e
    return img


def image_size(path: Path) -> tuple[int, int]:
    """(H, W) of an image file, read from its header."""
    from PIL import Image

    with Image.open(path) as img:
        return img.height, img.width


def read_image(path: Path) -> tuple[np.ndarray, str]:
    """The image at ``path`` as HxWx3 uint8 RGB, and the file's PIL mode (e.g. "L" when converted).

    Grayscale, palette, RGBA and CMYK files are converted to RGB by PIL (alpha dropped); 16-bit and
    float files raise ValueError naming the file. EXIF orientation is not applied: annotations refer
    to the stored pixel grid.
    """
    img = _open(path)
    mode = img.mode
    if mode != "RGB":
        if mode not in _CONVERTIBLE:
            raise ValueError(
                f"{path}: image mode {mode!r} (16-bit or float) is not converted to 8-bit RGB; convert the file first"
            )
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8)), mode


def read_label_png(path: Path) -> np.ndarray:
    """An instance-label PNG as an (H, W) integer array (palette PNGs give palette indices).

    Accepted modes: L, P, 1 and 16/32-bit integer; RGB(A) label images raise ValueError, since
    colours would have to be guessed into ids.
    """
    img = _open(path)
    if img.mode not in _LABEL_MODES:
        raise ValueError(
            f"{path}: a label PNG must be single-channel (modes L, P, I;16, I, 1) "
            f"with one integer value per object; got mode {img.mode!r}"
        )
    arr = np.asarray(img)
    return arr.astype(np.uint8) if arr.dtype == np.bool_ else arr


def read_binary_png(path: Path) -> np.ndarray:
    """A one-object mask PNG as (H, W) bool: nonzero is foreground (any of R, G, B for colour
    files; alpha is ignored)."""
    arr = np.asarray(_open(path))
    if arr.ndim == 3:
        arr = arr[..., :3].any(axis=2) if arr.shape[2] >= 3 else arr[..., 0]
    return arr != 0
