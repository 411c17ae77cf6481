"""`IdDataset`: what every loader shares: a list of ids, loaded one at a time (streaming)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class IdDataset:
    """A dataset of ``self.image_ids``, each read by ``self._load(id)`` only when it is needed.

    Subclasses set ``image_ids`` (after subsampling) in ``__init__`` and implement ``_load``.
    ``shard``: the ``"i/n"`` label of the part kept (`samkit.data.shard.apply_shard`), None when whole.
    """

    image_ids: list[str]
    shard: str | None = None

    def keep_ids(self, ids: list[str]) -> None:
        """Keep only ``ids`` (a subset of `image_ids`, in that order): how a shard is applied."""
        self.image_ids = list(ids)

    def item_sizes(self) -> dict[str, float] | None:
        """Each id's size where it is cheap to know (e.g. frames per video), to balance shards;
        None: unknown."""
        return None

    def _load(self, image_id: str) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.image_ids)

    def __iter__(self) -> Iterator[Any]:
        for image_id in self.image_ids:
            yield self._load(image_id)

    def __getitem__(self, index: int) -> Any:
        return self._load(self.image_ids[index])
