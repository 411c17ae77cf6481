"""Reading images and mask PNGs from disk for the loaders (PIL; errors name the file), and
`resolve_inside`, the one check that keeps paths read from dataset files inside their root."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from samkit.errors import DatasetError

__all__ = ["resolve_inside", "read_image", "read_label_png", "read_binary_png", "image_size", "check_mask_size"]

#: PIL modes converted to RGB by PIL without guessing a value range
_CONVERTIBLE = {"L", "LA", "P", "PA", "RGBA", "RGBX", "CMYK", "YCbCr", "1"}
#: PIL modes that hold integer labels as they are
_LABEL_MODES = {"L", "P", "I;16", "I;16B", "I;16L", "I", "1"}


def resolve_inside(root: str | os.PathLike, relative: str | os.PathLike, *, what: str) -> Path:
    """``root / relative``, checked to stay inside ``root`` once every symlink is followed.

    For every path a loader takes from a file rather than from the user (an annotation's
    ``file_name``, a line of a list file, an entry of a folder listing). ``relative`` may be
    absolute or hold ``..`` as long as it resolves inside ``root``. ``what`` names the record in the
    error (e.g. ``"ann.json: image 7 file_name"``). The path returned is the joined one, not the
    resolved one (names stay as the dataset spells them); it need not exist.

    Raises `DatasetError` (a ValueError) naming ``what``, the path, where it resolves and the root.
    """
    joined = Path(root) / relative
    try:
        real_root = Path(root).resolve()
        real = joined.resolve()
    except (OSError, RuntimeError, ValueError) as e:  # a symlink loop, a NUL byte
        raise DatasetError(f"{what}: cannot resolve the path {str(relative)!r} under {root} ({e})") from None
    if not real.is_relative_to(real_root):
        raise DatasetError(
            f"{what}: the path {str(relative)!r} resolves to {real}, outside the dataset root {real_root}; "
            "paths read from dataset files must stay inside their root (no '..', absolute path or "
            "symlink that leads out)"
        )
    return joined


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


def check_mask_size(image_id: str, image_path: Path, image: np.ndarray, mask_path: Path, mask: np.ndarray) -> None:
    """ValueError naming both files unless ``mask`` is ``image``'s height x width."""
    if mask.shape[:2] != image.shape[:2]:
        raise ValueError(
            f"Image {image_id!r}: mask {mask_path} is {mask.shape[0]}x{mask.shape[1]} (HxW) "
            f"but image {image_path} is {image.shape[0]}x{image.shape[1]}"
        )
