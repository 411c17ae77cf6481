"""`EmbeddingCache`: image id -> embedded image (a `Segmenter` sibling), LRU under a memory budget.

Each entry holds one `Segmenter._sibling()` of the served model (the same torch module, its own
image state) after ``set_image``, so a click on a cached image costs one decoder pass. An entry's
size is the bytes of the tensors and arrays its predictor and segmenter hold (the image
embedding and the RGB image), plus the low-res logits kept for ``logits_id`` feedback; the least
recently used entries are evicted when the total passes the budget. The newest entry is always
kept, even alone over the budget (a budget below one embedding would serve nothing otherwise).

Thread-safe: every method takes the cache's own lock (not the model lock).
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CacheEntry", "EmbeddingCache", "held_bytes", "MIB"]

MIB = 2**20
"""Bytes per MiB."""


def held_bytes(*objects: Any) -> int:
    """Bytes of the torch tensors and numpy arrays reachable from ``objects``' attributes.

    Follows object ``__dict__`` entries, dicts, lists and tuples (one level of objects, any depth
    of containers); skips ``torch.nn.Module`` (the shared weights are not the entry's) and counts
    each storage once.
    """
    import sys

    torch = sys.modules.get("torch")
    seen: set[int] = set()
    total = 0

    def visit(value: Any, depth: int) -> None:
        nonlocal total
        if torch is not None and isinstance(value, torch.Tensor):
            key = value.untyped_storage().data_ptr() if value.device.type != "meta" else id(value)
            if key not in seen:
                seen.add(key)
                total += value.untyped_storage().nbytes()
        elif isinstance(value, np.ndarray):
            base = value if value.base is None else value.base
            if id(base) not in seen:
                seen.add(id(base))
                total += value.nbytes
        elif isinstance(value, dict):
            for v in value.values():
                visit(v, depth)
        elif isinstance(value, (list, tuple)):
            for v in value:
                visit(v, depth)
        elif (
            depth > 0 and hasattr(value, "__dict__") and not (torch is not None and isinstance(value, torch.nn.Module))
        ):
            for v in vars(value).values():
                visit(v, depth - 1)

    for obj in objects:
        visit(obj, 1)
    return total


@dataclass
class CacheEntry:
    """One embedded image.

    Attributes:
        image_id: SHA-256 (hex) of the uploaded file's bytes.
        segmenter: a `Segmenter` sibling with this image set.
        image: the HxWx3 uint8 RGB image (for ``generate``).
        embedding_bytes: bytes held by the segmenter's image state (embedding + image).
        logits: ``logits_id`` -> ``((C, 256, 256) float32 low-res logits, index of the
            highest-scoring mask)`` of recent predictions on this image.
    """

    image_id: str
    segmenter: Any
    image: np.ndarray
    embedding_bytes: int
    logits: OrderedDict[str, tuple[np.ndarray, int]] = field(default_factory=OrderedDict)

    @property
    def nbytes(self) -> int:
        """The entry's bytes: embedding and image plus the kept logits."""
        return self.embedding_bytes + sum(a.nbytes for a, _ in self.logits.values())


class EmbeddingCache:
    """LRU of `CacheEntry` by image id with a budget of ``budget_mib`` MiB.

    Counters: ``hits`` (lookups that found the embedding: clicks, re-uploads), ``misses``
    (lookups that did not: new uploads, which then cost an encoder pass, and unknown or evicted
    ids), ``evictions``.

    Args:
        budget_mib: memory budget of all entries together (MiB); must be > 0.
        max_logits_per_image: low-res logits kept per image for ``logits_id`` (oldest dropped).
    """

    def __init__(self, budget_mib: float, max_logits_per_image: int = 8) -> None:
        if not budget_mib > 0:
            raise ValueError(f"cache budget must be > 0 MiB, got {budget_mib}")
        if max_logits_per_image < 1:
            raise ValueError("max_logits_per_image must be >= 1")
        self.budget_bytes = int(budget_mib * MIB)
        self.max_logits_per_image = max_logits_per_image
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, image_id: str) -> bool:
        with self._lock:
            return image_id in self._entries

    def ids(self) -> list[str]:
        """Cached image ids, least recently used first."""
        with self._lock:
            return list(self._entries)

    @property
    def used_bytes(self) -> int:
        with self._lock:
            return self._used()

    def _used(self) -> int:
        return sum(e.nbytes for e in self._entries.values())

    def get(self, image_id: str, *, count: bool = True) -> CacheEntry | None:
        """The entry of ``image_id`` (now the most recently used), or None; counts a hit or a miss."""
        with self._lock:
            entry = self._entries.get(image_id)
            if entry is not None:
                self._entries.move_to_end(image_id)
            if count:
                if entry is None:
                    self.misses += 1
                else:
                    self.hits += 1
            return entry

    def record(self, *, hit: bool) -> None:
        """Count a hit or a miss of a lookup made with ``get(..., count=False)``."""
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def put(self, entry: CacheEntry) -> list[str]:
        """Insert (or replace) ``entry`` as the most recently used; returns the evicted ids."""
        with self._lock:
            self._entries[entry.image_id] = entry
            self._entries.move_to_end(entry.image_id)
            return self._evict()

    def add_logits(self, image_id: str, logits: np.ndarray, best: int = 0) -> tuple[str | None, list[str]]:
        """Keep ``logits`` ``(C, 256, 256)`` (``best``: the highest-scoring mask's index) for
        ``image_id``; returns ``(logits_id, evicted ids)``.

        ``logits_id`` is None when the image is no longer cached.
        """
        with self._lock:
            entry = self._entries.get(image_id)
            if entry is None:
                return None, []
            logits_id = f"{image_id[:16]}-{next(self._ids)}"
            entry.logits[logits_id] = (np.ascontiguousarray(logits, dtype=np.float32), int(best))
            while len(entry.logits) > self.max_logits_per_image:
                entry.logits.popitem(last=False)
            return logits_id, self._evict()

    def get_logits(self, entry: CacheEntry, logits_id: str) -> tuple[np.ndarray, int] | None:
        """The logits kept under ``logits_id`` for ``entry``'s image, or None."""
        with self._lock:
            return entry.logits.get(logits_id)

    def _evict(self) -> list[str]:
        evicted = []
        while len(self._entries) > 1 and self._used() > self.budget_bytes:
            image_id, _ = self._entries.popitem(last=False)
            evicted.append(image_id)
        self.evictions += len(evicted)
        return evicted

    def stats(self) -> dict[str, Any]:
        """Counters and sizes: hits, misses, evictions, entries, used_mib, budget_mib."""
        with self._lock:
            return {
                "hits": self.hits,
                "misses": self.misses,
                "evictions": self.evictions,
                "entries": len(self._entries),
                "used_mib": self._used() / MIB,
                "budget_mib": self.budget_bytes / MIB,
            }
