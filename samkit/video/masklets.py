"""Masklets: every tracked instance of a concept (a noun phrase) through a video, with its id,
phrase and score, as SAM 3's concept tracking and the detect-then-track baseline return them.

A *masklet* is one object's masks over the frames of a video (SAM 3's word). `Masklets` holds
all the masklets of one video and the facts needed to read them honestly (the weights, and the
method that made them); `samkit.eval._veval_writer` turns it into SA-Co/VEval prediction entries.

Shapes: masks are ``HxW`` bool at the video's size; frame indices are 0-based ints; scores are
floats in ``[0, 1]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from samkit.wording import RANDOM_WEIGHTS_WARNING

__all__ = ["ConceptObject", "Masklet", "Masklets", "collect_masklets"]


@dataclass(frozen=True)
class ConceptObject:
    """What is known of one tracked instance: the ``phrase`` that found it, its ``score`` (SAM 3:
    the detection score of the frame it was first found on, upstream's ``obj_id_to_score``;
    the baseline: the detector's box score) and ``first_frame``, the first frame (in the order
    frames were tracked) that output it."""

    phrase: str
    score: float
    first_frame: int


@dataclass
class Masklet:
    """One object's masks through a video.

    Attributes:
        obj_id: the object's id (stable through the video).
        phrase: the noun phrase it is an instance of.
        score: its score in ``[0, 1]`` (see `ConceptObject`).
        masks: ``{frame: HxW bool}`` for every frame the tracker output this object (a mask may
            be empty there); frames it was not output on are absent (see `mask`).
        frame_scores: ``{frame: score}`` where the method gives a per-frame score (SAM 3: the
            tracker's object probability on that frame, upstream's ``obj_id_to_tracker_score``);
            empty where it gives none (the baseline).
    """

    obj_id: int
    phrase: str
    score: float
    masks: dict[int, np.ndarray] = field(default_factory=dict)
    frame_scores: dict[int, float] = field(default_factory=dict)

    @property
    def frames(self) -> list[int]:
        """The frames with a mask, in increasing order."""
        return sorted(self.masks)

    def mask(self, frame: int, size: tuple[int, int]) -> np.ndarray:
        """The ``HxW`` bool mask on ``frame`` (all False where the object was not output)."""
        found = self.masks.get(int(frame))
        return found if found is not None else np.zeros(size, dtype=bool)


@dataclass
class Masklets:
    """The masklets of one video (iterate for `Masklet` objects, most recent id last).

    Attributes:
        size: ``(H, W)`` of the video.
        num_frames: T, the frames of the video (masklets may cover fewer).
        by_id: ``{obj_id: Masklet}`` in the order the objects were first output.
        weights: the model's weights label (e.g. ``"random(seed=0, config=tiny)"``).
        random_weights: True when any model involved has random weights (then the masks mean
            nothing; ``repr`` says so).
        method: how they were made (``"sam3 concept tracking"`` or the baseline's description).
    """

    size: tuple[int, int]
    num_frames: int
    by_id: dict[int, Masklet]
    weights: str
    random_weights: bool
    method: str

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self) -> Iterator[Masklet]:
        return iter(self.by_id.values())

    def __getitem__(self, obj_id: int) -> Masklet:
        return self.by_id[obj_id]

    @property
    def obj_ids(self) -> list[int]:
        """Object ids in the order they were first output."""
        return list(self.by_id)

    @property
    def phrases(self) -> list[str]:
        """The distinct phrases of the masklets, in order of first appearance."""
        return list(dict.fromkeys(m.phrase for m in self))

    def frame(self, frame: int) -> dict[int, np.ndarray]:
        """``{obj_id: HxW bool}`` of the objects output on ``frame``."""
        return {m.obj_id: m.masks[frame] for m in self if frame in m.masks}

    def __repr__(self) -> str:
        h, w = self.size
        warning = f" [{RANDOM_WEIGHTS_WARNING}]" if self.random_weights else ""
        return (
            f"<Masklets {len(self)} objects {self.phrases} over {self.num_frames} frames {w}x{h}; "
            f"{self.method}; weights={self.weights}{warning}>"
        )


def collect_masklets(
    stream: Iterable[tuple[int, Mapping[int, np.ndarray]]],
    info: Mapping[int, ConceptObject],
    *,
    size: tuple[int, int],
    num_frames: int,
    weights: str,
    random_weights: bool,
    method: str,
    frame_scores: Mapping[int, Mapping[int, float]] | None = None,
) -> Masklets:
    """`Masklets` from a tracker's ``(frame, {obj_id: HxW bool})`` stream.

    ``info`` gives each object's phrase and score; it is read after the stream is consumed, so
    a tracker may fill it while it yields. ``frame_scores``: ``{frame: {obj_id: score}}``, read
    then too. An object in the stream without ``info`` is a ``KeyError``.
    """
    per_object: dict[int, dict[int, np.ndarray]] = {}
    for frame, masks in stream:
        for oid, mask in masks.items():
            per_object.setdefault(int(oid), {})[int(frame)] = np.asarray(mask, dtype=bool)
    scores = frame_scores or {}
    by_id = {}
    for oid, masks in per_object.items():
        obj = info[oid]
        per_frame = {t: float(s[oid]) for t, s in scores.items() if oid in s and t in masks}
        by_id[oid] = Masklet(oid, obj.phrase, float(obj.score), dict(sorted(masks.items())), per_frame)
    return Masklets(tuple(size), int(num_frames), by_id, weights, bool(random_weights), method)  # type: ignore[arg-type]
