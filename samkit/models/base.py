"""`Segmenter`: the one SamPredictor-shaped interface every model family is used through.

A family adapter only says how to build its architecture and which upstream predictor and
automatic mask generator to wrap; validation, conversions and the output contract live here, so
every family behaves the same to the evaluation runners and widgets.
"""

from __future__ import annotations

import abc
import contextlib
import inspect
from typing import TYPE_CHECKING, Any

import numpy as np

from samkit.errors import NotReadyError, PromptError, UnsupportedError
from samkit.images import to_rgb_uint8
from samkit.prompts import split_phrases, validate_prompts
from samkit.registry import ModelSpec, list_models
from samkit.weights import WeightsInfo

if TYPE_CHECKING:
    import torch

__all__ = ["Segmenter", "DTYPES"]

DTYPES = ("float32", "bfloat16", "float16")


class Segmenter(abc.ABC):
    """A loaded model behind segment-anything's SamPredictor interface.

    Get one with `samkit.load(name, ...)`. Typical use::

        model.set_image(image)                      # HxWx3 uint8 RGB (numpy or PIL)
        masks, scores, logits = model.predict(point_coords=[[x, y]], point_labels=[1])

    Attributes:
        name: registered model name.
        spec: its `ModelSpec` (family, checkpoint, capabilities, ...).
        model: the upstream ``torch.nn.Module`` (eval mode, on ``device``).
        device: ``torch.device`` the model runs on.
        weights: `WeightsInfo`: ``pretrained`` with the file's SHA-256, or ``random`` with the seed.
        dtype: compute precision: ``"float32"``, or ``"bfloat16"`` / ``"float16"`` run under
            ``torch.autocast`` (weights stay float32; outputs are always float32 / bool numpy).
        capabilities: prompt kinds and features the model supports.
    """

    def __init__(self, spec: ModelSpec, model: torch.nn.Module, weights: WeightsInfo,
                 dtype: str = "float32") -> None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        self.spec = spec
        self.model = model
        self.weights = weights
        self.dtype = dtype
        self.device = next(model.parameters()).device
        self._predictor = self._make_predictor(model)
        self._image_hw: tuple[int, int] | None = None
        self._rgb: np.ndarray | None = None  # the image set, for a text detector
        #: the open-vocabulary detector that gives this model text prompts (`attach_text_detector`)
        self.text_detector: Any = None

    # ----------------------------------------------------------------- family hooks
    #: a state-dict key that only this family's checkpoints have (used to name a wrong file's model)
    checkpoint_marker: str = ""

    #: ``"grid"``: `generate` prompts a grid of points (SamAutomaticMaskGenerator's parameters);
    #: ``"everything"``: one pass of an everything model with its own parameters (FastSAM)
    generator_kind: str = "grid"

    #: family options ``samkit.load(name, **options)`` passes to the constructor (name -> default)
    load_options: dict[str, Any] = {}

    @classmethod
    @abc.abstractmethod
    def build_architecture(cls, spec: ModelSpec) -> torch.nn.Module:
        """Build the model of ``spec`` with the upstream package's default initialisation (CPU)."""

    @classmethod
    def read_checkpoint(cls, path: str, spec: ModelSpec) -> dict[str, Any]:
        """The state dict in a checkpoint file of the family's official layout, read safely.

        Default: `samkit.weights.read_state_dict` (tensors only); a family whose files are not
        plain tensor dicts (ultralytics' pickled models) overrides it.
        """
        from samkit.weights import read_state_dict

        return read_state_dict(path, spec)

    @abc.abstractmethod
    def _make_predictor(self, model: torch.nn.Module) -> Any:
        """The upstream image predictor wrapping ``model``."""

    @abc.abstractmethod
    def _mask_generator_class(self) -> type:
        """The default generator class of `generate`: the upstream one, or samkit's `GridMaskGenerator`
        (families without one, and SAM / MobileSAM / SAM 2 for its fast decoder)."""

    def _upstream_mask_generator_class(self) -> type | None:
        """The upstream generator class, None for families that ship none (`generate`'s
        ``engine="upstream"``); by default `_mask_generator_class` unless that is samkit's."""
        cls = self._mask_generator_class()
        return None if getattr(cls, "takes_segmenter", False) else cls

    def _predict_reduced(self, prompts: Any, multimask_output: bool, return_logits: bool) -> tuple:
        """Predict under autocast; families whose ``predict`` cannot return reduced precision override it."""
        return self._predictor.predict(
            point_coords=prompts.point_coords, point_labels=prompts.point_labels, box=prompts.box,
            mask_input=prompts.mask_input, multimask_output=multimask_output,
            return_logits=return_logits)

    @abc.abstractmethod
    def _predict_boxes(self, boxes: np.ndarray, multimask_output: bool) -> tuple:
        """Upstream batched box prediction: ``(B, C, H, W)`` masks, ``(B, C)`` scores, ``(B, C, 256, 256)``."""

    def _autocast(self) -> contextlib.AbstractContextManager:
        """``torch.autocast`` for ``dtype`` other than float32, else nothing."""
        if self.dtype == "float32":
            return contextlib.nullcontext()
        import torch

        return torch.autocast(self.device.type, dtype=getattr(torch, self.dtype))

    @staticmethod
    def _quiet_upstream() -> contextlib.AbstractContextManager:
        """Context that silences known, harmless upstream warnings (none by default)."""
        return contextlib.nullcontext()

    def _predict_logits_batch(self, point_coords: Any, point_labels: Any,
                              multimask_output: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask logits for a batch of point prompts on the image set (used by `GridMaskGenerator`).

        Args:
            point_coords: ``(B, K, 2)`` float ``(x, y)`` pixels of the image set.
            point_labels: ``(B, K)`` labels, 1 = foreground, 0 = background.
        Returns:
            logits ``(B, C, H, W)`` float32 at the set image's size, scores ``(B, C)`` float32.

        This default calls `predict` once per prompt; a family may override it with one batched call.
        """
        import torch

        coords, labels = np.asarray(point_coords), np.asarray(point_labels)
        outs = [self.predict(point_coords=c, point_labels=lab, multimask_output=multimask_output,
                             return_logits=True)[:2] for c, lab in zip(coords, labels)]
        return (torch.stack([torch.from_numpy(m) for m, _ in outs]),
                torch.stack([torch.from_numpy(s) for _, s in outs]))

    #: "module:class" of the family's `samkit.video.VideoTracker` ("" for families without video)
    video_tracker: str = ""

    #: dotted path in ``model`` of the image encoder that ``samkit.load(..., compile=True)``
    #: compiles (`samkit.fast_settings.compile_encoder`); None: not compilable by samkit
    encoder_path: str | None = "image_encoder"
    #: True once the encoder is compiled; ``compile_ms``: its warm-up (compilation) time in ms
    compiled: bool = False
    compile_ms: float | None = None

    def _sibling(self) -> Segmenter:
        """A Segmenter of the same class around the same ``model`` (shared, not copied), spec,
        weights, dtype and family options (``load_options`` read back as attributes), with its own
        image state: work on it leaves this one's image alone. Families with costly construction
        or options not readable as attributes override it.
        """
        options = {k: getattr(self, k, default) for k, default in self.load_options.items()}
        return type(self)(self.spec, self.model, self.weights, self.dtype, **options)

    # ----------------------------------------------------------------- public interface
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def family(self) -> str:
        return self.spec.family

    @property
    def capabilities(self) -> frozenset[str]:
        """The spec's capabilities, plus ``"text"`` while a text detector is attached."""
        if self.text_detector is not None:
            return self.spec.capabilities | {"text"}
        return self.spec.capabilities

    @property
    def text_source(self) -> str | None:
        """How this model takes text: ``"native"`` (SAM 3), ``"detector:<name>"`` (boxes of an
        attached open-vocabulary detector, see `attach_text_detector`), or None (no text)."""
        if "text" in self.spec.capabilities:
            return "native"
        if self.text_detector is not None:
            return f"detector:{self.text_detector.name}"
        return None

    def attach_text_detector(self, detector: Any, *, weights: str | None = None,
                             options: dict[str, Any] | None = None) -> Segmenter:
        """Give this model text prompts through an open-vocabulary detector (Grounded-SAM):
        ``predict(text=...)`` / `predict_text` then detect the phrases on the image set and
        prompt this model with every box in one batched call. Returns ``self``.

        Args:
            detector: a `samkit.detectors.Detector` or a registered open-vocabulary detector name
                (``"grounding_dino_tiny"``, ``"owlv2_base"``...); None detaches it.
            weights: the detector's weights when it is given by name; default ``"random"`` if
                this model's weights are random, else ``"pretrained"`` (never a silent mix).
            options: more `samkit.detectors.load_detector` keyword arguments (``config``,
                ``seed``, ``checkpoint``, ``download``...); the device is this model's.

        A model that takes text natively (SAM 3) keeps its own text path; one without box
        prompts cannot take a detector's boxes (`UnsupportedError`).
        """
        if detector is None:
            self.text_detector = None
            return self
        from samkit.detectors.base import Detector, load_detector

        self.require("box", "box prompts (a text detector prompts the model with its boxes)")
        if "text" in self.spec.capabilities:
            raise ValueError(f"{self.name} takes text natively; it needs no text detector.")
        if isinstance(detector, Detector):
            found = detector
        elif isinstance(detector, str):
            kind = weights or ("random" if self.weights.kind == "random" else "pretrained")
            found = load_detector(detector, **{"weights": kind, "device": self.device, **(options or {})})
        else:
            raise TypeError(f"text detector must be a Detector or a registered detector name, got "
                            f"{type(detector).__name__}")
        if found.kind != "open_vocab":
            raise ValueError(f"a text detector must be open-vocabulary (text -> boxes); {found.name} "
                             f"is {found.kind}. Use samkit.pipelines.DetectThenSegment for closed-set "
                             "detectors.")
        self.text_detector = found
        return self

    @property
    def is_image_set(self) -> bool:
        """True once `set_image` has embedded an image."""
        return self._image_hw is not None

    @property
    def original_size(self) -> tuple[int, int] | None:
        """``(H, W)`` of the image set with `set_image`, or None."""
        return self._image_hw

    def require(self, capability: str, what: str | None = None) -> None:
        """Raise `UnsupportedError` naming the models that support ``capability`` unless this one does."""
        if capability in self.capabilities:
            return
        others = list_models(capability=capability)
        raise UnsupportedError(
            f"{self.name} does not support {what or capability!s}; models that do: "
            f"{', '.join(others) if others else 'none'}.")

    def _require_prompts(self, point_coords: Any, box: Any, mask_input: Any) -> None:
        """`require` the capability of each prompt kind that is given."""
        for given, capability, what in ((point_coords, "points", "point prompts"),
                                        (box, "box", "box prompts"),
                                        (mask_input, "mask_input", "mask_input (a mask prompt)")):
            if given is not None:
                self.require(capability, what)

    def num_parameters(self) -> int:
        """Number of parameters of the whole model (encoder, prompt encoder, decoder, and any memory modules)."""
        return sum(p.numel() for p in self.model.parameters())

    def set_image(self, image: Any) -> None:
        """Embed ``image`` (HxWx3 uint8 RGB, numpy or PIL) with the image encoder; prompts then refer to it.

        Grayscale and RGBA images are converted (with a warning); float and 16-bit images are
        rejected (see `samkit.images.to_rgb_uint8`).
        """
        rgb = to_rgb_uint8(image)
        self._image_hw, self._rgb, self._image_batch = None, None, None
        with self._autocast():
            self._predictor.set_image(rgb)
        self._image_hw = (int(rgb.shape[0]), int(rgb.shape[1]))
        self._rgb = rgb

    def reset_image(self) -> None:
        """Forget the current image embedding."""
        reset = getattr(self._predictor, "reset_image", None) or self._predictor.reset_predictor
        reset()
        self._image_hw, self._rgb, self._image_batch = None, None, None

    def predict(
        self,
        point_coords: Any = None,
        point_labels: Any = None,
        box: Any = None,
        mask_input: Any = None,
        multimask_output: bool = True,
        return_logits: bool = False,
        *,
        text: str | list[str] | None = None,
        **text_options: Any,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predict masks for prompts on the current image, exactly as the family's upstream predictor.

        Args:
            point_coords: ``(N, 2)`` points as ``(x, y)`` pixels of the original image.
            point_labels: ``(N,)`` labels, 1 = foreground, 0 = background.
            box: ``(4,)`` box, XYXY pixels.
            mask_input: ``(1, 256, 256)`` low-res logits from an earlier call (its third output).
            multimask_output: return 3 candidate masks (recommended for one ambiguous click) or 1.
            return_logits: return un-thresholded mask logits instead of boolean masks.
            text: a text prompt (``"a dog. a cat."``) instead of the other prompts: every instance
                of each phrase, through `predict_text` (``text_options``: its thresholds).

        Returns:
            masks: ``(C, H, W)`` bool (float32 logits if ``return_logits``), C = 3 or 1.
            scores: ``(C,)`` float32, the model's predicted IoU of each mask.
            low_res_logits: ``(C, 256, 256)`` float32, to feed back as ``mask_input``.
            With ``text``: C = the number of instances found (0 or more), most confident first,
            and ``scores`` are the detection scores (see `predict_text`).
        """
        if text is not None:
            return self._predict_text_outputs(text, (point_coords, point_labels, box, mask_input),
                                              return_logits, text_options)
        if text_options:
            raise TypeError(f"predict() got unexpected keyword argument(s) {sorted(text_options)} "
                            "(text thresholds go with text=...)")
        if self._image_hw is None:
            raise NotReadyError(f"{self.name}: call set_image(image) before predict().")
        self._require_prompts(point_coords, box, mask_input)
        prompts = validate_prompts(self._image_hw, point_coords, point_labels, box, mask_input)
        if self.dtype == "float32":
            masks, scores, low_res = self._predictor.predict(
                point_coords=prompts.point_coords,
                point_labels=prompts.point_labels,
                box=prompts.box,
                mask_input=prompts.mask_input,
                multimask_output=multimask_output,
                return_logits=return_logits,
            )
        else:
            with self._autocast():
                masks, scores, low_res = self._predict_reduced(prompts, multimask_output, return_logits)
        return _outputs(masks, scores, low_res, return_logits)

    def _predict_text_outputs(self, text: Any, prompts: tuple, return_logits: bool,
                              options: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``predict(text=...)``: `predict_text` as ``(masks, scores, low_res_logits)``."""
        if any(p is not None for p in prompts):
            raise PromptError("predict(text=...) takes the text alone; to combine a phrase with a "
                              "box or points, detect first and prompt with the boxes.")
        if return_logits and self.text_source != "native":
            raise PromptError(f"{self.name}: return_logits is not available with text through a "
                              "detector (the boxes are decoded to masks in one batched call); use "
                              "the low-res logits (third output) instead.")
        result = self.predict_text(text, return_logits=return_logits, **options)
        masks = result.mask_logits if return_logits else result.masks
        low_res = result.low_res_logits
        if low_res is None:  # nothing found
            side = int(getattr(self, "low_res_size", 256))
            low_res = np.zeros((0, side, side), dtype=np.float32)
        return masks, result.scores, low_res

    def predict_text(self, text: str | list[str], *, box_threshold: float | None = None,
                     text_threshold: float | None = None, return_logits: bool = False) -> Any:
        """Every instance of each phrase of ``text`` on the image set (Grounded-SAM).

        Through the attached text detector (`attach_text_detector`): its boxes for the phrases,
        then every box in one batched ``predict_boxes`` call. SAM 3 overrides this with its own
        text path.

        Args:
            text: ``"a dog. a cat."`` or ``["a dog", "a cat"]``; empty text is a `PromptError`.
            box_threshold, text_threshold: the detector's thresholds (default: its family's).
            return_logits: SAM 3 only (full-size logits of the masks).

        Returns:
            `samkit.pipelines.PipelineResult`: one object per instance (``label`` = its phrase,
            ``score`` = detection score, ``box`` XYXY, ``mask`` HxW bool, ``mask_score``), most
            confident first; empty when nothing is found (not an error). ``detect_ms`` and
            ``decoder_ms`` are this call's stage times; ``encoder_ms`` is NaN (the image was
            embedded by `set_image`); ``low_res_logits`` ``(N, 256, 256)``.
        """
        from samkit.pipelines._segment import detect_and_segment

        self._require_text()
        if self._image_hw is None or self._rgb is None:
            raise NotReadyError(f"{self.name}: call set_image(image) before predict(text=...).")
        if return_logits:
            raise PromptError(f"{self.name}: return_logits with text is SAM 3's only.")
        phrases = split_phrases(text)
        return detect_and_segment(self.text_detector, self, self._rgb, phrases, embed=False, text=phrases,
                                  box_threshold=box_threshold, text_threshold=text_threshold)

    def _require_text(self) -> None:
        """`UnsupportedError` for text on a model without it, saying both ways to get it."""
        if "text" in self.capabilities:
            return
        native = list_models(capability="text")
        raise UnsupportedError(
            f"{self.name} does not take text prompts by itself (models that do: "
            f"{', '.join(native) or 'none'}). Give it an open-vocabulary detector: "
            f"samkit.load({self.name!r}, text_detector='grounding_dino_tiny'), or "
            f"model.attach_text_detector('grounding_dino_tiny').")

    def predict_boxes(self, boxes: Any, multimask_output: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predict one object per box, all boxes in one batched decoder call.

        Args:
            boxes: ``(B, 4)`` XYXY pixels of the original image.
        Returns:
            masks ``(B, C, H, W)`` bool, scores ``(B, C)`` float32, low-res logits
            ``(B, C, 256, 256)`` float32; C = 3 with ``multimask_output`` else 1.
        """
        if self._image_hw is None:
            raise NotReadyError(f"{self.name}: call set_image(image) before predict_boxes().")
        self.require("box", "box prompts")
        arr = np.asarray(boxes, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 4 or len(arr) == 0:
            raise PromptError(f"boxes must have shape (B, 4) with B >= 1, got {arr.shape}.")
        for b in arr:
            validate_prompts(self._image_hw, box=b)
        with self._autocast():
            return _batch_outputs(*self._predict_boxes(arr, multimask_output))

    # ----------------------------------------------------------------- batching
    def predict_points(self, point_coords: Any, point_labels: Any, multimask_output: bool = True
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predict one object per point set, all N sets in one batched decoder call where the
        family can (`batched_decoder`; else one ``predict`` per set).

        Args:
            point_coords: ``(N, K, 2)``: N sets of K points, ``(x, y)`` pixels of the original image.
            point_labels: ``(N, K)``: 1 = foreground, 0 = background.
            multimask_output: C = 3 candidates per set (the family's count, as ``predict``) or 1.
        Returns:
            masks ``(N, C, H, W)`` bool, scores ``(N, C)`` float32, low-res logits
            ``(N, C, s, s)`` float32 (s = 256; SAM 3: 288): entry ``i`` is what
            ``predict(point_coords[i], point_labels[i], multimask_output=...)`` returns (within
            float rounding of a batched decoder call).
        """
        from samkit.models._batching import check_point_sets

        if self._image_hw is None:
            raise NotReadyError(f"{self.name}: call set_image(image) before predict_points().")
        self.require("points", "point prompts")
        coords, labels = check_point_sets(self._image_hw, point_coords, point_labels)
        with self._autocast():
            return _batch_outputs(*self._predict_points(coords, labels, multimask_output))

    #: True when `predict_points` decodes all its point sets in one decoder call (False: a loop)
    batched_decoder: bool = False
    #: True when `set_images` embeds ``batch_size`` images per encoder pass (False: one at a time)
    batched_encoder: bool = False
    #: attributes of the upstream predictor that hold one image's embedding (`set_images` keeps
    #: them per image and `select_image` puts them back)
    _image_state_keys: tuple[str, ...] = ()
    _image_batch: Any = None  # the `samkit.models._batching.ImageBatch` of `set_images`

    def _predict_points(self, coords: np.ndarray, labels: np.ndarray, multimask_output: bool) -> tuple:
        """``(N, K, 2)`` checked point sets -> masks, scores, low-res logits (default: a loop of
        ``predict``; families with a batched decoder override it)."""
        outs = [self.predict(point_coords=c, point_labels=lab, multimask_output=multimask_output)
                for c, lab in zip(coords, labels)]
        return tuple(np.stack([o[i] for o in outs]) for i in range(3))

    def _embed_images(self, images: list[np.ndarray]) -> list[dict[str, Any]]:
        """Embed ``images`` (one encoder pass where `batched_encoder`) -> the predictor's state
        for each (`_image_state_keys`). Default: the predictor's ``set_image``, one at a time."""
        states = []
        for rgb in images:
            self._predictor.set_image(rgb)
            states.append({k: getattr(self._predictor, k) for k in self._image_state_keys})
        return states

    def set_images(self, images: Any, batch_size: int | None = None) -> None:
        """Embed several images (each HxWx3 uint8 RGB, numpy or PIL; sizes may differ), in
        encoder passes of ``batch_size`` images (None: all in one pass) where the family has a
        batched encoder (`batched_encoder`), else one at a time.

        Image 0 is then current (`predict`, `predict_boxes`, ... refer to it); `select_image(i)`
        makes image ``i`` current, `predict_batch` prompts every image. The embeddings of all
        images are kept (memory grows with their number); `set_image` or `reset_image` drop them.
        """
        from samkit.models._batching import ImageBatch, check_batch_size, chunks

        size = check_batch_size(batch_size)
        if isinstance(images, np.ndarray) and images.ndim == 3:
            raise ValueError("set_images takes a sequence of images (a list, or an (N, H, W, 3) "
                             "array); for one image use set_image.")
        rgbs = [to_rgb_uint8(im) for im in images]
        if not rgbs:
            raise ValueError("set_images needs at least one image.")
        if not self._image_state_keys:
            raise UnsupportedError(f"{self.name}: set_images is not available for the "
                                   f"{self.family} family (no per-image predictor state declared).")
        self.reset_image()
        states: list[dict[str, Any]] = []
        passes = 0
        try:
            with self._autocast():
                for chunk in chunks(rgbs, size if self.batched_encoder else 1):
                    states.extend(self._embed_images(chunk))
                    passes += 1
        except BaseException:
            self.reset_image()
            raise
        self._image_batch = ImageBatch(rgbs, states, passes)
        self.select_image(0)

    @property
    def num_images(self) -> int:
        """Number of images of the last `set_images` (0 without one, or after `set_image`)."""
        return 0 if self._image_batch is None else len(self._image_batch.images)

    @property
    def image_sizes(self) -> list[tuple[int, int]]:
        """``(H, W)`` of each image of the last `set_images` (empty without one)."""
        return [] if self._image_batch is None else list(self._image_batch.sizes)

    @property
    def selected_image(self) -> int | None:
        """Index of the current image of the `set_images` batch (None without one)."""
        return None if self._image_batch is None else self._image_batch.selected

    def select_image(self, index: int) -> None:
        """Make image ``index`` of the last `set_images` the current image (no encoder pass)."""
        batch = self._image_batch
        if batch is None:
            raise NotReadyError(f"{self.name}: call set_images(images) before select_image().")
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) \
                or not 0 <= index < len(batch.images):
            raise IndexError(f"image index must be an int in [0, {len(batch.images)}), got {index!r}.")
        for key, value in batch.states[index].items():
            setattr(self._predictor, key, value)
        batch.selected = int(index)
        self._image_hw = batch.sizes[index]
        self._rgb = batch.images[index]

    def predict_batch(self, point_coords: Any = None, point_labels: Any = None, boxes: Any = None,
                      multimask_output: bool | None = None) -> list[tuple | None]:
        """Prompt every image of the last `set_images`: one `predict_boxes` or `predict_points`
        call (one batched decoder call where the family has one) per image.

        Args:
            point_coords: one ``(N_i, K_i, 2)`` array per image (with ``point_labels``, one
                ``(N_i, K_i)`` each), or
            boxes: one ``(N_i, 4)`` XYXY array per image. Exactly one of the two kinds.
                An entry that is None or holds no prompts gives None (nothing decoded).
            multimask_output: as `predict_boxes` / `predict_points`; None: their defaults
                (False for boxes, True for points).
        Returns:
            one ``(masks, scores, low_res_logits)`` per image (or None), as `predict_boxes` /
            `predict_points` return them. The image current before the call stays current.
        """
        batch = self._image_batch
        if batch is None:
            raise NotReadyError(f"{self.name}: call set_images(images) before predict_batch().")
        if (boxes is None) == (point_coords is None and point_labels is None):
            raise PromptError("predict_batch takes exactly one kind of prompt: boxes=[(N_i, 4), ...] "
                              "or point_coords=[(N_i, K, 2), ...] with point_labels=[(N_i, K), ...].")
        n = len(batch.images)
        if boxes is not None:
            entries = [(b,) for b in self._per_image(boxes, "boxes", n)]
        else:
            if point_coords is None or point_labels is None:
                raise PromptError("point_coords and point_labels must be given together.")
            entries = list(zip(self._per_image(point_coords, "point_coords", n),
                               self._per_image(point_labels, "point_labels", n)))
        before = batch.selected
        results: list[tuple | None] = []
        try:
            for i, entry in enumerate(entries):
                if entry[0] is None or np.size(entry[0]) == 0:
                    results.append(None)
                    continue
                self.select_image(i)
                try:
                    if boxes is not None:
                        multi = False if multimask_output is None else multimask_output
                        results.append(self.predict_boxes(entry[0], multimask_output=multi))
                    else:
                        multi = True if multimask_output is None else multimask_output
                        results.append(self.predict_points(entry[0], entry[1], multimask_output=multi))
                except PromptError as err:
                    raise PromptError(f"image {i}: {err}") from None
        finally:
            self.select_image(before)
        return results

    @staticmethod
    def _per_image(values: Any, name: str, n: int) -> list[Any]:
        if isinstance(values, np.ndarray) or not isinstance(values, (list, tuple)) or len(values) != n:
            got = f"length {len(values)}" if isinstance(values, (list, tuple)) else type(values).__name__
            raise PromptError(f"{name} must be a list with one entry per image of set_images ({n}), "
                              f"got {got}.")
        return list(values)

    def video(self, frames: Any, *, video_storage: str = "stream", offload_state_to_cpu: bool = False,
              progress: bool = False) -> Any:
        """A `samkit.video.VideoTracker` of this model on a video.

        Args:
            frames: a folder of JPEG/PNG frames, a video file (mp4, ...; read with PyAV), a
                ``(T, H, W, 3)`` uint8 array or a list of HxWx3 uint8 frames
                (`samkit.data.video.open_video`).
            video_storage: ``"stream"`` (frames decoded when needed, the default), ``"cpu"`` or
                ``"device"`` (all decoded up front there); see `samkit.video.tracker`.
            offload_state_to_cpu: keep the tracking state in CPU memory (less GPU memory, lower fps).
            progress: show the upstream propagation progress bar.

        A family without video tracking raises `UnsupportedError` naming the models that track.
        """
        import importlib

        self.require("video", "video tracking")
        module_name, _, class_name = self.video_tracker.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        return cls(self, frames, video_storage=video_storage,
                   offload_state_to_cpu=offload_state_to_cpu, progress=progress)

    def generate(self, image: Any, *, engine: str = "samkit", **params: Any) -> list[dict[str, Any]]:
        """Automatic "segment everything" masks.

        ``engine="samkit"`` (default): samkit's `GridMaskGenerator` where the family has one
        (SAM, MobileSAM and SAM 2 with a faster decoder pass and the same masks as their upstream
        generators; EfficientSAM, SAM 3, EdgeTAM, which ship none), else the family's upstream
        generator. ``engine="upstream"``: the upstream generator (segment-anything's
        ``SamAutomaticMaskGenerator``, sam2's ``SAM2AutomaticMaskGenerator``, ...), where there is one.

        ``params`` are the generator's own (``points_per_side``, ``pred_iou_thresh``,
        ``stability_score_thresh``, ``output_mode``, ...), with the upstream generator's names
        and defaults. Returns its records: dicts with ``segmentation`` (HxW bool, or RLE),
        ``area``, ``bbox`` (XYWH), ``predicted_iou``, ``point_coords``, ``stability_score``,
        ``crop_box``. Does not change the image set with `set_image`.
        """
        self.require("automatic", "automatic mask generation")
        if engine == "samkit":
            cls = self._mask_generator_class()
        elif engine == "upstream":
            cls = self._upstream_mask_generator_class()
            if cls is None:
                raise UnsupportedError(f"{self.name} ({self.family}) has no upstream automatic mask "
                                       "generator; use engine='samkit' (samkit's GridMaskGenerator).")
        else:
            raise ValueError(f"engine must be 'samkit' or 'upstream', got {engine!r}")
        takes_segmenter = getattr(cls, "takes_segmenter", False)  # e.g. GridMaskGenerator
        allowed = [p for p in inspect.signature(cls.__init__).parameters
                   if p not in ("self", "segmenter" if takes_segmenter else "model", "kwargs")]
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise TypeError(
                f"{self.name}.generate() got unknown parameter(s) {unknown}; "
                f"the {cls.__name__} parameters are: {', '.join(allowed)}."
            )
        rgb = to_rgb_uint8(image)
        with self._quiet_upstream():
            generator = cls(self if takes_segmenter else self.model, **params)
        with self._autocast():
            return generator.generate(rgb)

    def __repr__(self) -> str:
        precision = ("" if self.dtype == "float32" else f" dtype={self.dtype}") + (" compiled" if self.compiled else "")
        return (f"<{type(self).__name__} {self.name!r} family={self.family} weights={self.weights} "
                f"device={self.device}{precision}>")


def _batch_outputs(masks: Any, scores: Any, low_res: Any) -> tuple:
    """Batched upstream outputs ``(B, C, ...)`` as `_outputs` (a batch of one squeezed upstream
    gets its batch axis back)."""
    masks, scores, low_res = np.asarray(masks), np.asarray(scores), np.asarray(low_res)
    if masks.ndim == 3:
        masks, scores, low_res = masks[None], scores[None], low_res[None]
    return _outputs(masks, scores, low_res, False)


def _outputs(masks: Any, scores: Any, low_res: Any, return_logits: bool) -> tuple:
    """Upstream outputs as the interface's numpy types: bool masks (or float32 logits), float32 rest."""
    masks = np.asarray(masks, dtype=np.float32) if return_logits else np.asarray(masks).astype(bool)
    return masks, np.asarray(scores, dtype=np.float32), np.asarray(low_res, dtype=np.float32)
