"""`VideoWidget`: prompt objects on the frames of a video, propagate, scrub and play the masks.

One model's `samkit.video.VideoTracker` (``model.video(frames)``, the SAM 2 / 2.1 models) behind
a frame view. The browser shows one frame at a time and asks for the frame it wants by setting the
``frame`` trait (the slider, the play button); Python then sends that frame only:

- ``image``: the frame's display copy, encoded when first shown (JPEG by default, or PNG:
  ``image_format``) and kept in a small cache (``frame_cache`` frames); the whole video is never
  sent up front;
- ``mask_pngs``: one 1-bit PNG per object with a mask on that frame (0 = transparent, the
  encoding of `samkit.masks.encode_png`), in the order of ``mask_ids``, at display
  size. One PNG per object rather than one label map per frame: it keeps overlapping masks
  exact, and a blob-like mask costs a few hundred bytes, so K objects cost about K small PNGs.

Prompts are those of the current frame and the current object (``obj_id``): the ``points``
(``[[x, y, label], ...]``, original pixels, label 1 / 0) and ``box`` (XYXY original pixels)
traits, as in `SegmentWidget`. Each change sends all of them to
``tracker.add_prompt(frame, obj_id, ..., clear_old_points=True)``, and the masks it returns (every
object's, on that frame) are stored and shown. ``propagate`` runs ``tracker.propagate`` and stores
every frame's masks (``tracked_frames`` lists the frames that have masks). Bad prompts set the
``error`` trait (shown in the browser), never raise, and the prompt traits go back to the last
prompts the tracker took (the tracker's state is unchanged).
"""

from __future__ import annotations

import io
from collections import OrderedDict
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from samkit.errors import SamkitError
from samkit.masks import encode_png, mask_box
from samkit.metrics.perf import timed
from samkit.widgets._state import (
    DEFAULT_MAX_DISPLAY,
    asset,
    display_size,
    encode_image_png,
    model_weights_label,
    resize_nearest,
    resolve_model,
)

__all__ = ["VideoWidget", "encode_frame"]

IMAGE_FORMATS = ("jpeg", "png")


def encode_frame(
    frame: np.ndarray, size: tuple[int, int] | None = None, image_format: str = "jpeg", quality: int = 85
) -> bytes:
    """JPEG (``quality``) or PNG bytes of an HxWx3 uint8 frame, resized to ``size = (H, W)`` if given."""
    if image_format == "png":
        return encode_image_png(frame, size)
    from PIL import Image

    pil = Image.fromarray(frame)
    if size is not None and size != frame.shape[:2]:
        pil = pil.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    pil.save(out, format="JPEG", quality=int(quality))
    return out.getvalue()


class VideoWidget(anywidget.AnyWidget):
    """Interactive video object segmentation with one SAM 2 / 2.1 model, in Jupyter.

    In the browser: a frame slider (scrub) and Play/Pause (the frames and their masks, one after
    the other); an object selector (the current object; "new object" takes the next free id);
    on the frame, left click adds a positive point, shift- or right-click a negative point, and
    dragging draws a box, for the current object on the current frame; "Propagate" (with a
    "reverse" checkbox) tracks every object through the video; "Reset" forgets everything.

    From Python (no browser needed)::

        w = VideoWidget(samkit.load("sam2.1_hiera_tiny", weights="random"), "clip.mp4")
        w.frame = 0; w.obj_id = 1; w.add_point(120, 80)      # or w.set_box(x0, y0, x1, y1)
        w.obj_id = 2; w.set_box(30, 40, 90, 120)
        w.propagate()                                       # or w.propagate(reverse=True)
        w.masks_at(5)                                       # {obj_id: HxW bool}
        w.to_pngs("masks/")                                 # masks/<obj_id>/<frame>.png
        w.reset()

    Args:
        model: a loaded model (`samkit.load`) or a registered name (loaded with ``load_kwargs``);
            it must track video (``model.video``), else `UnsupportedError` is raised here.
        frames: any `samkit.video_io.open_video` source: a folder of frames, a video file, a
            ``(T, H, W, 3)`` uint8 array or a list of HxWx3 frames.
        load_kwargs: `samkit.load` arguments for ``model`` given by name.
        max_display: longest side of the frame copy (and masks) the browser gets; None: full size.
        image_format: how frames travel: ``"jpeg"`` (compact, lossy) or ``"png"`` (lossless).
        frame_cache: how many encoded frames Python keeps (scrubbing back costs no re-encode).
        fps: the play speed the browser aims at (frames per second).
        video_storage, offload_state_to_cpu: passed to ``model.video`` (see `samkit.video.tracker`).
    """

    _esm = asset("_common.js", "video.js")
    _css = asset("_common.css", "video.css")

    # the current frame (original pixels for width/height; the image is the display copy)
    image = t.Bytes(b"").tag(sync=True)
    image_format = t.Unicode("jpeg").tag(sync=True)
    width = t.Int(0).tag(sync=True)
    height = t.Int(0).tag(sync=True)
    num_frames = t.Int(0).tag(sync=True)
    frame = t.Int(0).tag(sync=True)
    fps = t.Float(8.0).tag(sync=True)
    # objects: the current one (it need not be in obj_ids before its first prompt), and every id
    # known (prompted, or made with "new object")
    obj_id = t.Int(1).tag(sync=True)
    obj_ids = t.List(t.Int()).tag(sync=True)
    # prompts of the current object on the current frame, original pixels
    points = t.List(t.List()).tag(sync=True)
    box = t.List(allow_none=True, default_value=None).tag(sync=True)
    # masks of the current frame: one 1-bit PNG per object, in the order of mask_ids
    mask_pngs = t.List(t.Bytes()).tag(sync=True)
    mask_ids = t.List(t.Int()).tag(sync=True)
    tracked_frames = t.List(t.Int()).tag(sync=True)  # frames that have stored masks
    reverse = t.Bool(False).tag(sync=True)
    # model and feedback
    model_name = t.Unicode("").tag(sync=True)
    weights = t.Unicode("").tag(sync=True)
    random_weights = t.Bool(False).tag(sync=True)
    device = t.Unicode("").tag(sync=True)
    prompt_ms = t.Float(0.0).tag(sync=True)  # the last add_prompt
    propagate_ms = t.Float(0.0).tag(sync=True)  # the last propagation, all frames
    propagated = t.Int(0).tag(sync=True)  # frames tracked by the last propagation
    error = t.Unicode("").tag(sync=True)
    status = t.Unicode("").tag(sync=True)
    # text concepts (models with "text_video", SAM 3): the text box and each object's tag
    text_enabled = t.Bool(False).tag(sync=True)
    text = t.Unicode(None, allow_none=True).tag(sync=True)  # the phrases tracked (None: no text)
    box_threshold = t.Float(None, allow_none=True).tag(sync=True)  # detection threshold (None: model's)
    text_threshold = t.Float(None, allow_none=True).tag(sync=True)  # new-object threshold (None: model's)
    # one tag per object with a mask on the current frame: {obj_id, label, score, box XYXY original px}
    mask_tags = t.List(t.Dict()).tag(sync=True)

    def __init__(
        self,
        model: Any,
        frames: Any,
        *,
        load_kwargs: dict[str, Any] | None = None,
        max_display: int | None = DEFAULT_MAX_DISPLAY,
        image_format: str = "jpeg",
        frame_cache: int = 32,
        fps: float = 8.0,
        video_storage: str = "stream",
        offload_state_to_cpu: bool = False,
        **kwargs: Any,
    ) -> None:
        if image_format not in IMAGE_FORMATS:
            raise ValueError(f"image_format must be one of {IMAGE_FORMATS}, got {image_format!r}")
        self._model = resolve_model(model, dict(load_kwargs or {}))
        # UnsupportedError (naming the models that track video) for a model without video
        self._tracker = self._model.video(
            frames, video_storage=video_storage, offload_state_to_cpu=offload_state_to_cpu
        )
        self._max_display = max_display
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cache_size = max(1, int(frame_cache))
        self._masks: dict[int, dict[int, np.ndarray]] = {}
        self._prompts: dict[tuple[int, int], tuple[list, list | None]] = {}
        self._syncing = False
        height, width = self._tracker.size
        super().__init__(
            image_format=image_format,
            width=int(width),
            height=int(height),
            num_frames=self._tracker.num_frames,
            fps=float(fps),
            **kwargs,
        )
        info = getattr(self._model, "weights", None)
        with self.hold_sync():
            self.model_name = self._model.name
            self.weights = model_weights_label(self._model)
            self.random_weights = getattr(info, "kind", None) == "random"
            self.device = str(self._model.device)
            self.text_enabled = "text_video" in self._model.capabilities
        self.on_msg(self._on_frontend_msg)
        self._show_frame()

    # ------------------------------------------------------------------ public API
    @property
    def model(self) -> Any:
        """The model (`Segmenter`) whose tracker this is."""
        return self._model

    @property
    def tracker(self) -> Any:
        """The `samkit.video.VideoTracker` the widget drives."""
        return self._tracker

    @property
    def frames(self) -> Any:
        """The video's frames (`samkit.video_io.VideoFrames`: lazy HxWx3 uint8)."""
        return self._tracker.frames

    @property
    def display_hw(self) -> tuple[int, int]:
        """``(H, W)`` of the frame copy the browser gets (and of the mask PNGs)."""
        return display_size(self.height, self.width, self._max_display)

    @property
    def masks(self) -> dict[int, dict[int, np.ndarray]]:
        """Every stored mask: ``{frame: {obj_id: HxW bool}}`` (from prompts and propagation)."""
        return self._masks

    def masks_at(self, frame: int) -> dict[int, np.ndarray]:
        """``{obj_id: HxW bool}`` stored for ``frame`` (empty before any prompt or propagation there)."""
        if not 0 <= int(frame) < self.num_frames:
            raise IndexError(f"frame {frame} is outside the video (0..{self.num_frames - 1})")
        return dict(self._masks.get(int(frame), {}))

    def add_point(self, x: float, y: float, positive: bool = True) -> None:
        """Add a point at ``(x, y)`` original pixels (``positive=False``: background) for the
        current object on the current frame."""
        self.points = [*self.points, [float(x), float(y), int(bool(positive))]]

    def set_box(self, *box: Any) -> None:
        """Set the current object's box on the current frame, XYXY original pixels:
        ``set_box(x0, y0, x1, y1)`` or ``set_box([..])``; ``set_box(None)`` removes it."""
        if len(box) == 1:
            box = box[0]
        self.box = None if box is None else [float(v) for v in np.asarray(box, dtype=float).reshape(-1)]

    def new_object(self) -> int:
        """Make the next free object id current (one above every id known) and return it."""
        oid = max([*self.obj_ids, self.obj_id, 0]) + 1
        with self.hold_sync():
            self.obj_ids = [*self.obj_ids, oid]
            self.obj_id = oid
        return oid

    def propagate(
        self, reverse: bool | None = None, start_frame: int | None = None, max_frames: int | None = None
    ) -> None:
        """Track every object through the video (``tracker.propagate``) and store every frame's
        masks; ``reverse`` None uses the ``reverse`` trait (the checkbox). Errors (e.g. no prompt
        yet) go to the ``error`` trait."""
        if reverse is not None:
            self.reverse = bool(reverse)
        direction = "backwards" if self.reverse else "forwards"
        count = 0

        def run() -> None:
            nonlocal count
            for t_idx, masks in self._tracker.propagate(
                reverse=self.reverse, start_frame=start_frame, max_frames=max_frames
            ):
                self._masks[t_idx] = dict(masks)
                count += 1
                self.status = f"propagating {direction}: frame {t_idx} ({count} done)…"

        self.error = ""
        try:
            _, ms = timed(run, self._model.device)
        except SamkitError as err:  # NotReadyError (no prompt), PromptError (bad start frame)
            self.status = ""
            self.error = str(err)
            return
        except Exception as err:  # noqa: BLE001 - a widget callback must not kill the UI
            self.log.exception("samkit VideoWidget: propagation failed")
            self.status = ""
            self.error = f"{type(err).__name__}: {err}"
            return
        with self.hold_sync():
            self.propagate_ms, self.propagated = ms, count
            self.tracked_frames = sorted(self._masks)
            self.status = f"propagated {direction}: {count} frames in {ms / 1000:.1f} s" + (
                f" ({count / (ms / 1000):.1f} fps)" if ms > 0 else ""
            )
            self._send_masks()

    def set_text(
        self,
        text: str | list[str],
        detection_threshold: float | None = None,
        new_object_threshold: float | None = None,
    ) -> None:
        """Track every instance of each noun phrase of ``text`` through the whole video (SAM 3's
        concept tracking: ``tracker.add_text`` then `propagate` from the current frame); each
        object's mask is tagged with its id, phrase and score. Clicks and text never mix: this
        forgets the clicked objects first, and a click after it needs `clear_text`.
        ``detection_threshold`` / ``new_object_threshold``: the tracker's (None: the model's).
        A model without text-in-video, or bad input, sets the ``error`` trait."""
        if "text_video" not in self._model.capabilities:
            self.error = f"{self._model.name} does not track text concepts in video (capability 'text_video')"
            return
        self.reset()
        try:
            phrases = self._tracker.add_text(text, frame=self.frame)
            if detection_threshold is not None:
                self._tracker.detection_threshold = detection_threshold
            if new_object_threshold is not None:
                self._tracker.new_object_threshold = new_object_threshold
        except (SamkitError, TypeError, ValueError) as err:
            self.reset()
            self.error = str(err)
            return
        with self.hold_sync():
            self.text = ". ".join(phrases)
            self.box_threshold, self.text_threshold = detection_threshold, new_object_threshold
        self.propagate(reverse=False, start_frame=self.frame)
        with self.hold_sync():
            self.obj_ids = [int(i) for i in self._tracker.obj_ids]
            if self.obj_ids:
                self.obj_id = self.obj_ids[0]
            self._send_masks()

    def clear_text(self) -> None:
        """End the text concepts (`reset`): back to clicking objects."""
        self.reset()

    def reset(self) -> None:
        """Forget every prompt, object and mask (``tracker.reset()``); back to object 1."""
        self._tracker.reset()
        self._masks.clear()
        self._prompts.clear()
        self._syncing = True
        try:
            with self.hold_sync():
                self.obj_ids, self.obj_id = [], 1
                self.points, self.box = [], None
                self.tracked_frames = []
                self.error, self.status = "", ""
                self.text, self.box_threshold, self.text_threshold = None, None, None
                self._send_masks()
        finally:
            self._syncing = False

    def to_pngs(self, folder: str | Path) -> list[Path]:
        """Write every stored mask as a 1-bit PNG (white = mask, original size) to
        ``folder/<obj_id>/<frame:05d>.png``; returns the paths written."""
        folder = Path(folder)
        paths = []
        for frame in sorted(self._masks):
            for oid, mask in self._masks[frame].items():
                path = folder / str(oid) / f"{frame:05d}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(encode_png(mask, transparent=False, level=6))
                paths.append(path)
        return paths

    # ------------------------------------------------------------------ internals
    def _frame_bytes(self, frame: int) -> bytes:
        data = self._cache.get(frame)
        if data is None:
            data = encode_frame(self._tracker.frames[frame], self.display_hw, self.image_format)
            self._cache[frame] = data
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(frame)
        return data

    def _send_masks(self) -> None:
        """The current frame's masks -> ``mask_pngs`` / ``mask_ids`` (display size)."""
        masks = self._masks.get(self.frame, {})
        size = self.display_hw
        ids = [oid for oid in masks if masks[oid].any()]
        with self.hold_sync():
            self.mask_pngs = [encode_png(resize_nearest(masks[oid], size), transparent=True) for oid in ids]
            self.mask_ids = ids
            self.mask_tags = [self._tag(oid, masks[oid]) for oid in ids] if self.text is not None else []

    def _tag(self, oid: int, mask: np.ndarray) -> dict[str, Any]:
        """A text-mode object's tag: its id and phrase, its score on this frame (the tracker's;
        else its detection score) and its mask's box (XYXY original pixels)."""
        info = getattr(self._tracker, "object_info", {}).get(oid)
        score = getattr(self._tracker, "frame_scores", {}).get(self.frame, {}).get(oid)
        if score is None:
            score = info.score if info is not None else float("nan")
        box = [float(v) for v in mask_box(mask)]  # pixel edges, as every samkit box of a mask
        label = f"{oid} {info.phrase}" if info is not None else str(oid)
        return {"obj_id": int(oid), "label": label, "score": float(score), "box": box}

    def _show_frame(self) -> None:
        """Send the current frame, its masks and the current object's prompts on it."""
        points, box = self._prompts.get((self.frame, self.obj_id), ([], None))
        self._syncing = True
        try:
            with self.hold_sync():
                self.image = self._frame_bytes(self.frame)
                self.points = [list(p) for p in points]
                self.box = None if box is None else list(box)
                self._send_masks()
        finally:
            self._syncing = False

    @t.validate("frame")
    def _check_frame(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if not 0 <= value < max(self.num_frames, 1):
            raise t.TraitError(
                f"frame {value} is outside the video: it has {self.num_frames} frames (0..{self.num_frames - 1})"
            )
        return value

    @t.observe("frame", "obj_id")
    def _on_view_change(self, _change: dict[str, Any]) -> None:
        self._show_frame()

    @t.observe("points", "box")
    def _on_prompt_change(self, _change: dict[str, Any]) -> None:
        if self._syncing:
            return
        if self.text is not None:
            self._reject("text concepts are being tracked: end them (× or clear_text()) before clicking objects")
            return
        points = [list(p) for p in self.points]
        box = None if self.box is None else list(self.box)
        frame, oid = self.frame, self.obj_id
        if not points and box is None:
            self._prompts.pop((frame, oid), None)
            return  # nothing to send (the tracker keeps what it was given)
        try:
            coords = np.asarray([p[:2] for p in points], dtype=float).reshape(-1, 2) if points else None
            labels = np.asarray([p[2] for p in points]).reshape(-1) if points else None
            out, ms = timed(
                lambda: self._tracker.add_prompt(
                    frame, oid, point_coords=coords, point_labels=labels, box=box, clear_old_points=True
                ),
                self._model.device,
            )
        except SamkitError as err:  # PromptError: outside the frame, reversed box, bad label, ...
            self._reject(str(err))
            return
        except (TypeError, ValueError) as err:
            self._reject(f"bad prompt: {type(err).__name__}: {err}")
            return
        except Exception as err:  # noqa: BLE001 - a widget callback must not kill the UI
            self.log.exception("samkit VideoWidget: add_prompt failed")
            self._reject(f"{type(err).__name__}: {err}")
            return
        self._prompts[(frame, oid)] = (points, box)
        self._masks.setdefault(frame, {}).update(out)
        with self.hold_sync():
            self.error = ""
            self.prompt_ms = ms
            self.status = f"object {oid} prompted on frame {frame}: Propagate to carry it through the video"
            ids = [int(i) for i in self._tracker.obj_ids]
            self.obj_ids = ids + [i for i in self.obj_ids if i not in ids]
            self.tracked_frames = sorted(self._masks)
            self._send_masks()

    def _reject(self, error: str) -> None:
        """Show ``error`` and put the prompt traits back to the last prompts the tracker took for
        this object on this frame (so that the next click starts from a valid state)."""
        points, box = self._prompts.get((self.frame, self.obj_id), ([], None))
        self._syncing = True
        try:
            with self.hold_sync():
                self.points = [list(p) for p in points]
                self.box = None if box is None else list(box)
                self.error = error
        finally:
            self._syncing = False

    def _on_frontend_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        action = content.get("event") if isinstance(content, dict) else None
        if action == "propagate":
            self.propagate(reverse=bool(content.get("reverse", self.reverse)))
        elif action == "reset":
            self.reset()
        elif action == "new_object":
            self.new_object()
        elif action == "text":
            self.set_text(
                str(content.get("text", "")),
                _threshold(content.get("box_threshold")),
                _threshold(content.get("text_threshold")),
            )
        elif action == "clear_text":
            self.clear_text()


def _threshold(value: Any) -> float | None:
    """A threshold from the browser's number box: ``""`` / None -> None (the model's), else float."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")  # the tracker's check rejects it with a clear error
