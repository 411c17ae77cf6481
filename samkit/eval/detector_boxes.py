"""Detector-box protocol: the SAM paper's zero-shot instance segmentation (its Sec. 7.3): boxes of
a detector -> one mask per box -> class-aware COCO mask AP (COCOeval ``segm``).

The boxes come from a detections file (a COCO results json: ``image_id``, ``category_id``,
``bbox`` XYWH pixels, ``score``; e.g. a ViTDet or YOLO run on the same images) or from a
registered detector run here (closed-set: its class names matched to the dataset's category
names; open-vocabulary: the image's category names as its text). Each box keeps the detection's
category and score; the model only supplies the mask, so the mask AP measures the segmenter given
those boxes, and the ``box_AP`` beside it is the detector's own.

Per image: ``set_image`` (``encoder_ms``; with ``image_batch`` > 1 the images are embedded
``image_batch`` at a time by ``set_images`` and ``encoder_ms`` is each one's share), every kept box
in one ``predict_boxes`` call (``decoder_ms``). One row per image with ground truth and detections as json (`coco_ap`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from samkit.eval._coco_ap import (
    coco_ap,
    dataset_categories,
    detections_json,
    detector_arguments,
    detector_columns,
    ground_truth,
    load_run_detector,
    phrase_categories,
    prompt_phrase,
)
from samkit.eval._runner import RowSink, check_image_batch, embedded, resolve_run_id, warm_up
from samkit.eval.protocol import Protocol, failure_row, row_header
from samkit.metrics.perf import timed

__all__ = ["run_detector_boxes", "DetectorBoxesParams", "PROTOCOL", "read_detections", "summarize_detector_boxes"]


def _known_image_ids(dataset: Any) -> dict[str, Any]:
    """str(source image id) -> source id of every image the dataset's annotations name."""
    coco = getattr(dataset, "coco", None)
    if coco is not None:
        return {str(i): i for i in coco.imgs}
    return {str(i): i for i in getattr(dataset, "image_ids", [])}


def read_detections(path: str | Path, dataset: Any) -> dict[str, list[dict[str, Any]]]:
    """A COCO results json -> ``{str(image_id): [{"category", "score", "bbox" XYWH}, ...]}``.

    Every record needs ``image_id``, ``category_id``, ``bbox`` (4 numbers, XYWH pixels, w and h
    >= 0) and ``score``; image ids must be images of the dataset's annotations (an image the
    dataset's subsampling left out is fine) and category ids its categories. Anything else is a
    ValueError naming the file, the record and (for unknown ids) up to five of them.
    """
    path = Path(path)
    try:
        records = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"detections file not found: {path}") from None
    except ValueError as err:
        raise ValueError(f"{path} is not valid json: {err}") from None
    if not isinstance(records, list):
        raise ValueError(f"{path}: a COCO results json is a list of detections, got {type(records).__name__}")
    cats = dataset_categories(dataset)
    if cats is None:
        raise ValueError(
            "a detections file needs a COCO-format dataset (samkit.data.CocoDataset) to "
            "match its image and category ids"
        )
    known = _known_image_ids(dataset)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    unknown_images, unknown_cats = set(), set()
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or not {"image_id", "category_id", "bbox", "score"} <= set(rec):
            raise ValueError(f"{path}: detection {i} needs image_id, category_id, bbox and score; got {rec!r:.200}")
        bbox = rec["bbox"]
        if not (
            isinstance(bbox, (list, tuple))
            and len(bbox) == 4
            and all(isinstance(v, (int, float)) for v in bbox)
            and bbox[2] >= 0
            and bbox[3] >= 0
        ):
            raise ValueError(f"{path}: detection {i} has bbox {bbox!r}; expected [x, y, w, h] pixels with w, h >= 0")
        image_id, cat = str(rec["image_id"]), rec["category_id"]
        if image_id not in known:
            unknown_images.add(image_id)
            continue
        if cat not in cats:
            unknown_cats.add(cat)
            continue
        out[image_id].append({"category": cats[cat], "score": float(rec["score"]), "bbox": [float(v) for v in bbox]})
    if unknown_images:
        some = sorted(unknown_images)[:5]
        raise ValueError(
            f"{path} names {len(unknown_images)} image id(s) that are not in the dataset's "
            f"annotations, e.g. {some}: is it the detections of another dataset or split?"
        )
    if unknown_cats:
        raise ValueError(
            f"{path} names category id(s) {sorted(unknown_cats)[:5]} that the dataset does "
            f"not have (its categories: {sorted(cats)[:10]}...)"
        )
    return dict(out)


def _xyxy(bboxes: list[list[float]], h: int, w: int) -> np.ndarray:
    """XYWH boxes -> XYXY clipped to the ``h`` x ``w`` image: the prompts of the segmenter (only;
    the detections are scored on their own boxes)."""
    boxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4).copy()
    boxes[:, 2:] += boxes[:, :2]
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
    return boxes


def _detector_boxes(
    det: Any, sample: Any, names: list[str], box_threshold: float | None, text_threshold: float | None
) -> tuple[list[dict[str, Any]], int, float]:
    """A registered detector on one image -> (detections with dataset category names, the number
    dropped because their class is not a dataset category, detect_ms)."""
    mapping = phrase_categories(names)
    if det.kind == "open_vocab":
        found, ms = timed(
            lambda: det.detect(
                sample.image, text=list(mapping), box_threshold=box_threshold, text_threshold=text_threshold
            ),
            det.device,
        )
    else:
        found, ms = timed(lambda: det.detect(sample.image, box_threshold=box_threshold), det.device)
    out, dropped = [], 0
    for (x0, y0, x1, y1), score, label in zip(found.raw_boxes.tolist(), found.scores.tolist(), found.labels):
        name = mapping.get(prompt_phrase(label))
        if name is None:
            dropped += 1
            continue
        out.append({"category": name, "score": float(score), "bbox": [x0, y0, x1 - x0, y1 - y0]})
    return out, dropped, ms


def run_detector_boxes(
    model: Any,
    dataset: Iterable[Any],
    *,
    detections: str | None = None,
    detector: str | None = None,
    detector_weights: str = "same",
    detector_config: str = "full",
    detector_seed: int = 0,
    box_threshold: float | None = None,
    text_threshold: float | None = None,
    score_threshold: float = 0.0,
    max_detections: int = 100,
    warmup: bool = True,
    image_batch: int = 1,
    run_id: str | None = None,
    out_path: Any = None,
    resume: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per image: the detections' boxes -> masks, with the image's ground truth.

    Args:
        detections: a COCO results json (see `read_detections`); or
        detector: a registered detector name (exactly one of the two).
        detector_weights / detector_config / detector_seed: of a registered detector (weights
            ``"same"``: random for a random-weights model, else pretrained).
        box_threshold, text_threshold: a registered detector's thresholds.
        score_threshold: drop detections scored below it (files often hold every box).
        max_detections: keep the most confident this many per image (COCOeval's maxDets).
        image_batch: images embedded per ``set_images`` call (batched encoder passes; 1:
            ``set_image`` per image); ``encoder_ms`` is each image's share of its call.

    Columns beyond the standard ones: ``detector`` (the file's name as ``file:<name>``, or the
    registered name), ``detector_weights``..., ``n_gt``, ``num_detections``,
    ``dropped_detections`` (a registered closed-set detector's boxes of classes the dataset does
    not have), ``detect_ms`` (registered detectors), ``encoder_ms``, ``decoder_ms``, ``height``,
    ``width``, ``gt``, ``detections``.
    """
    if (detections is None) == (detector is None):
        raise ValueError(
            "the detector_boxes protocol takes exactly one source of boxes: "
            "detections=<COCO results json> or detector=<registered detector name>"
        )
    if not isinstance(max_detections, int) or max_detections < 1:
        raise ValueError(f"max_detections must be an int >= 1, got {max_detections!r}")
    image_batch = check_image_batch(image_batch)
    run_id = resolve_run_id(run_id)
    sink = RowSink(out_path, resume)
    header = row_header(model, run_id, "detector_boxes")
    source = f"file:{Path(detections).name}" if detections is not None else detector
    try:
        model.require("box", "box prompts (the detector_boxes protocol)")
        if detections is not None:
            from_file = read_detections(detections, dataset)
            det, columns = (
                None,
                {"detector": source, "detector_weights": None, "detector_weights_kind": None, "detector_config": None},
            )
        else:
            from_file = None
            det = load_run_detector(detector, model, detector_weights, detector_config, detector_seed)
            columns = detector_columns(det)
    except Exception as err:  # noqa: BLE001 - one row says why the run could not start
        sink.extend([failure_row({**header, "prompt": "box", "detector": source}, err)])
        return sink.frame()
    if warmup:
        warm_up(model, dataset)
    pending = (
        s
        for s in tqdm(dataset, desc=f"detector_boxes {model.name}", unit="image", disable=not progress)
        if not sink.done(s.image_id)
    )
    for sample, image_phase, embed_error in embedded(model, pending, image_batch):
        base = {
            **row_header(model, run_id, "detector_boxes", sample.dataset, sample.image_id),
            "prompt": "box",
            **columns,
        }
        try:
            if embed_error is not None:
                raise embed_error
            truth = ground_truth(dataset, sample)
            h, w = truth.size
            fields = {"height": h, "width": w, "n_gt": len(truth.annotations), "gt": json.dumps(truth.annotations)}
            dropped, detect_ms = 0, float("nan")
            if from_file is not None:
                key = str(sample.meta.get("source_image_id", sample.image_id))
                found = from_file.get(key, [])
            else:
                found, dropped, detect_ms = _detector_boxes(
                    det, sample, truth.categories, box_threshold, text_threshold
                )
            found = [d for d in found if d["score"] >= score_threshold]
            found = sorted(found, key=lambda d: -d["score"])[:max_detections]
            boxes = _xyxy([d["bbox"] for d in found], h, w)
            decoder_ms = float("nan")
            masks = np.zeros((0, h, w), dtype=bool)
            if len(found):
                (out_masks, _, _), decoder_ms = timed(
                    lambda: model.predict_boxes(boxes, multimask_output=False), model.device
                )
                masks = out_masks[:, 0]
            sink.extend(
                [
                    {
                        **base,
                        **fields,
                        **image_phase,
                        "status": "ok",
                        "num_detections": len(found),
                        "dropped_detections": dropped,
                        "detect_ms": detect_ms,
                        "decoder_ms": decoder_ms,
                        "detections": detections_json(  # scored on the detector's boxes, not the clipped ones
                            [d["category"] for d in found],
                            np.asarray([d["score"] for d in found]),
                            None,
                            masks,
                            bboxes=[d["bbox"] for d in found],
                        ),
                    }
                ]
            )
        except Exception as err:  # noqa: BLE001 - recorded; the run goes on
            sink.extend([failure_row(base, err)])
        sink.flush()
    return sink.frame()


@dataclass
class DetectorBoxesParams:
    """Parameters of the detector_boxes protocol (see `run_detector_boxes`)."""

    detections: str | None = None
    detector: str | None = "yolo11n"
    detector_weights: str = field(default="same", metadata={"choices": ("same", "pretrained", "random")})
    detector_config: str = field(default="full", metadata={"choices": ("full", "tiny")})
    detector_seed: int = 0
    box_threshold: float | None = field(default=None, metadata={"min": 0.0, "max": 1.0})
    text_threshold: float | None = field(default=None, metadata={"min": 0.0, "max": 1.0})
    score_threshold: float = field(default=0.0, metadata={"min": 0.0, "max": 1.0})
    max_detections: int = field(default=100, metadata={"min": 1})
    warmup: bool = True
    #: images embedded per ``set_images`` call (batched encoder passes); 1: ``set_image`` per image
    image_batch: int = field(default=1, metadata={"min": 1})


def summarize_detector_boxes(rows: pd.DataFrame) -> dict[str, Any]:
    """``mask_AP`` ... ``mask_APl`` (the segmenter on the detector's boxes) and ``box_AP`` ...
    (the detector's boxes themselves), COCOeval over the rows' images."""
    return coco_ap(rows)


#: the registered ``detector_boxes`` protocol (`samkit.eval.get_protocol("detector_boxes")`)
PROTOCOL = Protocol(
    name="detector_boxes",
    description="a detector's boxes (COCO results json or registered detector) -> masks -> COCO mask AP",
    capability="box",
    params=DetectorBoxesParams,
    runner=lambda model, dataset, p, **common: run_detector_boxes(
        model,
        dataset,
        detections=p.detections,
        **{**detector_arguments(p), "detector": None if p.detections else p.detector},
        score_threshold=p.score_threshold,
        max_detections=p.max_detections,
        warmup=p.warmup,
        image_batch=p.image_batch,
        **common,
    ),
    summarizer=summarize_detector_boxes,
)
