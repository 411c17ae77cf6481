"""Detectors behind one interface: ``load_detector(name).detect(image, text=... | classes=...)``.

Open-vocabulary (text -> boxes): ``grounding_dino_tiny``, ``grounding_dino_base`` (transformers'
Grounding DINO), ``owlv2_base`` (transformers' OWLv2). Closed-set (COCO classes -> boxes):
``yolo11n`` ... ``yolo11x`` (ultralytics). Each loads its official weights (a hub folder or an
ultralytics ``.pt`` in ``$SAMKIT_CHECKPOINTS``, fetched with ``samkit weights download NAME``) or
seeded random weights (``weights="random"``, ``config="tiny"`` for tests). Importing this
package imports nothing heavy.
"""

from samkit.detectors.base import Detector, load_detector, split_phrases
from samkit.detectors.detections import Detections
from samkit.detectors.registry import (
    DETECTORS,
    DetectorSpec,
    UnknownDetectorError,
    get_detector_spec,
    list_detectors,
)

__all__ = [
    "Detector",
    "Detections",
    "DetectorSpec",
    "DETECTORS",
    "UnknownDetectorError",
    "get_detector_spec",
    "list_detectors",
    "load_detector",
    "split_phrases",
]
