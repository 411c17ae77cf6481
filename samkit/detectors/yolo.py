"""Ultralytics YOLO11 detectors (closed set: COCO's 80 classes), run by ultralytics' predictor.

``detect`` runs ultralytics' ``DetectionPredictor`` (letterbox, NMS, rescaling to the image) on
the loaded ``DetectionModel`` with ``conf=box_threshold``, ``iou`` and ``imgsz`` (attributes of the detector,
default ultralytics' 0.7 and 640) and ``classes`` as its class filter, so its boxes and scores are
those of ``YOLO(path)(image)`` on the same checkpoint (tests check it).

Random weights: the architecture from ultralytics' ``yolo11{n,s,m,l,x}.yaml`` with ``nc=80`` and
the COCO class names; `save_checkpoint` writes it in the layout of the released ``yolo11n.pt``
(as `samkit.models.fastsam.save_checkpoint` does for FastSAM), readable by ``YOLO(path)`` and by
``load_detector(name, checkpoint=path)``.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import numpy as np

from samkit.backends.transformers import seeded_build
from samkit.backends.ultralytics import import_ultralytics, quiet_ultralytics
from samkit.detectors.base import Detector
from samkit.detectors.detections import Detections
from samkit.detectors.registry import DetectorSpec
from samkit.errors import CheckpointError

__all__ = ["YoloDetector", "coco_classes", "save_checkpoint", "make_predictor", "run_predictor", "load_weights_into"]


def coco_classes() -> list[str]:
    """COCO's 80 class names in YOLO's class-id order (from ultralytics' ``coco.yaml``)."""
    import_ultralytics()
    from ultralytics.utils import ROOT, YAML

    names = YAML.load(ROOT / "cfg" / "datasets" / "coco.yaml")["names"]
    return [names[i] for i in range(len(names))]


class YoloDetector(Detector):
    """``yolo11n`` ... ``yolo11x``; ``box_threshold`` is ultralytics' ``conf`` (default 0.25)."""

    default_box_threshold = 0.25
    default_text_threshold = 0.0
    #: ultralytics' predictor settings (NMS IoU, input size) used by `detect`
    iou: float = 0.7
    imgsz: int = 640
    max_det: int = 300

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._predictor = make_predictor("detect", self.device, self.imgsz, self.iou, self.max_det)
        with quiet_ultralytics():
            self._predictor.setup_model(self.model, verbose=False)  # a fused copy; self.model stays

    @property
    def classes(self) -> list[str]:
        names = self.model.names
        return [names[i] for i in range(len(names))]

    @classmethod
    def build_random(cls, spec: DetectorSpec, seed: int, config: str) -> tuple[Any, None]:
        if config != "full":
            raise ValueError(
                f"{spec.name} has no {config!r} config; YOLO11 builds its released "
                "architecture only (yolo11n is the small one)."
            )
        import_ultralytics()
        from ultralytics.nn.tasks import DetectionModel

        def build() -> Any:
            with quiet_ultralytics():
                model = DetectionModel(spec.arch, nc=80, verbose=False)
            model.names = dict(enumerate(coco_classes()))
            return model

        return seeded_build(build, seed), None

    @classmethod
    def load_checkpoint(cls, spec: DetectorSpec, path: str) -> tuple[Any, None]:
        model, _ = cls.build_random(spec, 0, "full")
        load_weights_into(model, path, spec, f"80-class {spec.arch}")
        return model, None

    def _detect(
        self, rgb: np.ndarray, prompt: list[int] | None, box_threshold: float, text_threshold: float
    ) -> Detections:
        args = self._predictor.args
        args.conf, args.classes = box_threshold, prompt
        args.imgsz, args.iou, args.max_det = self.imgsz, self.iou, self.max_det
        return run_predictor(self._predictor, rgb, self.classes)


def make_predictor(task: str, device: Any, imgsz: int, iou: float, max_det: int) -> Any:
    """Ultralytics' own predictor of ``task`` (``"detect"``: ``DetectionPredictor``, ``"segment"``:
    ``SegmentationPredictor``) with the settings `detect` uses; call ``setup_model`` on it next."""
    import_ultralytics()
    from ultralytics.models.yolo.detect import DetectionPredictor
    from ultralytics.models.yolo.segment import SegmentationPredictor

    predictor_cls = {"detect": DetectionPredictor, "segment": SegmentationPredictor}[task]
    overrides = dict(
        task=task,
        mode="predict",
        rect=True,
        batch=1,
        save=False,
        verbose=False,
        device=str(device),
        imgsz=imgsz,
        iou=iou,
        max_det=max_det,
    )
    return predictor_cls(overrides=overrides)


def run_predictor(predictor: Any, rgb: np.ndarray, names: list[str]) -> Detections:
    """Run a set-up ultralytics predictor on ``rgb`` (HxWx3 uint8 RGB) -> `Detections` labelled
    ``names[class id]`` (XYXY pixel boxes of ``rgb``, in ultralytics' order)."""
    bgr = np.ascontiguousarray(rgb[..., ::-1])  # ultralytics reads numpy images as BGR
    boxes = predictor(bgr)[0].boxes
    labels = np.array([names[int(c)] for c in boxes.cls.tolist()], dtype=object)
    return Detections(boxes.xyxy.float().cpu().numpy(), boxes.conf.float().cpu().numpy(), labels, rgb.shape[:2])


def load_weights_into(model: Any, path: str, spec: DetectorSpec, what: str) -> None:
    """Load the weights of the ultralytics checkpoint ``path`` into ``model`` (read with ultralytics'
    restricted loader); a checkpoint of another architecture (``what``) is a `CheckpointError`."""
    from samkit.models.fastsam import FastSamSegmenter

    state_dict = FastSamSegmenter.read_checkpoint(path, spec)
    expected = model.state_dict()
    wrong = [k for k in expected if k not in state_dict or state_dict[k].shape != expected[k].shape]
    extra = [k for k in state_dict if k not in expected]
    if wrong or extra:
        raise CheckpointError(
            f"{path} does not fit {spec.name} ({what}): "
            f"{len(wrong)} missing / mismatched keys (e.g. {wrong[:3]}), "
            f"{len(extra)} unexpected. Nothing was loaded."
        )
    model.load_state_dict(state_dict, strict=True)


def save_checkpoint(model: Any, path: str | os.PathLike, imgsz: int = 640, task: str = "detect") -> Path:
    """Save a YOLO11 ``DetectionModel`` (e.g. ``load_detector("yolo11n", "random").model``) in the
    layout of the released ``yolo11n.pt``: ultralytics' ``strip_optimizer`` output (fp16 model
    under ``"model"``, ``train_args`` with ``task``: ``"detect"``, or ``"segment"`` for the
    YOLOE ``-seg`` models). Weights are rounded to float16."""
    import torch

    import_ultralytics()
    from ultralytics.utils.torch_utils import strip_optimizer

    path = Path(path)
    if path.suffix != ".pt":
        raise ValueError(f"ultralytics checkpoints must end in .pt, got {path.name!r}")
    module = copy.deepcopy(model).cpu().float()
    torch.save({"model": module, "train_args": {"task": task, "imgsz": int(imgsz)}}, path)
    with quiet_ultralytics():
        strip_optimizer(path)
    return path
