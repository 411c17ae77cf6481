"""SA-Co/VEval protocol: each video-phrase pair as text -> masklets tracked through the video -> the
official VEval scores (`samkit.metrics.scoring.saco.score_saco` with ``kind="video"``), natively
(SAM 3's concept tracking) or through an open-vocabulary detector (the detect-then-track baseline).

Per video of a `samkit.data.SacoVEvalDataset`: with ``detector="native"`` one tracker
(``model.video(frames)``, timed: ``init_ms``), then for each of its pairs, negatives included,
``tracker.reset(); tracker.add_text([phrase]); tracker.track_masklets()`` (timed: ``track_ms``);
with a detector, `samkit.video.concept_baseline.track_concept` per pair (its own tracker: boxes
on frame 0, tracked forward). Every masklet becomes one VEval prediction of the pair's
``category_id`` with its score (`samkit.eval._veval_writer.veval_entries`); the scorer's own
thresholds apply (``>= 0.5`` for cgF1 and TETA, ``> 0.5`` for HOTA, all for mAP).

What it writes:

- rows, one per pair: ``pair_id`` (``"<video_id>:<category_id>"``), ``video_id``,
  ``category_id``, ``phrase``, ``positive``, ``n_gt`` (ground-truth masklets), ``num_masklets``
  (found), ``frames``, ``init_ms`` (the video's tracker, the same on each of its pairs),
  ``track_ms``, ``fps`` (frames / track time), and as json the pair's ground truth (``gt``) and
  predictions (``predictions``), so that the scores of any subset of rows come from the rows alone;
- the predictions file of the run in the VEval results format (what sam3's ``YTVISResultsWriter``
  dumps), beside the rows (``<rows stem>_veval_predictions.json``) or at ``predictions_path``: a
  valid JSON list after every video, appended in place; a resumed run rewrites it from the rows.

`summarize_saco_video` scores the rows' predictions against their ground truth rebuilt as one
VEval file. The official evaluator fails on an empty prediction list (and its TETA on predictions
none of which reaches ``score >= 0.5``); then the summary's scores are NaN and ``veval_note`` says
why.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from samkit.errors import DatasetError
from samkit.eval._coco_ap import detector_arguments, detector_columns, load_run_detector
from samkit.eval._runner import RowSink, resolve_run_id
from samkit.eval._veval_writer import veval_entries
from samkit.eval.protocol import Protocol, Section, failure_row, row_header, unsupported_error
from samkit.eval.saco import _PredictionsFile
from samkit.eval.summary import SUMMARY_KEYS, accuracy_table
from samkit.metrics.perf import timed
from samkit.metrics.scoring.saco import score_saco

__all__ = [
    "run_saco_video",
    "SacoVideoParams",
    "PROTOCOL",
    "summarize_saco_video",
    "saco_video_scores",
    "write_veval_rows_predictions",
    "saco_video_table",
    "VEVAL_SUMMARY",
]

#: the summary columns and the official ``dataset_results`` keys they hold
VEVAL_SUMMARY = {
    "veval_cgF1": "video_mask_demo_cgf1_micro_50_95",
    "veval_IL_MCC": "video_mask_demo_ilmcc_50_95",
    "veval_pmF1": "video_mask_demo_positive_micro_f1_50_95",
    "veval_pHOTA": "video_mask_all_phrase_HOTA",
    "veval_mAP": "video_mask_mAP_50_95",
    "veval_phrase_AP": "video_mask_phrase_ap_50_95",
    "veval_TETA": "video_mask_teta",
}

_EMPTY = "no masklet predicted for any pair: the official evaluator fails on an empty prediction list"


def _records_of_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in rows:
        predictions = row.get("predictions")
        if row.get("protocol") == "saco_video" and row.get("status") == "ok" and isinstance(predictions, str):
            out.extend(json.loads(predictions))
    return out


def write_veval_rows_predictions(rows: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write the VEval predictions file of ``rows`` (their ``ok`` saco_video rows, in row order),
    atomically: e.g. the official file of an interrupted run from its saved rows."""
    out = Path(path)
    _PredictionsFile(out, _records_of_rows(rows.to_dict("records")))
    return out


def _check_model(model: Any, detector_name: str) -> None:
    if detector_name == "native":
        if "text_video" not in model.capabilities:
            err = unsupported_error(model.name, "saco_video (detector=native)", "text_video")
            raise type(err)(f"{err} Or run it with a detector: protocol.detector=grounding_dino_tiny.")
    elif "video" not in model.capabilities:
        raise unsupported_error(model.name, "saco_video (through a detector's boxes)", "video")


def _native(model: Any, tracker: Any, phrase: str, detection_threshold: Any, new_object_threshold: Any) -> Any:
    tracker.reset()
    if detection_threshold is not None:
        tracker.detection_threshold = detection_threshold
    if new_object_threshold is not None:
        tracker.new_object_threshold = new_object_threshold
    tracker.add_text([phrase])
    return tracker.track_masklets()


def run_saco_video(
    model: Any,
    dataset: Any,
    *,
    detector: str = "native",
    detector_weights: str = "same",
    detector_config: str = "full",
    detector_seed: int = 0,
    box_threshold: float | None = None,
    text_threshold: float | None = None,
    detection_threshold: float | None = None,
    new_object_threshold: float | None = None,
    video_storage: str = "stream",
    predictions_path: str | os.PathLike | None = None,
    run_id: str | None = None,
    out_path: Any = None,
    resume: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per video-phrase pair of an SA-Co/VEval dataset (see the module docstring).

    Args:
        dataset: a `samkit.data.SacoVEvalDataset` (another dataset is a ValueError).
        detector: ``"native"`` (the model's own concept tracking, capability ``text_video``: SAM 3)
            or a registered open-vocabulary detector for the detect-then-track baseline of any
            model that tracks (capability ``video``).
        detector_weights, detector_config, detector_seed: the detector's (as the saco protocol).
        box_threshold, text_threshold: the detector's thresholds (None: its family's defaults).
        detection_threshold, new_object_threshold: SAM 3's concept-tracking thresholds (None: the
            checkpoint config's).
        video_storage: the tracker's frame storage (`Segmenter.video`).
        predictions_path: the VEval predictions file; None: beside ``out_path``
            (``<stem>_veval_predictions.json``), or none without ``out_path``.
        out_path, resume: rows saved after every video; ``resume`` keeps the videos done.
    """
    if not callable(getattr(dataset, "_load", None)) or not hasattr(dataset, "has_np_pairs"):
        raise ValueError(
            "the saco_video protocol needs an SA-Co/VEval dataset (samkit.data.SacoVEvalDataset); "
            f"got {type(dataset).__name__}"
        )
    run_id = resolve_run_id(run_id)
    sink = RowSink(out_path, resume)
    header = row_header(model, run_id, "saco_video")
    try:
        _check_model(model, detector)
        if detector != "native":
            from samkit.detectors import get_detector_spec

            kind = get_detector_spec(detector).kind
            if kind != "open_vocab":
                raise ValueError(f"the saco_video protocol needs an open-vocabulary detector; {detector} is {kind}.")
        det = (
            None
            if detector == "native"
            else load_run_detector(detector, model, detector_weights, detector_config, detector_seed)
        )
    except Exception as err:  # noqa: BLE001 - one row says why the run could not start
        sink.extend([failure_row({**header, "prompt": "text", "detector": detector}, err)])
        return sink.frame()
    columns = {**detector_columns(det), "text_source": "native" if det is None else "detector"}
    pred_path = Path(predictions_path) if predictions_path is not None else None
    if pred_path is None and out_path is not None:
        pred_path = Path(out_path).with_name(f"{Path(out_path).stem}_veval_predictions.json")
    pred_file = None if pred_path is None else _PredictionsFile(pred_path, _records_of_rows(sink.rows))
    for video in tqdm(dataset, desc=f"saco_video {model.name}", unit="video", disable=not progress):
        if sink.done(video.sequence):
            continue
        base = {**row_header(model, run_id, "saco_video", video.dataset, video.sequence), "prompt": "text", **columns}
        new_records: list[dict[str, Any]] = []
        tracker, init_ms, init_error = None, math.nan, None
        if det is None:
            try:
                tracker, init_ms = timed(lambda: model.video(video.frames(), video_storage=video_storage), model.device)
            except Exception as err:  # noqa: BLE001 - every pair of the video records it
                init_error = err
        for pair in video.pairs:
            gt = {
                "video": video.video,
                "category": {"id": pair["category_id"], "name": pair["phrase"]},
                "np_pair": pair["np_pair"],
                "annotations": video.masklet_records(pair["pair_id"]),
            }
            row = {
                **base,
                "pair_id": pair["pair_id"],
                "video_id": video.video_id,
                "video_name": video.name,
                "category_id": pair["category_id"],
                "phrase": pair["phrase"],
                "positive": pair["positive"],
                "n_gt": len(pair["masklet_ids"]),
                "frames": video.num_frames,
                "height": video.height,
                "width": video.width,
                "init_ms": init_ms,
                "video_storage": video_storage,
                "gt": json.dumps(gt),
                "predictions_file": None if pred_path is None else str(pred_path),
            }
            try:
                if init_error is not None:
                    raise init_error
                if det is None:
                    masklets, ms = timed(
                        lambda: _native(model, tracker, pair["phrase"], detection_threshold, new_object_threshold),
                        model.device,
                    )
                else:
                    from samkit.video.concept_baseline import track_concept

                    masklets, ms = timed(
                        lambda: track_concept(
                            model,
                            det,
                            video.frames(),
                            pair["phrase"],
                            box_threshold=box_threshold,
                            text_threshold=text_threshold,
                            video_storage=video_storage,
                        ),
                        model.device,
                    )
                categories = dict.fromkeys(masklets.phrases, pair["category_id"])
                records = veval_entries(masklets, video.video_id, categories)
                sink.extend(
                    [
                        {
                            **row,
                            "status": "ok",
                            "num_masklets": len(records),
                            "track_ms": ms,
                            "fps": video.num_frames / (ms / 1000.0) if ms else math.nan,
                            "random_weights": bool(masklets.random_weights),
                            "method": masklets.method,
                            "predictions": json.dumps(records),
                        }
                    ]
                )
                new_records.extend(records)
            except Exception as err:  # noqa: BLE001 - recorded; the run goes on
                sink.extend([failure_row(row, err)])
        sink.flush()
        if pred_file is not None:
            pred_file.append(new_records, lambda: _records_of_rows(sink.rows))
    return sink.frame()


@dataclass
class SacoVideoParams:
    """Parameters of the saco_video protocol (see `run_saco_video`)."""

    #: "native" (SAM 3's concept tracking) or an open-vocabulary detector (detect-then-track baseline)
    detector: str = "native"
    detector_weights: str = field(default="same", metadata={"choices": ("same", "pretrained", "random")})
    detector_config: str = field(default="full", metadata={"choices": ("full", "tiny")})
    detector_seed: int = 0
    box_threshold: float | None = field(default=None, metadata={"min": 0.0, "max": 1.0})
    text_threshold: float | None = field(default=None, metadata={"min": 0.0, "max": 1.0})
    #: SAM 3's concept-tracking detection threshold; null: the checkpoint config's (0.5)
    detection_threshold: float | None = field(default=None, metadata={"min": 0.0, "max": 1.0})
    #: SAM 3's threshold for a new object; null: the checkpoint config's (0.7)
    new_object_threshold: float | None = field(default=None, metadata={"min": 0.0, "max": 1.0})
    video_storage: str = field(default="stream", metadata={"choices": ("stream", "cpu", "device")})


# ---------------------------------------------------------------------------------------- scores


def _scored_rows(rows: pd.DataFrame) -> pd.DataFrame:
    if not {"gt", "predictions", "pair_id"} <= set(rows.columns) or len(rows) == 0:
        return rows.iloc[0:0]
    rows = rows[rows["gt"].notna() & rows["predictions"].notna()]
    if "status" in rows.columns:
        rows = rows[rows["status"] == "ok"]
    return rows.drop_duplicates(["dataset", "pair_id"]).reset_index(drop=True)


def _write_inputs(rows: pd.DataFrame, folder: Path) -> tuple[Path, Path, int]:
    """The rows' ground truth as one VEval file and their predictions, videos and categories
    renumbered per (dataset, id) (rows of several datasets share ids). Returns the two paths and
    the number of predictions."""
    videos: dict[tuple[str, int], dict] = {}
    categories: dict[tuple[str, int], dict] = {}
    annotations: list[dict] = []
    np_pairs: list[dict] = []
    predictions: list[dict] = []
    all_np = True
    for gt_json, pred_json, dataset in zip(rows["gt"], rows["predictions"], rows["dataset"]):
        gt = json.loads(gt_json)
        key = (str(dataset), int(gt["video"]["id"]))
        video = videos.setdefault(key, {**gt["video"], "id": len(videos) + 1})
        ckey = (str(dataset), int(gt["category"]["id"]))
        category = categories.setdefault(ckey, {"id": len(categories) + 1, "name": gt["category"]["name"]})
        for ann in gt["annotations"]:
            annotations.append(
                {**ann, "id": len(annotations) + 1, "video_id": video["id"], "category_id": category["id"]}
            )
        if gt["np_pair"] is None:
            all_np = False
        else:
            np_pairs.append(
                {**gt["np_pair"], "id": len(np_pairs) + 1, "video_id": video["id"], "category_id": category["id"]}
            )
        predictions.extend({**r, "video_id": video["id"], "category_id": category["id"]} for r in json.loads(pred_json))
    data: dict[str, Any] = {
        "videos": list(videos.values()),
        "annotations": annotations,
        "categories": list(categories.values()),
    }
    if all_np:
        data["video_np_pairs"] = np_pairs
    gt_path, pred_path = folder / "veval_gt.json", folder / "veval_predictions.json"
    gt_path.write_text(json.dumps(data))
    pred_path.write_text(json.dumps(predictions))
    return gt_path, pred_path, len(predictions)


def saco_video_scores(rows: pd.DataFrame) -> dict[str, Any]:
    """The official SA-Co/VEval result of ``rows`` (saco_video rows with ``gt`` and
    ``predictions``; others, and repeats of a (dataset, pair), left out): `score_saco`'s whole dict
    (``{"dataset_results": ..., "video_np_results": ...}``) for the rows' pairs, written as one
    ground-truth file and one predictions file and scored; ``{}`` without pairs. Where the official
    evaluator cannot score (no prediction at all; TETA with no prediction at ``score >= 0.5``) a
    `samkit.errors.DatasetError` saying so."""
    rows = _scored_rows(rows)
    if len(rows) == 0:
        return {}
    with tempfile.TemporaryDirectory(prefix="samkit_veval_") as tmp:
        gt_path, pred_path, count = _write_inputs(rows, Path(tmp))
        if count == 0:
            raise DatasetError(_EMPTY)
        return score_saco(gt_path, pred_path, kind="video")


def summarize_saco_video(rows: pd.DataFrame) -> dict[str, Any]:
    """`VEVAL_SUMMARY`'s columns (``veval_cgF1`` = the official ``video_mask_demo_cgf1_micro_50_95``,
    ``veval_pHOTA``, ``veval_mAP``, ``veval_TETA`` (percent, as the official), ...; fractions
    otherwise), ``veval_pairs``, ``veval_masklets`` (mean found per pair), ``veval_track_ms``
    (median); NaN scores and ``veval_note`` (why) where the official evaluator cannot score the
    predictions (none at all, or none at ``score >= 0.5`` for TETA)."""
    pairs = _scored_rows(rows)
    if len(pairs) == 0:
        return {}
    try:
        results = saco_video_scores(pairs).get("dataset_results", {})
        note = None
    except DatasetError as err:  # the official evaluator cannot score these predictions
        results, note = {}, str(err)
    out: dict[str, Any] = {col: results.get(key, math.nan) for col, key in VEVAL_SUMMARY.items()}
    if note is not None:
        out["veval_note"] = note
    out["veval_pairs"] = len(pairs)
    out["veval_masklets"] = pairs["num_masklets"].astype(float).mean()
    out["veval_track_ms"] = pairs["track_ms"].astype(float).median()
    return out


# ------------------------------------------------------------------------------------------ table


def saco_video_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The saco_video rows' summary: one row per (model, weights, detector, device, dtype,
    dataset), labelled as `samkit.eval.summary.accuracy_table` (``note``: random weights), with
    the `VEVAL_SUMMARY` columns, ``veval_pairs``, ``veval_masklets``, ``init_ms`` and
    ``veval_track_ms``. Empty when the frame has no saco_video rows."""
    if "protocol" not in frame.columns:
        return pd.DataFrame()
    rows = frame[frame["protocol"].astype("string") == "saco_video"]
    if not len(rows):
        return pd.DataFrame()
    table = accuracy_table(rows)
    first = [c for c in table.columns if c in SUMMARY_KEYS or c in ("family", "weights_kind", "device_name")]
    first += [c for c in ("device_label",) if c in table.columns]
    rest = [*VEVAL_SUMMARY, "veval_pairs", "veval_masklets", "init_ms", "veval_track_ms", "veval_note", "errors"]
    keep = first + [c for c in [*rest, "note"] if c in table.columns]
    return table[keep].reset_index(drop=True)


def report_sections(rows: pd.DataFrame, published: pd.DataFrame | None = None) -> list[Section]:
    """``saco_video``: `saco_video_table` (where the rows have saco_video rows)."""
    table = saco_video_table(rows)
    if not len(table):
        return []
    title = "SA-Co/VEval: video cgF1, phrase HOTA, mAP and TETA (official scorer)"
    return [Section("saco_video", title, table=table, order=46)]


#: the registered ``saco_video`` protocol (`samkit.eval.get_protocol("saco_video")`)
PROTOCOL = Protocol(
    name="saco_video",
    description="each SA-Co/VEval video-phrase pair as text -> masklets -> official video cgF1, pHOTA, mAP",
    capability=None,
    capability_of=lambda p: "text_video" if p.detector == "native" else "video",
    params=SacoVideoParams,
    runner=lambda model, dataset, p, **common: run_saco_video(
        model,
        dataset,
        **detector_arguments(p),
        detection_threshold=p.detection_threshold,
        new_object_threshold=p.new_object_threshold,
        video_storage=p.video_storage,
        **common,
    ),
    summarizer=summarize_saco_video,
    report_sections=report_sections,
)
