"""Ultralytics YOLOE-11 (open vocabulary: text -> boxes), run by ultralytics' own predictor.

``detect(image, text="a dog. a cat.")`` embeds each phrase with the text encoder, turns the
embeddings into YOLOE's class embeddings with the model's own RepRTA head (``get_tpe``, as
``YOLOEModel.get_text_pe`` does), sets them with ``YOLOEModel.set_classes`` and runs ultralytics'
``SegmentationPredictor`` (letterbox, NMS, rescaling; the masks are not used) with
``conf=box_threshold``, ``iou`` and ``imgsz`` (load options, default ultralytics' 0.7 and 640). So
its boxes and scores are those of ``YOLOE(path).set_classes(phrases, embeddings)`` then
``.predict(image)`` on the same checkpoint with the same embeddings (tests check it). Labels are
the phrases (`samkit.detectors.split_phrases`).

Checkpoint: two files in ``$SAMKIT_CHECKPOINTS`` (or beside ``checkpoint=``):

- ``yoloe-11{s,l}-seg.pt``: the registered checkpoint (``samkit weights download yoloe_11s``),
  rebuilt from ultralytics' ``yoloe-11{s,l}-seg.yaml`` and loaded strictly.
- ``mobileclip_blt.ts`` (`TEXT_ENCODER`): MobileCLIP-B(LT)'s TorchScript text encoder, which
  ultralytics would download itself on the first ``get_text_pe``. samkit never lets it: the file
  is found beside the ``.pt`` or in the checkpoint folder, else fetched there (once) on the first
  pretrained load by samkit's own atomic download from its official URL (no SHA-256 is published
  for it); offline that is a `DownloadError` naming the URL and the folder to put it in. (It is
  found or fetched by `YoloeDetector.fetch_parts`, under the same ``download=`` as the ``.pt``;
  ``samkit weights download yoloe_11s`` fetches both.) Its tokenizer is OpenAI CLIP's BPE
  tokenizer from the ``clip`` module, which ultralytics would pip-install from git at run time;
  samkit checks for it instead and raises a `CheckpointError` saying what to install
  (ultralytics' own ``pip install git+https://github.com/ultralytics/CLIP.git``, or
  ``clip-anytorch``, which needs ``setuptools<81`` for ``pkg_resources``).

Random weights (``weights="random"``): the released architecture (``yoloe-11{s,l}-seg.yaml``,
80 classes) with seeded random weights, and no text encoder to download: each phrase is embedded
by a deterministic stand-in, a unit vector of MobileCLIP's dimension (512) drawn from a generator
seeded by the SHA-256 of the phrase (`PhraseHashEncoder`; the same phrase always gives the same
vector). Boxes are then random but the model, its input size and its latency are the real ones.
``config="tiny"`` is refused as for YOLO11 (``yoloe_11s`` is the small one).
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from samkit.backends.transformers import seeded_build
from samkit.backends.ultralytics import import_ultralytics, quiet_ultralytics
from samkit.detectors.base import Detector
from samkit.detectors.detections import Detections
from samkit.detectors.registry import DetectorSpec, detector_spec
from samkit.detectors.yolo import load_weights_into, make_predictor, run_predictor, save_checkpoint
from samkit.errors import CheckpointError
from samkit.registry.core import Checkpoint

__all__ = [
    "YoloeDetector",
    "TEXT_ENCODER",
    "PhraseHashEncoder",
    "MobileClipEncoder",
    "text_encoder_path",
    "save_checkpoint",
    "fused_num_parameters",
]

#: dimension of MobileCLIP-B(LT)'s text embeddings (YOLOE's ``embed``)
EMBED_DIM = 512
#: phrases per text-encoder batch (as ``YOLOEModel.get_text_pe``)
_TEXT_BATCH = 80

#: the second file of a YOLOE checkpoint: MobileCLIP-B(LT)'s text encoder (TorchScript), as
#: ultralytics publishes it; found / downloaded / verified by `samkit.weights` like a checkpoint
TEXT_ENCODER = detector_spec(
    "mobileclip_blt",
    "yoloe",
    "open_vocab",
    "mobileclip:blt",
    Checkpoint(
        "mobileclip_blt.ts",
        "https://github.com/ultralytics/assets/releases/download/v8.3.0/mobileclip_blt.ts",
        layout="torchscript",
        revision="main",
        license="Apple's ml-mobileclip model license (weights by Apple, TorchScript export by Ultralytics)",
    ),
    "Vasu et al. 2024, MobileCLIP (arXiv:2311.17049), text tower of MobileCLIP-B(LT)",
)


class PhraseHashEncoder:
    """Stand-in text encoder of random-weight builds: phrase -> a unit vector of ``dim`` floats drawn
    from a torch generator seeded by the phrase's SHA-256 (deterministic, no download, no model)."""

    def __init__(self, dim: int = EMBED_DIM) -> None:
        self.dim = int(dim)

    def __call__(self, phrases: list[str], device: Any) -> Any:
        """``(N, dim)`` float32 unit vectors on ``device``, one per phrase."""
        import torch

        rows = []
        for phrase in phrases:
            seed = int.from_bytes(hashlib.sha256(phrase.encode("utf-8")).digest()[:8], "little")
            g = torch.Generator().manual_seed(seed)
            rows.append(torch.randn(self.dim, generator=g))
        feats = torch.stack(rows)
        return torch.nn.functional.normalize(feats, dim=-1).to(device)

    def __repr__(self) -> str:
        return f"PhraseHashEncoder(dim={self.dim})"


class MobileClipEncoder:
    """MobileCLIP-B(LT)'s text encoder (``mobileclip_blt.ts``) through ultralytics' ``MobileCLIPTS``
    with a local file (never a download); loaded on first use, on the detector's device."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._encoder: Any = None
        self._device: Any = None

    def __call__(self, phrases: list[str], device: Any) -> Any:
        """``(N, 512)`` float32 L2-normalized text embeddings on ``device``, one per phrase."""
        import torch

        if self._encoder is None or self._device != device:
            _check_clip_tokenizer()
            import_ultralytics()
            from ultralytics.nn.text_model import MobileCLIPTS

            self._encoder = MobileCLIPTS(torch.device(device), weight=str(self.path))
            self._device = device
        tokens = self._encoder.tokenize(phrases)
        with torch.inference_mode():
            feats = [self._encoder.encode_text(t) for t in tokens.split(_TEXT_BATCH)]
        return torch.cat(feats).float()

    def __repr__(self) -> str:
        return f"MobileClipEncoder({str(self.path)!r})"


def _check_clip_tokenizer() -> None:
    """`CheckpointError` unless OpenAI CLIP's ``clip`` module (the tokenizer of MobileCLIP) imports."""
    if importlib.util.find_spec("clip") is None:
        raise CheckpointError(
            "YOLOE's text encoder (MobileCLIP) tokenizes with OpenAI CLIP's BPE tokenizer, the `clip` "
            "module, which is not installed. ultralytics would pip-install it from "
            "git+https://github.com/ultralytics/CLIP.git at run time; samkit never installs anything. "
            "Install a package that provides `clip.clip.tokenize`: ultralytics' fork (`pip install "
            "git+https://github.com/ultralytics/CLIP.git`), or `pip install clip-anytorch 'setuptools<81'` "
            "(clip-anytorch imports pkg_resources), "
            "or use weights='random' (a deterministic stand-in text encoder)."
        )


def text_encoder_path(checkpoint: str | os.PathLike, *, download: bool = True, progress: bool = True) -> Path:
    """``mobileclip_blt.ts`` beside ``checkpoint`` or in ``$SAMKIT_CHECKPOINTS``; missing: downloaded
    there with samkit's verified download (``download=False``: a `CheckpointError` saying how)."""
    from samkit.weights import default_path
    from samkit.weights import download as fetch

    beside = Path(checkpoint).parent / TEXT_ENCODER.checkpoint
    for candidate in (beside, default_path(TEXT_ENCODER)):
        if candidate.is_file():
            return candidate
    if not download:
        raise CheckpointError(
            f"No YOLOE text encoder {TEXT_ENCODER.checkpoint} beside {checkpoint} or at "
            f"{default_path(TEXT_ENCODER)}. Download it from {TEXT_ENCODER.url} into that folder, "
            "or use weights='random'."
        )
    return fetch(TEXT_ENCODER, progress=progress)  # offline: DownloadError naming the URL and folder


def fused_num_parameters(model: Any, num_classes: int = 80) -> int:
    """Parameters of the closed-set YOLO11 a YOLOE model re-parameterizes into: ``num_classes``
    text embeddings folded into the classification head (``YOLOEDetect.fuse``), Conv+BN fused,
    the visual-prompt encoder (SAVPE) dropped. Works on a copy; ``model`` is unchanged."""
    import torch

    m = copy.deepcopy(model).cpu().float().eval()
    head = m.model[-1]
    pe = torch.nn.functional.normalize(torch.ones(1, num_classes, head.embed), dim=-1)
    m.set_classes([f"class{i}" for i in range(num_classes)], pe)
    head.fuse(m.pe)
    with quiet_ultralytics():
        m.fuse(verbose=False)
    del head.savpe
    return sum(p.numel() for p in m.parameters())


class YoloeDetector(Detector):
    """``yoloe_11s`` / ``yoloe_11l``; ``box_threshold`` is ultralytics' ``conf`` (default 0.25).

    ``processor`` is the text encoder: `MobileClipEncoder` (pretrained) or `PhraseHashEncoder`
    (random weights).
    """

    default_box_threshold = 0.25
    default_text_threshold = 0.0
    #: ultralytics' predictor settings (NMS IoU, input size) used by `detect`
    iou: float = 0.7
    imgsz: int = 640
    max_det: int = 300

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from ultralytics.nn.tasks import guess_model_task

        task = guess_model_task(self.model)  # "segment" for the -seg checkpoints
        self._predictor = make_predictor(task, self.device, self.imgsz, self.iou, self.max_det)
        self._phrases: list[str] | None = None  # the phrases the predictor's model is set up for

    @classmethod
    def build_random(cls, spec: DetectorSpec, seed: int, config: str) -> tuple[Any, PhraseHashEncoder]:
        if config != "full":
            raise ValueError(
                f"{spec.name} has no {config!r} config; YOLOE builds its released "
                "architecture only (yoloe_11s is the small one)."
            )
        import_ultralytics()
        from ultralytics.nn.tasks import YOLOESegModel

        def build() -> Any:
            with quiet_ultralytics():
                return YOLOESegModel(spec.arch, nc=80, verbose=False)

        model = seeded_build(build, seed)
        return model, PhraseHashEncoder(model.model[-1].embed)

    @classmethod
    def fetch_parts(cls, spec: DetectorSpec, path: str, *, download: bool = True, progress: bool = True) -> None:
        """The text encoder `TEXT_ENCODER` beside ``path`` or in ``$SAMKIT_CHECKPOINTS``
        (downloaded with ``download``), after checking that the ``clip`` tokenizer is importable."""
        _check_clip_tokenizer()  # before any download: without it no text can be encoded
        text_encoder_path(path, download=download, progress=progress)

    @classmethod
    def load_checkpoint(cls, spec: DetectorSpec, path: str) -> tuple[Any, MobileClipEncoder]:
        _check_clip_tokenizer()
        encoder = MobileClipEncoder(text_encoder_path(path, download=False))
        model, _ = cls.build_random(spec, 0, "full")
        load_weights_into(model, path, spec, f"text/visual-prompt YOLOE {spec.arch}")
        return model, encoder

    def class_embeddings(self, phrases: list[str]) -> Any:
        """``(1, N, 512)`` YOLOE class embeddings of ``phrases``: the text encoder's embeddings through
        the model's RepRTA head, as ``YOLOEModel.get_text_pe`` computes them."""
        import torch

        param = next(self.model.parameters())
        feats = self.processor(list(phrases), param.device)
        feats = feats.reshape(1, len(phrases), -1).to(param.dtype)
        with torch.inference_mode():
            return self.model.model[-1].get_tpe(feats)

    def _set_phrases(self, phrases: list[str]) -> None:
        """Make ``phrases`` the model's classes and set the predictor up on it (once per prompt)."""
        if phrases == self._phrases:
            return
        self.model.set_classes(phrases, self.class_embeddings(phrases))
        with quiet_ultralytics():
            self._predictor.setup_model(self.model, verbose=False)  # a fused copy; self.model stays
        self._phrases = list(phrases)

    def _detect(self, rgb: np.ndarray, prompt: list[str], box_threshold: float, text_threshold: float) -> Detections:
        self._set_phrases(prompt)
        args = self._predictor.args
        args.conf, args.classes = box_threshold, None
        args.imgsz, args.iou, args.max_det = self.imgsz, self.iou, self.max_det
        return run_predictor(self._predictor, rgb, prompt)
