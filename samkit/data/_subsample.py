"""Reproducible subsampling of images and objects, and the per-object skip rules of every loader.

Subsampling sorts ids first (naturally: digit runs compare as numbers, "sa_2" < "sa_10"), then
draws without replacement from a generator seeded by ``(seed, salt...)`` through SHA-256, so that
the same seed gives the same images, and the same objects of an image whatever else was drawn or
iterated before it.
Chosen ids are returned in sorted order.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

__all__ = ["check_options", "id_sort_key", "rng_for", "subsample", "select_objects"]

_DIGITS = re.compile(r"(\d+)")


def check_options(max_images: int | None, max_objects: int | None, min_area: int) -> None:
    """ValueError unless max_images / max_objects are None or ints >= 0 and min_area an int >= 0."""
    for name, value in (("max_images", max_images), ("max_objects", max_objects)):
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 0):
            raise ValueError(f"{name} must be None or an int >= 0, got {value!r}")
    if not isinstance(min_area, (int, np.integer)) or min_area < 0:
        raise ValueError(f"min_area must be an int >= 0 (pixels), got {min_area!r}")


def id_sort_key(value: str) -> tuple[tuple, str]:
    """Natural sort key: runs of digits compare as numbers ("2" < "10", "sa_2" < "sa_10")."""
    parts = _DIGITS.split(value)  # str, digits, str, digits, ..., str: types align by position
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), value


def rng_for(seed: int, *salt: str) -> np.random.Generator:
    """A numpy Generator determined by ``seed`` and ``salt`` alone (stable across runs)."""
    digest = hashlib.sha256(repr((int(seed),) + tuple(salt)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def subsample(ids: Sequence[str], k: int | None, seed: int, *salt: str) -> list[str]:
    """``k`` of ``ids`` drawn uniformly without replacement, in sorted order (all if k is None).

    Duplicated ids raise ValueError: subsampling by id needs unique ids.
    """
    _check_unique(ids)
    ordered = sorted(ids, key=id_sort_key)
    if k is None or k >= len(ordered):
        return ordered
    chosen = np.sort(rng_for(seed, *salt).choice(len(ordered), size=k, replace=False))
    return [ordered[i] for i in chosen]


def select_objects(
    ids: Sequence[str],
    areas: Sequence[int],
    iscrowd: Sequence[bool] | None,
    *,
    image_id: str,
    min_area: int,
    max_objects: int | None,
    seed: int,
    skip_crowd: bool = True,
    empty_reason: str = "empty",
) -> tuple[list[int], list[dict], int]:
    """Which objects of one image to keep: ``(indices into ids, skipped records, number eligible)``.

    Rules, in order, one reason per object: crowd (when ``skip_crowd``), ``empty_reason``
    (0 pixels), "tiny" (fewer than ``min_area`` pixels). The eligible objects are then subsampled to
    ``max_objects`` (seeded by ``seed`` and ``image_id``); objects left out by subsampling are not
    skipped records, the third value (eligible count) says how many there were. Indices come in
    sorted-id order; skipped records are ``{"object_id", "reason"}``.
    """
    _check_unique(ids)
    crowd = list(iscrowd) if iscrowd is not None else [False] * len(ids)
    position = {object_id: i for i, object_id in enumerate(ids)}
    skipped: list[dict] = []
    eligible: list[str] = []
    for object_id in sorted(ids, key=id_sort_key):
        i = position[object_id]
        if skip_crowd and crowd[i]:
            reason = "crowd"
        elif areas[i] == 0:
            reason = empty_reason
        elif areas[i] < min_area:
            reason = "tiny"
        else:
            eligible.append(object_id)
            continue
        skipped.append({"object_id": object_id, "reason": reason})
    chosen = subsample(eligible, max_objects, seed, "objects", image_id)
    return [position[o] for o in chosen], skipped, len(eligible)


def _check_unique(ids: Sequence[str]) -> None:
    if len(set(ids)) != len(ids):
        dupes = sorted((i for i, n in Counter(ids).items() if n > 1), key=id_sort_key)[:5]
        raise ValueError(f"ids must be unique; duplicated: {dupes}")
