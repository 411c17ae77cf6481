"""The detector registry: one `DetectorSpec` per public detector name (imports nothing heavy).

A spec has the attributes `samkit.weights` reads from a model spec (``name``, ``layout``,
``checkpoint``, ``url``, ``sha256``, ``size_bytes``, ``hub_repo``, ``revision``, ``gated``,
``archive``), so checkpoints of detectors are found, downloaded and verified by the same code
(and in the same folder, ``$SAMKIT_CHECKPOINTS``) as those of the segmentation models.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from samkit.errors import UnknownNameError, did_you_mean

__all__ = ["DetectorSpec", "UnknownDetectorError", "DETECTORS", "DETECTOR_FAMILIES",
           "get_detector_spec", "list_detectors", "KINDS"]

#: ``open_vocab``: text prompt -> boxes; ``closed_set``: a fixed class list -> boxes
KINDS = ("open_vocab", "closed_set")


class UnknownDetectorError(UnknownNameError):
    """A detector name that is not registered; the message suggests the closest names."""


@dataclass(frozen=True)
class DetectorSpec:
    """Static description of a registered detector.

    Attributes:
        name: public name, e.g. ``"grounding_dino_tiny"``.
        family: adapter family (a key of `DETECTOR_FAMILIES`).
        kind: ``"open_vocab"`` or ``"closed_set"`` (see `KINDS`).
        arch: the family's architecture key (ultralytics model yaml; the hub repo for transformers).
        checkpoint: local name of the official checkpoint (a file, or a folder for ``layout="hf"``).
        url: where the official weights are published (the hub page for ``layout="hf"``).
        sha256: SHA-256 of the official file (``model.safetensors`` for hub repos), or None where
            none is published.
        layout: ``"hf"`` (hub folder: config.json + model.safetensors + processor files) or
            ``"ultralytics"`` (a ``.pt`` checkpoint with the pickled model under ``"model"``).
        license: license of the weights / code, as published.
        params_published_m: parameter count the authors publish, in millions, or None.
        params_source: where that count comes from (or why there is none).
        source: the publication / model card of the detector.
        classes: the class vocabulary of a closed-set detector (``"coco"``: COCO's 80), else None.
        hub_repo / revision / gated: the hub repo of a ``layout="hf"`` checkpoint.
    """

    name: str
    family: str
    kind: str
    arch: str
    checkpoint: str
    url: str
    sha256: str | None
    layout: str
    license: str
    params_published_m: float | None
    params_source: str
    source: str
    classes: str | None = None
    hub_repo: str | None = None
    revision: str | None = "main"
    gated: bool = False
    size_bytes: int | None = None
    archive: str | None = None


_GDINO_SRC = "Liu et al. 2023, Grounding DINO (arXiv:2303.05499); hub model card"
_NO_SHA = None  # neither the hub repos nor the ultralytics releases publish a SHA-256
_GDINO_PARAMS = ("no parameter count found in the paper, the IDEA-Research/GroundingDINO README "
                 "(checkpoint table: backbone, data, COCO AP) or the hub model card; the hub's "
                 "model.safetensors is 689 MB (tiny) / 933 MB (base) of float32, i.e. ~172M / ~233M "
                 "values, consistent with the full random build's 172.25M / 232.32M parameters "
                 "(Swin-T / Swin-B + BERT-base 108.9M + fusion transformer and heads)")


def _gdino(name: str, repo: str) -> DetectorSpec:
    return DetectorSpec(
        name=name, family="grounding_dino", kind="open_vocab", arch=repo, checkpoint=repo.split("/")[1],
        url=f"https://huggingface.co/{repo}", sha256=_NO_SHA, layout="hf", license="Apache-2.0",
        params_published_m=None, params_source=_GDINO_PARAMS,
        source=_GDINO_SRC, hub_repo=repo)


def _yolo(size: str, params: float) -> DetectorSpec:
    return DetectorSpec(
        name=f"yolo11{size}", family="yolo", kind="closed_set", arch=f"yolo11{size}.yaml",
        checkpoint=f"yolo11{size}.pt",
        url=f"https://github.com/ultralytics/assets/releases/download/v8.3.0/yolo11{size}.pt",
        sha256=_NO_SHA, layout="ultralytics", license="AGPL-3.0", params_published_m=params,
        params_source="docs.ultralytics.com/models/yolo11 (detection table, params (M))",
        source="Ultralytics YOLO11 (Jocher & Qiu 2024), COCO-trained", classes="coco")


def _yoloe(size: str, params: float) -> DetectorSpec:
    return DetectorSpec(
        name=f"yoloe_11{size}", family="yoloe", kind="open_vocab", arch=f"yoloe-11{size}-seg.yaml",
        checkpoint=f"yoloe-11{size}-seg.pt",
        url=f"https://github.com/ultralytics/assets/releases/download/v8.3.0/yoloe-11{size}-seg.pt",
        sha256=_NO_SHA, layout="ultralytics", license="AGPL-3.0", params_published_m=params,
        params_source=("docs.ultralytics.com/models/yoloe: YOLOE-11 is YOLO11 once its prompt modules "
                       "are re-parameterized away, so this is "
                       f"YOLO11{size}-seg's count (docs.ultralytics.com/models/yolo11, segmentation "
                       "table) of the 80-class fused model; the text-promptable checkpoint also holds "
                       "the RepRTA text head and the SAVPE visual-prompt encoder. The authors' "
                       "THU-MIG/yoloe README (zero-shot detection table, Params T / V) rounds to 1M: "
                       "YOLOE-11-S 10M / 12M, YOLOE-11-L 26M / 32M, the re-parameterized detection "
                       "model with LVIS's 1203 classes folded in (no mask head) / plus SAVPE"),
        source=("Wang et al. 2025, YOLOE: Real-Time Seeing Anything (arXiv:2503.07465); Ultralytics "
                "YOLOE-11 text/visual-prompt checkpoint; text encoder MobileCLIP-B(LT), a second file "
                "(samkit.detectors.yoloe.TEXT_ENCODER)"))


_SPECS = [
    _gdino("grounding_dino_tiny", "IDEA-Research/grounding-dino-tiny"),
    _gdino("grounding_dino_base", "IDEA-Research/grounding-dino-base"),
    DetectorSpec(
        name="owlv2_base", family="owlv2", kind="open_vocab", arch="google/owlv2-base-patch16-ensemble",
        checkpoint="owlv2-base-patch16-ensemble",
        url="https://huggingface.co/google/owlv2-base-patch16-ensemble", sha256=_NO_SHA, layout="hf",
        license="Apache-2.0", params_published_m=None,
        params_source=("no parameter count found in the paper, the hub model card or the "
                       "google-research/scenic owl_vit README; that README's checkpoint table "
                       "gives Size 590 MiB for OWLv2 CLIP B/16 and the hub's model.safetensors is "
                       "620 MB, i.e. ~155M float32 values, consistent with the full random build's "
                       "154.97M (CLIP ViT-B/16 at 960 px + CLIP text model + heads)"),
        source="Minderer et al. 2023, Scaling Open-Vocabulary Object Detection (arXiv:2306.09683)",
        hub_repo="google/owlv2-base-patch16-ensemble"),
    _yolo("n", 2.6), _yolo("s", 9.4), _yolo("m", 20.1), _yolo("l", 25.3), _yolo("x", 56.9),
    _yoloe("s", 10.1), _yoloe("l", 27.6),
]

#: name -> spec, in registration order
DETECTORS: dict[str, DetectorSpec] = {s.name: s for s in _SPECS}

#: family -> "module:class" of its `Detector` subclass
DETECTOR_FAMILIES = {
    "grounding_dino": "samkit.detectors.grounding_dino:GroundingDinoDetector",
    "owlv2": "samkit.detectors.owlv2:Owlv2Detector",
    "yolo": "samkit.detectors.yolo:YoloDetector",
    "yoloe": "samkit.detectors.yoloe:YoloeDetector",
}


def get_detector_spec(name: str | DetectorSpec) -> DetectorSpec:
    """The spec of a registered detector; unknown names raise `UnknownDetectorError` with suggestions."""
    if isinstance(name, DetectorSpec):
        return name
    try:
        return DETECTORS[name]
    except (KeyError, TypeError):
        pass
    hint = did_you_mean(name, list(DETECTORS))
    raise UnknownDetectorError(f"Unknown detector name {name!r}.{hint} Registered detectors: "
                               f"{', '.join(DETECTORS)} (see samkit.detectors.list_detectors()).")


def list_detectors(pattern: str | list[str] | None = None, *, kind: str | None = None) -> list[str]:
    """Registered detector names in registration order; ``pattern``: shell wildcard(s), OR-ed;
    ``kind``: ``"open_vocab"`` or ``"closed_set"``."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"Unknown detector kind {kind!r}; kinds: {', '.join(KINDS)}")
    patterns = [pattern] if isinstance(pattern, str) else list(pattern or ["*"])
    return [s.name for s in _SPECS if any(fnmatch.fnmatchcase(s.name, p) for p in patterns)
            and (kind is None or s.kind == kind)]
