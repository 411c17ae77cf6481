"""The detector registry: one `DetectorSpec` per public detector name (imports nothing heavy).

A spec holds the same `samkit.registry.Checkpoint` record as a model spec (read as ``spec.url``,
``spec.sha256``, ``spec.layout``...), so checkpoints of detectors are found, downloaded and verified
by the same code (and in the same folder, ``$SAMKIT_CHECKPOINTS``) as those of the segmentation
models. Published parameter counts are in ``samkit/published_params.csv``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from samkit.errors import UnknownNameError
from samkit.registry.core import Checkpoint, CheckpointFields, Registry, published

__all__ = [
    "DetectorSpec",
    "UnknownDetectorError",
    "DETECTORS",
    "DETECTOR_FAMILIES",
    "DETECTOR_EXTRAS",
    "get_detector_spec",
    "list_detectors",
    "KINDS",
]

#: ``open_vocab``: text prompt -> boxes; ``closed_set``: a fixed class list -> boxes
KINDS = ("open_vocab", "closed_set")


class UnknownDetectorError(UnknownNameError):
    """A detector name that is not registered; the message suggests the closest names."""


@dataclass(frozen=True)
class DetectorSpec(CheckpointFields):
    """Static description of a registered detector.

    Attributes:
        name: public name, e.g. ``"grounding_dino_tiny"``.
        family: adapter family (a key of `DETECTOR_FAMILIES`).
        kind: ``"open_vocab"`` or ``"closed_set"`` (see `KINDS`).
        arch: the family's architecture key (ultralytics model yaml; the hub repo for transformers).
        files: the official weights (`samkit.registry.Checkpoint`: ``layout`` ``"hf"`` for a hub
            folder, ``"ultralytics"`` for a ``.pt`` with the pickled model under ``"model"``;
            ``license`` as published).
        source: the publication / model card of the detector.
        classes: the class vocabulary of a closed-set detector (``"coco"``: COCO's 80), else None.
        params_published_m / params_source: the parameter count the authors publish (millions, or
            None) and where it comes from; read from ``samkit/published_params.csv``.
    """

    name: str
    family: str
    kind: str
    arch: str
    files: Checkpoint
    source: str
    classes: str | None = None
    params_published_m: float | None = field(default=None, compare=False)
    params_source: str = field(default="", compare=False)


def detector_spec(
    name: str, family: str, kind: str, arch: str, files: Checkpoint, source: str, classes: str | None = None
) -> DetectorSpec:
    """A `DetectorSpec` with its published parameter count from ``samkit/published_params.csv``."""
    facts = published("detectors", name)
    return DetectorSpec(name, family, kind, arch, files, source, classes, facts.params_m, facts.params_source)


_GDINO_SRC = "Liu et al. 2023, Grounding DINO (arXiv:2303.05499); hub model card"


def _hub(repo: str) -> Checkpoint:
    return Checkpoint(
        repo.split("/")[1],
        f"https://huggingface.co/{repo}",
        layout="hf",
        hub_repo=repo,
        revision="main",
        license="Apache-2.0",
    )


def _gdino(name: str, repo: str) -> DetectorSpec:
    return detector_spec(name, "grounding_dino", "open_vocab", repo, _hub(repo), _GDINO_SRC)


def _release(file: str) -> Checkpoint:
    return Checkpoint(
        file,
        f"https://github.com/ultralytics/assets/releases/download/v8.3.0/{file}",
        layout="ultralytics",
        revision="main",
        license="AGPL-3.0",
    )


def _yolo(size: str) -> DetectorSpec:
    return detector_spec(
        f"yolo11{size}",
        "yolo",
        "closed_set",
        f"yolo11{size}.yaml",
        _release(f"yolo11{size}.pt"),
        "Ultralytics YOLO11 (Jocher & Qiu 2024), COCO-trained",
        classes="coco",
    )


def _yoloe(size: str) -> DetectorSpec:
    files = dataclasses.replace(_release(f"yoloe-11{size}-seg.pt"), parts=("mobileclip_blt",))
    return detector_spec(
        f"yoloe_11{size}",
        "yoloe",
        "open_vocab",
        f"yoloe-11{size}-seg.yaml",
        files,
        "Wang et al. 2025, YOLOE: Real-Time Seeing Anything (arXiv:2503.07465); Ultralytics YOLOE-11 "
        "text/visual-prompt checkpoint; text encoder MobileCLIP-B(LT), a second file "
        "(samkit.detectors.yoloe.TEXT_ENCODER)",
    )


_SPECS = [
    _gdino("grounding_dino_tiny", "IDEA-Research/grounding-dino-tiny"),
    _gdino("grounding_dino_base", "IDEA-Research/grounding-dino-base"),
    detector_spec(
        "owlv2_base",
        "owlv2",
        "open_vocab",
        "google/owlv2-base-patch16-ensemble",
        _hub("google/owlv2-base-patch16-ensemble"),
        "Minderer et al. 2023, Scaling Open-Vocabulary Object Detection (arXiv:2306.09683)",
    ),
    _yolo("n"),
    _yolo("s"),
    _yolo("m"),
    _yolo("l"),
    _yolo("x"),
    _yoloe("s"),
    _yoloe("l"),
]

#: family -> "module:class" of its `Detector` subclass
DETECTOR_FAMILIES = {
    "grounding_dino": "samkit.detectors.grounding_dino:GroundingDinoDetector",
    "owlv2": "samkit.detectors.owlv2:Owlv2Detector",
    "yolo": "samkit.detectors.yolo:YoloDetector",
    "yoloe": "samkit.detectors.yoloe:YoloeDetector",
}

#: the optional package of each family: family -> (module, samkit extra); all of them are optional
DETECTOR_EXTRAS = {
    "grounding_dino": ("transformers", "hf"),
    "owlv2": ("transformers", "hf"),
    "yolo": ("ultralytics", "ultralytics"),
    "yoloe": ("ultralytics", "ultralytics"),
}

#: name -> spec, in registration order (a `samkit.registry.Registry`, read like a dict)
DETECTORS: Registry[DetectorSpec] = Registry(
    "detector",
    UnknownDetectorError,
    "samkit.detectors.list_detectors()",
    DetectorSpec,
    _SPECS,
    DETECTOR_FAMILIES,
    DETECTOR_EXTRAS,
)


def get_detector_spec(name: str | DetectorSpec) -> DetectorSpec:
    """The spec of a registered detector; unknown names raise `UnknownDetectorError` with suggestions."""
    return DETECTORS.lookup(name)


def list_detectors(pattern: str | list[str] | None = None, *, kind: str | None = None) -> list[str]:
    """Registered detector names in registration order; ``pattern``: shell wildcard(s), OR-ed;
    ``kind``: ``"open_vocab"`` or ``"closed_set"``."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"Unknown detector kind {kind!r}; kinds: {', '.join(KINDS)}")
    return DETECTORS.names(pattern, lambda spec: kind is None or spec.kind == kind)
