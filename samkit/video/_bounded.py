"""Bounded tracking state: what a SAM 2-style tracker reads of past frames, and pruning of the rest.

SAM 2 / 2.1 (sam2's ``SAM2VideoPredictor``, so EfficientTAM too), EdgeTAM and SAM 3's tracker
(transformers' ``EdgeTamVideoModel`` / ``Sam3TrackerVideoModel``) keep, per object, every frame's
output (memory features, object pointer, low-res mask logits) in
``output_dict_per_obj[obj]["cond_frame_outputs" | "non_cond_frame_outputs"]``, for the whole video.
Tracking frame ``f`` reads only (sam2's ``_prepare_memory_conditioned_features``, transformers'
``_gather_memory_frame_outputs`` and ``_get_object_pointers``):

- every conditioning (prompted) frame's output (or the ``max_cond_frames_in_attn`` closest);
- the memories of ``num_maskmem - 1`` earlier frames: ``f - 1``, then every ``r``-th frame before
  it (``r`` = ``memory_temporal_stride_for_eval``, 1 in transformers);
- the object pointers of the ``max_obj_ptrs_in_encoder - 1`` frames before ``f``
  (``min(T, max_obj_ptrs_in_encoder)``; 16 by default, so 15 frames back);

"before" meaning after ``f`` in reverse propagation. `MemoryReach` is that rule (`MemoryReach.reads`);
`BoundedState` applies it to one tracker's upstream state: after each propagated frame ``c`` it
drops the non-conditioning outputs that this propagation wrote and that nothing can read any more,
and keeps

1. every conditioning frame's output (prompts are few);
2. what the frames after ``c`` in this direction can read, and what ``c`` itself read (so the
   propagation can be continued later with ``start_frame=c + 1`` or ``c``, and ``c`` re-prompted);
3. around every prompted frame, what a propagation starting there in either direction reads
   (so the usual forward-then-reverse from the prompt frame reads what it would unbounded).

Outputs written by an earlier propagation are left as they are (its last frames stay, so it can
be continued). The state is then at most ``(2 x prompted frames + propagations) x (reach + 1)``
frames per object whatever the video's length (reach: 15 frames with the defaults; one
propagation from one prompt: the prompt frame and 16 others), and the masks are the unbounded
tracker's, bit for bit (tested). Upstream's per-frame bookkeeping (``frames_tracked_per_obj``:
which frames were tracked and in which direction, a small dict entry per frame) is kept: it is how
upstream tells a refinement from a first prompt.

What it gives up: a call that would read a dropped output (a prompt on a frame near dropped ones,
a propagation started from a frame whose predecessors were dropped) raises
`samkit.errors.UnsupportedError` saying which frames and what works instead
(`BoundedState.check_prompt`, `BoundedState.check_pass`); it never computes with missing state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from samkit.errors import UnsupportedError

__all__ = ["MemoryReach", "BoundedState", "processing_order"]

COND, NON_COND = "cond_frame_outputs", "non_cond_frame_outputs"


@dataclass(frozen=True)
class MemoryReach:
    """Which non-conditioning frames tracking one frame reads.

    Attributes:
        num_maskmem: memories attended to, the frame's own included (7 by default): ``num_maskmem - 1``
            earlier frames are read.
        stride: ``memory_temporal_stride_for_eval`` (sam2; transformers always 1).
        max_obj_ptrs: ``max_obj_ptrs_in_encoder`` (16 by default; 0 when object pointers are off).
        num_frames: T, frames in the video (pointers read ``min(T, max_obj_ptrs) - 1`` frames back).
    """

    num_maskmem: int
    stride: int
    max_obj_ptrs: int
    num_frames: int

    def reads(self, frame: int, reverse: bool) -> set[int]:
        """Frames (inside the video) whose non-conditioning output tracking ``frame`` reads."""
        out: set[int] = set()
        r, f = max(1, int(self.stride)), int(frame)
        for t_rel in range(1, self.num_maskmem):  # the memory frames, as sam2 picks them
            if t_rel == 1:
                out.add(f + 1 if reverse else f - 1)
            elif reverse:
                out.add(-(-(f + 2) // r) * r + (t_rel - 2) * r)
            else:
                out.add(((f - 2) // r) * r - (t_rel - 2) * r)
        for t_diff in range(1, min(self.num_frames, self.max_obj_ptrs)):  # the object pointers
            t = f + t_diff if reverse else f - t_diff
            if not 0 <= t < self.num_frames:
                break
            out.add(t)
        return {t for t in out if 0 <= t < self.num_frames}

    @property
    def span(self) -> int:
        """The farthest (in frames) a read reaches from the frame being tracked."""
        memory = 0 if self.num_maskmem < 2 else 1 if self.num_maskmem == 2 else self.stride * (self.num_maskmem - 2) + 1
        return max(memory, min(self.num_frames, self.max_obj_ptrs) - 1, 1)

    def pass_reads(self, order: list[int], reverse: bool) -> set[int]:
        """Frames from *before* a propagation over ``order`` (frames behind its first one) that it
        reads: later frames read what the propagation itself wrote."""
        if not order:
            return set()
        start = order[0]
        behind = (lambda t: t > start) if reverse else (lambda t: t < start)
        return {t for f in order[: self.span + 1] for t in self.reads(f, reverse) if behind(t)}


def processing_order(num_frames: int, start: int, max_frames: int | None, reverse: bool) -> list[int]:
    """The frames a propagation visits, in order (as sam2's and transformers' ``propagate`` make them)."""
    if max_frames is None:
        max_frames = num_frames
    if reverse:
        end = max(start - max_frames, 0)
        return list(range(start, end - 1, -1)) if start > 0 else []
    end = min(start + max_frames, num_frames - 1)
    return list(range(start, end + 1))


def _spans(frames: Iterable[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"``."""
    out: list[str] = []
    for t in sorted(frames):
        if out and out[-1][1] == t - 1:
            out[-1] = (out[-1][0], t)
        else:
            out.append((t, t))  # type: ignore[arg-type]
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in out)  # type: ignore[misc]


class BoundedState:
    """Drops the per-frame outputs of one tracker's upstream state that can no longer be read
    (see the module docstring), and refuses calls that would read a dropped one.

    Args:
        reach: the model's `MemoryReach`.
        outputs: ``() -> {obj_idx: {"cond_frame_outputs": {frame: out}, "non_cond_frame_outputs": {...}}}``,
            the upstream dict (sam2's ``inference_state["output_dict_per_obj"]``, transformers'
            ``session.output_dict_per_obj``), read afresh at every call.
        pending_cond: ``() -> frames`` prompted but not yet in ``outputs``' conditioning outputs
            (sam2's temporary outputs), or None.
    """

    def __init__(
        self,
        reach: MemoryReach,
        outputs: Callable[[], dict[int, dict[str, dict[int, Any]]]],
        pending_cond: Callable[[], Iterable[int]] | None = None,
    ) -> None:
        self.reach = reach
        self._outputs = outputs
        self._pending = pending_cond
        self.dropped: dict[int, set[int]] = {}  # obj_idx -> frames whose output was dropped
        self._live: dict[int, set[int]] = {}  # obj_idx -> frames this propagation wrote and still holds
        self._direction = False
        self._keep_always: set[int] | None = None  # `_protected`, once per propagation

    # ------------------------------------------------------------------ facts
    def cond_frames(self) -> set[int]:
        """Every frame prompted for any object (conditioning outputs, pending ones included)."""
        frames = {t for out in self._outputs().values() for t in out[COND]}
        if self._pending is not None:
            frames |= set(self._pending())
        return frames

    def held_frames(self) -> dict[int, list[int]]:
        """``{obj_idx: frames with a non-conditioning output held}`` (for tests and reports)."""
        return {i: sorted(out[NON_COND]) for i, out in self._outputs().items()}

    def _protected(self) -> set[int]:
        """What a propagation from any prompted frame, in either direction, reads from before it."""
        keep: set[int] = set()
        for s in self.cond_frames():
            for reverse in (False, True):
                order = processing_order(self.reach.num_frames, s, self.reach.span + 1, reverse)
                keep |= self.reach.pass_reads(order, reverse)
        return keep

    # ------------------------------------------------------------------ checks
    def _refuse(self, what: str, needed: set[int]) -> None:
        hit = {i: sorted(needed & frames) for i, frames in self.dropped.items() if needed & frames}
        if not hit:
            return
        frames = set().union(*map(set, hit.values()))
        kept = self.cond_frames()
        raise UnsupportedError(
            f"{what} reads the tracking state of frame(s) {_spans(frames)}, which bounded=True dropped "
            f"(it keeps the prompted frames {_spans(kept) or 'none'} and the last "
            f"{self.reach.span + 1} frames each propagation tracked). Propagate from a prompted frame "
            f"or from where the last propagation stopped, prompt a frame near those, call reset(), "
            f"or track with model.video(frames, bounded=False), which keeps every frame's state."
        )

    def check_prompt(self, frame: int) -> None:
        """`UnsupportedError` when a prompt on ``frame`` would read a dropped output (its own, or
        the memories any object reads there, in either direction)."""
        needed = {int(frame)} | self.reach.reads(frame, False) | self.reach.reads(frame, True)
        self._refuse(f"a prompt on frame {frame}", needed)

    def check_pass(self, start: int, max_frames: int | None, reverse: bool) -> None:
        """`UnsupportedError` when a propagation from ``start`` would read a dropped output."""
        order = processing_order(self.reach.num_frames, start, max_frames, reverse)
        where = "reverse " if reverse else ""
        self._refuse(f"a {where}propagation from frame {start}", self.reach.pass_reads(order, reverse))

    # ------------------------------------------------------------------ pruning
    def begin(self, reverse: bool) -> None:
        """A propagation starts: what it writes is counted afresh."""
        self._live = {}
        self._direction = bool(reverse)
        self._keep_always = None

    def after_frame(self, frame: int) -> None:
        """Frame ``frame`` was tracked (its outputs written): drop what nothing can read any more."""
        c, reverse = int(frame), self._direction
        step = -1 if reverse else 1
        keep = {c} | self.reach.reads(c, reverse)
        for k in range(1, self.reach.span + 1):  # what the next frames of this direction read
            keep |= self.reach.reads(c + step * k, reverse)
        for obj_idx, out in self._outputs().items():
            live = self._live.setdefault(obj_idx, set())
            if c in out[NON_COND]:
                live.add(c)
                self.dropped.get(obj_idx, set()).discard(c)  # written again
            stale = live - keep
            if stale and self._keep_always is None:
                self._keep_always = self._protected()  # prompts do not change during a propagation
            for t in stale:
                live.discard(t)
                if t not in self._keep_always and out[NON_COND].pop(t, None) is not None:
                    self.dropped.setdefault(obj_idx, set()).add(t)

    def forget(self) -> None:
        """Everything was reset upstream: nothing is dropped any more."""
        self.dropped.clear()
        self._live.clear()
