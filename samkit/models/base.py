"""`Segmenter`: the one SamPredictor-shaped interface every model family is used through.

A family adapter only says how to build its architecture and which upstream predictor and
automatic mask generator to wrap; validation, conversions and the output contract live here, so
every family behaves the same to the evaluation runners and widgets.

This module is the core: the family hooks (one block at the top), ``set_image``, ``predict``,
``predict_boxes``, the properties, device and dtype. The rest of the interface is mixed in from
modules of one job each: batching (`samkit.models._batching.ImageBatching`: ``predict_points``,
``set_images``, ``predict_batch``), automatic masks (`samkit.models._generate.AutomaticMasks`:
``generate``), text prompts (`samkit.models._text.TextPrompts`: ``predict(text=...)``,
``predict_text``) and the video hand-off (`samkit.models._video.VideoHandOff`: ``video``).
"""

from __future__ import annotations

import abc
import contextlib
from typing import TYPE_CHECKING, Any

import numpy as np

from samkit.errors import NotReadyError, PromptError, UnsupportedError
from samkit.images import to_rgb_uint8
from samkit.models._batching import ImageBatching, batch_outputs, outputs
from samkit.models._generate import AutomaticMasks
from samkit.models._text import TextPrompts
from samkit.models._video import VideoHandOff
from samkit.params import check_bool
from samkit.prompts import validate_prompts
from samkit.registry import ModelSpec, list_models
from samkit.weights import WeightsInfo

if TYPE_CHECKING:
    import torch

__all__ = ["Segmenter", "DTYPES"]

#: the ``dtype`` values `samkit.load` accepts (reduced precision runs under ``torch.autocast``)
DTYPES = ("float32", "bfloat16", "float16")


class Segmenter(TextPrompts, ImageBatching, AutomaticMasks, VideoHandOff, abc.ABC):
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

    def __init__(self, spec: ModelSpec, model: torch.nn.Module, weights: WeightsInfo, dtype: str = "float32") -> None:
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
        #: what gives this model text prompts without native text: an object with ``source``,
        #: ``detector`` and ``predict_text(segmenter, rgb, phrases, box_threshold=, text_threshold=)``
        #: (`samkit.pipelines.attach_text_detector` sets it); None: no text through a detector
        self.text_prompter: Any = None

    # ----------------------------------------------------------------- family hooks
    #: a state-dict key that only this family's checkpoints have (used to name a wrong file's model)
    checkpoint_marker: str = ""

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

    @classmethod
    def build_random(cls, spec: ModelSpec, seed: int, **build_options: Any) -> torch.nn.Module:
        """`build_architecture` under ``torch.manual_seed(seed)``, the global RNG state left as it was."""
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return cls.build_architecture(spec, **build_options)

    @classmethod
    def load_checkpoint(cls, spec: ModelSpec, path: str) -> torch.nn.Module:
        """The architecture with the weights of the file ``path`` (`read_checkpoint`), which must fit
        it key for key and shape for shape (else `CheckpointError`, nothing half-loaded). Families
        whose checkpoint chooses the architecture (hub folders) override it."""
        from samkit.models.checkpoints import match_checkpoint

        state_dict = cls.read_checkpoint(path, spec)
        model = cls.build_architecture(spec)
        match_checkpoint(model, state_dict, spec, path)
        model.load_state_dict(state_dict, strict=True)
        return model

    @abc.abstractmethod
    def _make_predictor(self, model: torch.nn.Module) -> Any:
        """The upstream image predictor wrapping ``model``."""

    def _predict_reduced(self, prompts: Any, multimask_output: bool, return_logits: bool) -> tuple:
        """Predict under autocast; families whose ``predict`` cannot return reduced precision override it."""
        return self._predictor.predict(
            point_coords=prompts.point_coords,
            point_labels=prompts.point_labels,
            box=prompts.box,
            mask_input=prompts.mask_input,
            multimask_output=multimask_output,
            return_logits=return_logits,
        )

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
        if self.text_prompter is not None:
            return self.spec.capabilities | {"text"}
        return self.spec.capabilities

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
            f"{', '.join(others) if others else 'none'}."
        )

    def _require_prompts(self, point_coords: Any, box: Any, mask_input: Any) -> None:
        """`require` the capability of each prompt kind that is given."""
        for given, capability, what in (
            (point_coords, "points", "point prompts"),
            (box, "box", "box prompts"),
            (mask_input, "mask_input", "mask_input (a mask prompt)"),
        ):
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
            return self._predict_text_outputs(
                text, (point_coords, point_labels, box, mask_input), return_logits, text_options
            )
        if text_options:
            raise TypeError(
                f"predict() got unexpected keyword argument(s) {sorted(text_options)} "
                "(text thresholds go with text=...)"
            )
        multimask_output = check_bool("multimask_output", multimask_output)
        return_logits = check_bool("return_logits", return_logits)
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
        return outputs(masks, scores, low_res, return_logits)

    def predict_boxes(self, boxes: Any, multimask_output: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predict one object per box, all boxes in one batched decoder call.

        Args:
            boxes: ``(B, 4)`` XYXY pixels of the original image.
        Returns:
            masks ``(B, C, H, W)`` bool, scores ``(B, C)`` float32, low-res logits
            ``(B, C, 256, 256)`` float32; C = 3 with ``multimask_output`` else 1.
        """
        multimask_output = check_bool("multimask_output", multimask_output)
        if self._image_hw is None:
            raise NotReadyError(f"{self.name}: call set_image(image) before predict_boxes().")
        self.require("box", "box prompts")
        arr = np.asarray(boxes, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 4 or len(arr) == 0:
            raise PromptError(f"boxes must have shape (B, 4) with B >= 1, got {arr.shape}.")
        for b in arr:
            validate_prompts(self._image_hw, box=b)
        with self._autocast():
            return batch_outputs(*self._predict_boxes(arr, multimask_output))

    def __repr__(self) -> str:
        precision = ("" if self.dtype == "float32" else f" dtype={self.dtype}") + (" compiled" if self.compiled else "")
        return (
            f"<{type(self).__name__} {self.name!r} family={self.family} weights={self.weights} "
            f"device={self.device}{precision}>"
        )
