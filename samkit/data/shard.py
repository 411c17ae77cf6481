"""Shards of a dataset: ``shard="i/n"`` keeps the i-th of n deterministic, disjoint parts.

A sweep splits one evaluation into n ordinary jobs (one per GPU or node), each with its own rows and
resume; `samkit.results.merge_runs` puts them back together and refuses a missing or duplicated shard.

The split is by item id (image id, or video name for the VOS loaders), so it does not depend on the
order a loader lists its items in, on the machine, or on which other shards run:

- where the loader knows each item's size (`IdDataset.item_sizes`: frames per video for the VOS
  loaders), items are balanced by size: largest first (ties by id), each to the shard with the least
  total so far (ties to the lowest shard index) -- the greedy longest-processing-time rule;
- otherwise the ids, sorted (`samkit.data._subsample.id_sort_key`), are dealt round-robin.

Each shard keeps its items in the loader's own order. ``"0/1"`` is the whole dataset.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from samkit.data._subsample import id_sort_key
from samkit.errors import ParameterError

__all__ = ["Shard", "parse_shard", "shard_ids", "apply_shard"]


@dataclass(frozen=True)
class Shard:
    """The ``index``-th (0-based) of ``count`` shards; ``str(shard)`` is ``"index/count"``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(value: Any, parameter: str = "shard") -> Shard | None:
    """``"i/n"`` (or a `Shard`) -> `Shard`; None or ``""`` -> None (no sharding). A
    `ParameterError` naming ``parameter`` and the value for anything else: n >= 1 and 0 <= i < n."""
    if value is None or value == "":
        return None
    if isinstance(value, Shard):
        value = str(value)
    text = str(value).strip()
    head, sep, tail = text.partition("/")
    if not sep or not head.strip().isdigit() or not tail.strip().isdigit():
        raise ParameterError(
            f"{parameter}={value!r} is not a shard: write 'i/n' (0-based i of n shards, e.g. '0/4' ... '3/4')"
        )
    index, count = int(head), int(tail)
    if count < 1 or not 0 <= index < count:
        raise ParameterError(f"{parameter}={value!r}: the shard index must be in [0, {count - 1}] and n >= 1")
    return Shard(index, count)


def shard_ids(ids: Sequence[str], shard: Shard, sizes: Mapping[str, float] | None = None) -> list[str]:
    """The ids of ``shard`` among ``ids``, in their given order (see the module docstring).

    ``sizes``: each id's size (frames, pixels...); used only when it has every id."""
    ids = [str(i) for i in ids]
    if len(set(ids)) != len(ids):
        raise ValueError("shard_ids: the dataset lists an id twice; shards would not be disjoint")
    if sizes is not None and all(i in sizes for i in ids):
        heap = [(0.0, k) for k in range(shard.count)]  # (total size, shard index)
        owner: dict[str, int] = {}
        for item in sorted(ids, key=lambda i: (-float(sizes[i]), id_sort_key(i))):
            total, k = heapq.heappop(heap)
            owner[item] = k
            heapq.heappush(heap, (total + float(sizes[item]), k))
        keep = {i for i, k in owner.items() if k == shard.index}
    else:
        keep = set(sorted(ids, key=id_sort_key)[shard.index :: shard.count])
    return [i for i in ids if i in keep]


def apply_shard(dataset: Any, shard: Any) -> Any:
    """Keep only ``shard``'s items of ``dataset`` (a `samkit.data` loader), in place; returns it.

    Sets ``dataset.shard`` to the shard's label (``"i/n"``). None leaves the dataset whole. A
    dataset that does not list its items by id (``image_ids``) cannot be sharded: a TypeError."""
    parsed = parse_shard(shard)
    if parsed is None:
        return dataset
    keep = getattr(dataset, "keep_ids", None)
    if keep is None or not hasattr(dataset, "image_ids"):
        raise TypeError(
            f"shard={str(parsed)!r}: {type(dataset).__name__} does not list its items by id; it cannot be sharded"
        )
    sizes_of = getattr(dataset, "item_sizes", None)
    sizes = sizes_of() if callable(sizes_of) else None
    keep(shard_ids(list(dataset.image_ids), parsed, sizes))
    dataset.shard = str(parsed)
    return dataset
