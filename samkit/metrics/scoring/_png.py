"""Shared helpers of the VOS scorers: reading annotation and prediction PNG folders as the official
tools do, checking roots, and mapping a per-sequence function over sequences (in order, serially
or in a process pool, with an optional progress bar)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from samkit.errors import ParameterError
from samkit.params import check_int

T = TypeVar("T")
R = TypeVar("R")


def read_png(path: str | os.PathLike, what: str) -> np.ndarray:
    """``np.array(PIL.Image.open(path))``, as the official tools read masks: a palette PNG gives its
    indices (not colours), a grayscale one its values, a 1-bit one a bool array.

    Raises `ParameterError` naming ``what`` and the file when it is missing, unreadable, or not a
    single-channel image (an RGB or RGBA PNG; the official tools fail on those too).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            array = np.array(img)
    except FileNotFoundError:
        raise ParameterError(f"{what}: no file {path}") from None
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise ParameterError(f"{what}: cannot read {path} as a PNG ({err})") from None
    if array.ndim != 2:
        raise ParameterError(
            f"{what}: {path} is not a single-channel (indexed, grayscale or 1-bit) PNG; got an array of "
            f"shape {array.shape} (an RGB mask must be converted to indices first)"
        )
    return array


def require_dir(path: str | os.PathLike, name: str) -> Path:
    """``path`` as a Path; `ParameterError` naming the parameter when it is not an existing folder."""
    if not isinstance(path, str | os.PathLike):
        raise ParameterError(f"{name} must be a folder path, got {type(path).__name__} {path!r}")
    folder = Path(path)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise ParameterError(f"{name} {str(folder)!r} {what}")
    return folder


def check_sequences(sequences: Any, name: str = "sequences") -> list[str] | None:
    """``None`` or a list of sequence names (a single string is refused: it would iterate letters)."""
    if sequences is None:
        return None
    if isinstance(sequences, str) or not isinstance(sequences, Iterable):
        raise ParameterError(f"{name} must be a list of sequence names, got {sequences!r}")
    names = list(sequences)
    for seq in names:
        if not isinstance(seq, str) or not seq or "/" in seq or "\\" in seq or seq in (".", ".."):
            raise ParameterError(f"{name} must hold plain folder names, got {seq!r}")
    return names


def check_processes(num_processes: Any) -> int:
    """``num_processes`` as an int >= 1 (`ParameterError` otherwise)."""
    return check_int("num_processes", num_processes, low=1)


def map_ordered(
    fn: Callable[[T], R],
    items: list[T],
    *,
    num_processes: int = 1,
    progress: bool = False,
    desc: str = "",
) -> Iterator[R]:
    """``fn(item)`` for each item, yielded in the items' order.

    ``num_processes == 1`` runs in this process; more runs ``fn`` in a pool of that many processes
    (started with ``spawn``, so no state of this process leaks in; ``fn`` must be a module-level
    function and the items picklable). The results are the same either way. ``progress`` shows a
    tqdm bar on stderr.
    """
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), desc=desc, unit="seq")
    try:
        if num_processes <= 1 or len(items) <= 1:
            for item in items:
                result = fn(item)
                if bar is not None:
                    bar.update(1)
                yield result
            return
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(min(num_processes, len(items))) as pool:
            for result in pool.imap(fn, items):
                if bar is not None:
                    bar.update(1)
                yield result
    finally:
        if bar is not None:
            bar.close()
