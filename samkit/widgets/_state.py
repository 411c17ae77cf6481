"""Shared machinery of the samkit widgets: prompt state, compact mask encoding, model loading, timing.

Conventions (the same as `samkit.models.Segmenter.predict`):
- coordinates are pixels of the *original* image, points ``(x, y)``, boxes ``XYXY``; the browser may
  show a downscaled copy but converts every click back to original pixels before sending it;
- the synced ``points`` trait is a list of ``[x, y, label]`` (label 1 = foreground, 0 = background),
  ``box`` is ``[x0, y0, x1, y1]`` or None;
- masks go to the browser as 1-bit grayscale PNGs whose 0 pixels are transparent (tRNS), at display
  resolution; the browser tints and blends them over the image it already has. The image itself is
  sent once (the ``image`` trait), never with a prompt.

The prompt traits are the state: whoever sets them (the browser, or Python through
``add_point`` / ``set_box`` / ``set_prompts`` / assignment) triggers one prediction. Invalid prompts
(a point outside the image, a reversed box) never raise out of the widget: they set the ``error``
trait and clear the masks, so that the notebook keeps working and the user can undo.

Text prompts (``set_text``, or the text box, which sends ``{"event": "text", ...}``) are the other
mode: the ``text`` trait (None = no text query) with ``box_threshold`` / ``text_threshold`` (None =
the model's defaults) runs ``model.predict_text`` and shows every instance found. The two modes
never mix: a text query removes the point/box prompts (undo brings them back, and leaves text
mode), and any new point/box prompt ends the text query. The instances' masks travel as the same
1-bit PNGs, their boxes (XYXY original pixels), phrases and scores as plain numbers and strings.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from samkit.errors import SamkitError
from samkit.images import to_rgb_uint8
from samkit.metrics.perf import timed

__all__ = [
    "PromptWidget",
    "encode_image_png",
    "display_size",
    "resize_nearest",
    "load_kwargs_of",
    "resolve_model",
    "model_weights_label",
    "warm_up",
    "finite_or_none",
    "instance_records",
    "text_hint",
]

_HERE = Path(__file__).parent
DEFAULT_MAX_DISPLAY = 1280
"""Longest side, in pixels, of the copy of the image (and of the masks) that the browser gets."""


def asset(*names: str) -> str:
    """The text of the widget's JS/CSS files in this package, concatenated (no bundler, no build step)."""
    return "\n".join((_HERE / name).read_text(encoding="utf-8") for name in names)


# ------------------------------------------------------------------------------------ encoding
def encode_image_png(image: np.ndarray, size: tuple[int, int] | None = None) -> bytes:
    """PNG bytes of an HxWx3 uint8 image, optionally resized to ``size = (H, W)`` for display."""
    from PIL import Image

    pil = Image.fromarray(image)
    if size is not None and size != image.shape[:2]:
        pil = pil.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    pil.save(out, format="PNG", compress_level=3)
    return out.getvalue()


def display_size(height: int, width: int, max_side: int | None) -> tuple[int, int]:
    """``(H, W)`` scaled down so that the longer side is at most ``max_side`` (None: unchanged)."""
    if not max_side or max(height, width) <= max_side:
        return height, width
    scale = max_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_nearest(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an (H, W) mask to ``size = (h, w)`` (pixel-centre sampling)."""
    height, width = mask.shape
    h, w = size
    if (h, w) == (height, width):
        return mask
    rows = ((np.arange(h) + 0.5) * (height / h)).astype(np.intp)
    cols = ((np.arange(w) + 0.5) * (width / w)).astype(np.intp)
    return np.take(np.take(mask, rows, axis=0), cols, axis=1)  # 2-3x faster than 2-D fancy indexing


def model_weights_label(model: Any) -> str:
    """What the UI shows about a model's weights; random weights carry the one warning
    (`samkit.wording.RANDOM_WEIGHTS_WARNING`)."""
    from samkit.wording import RANDOM_WEIGHTS_WARNING

    info = getattr(model, "weights", None)
    if info is None:
        return "unknown weights"
    if getattr(info, "kind", None) == "random":
        seed = getattr(info, "seed", None)
        return f"random weights (seed={seed}): {RANDOM_WEIGHTS_WARNING}"
    return str(info)


def warm_up(model: Any, height: int, width: int) -> None:
    """One untimed predict on the image centre, so that the user's first click is not a cold call."""
    model.predict(point_coords=[[width / 2, height / 2]], point_labels=[1])


def finite_or_none(value: Any) -> float | None:
    """``float(value)``, or None for NaN/inf/None (a stage that did not run; JSON has no NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def text_hint(model: Any) -> str:
    """Empty for a model that takes text; else how to give it text (shown instead of the text box)."""
    if "text" in getattr(model, "capabilities", ()):
        return ""
    if "box" in getattr(model, "capabilities", ()):
        return (
            f"{model.name}: no text prompts (load it with text_detector='grounding_dino_tiny', "
            "or samkit.pipelines.attach_text_detector(model, 'grounding_dino_tiny'))"
        )
    return f"{model.name}: no text prompts (and no box prompts for a text detector's boxes)"


def instance_records(result: Any) -> list[dict[str, Any]]:
    """The JSON-ready records of a `PipelineResult`'s objects: label (phrase), score, mask_score,
    box (XYXY original pixels, 2 decimals), area (fraction of the image)."""
    records = []
    for obj in result.objects:
        mask_score = getattr(obj, "mask_score", None)
        records.append(
            {
                "label": str(obj.label),
                "score": float(obj.score),
                "mask_score": finite_or_none(mask_score),
                "box": [round(float(v), 2) for v in np.asarray(obj.box).reshape(-1)[:4]],
                "area": float(np.count_nonzero(obj.mask) / obj.mask.size) if obj.mask.size else 0.0,
            }
        )
    return records


def load_kwargs_of(model: Any) -> dict[str, Any]:
    """The `samkit.load` keyword arguments that give another model the same kind of weights and device."""
    info = model.weights
    kwargs: dict[str, Any] = {"weights": info.kind, "device": str(model.device)}
    if info.kind == "random" and info.seed is not None:
        kwargs["seed"] = info.seed
    return kwargs


def resolve_model(model: Any, load_kwargs: dict[str, Any]):
    """A `Segmenter` as given, or loaded from its registered name with ``load_kwargs``."""
    if isinstance(model, str):
        from samkit.pipelines.text import load

        return load(model, **load_kwargs)
    if not (hasattr(model, "predict") and hasattr(model, "set_image")):
        raise TypeError(f"expected a samkit model (samkit.load(...)) or a model name, got {model!r}")
    return model


# ------------------------------------------------------------------------------------ widget
class PromptWidget(anywidget.AnyWidget):
    """Base of the samkit widgets: an image, prompts on it, undo/clear, and an error line.

    Subclasses implement `_embed` (called when the image changes) and `_predict(prompts)` (called
    with validated-looking prompts after every prompt change; ``None`` means no prompt).
    """

    # the image, sent once per image (PNG of the display copy); width/height are original pixels
    image = t.Bytes(b"").tag(sync=True)
    width = t.Int(0).tag(sync=True)
    height = t.Int(0).tag(sync=True)
    # prompts, in original pixels
    points = t.List(t.List()).tag(sync=True)
    box = t.List(allow_none=True, default_value=None).tag(sync=True)
    multimask = t.Bool(True).tag(sync=True)
    # text query (None: click mode) and the detector thresholds (None: the model's defaults)
    text = t.Unicode(None, allow_none=True).tag(sync=True)
    box_threshold = t.Float(None, allow_none=True).tag(sync=True)
    text_threshold = t.Float(None, allow_none=True).tag(sync=True)
    text_enabled = t.Bool(False).tag(sync=True)  # whether the text box is shown
    text_hint = t.Unicode("").tag(sync=True)  # why there is no text box / which models lack text
    # feedback
    error = t.Unicode("").tag(sync=True)
    status = t.Unicode("").tag(sync=True)
    handle_ms = t.Float(0.0).tag(sync=True)  # Python-side handling of the last prompt change

    def __init__(self, image: Any, *, max_display: int | None = DEFAULT_MAX_DISPLAY, **kwargs: Any):
        self._max_display = max_display
        self._image: np.ndarray | None = None
        self._history: list[tuple[tuple, Any]] = [((), None)]
        self._handled_key: Any = object()
        self._ready = False  # subclasses set it once their models hold the image embedding
        super().__init__(**kwargs)
        self.on_msg(self._on_frontend_msg)
        self._set_image_traits(image)

    # ------------------------------------------------------------------ public API
    @property
    def image_array(self) -> np.ndarray:
        """The image (HxWx3 uint8 RGB, original size) the prompts refer to."""
        return self._image

    @property
    def display_hw(self) -> tuple[int, int]:
        """``(H, W)`` of the copy shown in the browser (and of the mask PNGs)."""
        return display_size(self.height, self.width, self._max_display)

    def set_image(self, image: Any) -> None:
        """Show a new image: clears the prompts and re-embeds it with every model."""
        with self.hold_sync():
            self._set_image_traits(image)
            self.text = None  # first: no text query runs on the old embedding
            self.points, self.box = [], None
            self._history = [((), None)]
        self._handled_key = object()
        self._embed()
        self._update(force=True)

    def add_point(self, x: float, y: float, positive: bool = True) -> None:
        """Add a point prompt at ``(x, y)`` original pixels (``positive=False``: background)."""
        self.points = [*self.points, [float(x), float(y), int(bool(positive))]]

    def set_box(self, *box: Any) -> None:
        """Set the box prompt, XYXY original pixels: ``set_box(x0, y0, x1, y1)`` or ``set_box([..])``;
        ``set_box(None)`` removes it."""
        if len(box) == 1:
            box = box[0]
        self.box = None if box is None else [float(v) for v in np.asarray(box, dtype=float).reshape(-1)]

    def set_prompts(self, point_coords: Any = None, point_labels: Any = None, box: Any = None) -> None:
        """Replace all prompts at once (one prediction), with `Segmenter.predict`'s arguments."""
        points: list[list[float]] = []
        if point_coords is not None:
            coords = np.asarray(point_coords, dtype=float).reshape(-1, 2)
            labels = np.ones(len(coords)) if point_labels is None else np.asarray(point_labels).reshape(-1)
            if len(labels) != len(coords):
                raise ValueError(f"{len(coords)} points but {len(labels)} labels")
            points = [[float(x), float(y), int(lab)] for (x, y), lab in zip(coords, labels)]
        with self.hold_trait_notifications(), self.hold_sync():
            self.points = points
            self.set_box(box)

    @property
    def prompts(self) -> dict[str, np.ndarray | None]:
        """The current prompts as `Segmenter.predict` keyword arguments (``model.predict(**w.prompts)``)."""
        coords = labels = None
        if self.points:
            arr = np.asarray([p[:2] for p in self.points], dtype=np.float64)
            coords = arr.reshape(-1, 2)
            labels = np.asarray([int(p[2]) if len(p) > 2 else 1 for p in self.points], dtype=np.int32)
        box = None if self.box is None else np.asarray(self.box, dtype=np.float64)
        return {"point_coords": coords, "point_labels": labels, "box": box}

    def set_text(self, text: str, box_threshold: float | None = None, text_threshold: float | None = None) -> None:
        """Run a text query (``"a dog. a cat."``): every instance of each phrase, as the text box
        does. Removes the point/box prompts (text and clicks never mix). Thresholds: the
        detector's ``box_threshold`` / ``text_threshold`` in [0, 1]; None = the model's default.
        Empty text, or a model without text, shows an error (the ``error`` trait), not an
        exception; nothing found shows "no instances found" in ``status``."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a string like 'a dog. a cat.', got {type(text).__name__}")
        thresholds = [None if v is None else float(v) for v in (box_threshold, text_threshold)]
        with self.hold_trait_notifications(), self.hold_sync():
            self.text = text
            self.box_threshold, self.text_threshold = thresholds

    def clear_text(self) -> None:
        """End the text query (its instances go away); back to click mode."""
        self.text = None

    @property
    def text_mode(self) -> bool:
        """True while a text query (``text`` trait) is the prompt."""
        return self.text is not None

    def undo(self) -> None:
        """Go back to the prompts before the last change (a point, a box, or a clear)."""
        if len(self._history) > 1:
            self._history.pop()
            points, box = self._history[-1]
            with self.hold_trait_notifications(), self.hold_sync():
                self.points = [list(p) for p in points]
                self.box = None if box is None else list(box)

    def clear(self) -> None:
        """Remove every prompt, the text query too (undo brings the point/box prompts back)."""
        with self.hold_trait_notifications(), self.hold_sync():
            self.points, self.box = [], None
            self.text = None

    def reset(self) -> None:
        """Remove every prompt and forget the undo history."""
        self.clear()
        self._history = [((), None)]

    # ------------------------------------------------------------------ subclass hooks
    def _embed(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, prompts: dict[str, Any] | None) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_text(
        self, text: str, box_threshold: float | None, text_threshold: float | None
    ) -> str:  # pragma: no cover - abstract
        """Run the text query; returns the status line (e.g. "no instances found")."""
        raise NotImplementedError

    def _device(self) -> Any:
        """The device the widget's models run on (for `samkit.metrics.perf.timed`)."""
        return "cpu"

    def _state_key(self) -> Any:
        """What a prediction depends on besides the prompts (subclasses add e.g. the model name)."""
        return self.multimask

    # ------------------------------------------------------------------ machinery
    def _set_image_traits(self, image: Any) -> None:
        rgb = to_rgb_uint8(image)
        self._image = rgb
        height, width = rgb.shape[:2]
        with self.hold_sync():
            self.width, self.height = int(width), int(height)
            self.image = encode_image_png(rgb, display_size(height, width, self._max_display))

    @t.observe("points", "box", "multimask")
    def _on_prompt_change(self, change: dict[str, Any]) -> None:
        state = (tuple(tuple(p) for p in self.points), None if self.box is None else tuple(self.box))
        if change["name"] != "multimask" and state != self._history[-1]:
            self._history.append(state)
        if change["name"] != "multimask" and self.text is not None and any(state):
            self.text = None  # a click ends the text query (this predicts for the click)
        self._update()

    @t.observe("text", "box_threshold", "text_threshold")
    def _on_text_change(self, change: dict[str, Any]) -> None:
        if self.text is not None and (self.points or self.box is not None):
            with self.hold_trait_notifications(), self.hold_sync():
                self.points, self.box = [], None  # a text query removes the clicks (undo: back)
        self._update()

    def _on_frontend_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        action = content.get("event") if isinstance(content, dict) else None
        if action == "undo":
            self.undo()
        elif action == "clear":
            self.clear()
        elif action == "text":
            try:
                self.set_text(
                    str(content.get("text", "")),
                    _threshold(content.get("box_threshold")),
                    _threshold(content.get("text_threshold")),
                )
            except (TypeError, ValueError) as err:
                self.error = f"bad text query from the browser: {err}"
        elif action == "clear_text":
            self.clear_text()

    def _update(self, force: bool = False) -> None:
        """Predict for the current prompts unless that exact state was handled already."""
        if not self._ready:
            return
        key = (
            repr(self.points),
            repr(self.box),
            repr((self.text, self.box_threshold, self.text_threshold)),
            self._state_key(),
        )
        if key == self._handled_key and not force:
            return
        self._handled_key = key
        (error, status), handle_ms = timed(self._handle_prompts, self._device())
        with self.hold_sync():
            self.error = error
            self.status = status
            self.handle_ms = handle_ms

    def _handle_prompts(self) -> tuple[str, str]:
        """Predict for the current prompts; returns the error and the status line to show."""
        if self.text is not None:
            try:
                return "", self._predict_text(self.text, self.box_threshold, self.text_threshold)
            except SamkitError as err:  # PromptError (empty text), UnsupportedError (no text), ...
                self._predict(None)
                return str(err), ""
            except Exception as err:  # noqa: BLE001 - a widget callback must not kill the UI
                self.log.exception("samkit widget: text prediction failed")
                self._predict(None)
                return f"{type(err).__name__}: {err}", ""
        return self._handle_click_prompts(), ""

    def _handle_click_prompts(self) -> str:
        """Predict for the current point/box prompts; returns the error to show ("" when none)."""
        try:
            prompts = self.prompts
            empty = prompts["point_coords"] is None and prompts["box"] is None
            self._predict(None if empty else prompts)
            return ""
        except SamkitError as err:  # PromptError, NotReadyError, ...: shown, not raised
            self._predict(None)
            return str(err)
        except Exception as err:  # noqa: BLE001 - a widget callback must not kill the UI
            self.log.exception("samkit widget: prediction failed")
            self._predict(None)
            return f"{type(err).__name__}: {err}"


def _threshold(value: Any) -> float | None:
    """A threshold sent by the browser: None/"" = the model's default, else a float in [0, 1]."""
    if value is None or value == "":
        return None
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"thresholds are in [0, 1], got {value}")
    return value
