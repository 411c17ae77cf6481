"""`Tagger`: the one interface of every image tagger, its `Tags` record, and `load_tagger`."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from samkit.images import to_rgb_uint8
from samkit.prompts import check_threshold
from samkit.taggers.registry import TAGGERS, TaggerSpec, get_tagger_spec
from samkit.taggers.vocabulary import build_vocabulary, default_vocabulary
from samkit.weights import WeightsInfo

__all__ = ["Tags", "Tagger", "load_tagger", "CONFIGS", "check_top_k"]

#: named architecture configs of ``weights="random"`` builds
CONFIGS = ("full", "tiny")


def check_top_k(top_k: Any) -> int:
    """``top_k`` as an int; ``ValueError`` unless it is an integer >= 1."""
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(f"top_k must be an integer >= 1, got {top_k!r}")
    return int(top_k)


@dataclass(frozen=True, eq=False)  # holds an array: compare fields, not records
class Tags:
    """The tags a tagger gives one image, best first.

    Attributes:
        names: the tag names (normalised vocabulary entries, lower case).
        scores: ``(N,)`` float32 scores in ``[0, 1]``, non-increasing (read-only).

    ``N = 0`` (no tag passed the threshold) is a valid, empty record.
    """

    names: list[str]
    scores: np.ndarray

    def __post_init__(self) -> None:
        names = [str(n) for n in self.names]
        scores = np.array(self.scores, dtype=np.float32).reshape(-1)
        if len(names) != len(scores):
            raise ValueError(f"Tags: {len(names)} names and {len(scores)} scores; they must have the same length.")
        if len(scores) and not (np.isfinite(scores).all() and scores.min() >= 0 and scores.max() <= 1):
            raise ValueError(f"Tags: scores must lie in [0, 1], got {scores.tolist()}")
        if (np.diff(scores) > 0).any():
            raise ValueError("Tags: scores must be sorted best first (non-increasing).")
        scores.setflags(write=False)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "scores", scores)

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __repr__(self) -> str:
        inner = ", ".join(f"{n!r}: {s:.3f}" for n, s in zip(self.names, self.scores.tolist()))
        return f"Tags({{{inner}}})"

    def as_prompt(self) -> str:
        """The tags as a text prompt, ``["dog", "cat"]`` -> ``"dog. cat."`` (the form
        `samkit.detectors.split_phrases` reads; each tag is one phrase). ``""`` when empty."""
        return " ".join(f"{n}." for n in self.names)

    def to_dataframe(self) -> Any:
        """One row per tag, best first: ``tag`` (str), ``score`` (float32)."""
        import pandas as pd

        return pd.DataFrame({"tag": pd.Series(self.names, dtype=object), "score": self.scores})


class Tagger(ABC):
    """A loaded image tagger: ``tag(image, top_k=..., threshold=...) -> Tags``.

    Subclasses (one per family) implement `_scores`, `build_random` and `load_checkpoint`.
    ``vocabulary`` is the list of tags it scores (normalised, de-duplicated; default: COCO's 80
    and LVIS's 1203 category names, 1213 tags once de-duplicated).
    """

    default_top_k: int = 5
    default_threshold: float = 0.0

    def __init__(
        self,
        spec: TaggerSpec,
        model: Any,
        processor: Any,
        weights: WeightsInfo,
        device: Any,
        vocabulary: list[str] | None = None,
    ) -> None:
        self.spec = spec
        self.model = model
        self.processor = processor
        self.weights = weights
        self.device = device
        self._vocabulary = build_vocabulary(vocabulary) if vocabulary is not None else default_vocabulary()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def vocabulary(self) -> list[str]:
        """The tags this tagger scores (a copy; fixed at construction)."""
        return list(self._vocabulary)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name!r}, weights={self.weights}, device={self.device}, "
            f"vocabulary={len(self._vocabulary)} tags)"
        )

    def tag(self, image: Any, top_k: int | None = None, threshold: float | None = None) -> Tags:
        """The best tags of ``image``.

        Args:
            image: HxWx3 uint8 RGB (numpy or PIL; grayscale / RGBA are converted with a warning).
            top_k: at most this many tags (>= 1; default `default_top_k`, 5).
            threshold: keep only tags scoring above this, in ``[0, 1]`` (default
                `default_threshold`, 0.0: the ``top_k`` best).

        Returns:
            `Tags`, best first (ties keep vocabulary order); empty when no tag scores above
            ``threshold``.
        """
        top_k = check_top_k(self.default_top_k if top_k is None else top_k)
        threshold = check_threshold("threshold", self.default_threshold if threshold is None else threshold)
        rgb = to_rgb_uint8(image)
        scores = np.asarray(self._scores(rgb), dtype=np.float32).reshape(-1)
        order = np.argsort(-scores, kind="stable")[:top_k]
        order = order[scores[order] > threshold]
        return Tags([self._vocabulary[i] for i in order], scores[order])

    def scores(self, image: Any) -> np.ndarray:
        """``(V,)`` float32 score in ``[0, 1]`` of every vocabulary tag for ``image`` (vocabulary order)."""
        return np.asarray(self._scores(to_rgb_uint8(image)), dtype=np.float32).reshape(-1)

    # ------------------------------------------------------------------ family hooks
    @abstractmethod
    def _scores(self, rgb: np.ndarray) -> np.ndarray:
        """``(V,)`` scores in ``[0, 1]`` of the vocabulary for ``rgb`` (HxWx3 uint8)."""

    @classmethod
    @abstractmethod
    def build_random(cls, spec: TaggerSpec, seed: int, config: str) -> tuple[Any, Any]:
        """``(model, processor)`` of the architecture with seeded random weights."""

    @classmethod
    @abstractmethod
    def load_checkpoint(cls, spec: TaggerSpec, path: str) -> tuple[Any, Any]:
        """``(model, processor)`` read from a checkpoint in the official layout."""


def tagger_class(spec: TaggerSpec) -> type[Tagger]:
    """The `Tagger` subclass of the family of ``spec`` (imports that family's module).

    The family's optional package not installed (the registry's extras): `MissingExtraError` naming the extra.
    """
    return TAGGERS.family_class(spec)


def load_tagger(
    name: str | TaggerSpec,
    weights: str = "pretrained",
    *,
    checkpoint: str | os.PathLike | None = None,
    device: Any = None,
    seed: int = 0,
    config: str = "full",
    vocabulary: list[str] | None = None,
    download: bool = True,
    progress: bool = True,
) -> Tagger:
    """Load a registered tagger (see `list_taggers`).

    Args:
        name: e.g. ``"clip_vit_b32"``, ``"clip_vit_l14"``.
        weights: ``"pretrained"`` (the official weights, or ``checkpoint``), ``"random"`` (the
            architecture with seeded random weights: real size and latency, random tags) or
            ``"auto"`` (pretrained when the official weights are present, else random).
        checkpoint: a hub folder (config.json + model.safetensors + processor files).
        device: ``"cpu"``, ``"cuda"``...; default CUDA if available, else CPU.
        seed: torch seed of the random weights.
        config: ``"full"`` (the released architecture) or ``"tiny"`` (a tiny architecture for
            tests, never for measurements); random weights only. Random builds use a small local
            tokenizer (no hub access).
        vocabulary: the tag names to score (normalised and de-duplicated); default COCO + LVIS.
        download: download missing official weights instead of failing.
    """
    from samkit.components import load_component

    spec = get_tagger_spec(name)
    vocab = build_vocabulary(vocabulary) if vocabulary is not None else None  # bad vocabulary: fail early
    cls = tagger_class(spec)
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
    return cls(spec, model, processor, info, dev, vocabulary=vocab)
