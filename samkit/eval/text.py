"""Text protocol: each image's category names as text prompts -> instance masks -> class-aware
COCO mask AP and box AP (COCOeval), per model, natively (SAM 3) or through a detector (Grounded-SAM).

Per image: ``set_image`` (timed: ``encoder_ms``; with ``image_batch`` > 1 the images are
embedded ``image_batch`` at a time by ``set_images``, ``encoder_ms`` each one's share), then the
phrases (the image's category names, ``prompts="image"``, or every category of the dataset,
``prompts="dataset"``) go either to the
model's own text path (``detector="native"``: `Segmenter.predict_text`) or to a registered
open-vocabulary detector whose boxes the model turns into masks in one batched ``predict_boxes``
call. Each detection is scored with the detector's score and its phrase names its category; the
``max_detections`` best per image are kept (COCO's 100).

One row per image holds its ground truth (all annotations, crowd included) and its detections as
json, so `summarize_text` (COCOeval ``segm`` and ``bbox``) works on any subset or merge of rows.

Its table: `ap_table`, the COCO AP of the text and detector_boxes rows side by side (one row per
model, detector and protocol; the report's ``ap.md``, written by this protocol for both).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
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
)
from samkit.eval._runner import RowSink, check_image_batch, embedded, resolve_run_id, warm_up
from samkit.eval.protocol import Protocol, Section, failure_row, row_header, unsupported_error
from samkit.eval.summary import SUMMARY_KEYS, accuracy_table

__all__ = ["run_text", "TextParams", "PROTOCOL", "summarize_text", "text_instances", "AP_PROTOCOLS", "ap_table"]

PROMPT_SOURCES = ("image", "dataset")


def text_instances(
    model: Any,
    detector: Any,
    rgb: np.ndarray,
    phrases: list[str],
    box_threshold: float | None,
    text_threshold: float | None,
) -> Any:
    """Instances of ``phrases`` on the image set in ``model`` (``rgb``): the model's own text path
    when ``detector`` is None, else the detector's boxes -> one batched ``predict_boxes``.
    Returns a `samkit.pipelines.PipelineResult` (``encoder_ms`` NaN: the image is already set)."""
    from samkit.pipelines.segment import detect_and_segment

    if detector is None:
        return model.predict_text(phrases, box_threshold=box_threshold, text_threshold=text_threshold)
    return detect_and_segment(
        detector,
        model,
        rgb,
        phrases,
        embed=False,
        text=phrases,
        box_threshold=box_threshold,
        text_threshold=text_threshold,
    )


def _check_model(model: Any, detector_name: str) -> None:
    if detector_name == "native":
        if "text" not in model.spec.capabilities:
            err = unsupported_error(model.name, "text (detector=native)", "text")
            raise type(err)(f"{err} Or run it with a detector: protocol.detector=grounding_dino_tiny.")
    elif "box" not in model.capabilities:
        raise unsupported_error(model.name, "text (through a detector's boxes)", "box")


def run_text(
    model: Any,
    dataset: Iterable[Any],
    *,
    detector: str = "grounding_dino_tiny",
    detector_weights: str = "same",
    detector_config: str = "full",
    detector_seed: int = 0,
    box_threshold: float | None = None,
    text_threshold: float | None = None,
    prompts: str = "image",
    max_detections: int = 100,
    warmup: bool = True,
    image_batch: int = 1,
    run_id: str | None = None,
    out_path: Any = None,
    resume: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per image: the text query of its category names, its detections and ground truth.

    Args:
        detector: ``"native"`` (the model's own text prompts: SAM 3) or a registered
            open-vocabulary detector (`samkit.detectors.list_detectors(kind="open_vocab")`).
        detector_weights: ``"pretrained"`` / ``"random"``, or ``"same"``: random for a model with
            random weights, else pretrained.
        detector_config: ``"full"`` or ``"tiny"`` (random weights only; tests).
        box_threshold, text_threshold: the detector's thresholds (None: its family's defaults).
        prompts: ``"image"`` (the categories annotated in the image) or ``"dataset"`` (every
            category of a COCO-format dataset, so absent ones can be false positives).
        max_detections: keep the most confident this many per image (COCOeval's maxDets 100).
        image_batch: images embedded per ``set_images`` call (batched encoder passes; 1:
            ``set_image`` per image); ``encoder_ms`` is each image's share of its call.

    Row columns beyond the standard ones: ``detector``, ``detector_weights``,
    ``detector_weights_kind``, ``detector_config``, ``text_source``, ``phrases`` (json),
    ``n_gt``, ``num_detections``, ``detect_ms``, ``encoder_ms``, ``decoder_ms`` (the mask stage;
    SAM 3 native: its whole text call), ``total_ms``, ``height``, ``width``, ``gt`` and
    ``detections`` (json). An image without annotations (``prompts="image"``) is a ``skipped``
    row (nothing to ask for).
    """
    if prompts not in PROMPT_SOURCES:
        raise ValueError(f"prompts must be one of {PROMPT_SOURCES}, got {prompts!r}")
    if not isinstance(max_detections, int) or max_detections < 1:
        raise ValueError(f"max_detections must be an int >= 1, got {max_detections!r}")
    image_batch = check_image_batch(image_batch)
    run_id = resolve_run_id(run_id)
    sink = RowSink(out_path, resume)
    header = row_header(model, run_id, "text")
    try:
        _check_model(model, detector)
        if detector != "native":
            from samkit.detectors import get_detector_spec

            kind = get_detector_spec(detector).kind
            if kind != "open_vocab":
                raise ValueError(
                    f"the text protocol needs an open-vocabulary detector; {detector} is "
                    f"{kind} (use the detector_boxes protocol for closed-set detectors)."
                )
        det = (
            None
            if detector == "native"
            else load_run_detector(detector, model, detector_weights, detector_config, detector_seed)
        )
    except Exception as err:  # noqa: BLE001 - one row says why the run could not start
        sink.extend([failure_row({**header, "prompt": "text", "detector": detector}, err)])
        return sink.frame()
    columns = {**detector_columns(det), "text_source": "native" if det is None else "detector"}
    all_names: list[str] | None = None
    if prompts == "dataset":
        cats = dataset_categories(dataset)
        if cats is None:
            raise ValueError("prompts='dataset' needs a COCO-format dataset (samkit.data.CocoDataset)")
        all_names = list(dict.fromkeys(cats.values()))
    if warmup:
        warm_up(model, dataset)
    pending = (
        s
        for s in tqdm(dataset, desc=f"text {model.name}", unit="image", disable=not progress)
        if not sink.done(s.image_id)
    )

    def has_phrases(sample: Any) -> bool:  # images without any are skipped, never embedded
        return bool(all_names if all_names is not None else ground_truth(dataset, sample).categories)

    for sample, image_phase, embed_error in embedded(model, pending, image_batch, has_phrases):
        base = {**row_header(model, run_id, "text", sample.dataset, sample.image_id), "prompt": "text", **columns}
        try:
            truth = ground_truth(dataset, sample)
            names = all_names if all_names is not None else truth.categories
            fields = {
                "height": truth.size[0],
                "width": truth.size[1],
                "n_gt": len(truth.annotations),
                "gt": json.dumps(truth.annotations),
            }
            if not names:
                sink.extend([{**base, **fields, "status": "skipped", "error": "no categories to prompt"}])
                sink.flush()
                continue
            by_phrase = phrase_categories(names)
            phrases = list(by_phrase)
            if embed_error is not None:
                raise embed_error
            result = text_instances(model, det, sample.image, phrases, box_threshold, text_threshold)
            keep = np.argsort(-result.scores, kind="stable")[:max_detections]
            objs = [result.objects[i] for i in keep]
            detections = detections_json(  # box AP scores the detector's boxes, not the clipped prompts
                [by_phrase[o.label] for o in objs],
                np.asarray([o.score for o in objs]),
                np.asarray([o.detector_box for o in objs]).reshape(-1, 4),
                np.stack([o.mask for o in objs]) if objs else np.zeros((0, *truth.size), bool),
            )
            row = {
                **base,
                **fields,
                **image_phase,
                "status": "ok",
                "phrases": json.dumps(phrases),
                "num_detections": len(objs),
                "detect_ms": result.detect_ms,
                "decoder_ms": result.decoder_ms,
                "total_ms": image_phase["encoder_ms"] + result.total_ms,
                "detections": detections,
            }
            sink.extend([row])
        except Exception as err:  # noqa: BLE001 - recorded; the run goes on
            sink.extend([failure_row(base, err)])
        sink.flush()
    return sink.frame()


@dataclass
class TextParams:
    """Parameters of the text protocol (see `run_text`)."""

    detector: str = "grounding_dino_tiny"
    detector_weights: str = field(default="same", metadata={"choices": ("same", "pretrained", "random")})
    detector_config: str = field(default="full", metadata={"choices": ("full", "tiny")})
    detector_seed: int = 0
    box_threshold: float | None = field(default=None, metadata={"min": 0.0, "max": 1.0})
    text_threshold: float | None = field(default=None, metadata={"min": 0.0, "max": 1.0})
    prompts: str = field(default="image", metadata={"choices": PROMPT_SOURCES})
    max_detections: int = field(default=100, metadata={"min": 1})
    warmup: bool = True
    #: images embedded per ``set_images`` call (batched encoder passes); 1: ``set_image`` per image
    image_batch: int = field(default=1, metadata={"min": 1})


def summarize_text(rows: pd.DataFrame) -> dict[str, Any]:
    """``text_mask_AP`` ... ``text_mask_APl`` and ``text_box_AP`` ... (COCOeval over the rows'
    images), ``text_detect_ms`` (median), ``text_detections`` (mean per image)."""
    out: dict[str, Any] = coco_ap(rows, prefix="text_")
    if "detect_ms" in rows.columns:
        out["text_detect_ms"] = rows["detect_ms"].astype(float).median()
    if "num_detections" in rows.columns:
        out["text_detections"] = rows["num_detections"].astype(float).mean()
    return out


# ------------------------------------------------------------------------------------------- table

AP_PROTOCOLS = ("text", "detector_boxes")
"""The protocols whose summaries are COCO AP (`ap_table`)."""

_AP_PREFIXES = ("text_mask_", "text_box_", "mask_", "box_")


def ap_table(frame: pd.DataFrame) -> pd.DataFrame:
    """COCO AP of the text and detector_boxes rows: one row per (model, weights, detector,
    detector weights, device, dtype, dataset) and protocol, labelled as
    `samkit.eval.summary.accuracy_table`.

    Columns: the configuration (with ``detector``, ``detector_weights``), ``protocol``, the AP
    columns that protocol has (``text_mask_AP`` ... / ``mask_AP`` ..., ``box_AP`` ...: COCOeval's
    AP, AP50, AP75, APs, APm, APl in ``[0, 1]``), ``encoder_ms``, ``decoder_ms`` and
    ``text_detect_ms`` (medians per image), ``images`` and ``note`` (random weights of the model
    or of its detector). Empty (no rows) when the frame has no such rows.
    """
    if "protocol" not in frame.columns:
        return pd.DataFrame()
    parts = []
    for name in AP_PROTOCOLS:
        rows = frame[frame["protocol"].astype("string") == name]
        if not len(rows):
            continue
        table = accuracy_table(rows)
        table.insert(table.columns.get_loc("dataset") + 1, "protocol", name)
        ok = rows[rows["status"] == "ok"]
        keyed = ok[SUMMARY_KEYS].astype("string").fillna("\x00")
        images = keyed.assign(image_id=ok["image_id"]).groupby(SUMMARY_KEYS)["image_id"].nunique()
        want = table[SUMMARY_KEYS].astype("string").fillna("\x00")
        table["images"] = [int(images.get(tuple(k), 0)) for k in want.itertuples(index=False)]
        keep = [c for c in table.columns if not c.startswith(_AP_PREFIXES) or table[c].notna().any()]
        drop = {"mIoU@1", "objects", "skipped", "errors", "peak_mem_mib", "text_detections"}
        parts.append(table[[c for c in keep if c not in drop and not c.startswith(("mIoU", "NoC"))]])
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    first = [
        c
        for c in out.columns
        if not c.startswith(_AP_PREFIXES)
        and c not in ("encoder_ms", "decoder_ms", "text_detect_ms", "images", "mem_method", "note")
    ]
    ap_cols = [c for c in out.columns if c.startswith(_AP_PREFIXES)]
    last = [c for c in ("encoder_ms", "decoder_ms", "text_detect_ms", "images", "note") if c in out.columns]
    return out[first + ap_cols + last]


def report_sections(rows: pd.DataFrame, published: pd.DataFrame | None = None) -> list[Section]:
    """``ap``: `ap_table` (where the rows have text or detector_boxes rows)."""
    ap = ap_table(rows)
    if not len(ap):
        return []
    return [Section("ap", "Text and detector-box prompts: class-aware COCO mask / box AP", table=ap, order=40)]


#: the registered ``text`` protocol (`samkit.eval.get_protocol("text")`)
PROTOCOL = Protocol(
    name="text",
    description="each image's category names as text -> masks -> class-aware COCO mask/box AP",
    capability=None,
    capability_of=lambda p: "text" if p.detector == "native" else "box",
    params=TextParams,
    runner=lambda model, dataset, p, **common: run_text(
        model,
        dataset,
        **detector_arguments(p),
        prompts=p.prompts,
        max_detections=p.max_detections,
        warmup=p.warmup,
        image_batch=p.image_batch,
        **common,
    ),
    summarizer=summarize_text,
    report_sections=report_sections,
)
