"""SA-Co protocol: each image-phrase pair of SA-Co/Gold or Silver as a text prompt -> instance masks
-> the official cgF1 and image-level metrics (`samkit.metrics.scoring.saco.score_saco`), natively
(SAM 3) or through an open-vocabulary detector, as the text protocol does.

Per image of a `samkit.data.SacoDataset`: ``set_image`` (timed: ``encoder_ms``; with
``image_batch`` > 1 the images are embedded ``image_batch`` at a time), then each of its pairs,
negatives included, is one query of its phrase alone (`samkit.eval.text.text_instances`: the
model's own text path with ``detector="native"``, else the detector's boxes -> one batched
``predict_boxes``). Every instance found becomes one prediction of the pair, scored with the
model's (native) or the detector's score; the scorer keeps those with ``score >= 0.5``. Pairs the
official evaluator ignores (not instance-exhaustive in every annotator's file) are ``skipped``
rows, never queried, with ``skip_unscored`` (default).

What it writes:

- rows, one per pair: the pair (``pair_id``, ``pair_index``, ``phrase``, ``positive``,
  ``scored``, ``n_gt``, ``annotators``), the timings (``encoder_ms`` the image's, the same on each
  of its pairs; ``detect_ms``, ``decoder_ms``, ``total_ms`` the pair's query), ``num_detections``,
  and as json the pair's ground truth in every annotator's file (``gt``) and its predictions in
  SA-Co's results format (``predictions``), so that the scores of any subset or merge of rows are
  computed from the rows alone (`saco_scores`);
- the predictions file of the run, SA-Co's results format (what sam3's ``PredictionDumper``
  writes as ``coco_predictions_segm.json``, which ``scripts/eval/standalone_cgf1.py`` and
  `score_saco` read): one JSON list of ``{"image_id": the pair's id, "category_id": 1,
  "segmentation": compressed RLE, "score", "bbox": [x, y, w, h] normalised by the image size,
  "area": normalised}`` (scores and boxes rounded to 5 decimals, as the official writer does),
  beside the rows (``<rows stem>_coco_predictions_segm.json``) or at ``predictions_path``. It is
  a valid JSON list after every image: each image's records are appended in place and synced; a
  run that stops mid-image loses nothing, since the rows (saved atomically after every image) hold
  the same predictions and a resumed run rewrites the file from them first
  (`write_saco_predictions` does so for any rows).

`summarize_saco` scores the rows' predictions with `score_saco` against the rows' ground truth,
rebuilt into the official file layout; on the rows of a whole run this equals scoring the
predictions file against the dataset's own ground-truth files. Its table: `saco_table`.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from samkit.atomic import atomic_write_text
from samkit.errors import DatasetError
from samkit.eval._coco_ap import detector_arguments, detector_columns, load_run_detector
from samkit.eval._runner import RowSink, check_image_batch, embedded, resolve_run_id
from samkit.eval.protocol import Protocol, Section, failure_row, row_header, unsupported_error
from samkit.eval.summary import SUMMARY_KEYS, accuracy_table
from samkit.eval.text import text_instances
from samkit.masks import encode_rles
from samkit.metrics.scoring.saco import score_saco

__all__ = [
    "run_saco",
    "SacoParams",
    "PROTOCOL",
    "summarize_saco",
    "saco_scores",
    "write_saco_predictions",
    "saco_prediction_records",
    "saco_table",
    "saco_subset_of",
    "SACO_SUMMARY",
]

#: the category id of every SA-Co result (the files list one category, 1, "for compatibility")
SACO_CATEGORY_ID = 1

#: the summary columns and the official keys (``cgF1_eval_segm_<key>``) they hold: cgF1 and its
#: factors, the papers' three numbers, at the mean over IoU 0.50:0.95 unless suffixed
SACO_SUMMARY = {
    "saco_cgF1": "cgF1",
    "saco_IL_MCC": "IL_MCC",
    "saco_pmF1": "positive_micro_F1",
    "saco_cgF1@0.5": "cgF1@0.5",
    "saco_cgF1@0.75": "cgF1@0.75",
    "saco_IL_F1": "IL_F1",
    "saco_positive_macro_F1": "positive_macro_F1",
}

_NOT_SCORED = "not instance-exhaustive in every annotator's file: the official evaluator does not score it"


def saco_prediction_records(source_pair_id: Any, objects: list[Any], height: int, width: int) -> list[dict[str, Any]]:
    """SA-Co results of one pair from `samkit.instances.SegmentedObject` records, in their order:
    ``{"image_id": source_pair_id, "category_id": 1, "segmentation": compressed RLE, "score",
    "area", "bbox"}`` with ``area`` and the ``[x, y, w, h]`` box (the detector's box as it gave
    it) normalised by the ``height`` x ``width`` image, scores and boxes rounded to 5 decimals
    (sam3's ``PredictionDumper``)."""
    if not objects:
        return []
    rles = encode_rles(np.stack([o.mask for o in objects]))
    out = []
    for obj, rle in zip(objects, rles):
        x0, y0, x1, y1 = (float(v) for v in obj.detector_box)
        box = [x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height]
        out.append(
            {
                "image_id": source_pair_id,
                "category_id": SACO_CATEGORY_ID,
                "segmentation": rle,
                "score": round(float(obj.score), 5),
                "area": float(obj.mask.sum()) / (height * width),
                "bbox": [round(v, 5) for v in box],
            }
        )
    return out


# ------------------------------------------------------------------------------- predictions file


class _PredictionsFile:
    """A JSON list on disk that is valid after every `append` (records appended in place, synced)."""

    _END = b"\n]\n"

    def __init__(self, path: Path, records: list[dict[str, Any]]) -> None:
        self.path = path
        self.count = 0
        self.rewrite(records)

    def rewrite(self, records: list[dict[str, Any]]) -> None:
        """The whole file from ``records``, atomically."""
        body = "".join(("\n" if i == 0 else ",\n") + json.dumps(r) for i, r in enumerate(records))
        atomic_write_text(self.path, "[" + body + self._END.decode())
        self.count = len(records)

    def append(self, records: list[dict[str, Any]], everything: Callable[[], list[dict[str, Any]]]) -> None:
        """Append ``records`` before the closing bracket; a file that does not end as this one
        writes it (changed or cut by someone else) is rewritten from ``everything()`` instead."""
        if not records:
            return
        try:
            with open(self.path, "r+b") as f:
                size = f.seek(0, os.SEEK_END)
                if size < len(self._END) + 1:
                    raise ValueError("too short")
                f.seek(size - len(self._END))
                if f.read() != self._END:
                    raise ValueError("not ours")
                f.seek(size - len(self._END))
                text = ("\n" if self.count == 0 else ",\n") + ",\n".join(json.dumps(r) for r in records)
                f.write(text.encode() + self._END)
                f.flush()
                os.fsync(f.fileno())
            self.count += len(records)
        except (OSError, ValueError):
            self.rewrite(everything())


def _records_of_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in rows:
        predictions = row.get("predictions")
        if row.get("protocol") == "saco" and row.get("status") == "ok" and isinstance(predictions, str):
            out.extend(json.loads(predictions))
    return out


def write_saco_predictions(rows: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write the SA-Co results file of ``rows`` (their ``ok`` saco rows, in row order) to ``path``,
    atomically: e.g. the official file of an interrupted run from its saved rows. Pair ids are the
    dataset's own, so rows of one dataset make one official file."""
    out = Path(path)
    _PredictionsFile(out, _records_of_rows(rows.to_dict("records")))
    return out


def _default_predictions_path(out_path: Any) -> Path | None:
    if out_path is None:
        return None
    out = Path(out_path)
    return out.with_name(f"{out.stem}_coco_predictions_segm.json")


# ------------------------------------------------------------------------------------------ run


def _check_model(model: Any, detector_name: str) -> None:
    if detector_name == "native":
        if "text" not in model.spec.capabilities:
            err = unsupported_error(model.name, "saco (detector=native)", "text")
            raise type(err)(f"{err} Or run it with a detector: protocol.detector=grounding_dino_tiny.")
    elif "box" not in model.capabilities:
        raise unsupported_error(model.name, "saco (through a detector's boxes)", "box")


def _check_dataset(dataset: Any) -> None:
    if not callable(getattr(dataset, "pair_ground_truth", None)):
        raise ValueError(
            "the saco protocol needs an SA-Co dataset (samkit.data.SacoDataset: image-phrase pairs "
            f"with every annotator's ground truth); got {type(dataset).__name__}"
        )


def _warm_up(model: Any, detector: Any, dataset: Iterable[Any], box_threshold: Any, text_threshold: Any) -> None:
    """One untimed ``set_image`` and text query, so that no timed call is the first."""
    for sample in dataset:
        model.set_image(sample.image)
        text_instances(model, detector, sample.image, ["object"], box_threshold, text_threshold)
        return


def run_saco(
    model: Any,
    dataset: Any,
    *,
    detector: str = "grounding_dino_tiny",
    detector_weights: str = "same",
    detector_config: str = "full",
    detector_seed: int = 0,
    box_threshold: float | None = None,
    text_threshold: float | None = None,
    max_detections: int | None = None,
    skip_unscored: bool = True,
    warmup: bool = True,
    image_batch: int = 1,
    predictions_path: str | os.PathLike | None = None,
    run_id: str | None = None,
    out_path: Any = None,
    resume: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per image-phrase pair of an SA-Co dataset: its query, predictions and ground truth.

    Args:
        dataset: a `samkit.data.SacoDataset` (another dataset is a ValueError).
        detector: ``"native"`` (the model's own text prompts: SAM 3) or a registered
            open-vocabulary detector (`samkit.detectors.list_detectors(kind="open_vocab")`).
        detector_weights: ``"pretrained"`` / ``"random"``, or ``"same"``: random for a model with
            random weights, else pretrained.
        detector_config: ``"full"`` or ``"tiny"`` (random weights only; tests).
        box_threshold, text_threshold: the detector's (or SAM 3's instance-score) thresholds; None:
            the family's defaults. The official scorer drops predictions under 0.5 itself.
        max_detections: keep the most confident this many per pair (None: all, as sam3's
            evaluation does).
        skip_unscored: pairs the official evaluator ignores are ``skipped`` rows, not queried.
        image_batch: images embedded per ``set_images`` call (1: ``set_image`` per image);
            ``encoder_ms`` is each image's share of its call.
        predictions_path: the SA-Co results file of the run; None: beside ``out_path``
            (``<stem>_coco_predictions_segm.json``), or none without ``out_path``.
        out_path, resume: the rows, saved after every image; ``resume`` keeps the images done and
            rewrites the predictions file from their rows before going on.

    Row columns beyond the standard ones (``image_id`` is the image's ``file_name``; a pair is
    ``pair_id``): ``detector``, ``detector_weights``, ``detector_weights_kind``,
    ``detector_config``, ``text_source``, ``pair_id``, ``pair_index`` (its position in the first
    ground-truth file), ``phrase``, ``positive``, ``scored``, ``n_gt`` (non-crowd objects of the
    first annotator), ``annotators``, ``height``, ``width``, ``gt`` (json: ``{"files", "categories",
    "annotators": [{"pair", "annotations"} or null per file]}``), ``predictions`` (json, SA-Co
    results), ``num_detections``, ``encoder_ms``, ``detect_ms``, ``decoder_ms``, ``total_ms``,
    ``predictions_file``.
    """
    if max_detections is not None and (
        isinstance(max_detections, bool) or not isinstance(max_detections, int) or max_detections < 1
    ):
        raise ValueError(f"max_detections must be None or an int >= 1, got {max_detections!r}")
    image_batch = check_image_batch(image_batch)
    _check_dataset(dataset)
    run_id = resolve_run_id(run_id)
    sink = RowSink(out_path, resume)
    header = row_header(model, run_id, "saco")
    try:
        _check_model(model, detector)
        if detector != "native":
            from samkit.detectors import get_detector_spec

            kind = get_detector_spec(detector).kind
            if kind != "open_vocab":
                raise ValueError(f"the saco protocol needs an open-vocabulary detector; {detector} is {kind}.")
        det = (
            None
            if detector == "native"
            else load_run_detector(detector, model, detector_weights, detector_config, detector_seed)
        )
    except Exception as err:  # noqa: BLE001 - one row says why the run could not start
        sink.extend([failure_row({**header, "prompt": "text", "detector": detector}, err)])
        return sink.frame()
    columns = {**detector_columns(det), "text_source": "native" if det is None else "detector"}
    pred_path = Path(predictions_path) if predictions_path is not None else _default_predictions_path(out_path)
    pred_file = None if pred_path is None else _PredictionsFile(pred_path, _records_of_rows(sink.rows))
    files = [p.name for p in dataset.gt_files]
    categories = list(dataset.categories)
    if warmup:
        _warm_up(model, det, dataset, box_threshold, text_threshold)

    def queried(pair: dict[str, Any]) -> bool:
        return pair["scored"] or not skip_unscored

    pending = (
        s
        for s in tqdm(dataset, desc=f"saco {model.name}", unit="image", disable=not progress)
        if not sink.done(s.image_id)
    )
    wanted = lambda s: any(queried(p) for p in s.meta["pairs"])  # noqa: E731
    for sample, image_phase, embed_error in embedded(model, pending, image_batch, wanted):
        base = {**row_header(model, run_id, "saco", sample.dataset, sample.image_id), "prompt": "text", **columns}
        h, w = sample.height, sample.width
        new_records: list[dict[str, Any]] = []
        for pair in sample.meta["pairs"]:
            truth = dataset.pair_ground_truth(pair["pair_id"])
            first = truth[0]["annotations"] if truth[0] is not None else []
            fields = {
                "pair_id": pair["pair_id"],
                "pair_index": pair["index"],
                "phrase": pair["text_input"],
                "positive": pair["positive"],
                "scored": pair["scored"],
                "n_gt": sum(1 for a in first if not a.get("iscrowd", 0)),
                "annotators": len(truth),
                "height": h,
                "width": w,
                "predictions_file": None if pred_path is None else str(pred_path),
            }
            row = {**base, **fields}
            if not queried(pair):
                sink.extend([{**row, "status": "skipped", "error": _NOT_SCORED}])
                continue
            row["gt"] = json.dumps({"files": files, "categories": categories, "annotators": truth})
            try:
                if embed_error is not None:
                    raise embed_error
                result = text_instances(model, det, sample.image, [pair["text_input"]], box_threshold, text_threshold)
                order = np.argsort(-np.asarray(result.scores, dtype=np.float64), kind="stable")
                objects = [result.objects[i] for i in order[:max_detections]]
                records = saco_prediction_records(pair["source_pair_id"], objects, h, w)
                sink.extend(
                    [
                        {
                            **row,
                            **image_phase,
                            "status": "ok",
                            "num_detections": len(objects),
                            "detect_ms": result.detect_ms,
                            "decoder_ms": result.decoder_ms,
                            "total_ms": result.total_ms,
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
class SacoParams:
    """Parameters of the saco protocol (see `run_saco`)."""

    detector: str = "grounding_dino_tiny"
    detector_weights: str = field(default="same", metadata={"choices": ("same", "pretrained", "random")})
    detector_config: str = field(default="full", metadata={"choices": ("full", "tiny")})
    detector_seed: int = 0
    box_threshold: float | None = field(default=None, metadata={"min": 0.0, "max": 1.0})
    text_threshold: float | None = field(default=None, metadata={"min": 0.0, "max": 1.0})
    #: the most confident this many predictions per pair; None keeps all (as sam3's evaluation)
    max_detections: int | None = field(default=None, metadata={"min": 1})
    #: pairs the official evaluator ignores are skipped rows, not queried
    skip_unscored: bool = True
    warmup: bool = True
    #: images embedded per ``set_images`` call (batched encoder passes); 1: ``set_image`` per image
    image_batch: int = field(default=1, metadata={"min": 1})


# ---------------------------------------------------------------------------------------- scores


def _scored_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with ground truth and predictions, one per (dataset, pair), in the first file's
    order within each dataset."""
    if not {"gt", "predictions", "pair_id"} <= set(rows.columns) or len(rows) == 0:
        return rows.iloc[0:0]
    rows = rows[rows["gt"].notna() & rows["predictions"].notna()]
    if "status" in rows.columns:
        rows = rows[rows["status"] == "ok"]
    rows = rows.drop_duplicates(["dataset", "pair_id"]).reset_index(drop=True)
    keys = pd.DataFrame(
        {"dataset": rows["dataset"].astype("string").fillna(""), "index": rows["pair_index"].astype("int64")},
        index=rows.index,
    )
    return rows.loc[keys.sort_values(["dataset", "index"], kind="stable").index]


def _write_inputs(rows: pd.DataFrame, folder: Path) -> tuple[list[Path], Path, bool]:
    """The rows' ground truth (one file per annotator) and predictions in the official layout, the
    pairs renumbered 1, 2, ... (rows of several datasets share pair ids). Returns the ground-truth
    paths, the prediction path and whether every ground-truth object has a ``bbox``."""
    parsed = [(json.loads(g), json.loads(p)) for g, p in zip(rows["gt"], rows["predictions"])]
    count = max(len(g["annotators"]) for g, _ in parsed)
    categories: dict[Any, dict] = {}
    files: list[dict[str, list]] = [{"images": [], "annotations": []} for _ in range(count)]
    predictions: list[dict[str, Any]] = []
    boxes = True
    for new_id, ((gt, preds), dataset, pair_id, phrase) in enumerate(
        zip(parsed, rows["dataset"], rows["pair_id"], rows["phrase"]), start=1
    ):
        for category in gt["categories"]:
            categories.setdefault(category["id"], category)
        versions = gt["annotators"]
        # a pair of a dataset with fewer annotators: its first one again (the oracle over identical
        # versions is that version, exactly)
        versions = versions + [versions[0]] * (count - len(versions))
        for k, (out, version) in enumerate(zip(files, versions)):
            if version is None:
                if preds:
                    name = gt["files"][k] if k < len(gt.get("files", [])) else f"annotator file {k + 1}"
                    raise DatasetError(
                        f"SA-Co pair {pair_id} ({phrase!r}) of {dataset}: the ground-truth file {name} lacks it "
                        "and the predictions have results for it; the official evaluator stops on this too "
                        "(every annotator's file must list the pairs of the first)"
                    )
                continue
            out["images"].append({**version["pair"], "id": new_id})
            for ann in version["annotations"]:
                boxes = boxes and ann.get("bbox") is not None
                out["annotations"].append({**ann, "id": len(out["annotations"]) + 1, "image_id": new_id})
        predictions.extend({**r, "image_id": new_id} for r in preds)
    listed = [categories[c] for c in categories] or [{"id": SACO_CATEGORY_ID, "name": "object"}]
    paths = []
    for k, out in enumerate(files):
        path = folder / f"gt_{k}.json"
        path.write_text(json.dumps({**out, "categories": listed}))
        paths.append(path)
    pred_path = folder / "coco_predictions_segm.json"
    pred_path.write_text(json.dumps(predictions))
    return paths, pred_path, boxes


def saco_scores(rows: pd.DataFrame, iou_type: str = "segm") -> dict[str, float]:
    """The official SA-Co/Gold and Silver metrics of ``rows`` (saco rows with ``gt`` and
    ``predictions``; those of ``status`` other than ok, and repeats of a (dataset, pair), are left
    out): `score_saco`'s whole dict (``cgF1_eval_<iou_type>_cgF1``, ...), for the rows' pairs
    only, written into the official layout and scored. ``{}`` when the rows have no pair; every
    value NaN when none of their pairs is scored (none is instance-exhaustive everywhere).

    ``iou_type="bbox"`` compares boxes: the predictions' boxes are normalised as SA-Co's ground
    truth's are. A pair that an annotator's file lacks but has predictions is a
    `samkit.errors.DatasetError`, as in the official evaluator.
    """
    from samkit.metrics.scoring.saco import saco_image_keys

    rows = _scored_rows(rows)
    if len(rows) == 0:
        return {}
    if not rows["scored"].astype(bool).any():
        return dict.fromkeys(saco_image_keys(iou_type), math.nan)
    with tempfile.TemporaryDirectory(prefix="samkit_saco_") as tmp:
        gt_paths, pred_path, boxes = _write_inputs(rows, Path(tmp))
        if iou_type == "bbox" and not boxes:
            return dict.fromkeys(saco_image_keys(iou_type), math.nan)
        return score_saco(gt_paths, pred_path, "image", iou_type=iou_type)


def summarize_saco(rows: pd.DataFrame) -> dict[str, Any]:
    """The official metrics of the rows' pairs (`saco_scores`, masks): `SACO_SUMMARY`'s columns
    (``saco_cgF1``, ``saco_IL_MCC``, ``saco_pmF1``, ... as fractions; the papers print cgF1 and
    pmF1 x 100), ``saco_box_cgF1`` (the same with boxes), ``saco_pairs`` (pairs scored),
    ``saco_detections`` (mean predictions per pair) and ``saco_detect_ms`` (median)."""
    scores = saco_scores(rows)
    if not scores:
        return {}
    out: dict[str, Any] = {col: scores[f"cgF1_eval_segm_{key}"] for col, key in SACO_SUMMARY.items()}
    out["saco_box_cgF1"] = saco_scores(rows, "bbox")["cgF1_eval_bbox_cgF1"]
    pairs = _scored_rows(rows)
    out["saco_pairs"] = int(pairs["scored"].astype(bool).sum())
    if "num_detections" in pairs.columns:
        out["saco_detections"] = pairs["num_detections"].astype(float).mean()
    if "detect_ms" in pairs.columns:
        out["saco_detect_ms"] = pairs["detect_ms"].astype(float).median()
    return out


# ------------------------------------------------------------------------------------------ table


def saco_table(frame: pd.DataFrame, published: pd.DataFrame | None = None) -> pd.DataFrame:
    """The saco rows' summary: one row per (model, weights, detector, detector weights, device,
    dtype, dataset), labelled as `samkit.eval.summary.accuracy_table`, with the `SACO_SUMMARY`
    columns, ``saco_box_cgF1``, ``saco_pairs``, ``encoder_ms``, ``decoder_ms`` and
    ``saco_detect_ms`` (medians), ``errors`` and ``note`` (random weights of the model or of its
    detector), then the published figures beside them: ``published_cgF1 (%)``,
    ``published_IL_MCC``, ``published_pmF1 (%)`` and ``published_saco_source`` (the model's figures on
    the row's subset where it measured the published setting, the model's own text path; see
    `saco_subset_of`). ``published``: the long table of published figures
    (`samkit.registry.accuracy.published_accuracy`'s columns); default
    ``samkit/published_accuracy.csv``. Empty when the frame has no saco rows."""
    if "protocol" not in frame.columns:
        return pd.DataFrame()
    rows = frame[frame["protocol"].astype("string") == "saco"]
    if not len(rows):
        return pd.DataFrame()
    table = accuracy_table(rows)
    metrics = [*SACO_SUMMARY, "saco_box_cgF1", "saco_pairs"]
    timing = ["encoder_ms", "decoder_ms", "saco_detect_ms"]
    first = [c for c in table.columns if c in SUMMARY_KEYS or c in ("family", "weights_kind", "device_name")]
    first += [c for c in ("device_label",) if c in table.columns]
    keep = first + [c for c in metrics + timing + ["errors", "note"] if c in table.columns]
    return _with_published(table[keep].reset_index(drop=True), published)


#: SA-Co's files as a `samkit.data.SacoDataset` names its rows' dataset (``saco:<first file stem>``):
#: the benchmark (``gold`` / ``silver``) and the subset
_SACO_DATASET = re.compile(r"^saco:(gold|silver)_(.+?)(?:_merged_[a-z]_release_test|_merged_test|_test)$")

#: the published SA-Co figures shown beside the measured ones: summary column -> (metric of
#: ``samkit/published_accuracy.csv``, the published column's name)
_SACO_PUBLISHED = {
    "saco_cgF1": ("cgF1", "published_cgF1 (%)"),
    "saco_IL_MCC": ("IL_MCC", "published_IL_MCC"),
    "saco_pmF1": ("positive_micro_F1", "published_pmF1 (%)"),
}


def saco_subset_of(dataset: str) -> tuple[str, str] | None:
    """``("SA-Co/Gold", "metaclip")`` for a saco row's dataset name (``"saco:gold_metaclip_merged_a_
    release_test"``), ``("SA-Co/Silver", "bdd100k")`` for Silver; None for another name."""
    match = _SACO_DATASET.match(str(dataset))
    if match is None:
        return None
    return f"SA-Co/{match.group(1).capitalize()}", match.group(2)


def _published_saco() -> pd.DataFrame:
    from samkit.registry.accuracy import published_accuracy

    table = published_accuracy()
    return table[table["benchmark"].astype(str).str.startswith("SA-Co/")].reset_index(drop=True)


def _with_published(table: pd.DataFrame, published: pd.DataFrame | None) -> pd.DataFrame:
    """``table`` with the published cgF1 / IL_MCC / pmF1 beside the measured ones, as printed (never
    in their place): the model's figure on the row's benchmark and subset, only where the row
    measured what was published (the model's own text path, ``detector == "native"``); otherwise
    empty cells and ``published_saco_source`` says why."""
    published = _published_saco() if published is None else published
    columns: dict[str, list[Any]] = {name: [] for _, name in _SACO_PUBLISHED.values()}
    sources: list[str] = []
    for record in table.to_dict("records"):
        subset = saco_subset_of(record.get("dataset", ""))
        detector = str(record.get("detector", "native"))
        figures = published.iloc[0:0]
        if subset is not None and detector == "native":
            benchmark, split = subset
            figures = published[
                (published["model"] == record.get("model"))
                & (published["benchmark"] == benchmark)
                & (published["split"] == split)
            ]
        for metric, name in _SACO_PUBLISHED.values():
            value = figures.loc[figures["metric"] == metric, "value"]
            columns[name].append(float(value.iloc[0]) if len(value) else np.nan)
        if len(figures):
            first = figures.iloc[0]
            sources.append(f"{first['source']} ({first['conditions']})")
        elif detector != "native":
            sources.append(f"none: published figures are the model's own text path, this row is {detector} boxes")
        elif subset is None:
            sources.append("none: not an SA-Co/Gold or Silver subset file")
        else:
            sources.append(f"none published for this model on {subset[0]} {subset[1]} (samkit/published_accuracy.csv)")
    out = table.assign(**columns)
    out["published_saco_source"] = sources
    return out


def report_sections(rows: pd.DataFrame, published: pd.DataFrame | None = None) -> list[Section]:
    """``saco``: `saco_table` (where the rows have saco rows)."""
    table = saco_table(rows)
    if not len(table):
        return []
    # ``published`` here is a user's wide table that write_report joins beside every table itself
    title = "SA-Co/Gold and Silver: cgF1, IL_MCC and pmF1 (official scorer), published figures beside"
    return [Section("saco", title, table=table, order=45)]


#: the registered ``saco`` protocol (`samkit.eval.get_protocol("saco")`)
PROTOCOL = Protocol(
    name="saco",
    description="each SA-Co image-phrase pair as text -> masks -> official cgF1, IL_MCC and pmF1",
    capability=None,
    capability_of=lambda p: "text" if p.detector == "native" else "box",
    params=SacoParams,
    runner=lambda model, dataset, p, **common: run_saco(
        model,
        dataset,
        **detector_arguments(p),
        max_detections=p.max_detections,
        skip_unscored=p.skip_unscored,
        warmup=p.warmup,
        image_batch=p.image_batch,
        **common,
    ),
    summarizer=summarize_saco,
    report_sections=report_sections,
)
