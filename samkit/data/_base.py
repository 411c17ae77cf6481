"""`IdDataset`: what every loader shares: a list of ids, loaded one at a time (streaming)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class IdDataset:
    """A dataset of ``self.image_ids``, each read by ``self._load(id)`` only when it is needed.

    Subclasses set ``image_ids`` (after subsampling) in ``__init__`` and implement ``_load``.
    """

    image_ids: list[str]

    def _load(self, image_id: str) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.image_ids)

    def __iter__(self) -> Iterator[Any]:
        for image_id in self.image_ids:
            yield self._load(image_id)

    def __getitem__(self, index: int) -> Any:
        return self._load(self.image_ids[index])
