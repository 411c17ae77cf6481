"""`Detector`: the one interface of every detector, and `load_detector` (name -> ready detector)."""

from __future__ import annotations

import difflib
import os
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from samkit.detectors.detections import Detections
from samkit.detectors.registry import DETECTORS, DetectorSpec, get_detector_spec, list_detectors
from samkit.errors import PromptError, UnsupportedError
from samkit.images import to_rgb_uint8
from samkit.prompts import check_threshold, split_phrases
from samkit.weights import WeightsInfo

__all__ = ["Detector", "load_detector", "split_phrases", "CONFIGS"]

#: named architecture configs of ``weights="random"`` builds
CONFIGS = ("full", "tiny")


class Detector(ABC):
    """A loaded detector: ``detect(image, text=... | classes=...) -> Detections``.

    Subclasses (one per family) implement `_detect`, `build_random` and `load_checkpoint`;
    ``default_box_threshold`` / ``default_text_threshold`` are the family's published defaults.
    """

    default_box_threshold: float = 0.35
    default_text_threshold: float = 0.25

    def __init__(self, spec: DetectorSpec, model: Any, processor: Any, weights: WeightsInfo, device: Any) -> None:
        self.spec = spec
        self.model = model
        self.processor = processor
        self.weights = weights
        self.device = device

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def classes(self) -> list[str] | None:
        """The class names of a closed-set detector (index = class id), else None."""
        return None

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, weights={self.weights}, device={self.device})"

    # ------------------------------------------------------------------ public interface
    def detect(
        self,
        image: Any,
        text: str | list[str] | None = None,
        classes: list[str] | None = None,
        box_threshold: float | None = None,
        text_threshold: float | None = None,
    ) -> Detections:
        """Boxes of the objects in ``image`` that the prompt names.

        Args:
            image: HxWx3 uint8 RGB (numpy or PIL; grayscale / RGBA are converted with a warning).
            text: open-vocabulary detectors: ``"a dog. a cat."`` or ``["a dog", "a cat"]``.
                Not accepted by closed-set detectors (`UnsupportedError`).
            classes: closed-set detectors: the class names to keep (default: all of them);
                a name that is not one of its classes is a `PromptError`. Open-vocabulary
                detectors take a list of classes as the phrases of the text prompt.
            box_threshold: minimum box confidence in ``[0, 1]`` (default: the family's).
            text_threshold: Grounding DINO's minimum token score (other families ignore it).

        Returns:
            `Detections` (XYXY pixel boxes clipped to the image, with the unclipped ones as
            ``raw_boxes``; most confident first); empty when nothing passes the thresholds.
        """
        rgb = to_rgb_uint8(image)
        box_threshold = check_threshold("box_threshold", box_threshold, self.default_box_threshold)
        text_threshold = check_threshold("text_threshold", text_threshold, self.default_text_threshold)
        if self.kind == "open_vocab":
            if text is not None and classes is not None:
                raise PromptError(f"{self.name}: give text= or classes=, not both.")
            if text is None and classes is None:
                raise PromptError(
                    f"{self.name} is an open-vocabulary detector: give text='a dog. a cat.' (or classes=[...])."
                )
            prompt = split_phrases(text if text is not None else list(classes))
        else:
            if text is not None:
                others = ", ".join(list_detectors(kind="open_vocab"))
                raise UnsupportedError(
                    f"{self.name} is a closed-set detector ({len(self.classes)} "
                    f"fixed classes): it takes classes=[...], not text. "
                    f"Text prompts: {others}."
                )
            prompt = self._class_ids(classes)
        detections = self._detect(rgb, prompt, box_threshold, text_threshold)
        return _sorted_clipped(detections)

    def _class_ids(self, classes: list[str] | None) -> list[int] | None:
        names = self.classes or []
        if classes is None:
            return None
        if isinstance(classes, str):
            classes = [classes]
        ids = []
        for c in classes:
            if c not in names:
                close = difflib.get_close_matches(str(c), names, n=3, cutoff=0.5)
                hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
                raise PromptError(f"{c!r} is not a class of {self.name}.{hint} Its classes: {', '.join(names)}")
            ids.append(names.index(c))
        if not ids:
            raise PromptError(f"{self.name}: classes=[] names no class; pass None for all of them.")
        return ids

    # ------------------------------------------------------------------ family hooks
    @abstractmethod
    def _detect(self, rgb: np.ndarray, prompt: Any, box_threshold: float, text_threshold: float) -> Detections:
        """Detect on ``rgb`` (HxWx3 uint8); ``prompt``: phrases (open-vocab) or class ids / None."""

    @classmethod
    @abstractmethod
    def build_random(cls, spec: DetectorSpec, seed: int, config: str) -> tuple[Any, Any]:
        """``(model, processor)`` of the architecture with seeded random weights."""

    @classmethod
    @abstractmethod
    def load_checkpoint(cls, spec: DetectorSpec, path: str) -> tuple[Any, Any]:
        """``(model, processor)`` read from a checkpoint in the official layout."""

    @classmethod
    def fetch_parts(cls, spec: DetectorSpec, path: str, *, download: bool = True, progress: bool = True) -> None:
        """Find (or, with ``download``, download) the files besides the checkpoint that a pretrained
        load needs (YOLOE: its text encoder); a missing one without ``download`` is a
        `CheckpointError`. Called before `load_checkpoint` and by ``samkit weights download``.
        Default: nothing (the checkpoint is all)."""
        return None


def _sorted_clipped(d: Detections) -> Detections:
    """``d`` most confident first, ``boxes`` clipped to the image (the segmenter's prompts) and
    ``raw_boxes`` as the detector gave them (what COCO box AP scores)."""
    h, w = d.image_size
    order = np.argsort(-d.scores, kind="stable")
    boxes = d.boxes[order].copy()
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
    return Detections(boxes, d.scores[order], d.labels[order], d.image_size, raw_boxes=d.raw_boxes[order])


def detector_class(spec: DetectorSpec) -> type[Detector]:
    """The `Detector` subclass of the family of ``spec`` (imports that family's module).

    The family's optional package not installed (``DETECTOR_EXTRAS``): `MissingExtraError` naming the extra.
    """
    return DETECTORS.family_class(spec)


def load_detector(
    name: str | DetectorSpec,
    weights: str = "pretrained",
    *,
    checkpoint: str | os.PathLike | None = None,
    device: Any = None,
    seed: int = 0,
    config: str = "full",
    download: bool = True,
    progress: bool = True,
) -> Detector:
    """Load a registered detector (see `list_detectors`).

    Args:
        name: e.g. ``"grounding_dino_tiny"``, ``"owlv2_base"``, ``"yolo11n"``.
        weights: ``"pretrained"`` (the official weights, or ``checkpoint``), ``"random"`` (the
            architecture with seeded random weights: real size and latency, random boxes) or
            ``"auto"`` (pretrained when the official weights are present, else random; the
            detector's ``weights`` says which).
        checkpoint: a checkpoint in the official layout (hub folder / ultralytics ``.pt``).
        device: ``"cpu"``, ``"cuda"``...; default CUDA if available, else CPU.
        seed: torch seed of the random weights.
        config: ``"full"`` (the released architecture) or ``"tiny"`` (transformers families:
            a tiny architecture for tests, never for measurements); random weights only.
            Random transformers builds use a small local tokenizer (no hub access).
        download: download missing official weights instead of failing.
    """
    from samkit.components import load_component

    spec = get_detector_spec(name)
    cls = detector_class(spec)
    model, processor, info, dev = load_component(
        cls,
        spec,
        weights,
        checkpoint=checkpoint,
        device=device,
        seed=seed,
        config=config,
        configs=CONFIGS,
        download=download,
        progress=progress,
    )
    return cls(spec, model, processor, info, dev)
