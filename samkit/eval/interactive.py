"""Interactive protocol (SAM paper, Sec. 7.1 / RITM): simulated clicks, mIoU after k clicks, NoC.

For each object: the first click is the ground-truth pixel farthest from the object boundary
(RITM's rule on an empty prediction); each later click is RITM's next click on the current error
(false negative -> positive click, false positive -> negative click). Clicks are integer pixel
positions ``(x, y)``, passed to the model as point prompts with all earlier clicks.

At click 1 the model gives 3 masks (``multimask_output=True``) and the highest-scoring one is
kept; ``oracle_iou`` records the best of the 3 against the ground truth. Later clicks use the
single-mask output. ``feedback="logits"`` also passes the previous low-res logits as
``mask_input`` (as in SAM's training simulation); the default ``"none"`` uses points only.

``mask_threshold`` is the probability above which a pixel is in the predicted mask (recorded in
every row). At the default 0.5 the model's own boolean masks are used (SAM-style predictors
threshold their logits at 0, i.e. probability 0.5); any other value asks the model for logits
(``return_logits=True``) and keeps ``sigmoid(logits) > mask_threshold`` in float32, as RITM's
``evaluate_sample`` does with ``pred_thr`` (0.49 in RITM's, ClickSEG's and SimpleClick's
``evaluate_model.py``).

A click the model cannot take (an `UnsupportedError`, e.g. EfficientSAM's 7th point or
``mask_input`` on a model without it) ends that object's clicks with one ``unsupported`` row; its
earlier clicks' rows stay.

Its table and figure: `click_curve_table` (mean IoU after k clicks per configuration) and
`click_curves` (one line per configuration); its summary columns are in the accuracy table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from samkit.eval._runner import RowSink, resolve_run_id, run_objects, warm_up
from samkit.eval.protocol import Protocol, failure_row
from samkit.metrics.clicks import next_click, noc
from samkit.metrics.masks import boundary_iou, mask_iou
from samkit.metrics.perf import timed
from samkit.plotting import figure_header, is_rows, new_figure, refuse_rows
from samkit.wording import device_label, joined, weights_labels

__all__ = [
    "run_interactive",
    "FEEDBACK",
    "MASK_THRESHOLD",
    "InteractiveParams",
    "PROTOCOL",
    "SUMMARY_CLICKS",
    "click_curve_table",
    "click_curves",
]

#: values of ``feedback``: ``"logits"`` passes the previous low-res logits as ``mask_input``
FEEDBACK = ("none", "logits")
SUMMARY_CLICKS = (1, 2, 3, 5, 9)
"""The click counts k of the ``mIoU@k`` summary columns."""
NOC_THRESHOLDS = (0.85, 0.90)
MASK_THRESHOLD = 0.5
"""The default ``mask_threshold``: the models' own masks (logit 0 = probability 0.5); RITM's
evaluation scripts use 0.49 (see `InteractiveParams`)."""


def run_interactive(
    model: Any,
    dataset: Iterable[Any],
    *,
    max_clicks: int = 20,
    feedback: str = "none",
    mask_threshold: float = MASK_THRESHOLD,
    run_id: str | None = None,
    out_path: Any = None,
    resume: bool = False,
    warmup: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Run the interactive protocol; one row per (image, object, clicks), ``clicks`` = 1..max_clicks.

    Row columns beyond the standard ones: ``max_clicks`` (the budget), ``mask_threshold`` (on
    every row of the run, skipped and failed objects' too), ``oracle_iou`` (click 1), ``click_x``,
    ``click_y``, ``click_positive``. ``encoder_ms`` is the image's set_image time (the same on all
    its rows), ``decoder_ms`` the predict time of that click (with ``return_logits`` when
    ``mask_threshold`` is not 0.5; thresholding is not timed).

    ``mask_threshold``: a probability in [0, 1]; a pixel is predicted when its probability is
    above it (see the module doc: 0.5 uses the model's own masks, any other value its logits).

    ``out_path``: save the rows (parquet) after every image; ``resume``: keep the rows already
    there and skip their images; ``warmup``: one untimed set_image + predict first.
    """
    if feedback not in FEEDBACK:
        raise ValueError(f"feedback must be one of {FEEDBACK}, got {feedback!r}")
    if max_clicks < 1:
        raise ValueError("max_clicks must be >= 1")
    mask_threshold = _check_threshold(mask_threshold)
    run_id = resolve_run_id(run_id)
    sink = _StampedSink(out_path, resume, {"mask_threshold": mask_threshold})
    if warmup:  # one untimed set_image + predict, so that no timed call is the first
        warm_up(model, dataset)
    return run_objects(
        model,
        dataset,
        sink,
        run_id,
        "interactive",
        lambda sample, index, obj: _click_object(
            model, sample.masks[index], obj, max_clicks, feedback, mask_threshold, _void(sample)
        ),
        progress,
    )


def _check_threshold(value: Any) -> float:
    """``mask_threshold`` as a float, or ValueError unless it is a number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"mask_threshold must be a probability in [0, 1], got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise ValueError(f"mask_threshold must be a probability in [0, 1], got {value!r}")
    return value


class _StampedSink(RowSink):
    """A `RowSink` that adds ``fields`` to every row this run makes (not to resumed rows)."""

    def __init__(self, out_path: Any, resume: bool, fields: dict[str, Any]) -> None:
        super().__init__(out_path, resume)
        self.fields = fields

    def extend(self, rows: Iterable[dict[str, Any]]) -> None:
        super().extend({**row, **self.fields} for row in rows)


def _threshold(logits: np.ndarray, mask_threshold: float) -> np.ndarray:
    """``sigmoid(logits) > mask_threshold``, computed as RITM does: float32 probabilities (torch's
    sigmoid) compared with the threshold in float32."""
    import torch

    probs = torch.sigmoid(torch.from_numpy(np.array(logits, dtype=np.float32))).numpy()  # a writable copy
    return probs > np.float32(mask_threshold)


def _void(sample: Any) -> np.ndarray | None:
    """The sample's ignore pixels (``meta["void"]``, (H, W) bool: GrabCut's and Berkeley's 128,
    PascalVOC's 255, a folder dataset's ``void_value``), or None."""
    void = (getattr(sample, "meta", None) or {}).get("void")
    return None if void is None or not np.any(void) else np.asarray(void, dtype=bool)


def _iou(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None) -> float:
    """IoU of ``pred`` with ``gt`` outside the ``void`` pixels, as RITM's ``get_iou`` with its
    ignore label (void pixels leave both the intersection and the union)."""
    if void is None:
        return mask_iou(gt, pred)
    keep = ~void
    union = int(((gt | pred) & keep).sum())
    return float(((gt & pred) & keep).sum()) / union if union else 0.0


def _click_object(
    model: Any,
    gt: np.ndarray,
    obj: dict[str, Any],
    max_clicks: int,
    feedback: str,
    mask_threshold: float = MASK_THRESHOLD,
    void: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """The rows of one object clicked ``max_clicks`` times (RITM's clicker and IoU, ``void``
    pixels ignored by both)."""
    rows = []
    pred = np.zeros_like(gt, dtype=bool)
    clicks: list[tuple[int, int, bool]] = []
    logits = None
    own_masks = mask_threshold == MASK_THRESHOLD  # the model's masks are its logits > 0
    for k in range(1, max_clicks + 1):
        x, y, positive = next_click(gt, pred, clicks, ignore=void)
        clicks.append((x, y, positive))
        multimask = k == 1
        kwargs: dict[str, Any] = dict(
            point_coords=np.array([[cx, cy] for cx, cy, _ in clicks], dtype=np.float64),
            point_labels=np.array([int(p) for _, _, p in clicks]),
            multimask_output=multimask,
        )
        if not own_masks:
            kwargs["return_logits"] = True
        if feedback == "logits" and logits is not None:
            kwargs["mask_input"] = logits[None]
        try:
            (masks, scores, low), decoder_ms = timed(lambda: model.predict(**kwargs), model.device)
        except NotImplementedError as err:  # e.g. more points than the model takes: the clicks
            if not rows:  # made so far stay, this one is an unsupported row
                raise
            rows.append(
                failure_row(
                    {
                        **obj,
                        "prompt": "points",
                        "clicks": k,
                        "max_clicks": max_clicks,
                        "click_x": x,
                        "click_y": y,
                        "click_positive": positive,
                    },
                    err,
                )
            )
            break
        if not own_masks:
            masks = _threshold(masks, mask_threshold)
        best = int(np.argmax(scores)) if multimask else 0
        pred, logits = masks[best], low[best]
        row = {
            **obj,
            "prompt": "points",
            "clicks": k,
            "max_clicks": max_clicks,
            "iou": _iou(gt, pred, void),
            "boundary_iou": boundary_iou(gt, pred),
            "score": float(scores[best]),
            "decoder_ms": decoder_ms,
            "status": "ok",
            "click_x": x,
            "click_y": y,
            "click_positive": positive,
        }
        if multimask:
            row["oracle_iou"] = max(_iou(gt, m, void) for m in masks)
        rows.append(row)
    return rows


@dataclass
class InteractiveParams:
    """Parameters of the interactive protocol (see `run_interactive`).

    Attributes:
        max_clicks: clicks per object, the NoC budget (>= 1).
        feedback: ``"none"`` (points only) or ``"logits"`` (the previous low-res logits as
            ``mask_input`` too).
        mask_threshold: the probability above which a pixel is predicted, in [0, 1]. Default 0.5:
            the models' own boolean masks, which SAM-style predictors make by thresholding their
            logits at 0 (segment-anything's ``SamPredictor`` ``mask_threshold=0.0``), i.e.
            probability 0.5; so the rows are those of the models' ``predict``, need no logits,
            and runs made before this parameter existed keep their numbers. RITM's, ClickSEG's
            and SimpleClick's evaluation scripts threshold at 0.49 (``pred_thr`` /
            ``--thresh``): set 0.49 to follow them; any value but 0.5 thresholds
            ``sigmoid(logits) > mask_threshold`` (float32, as RITM).
        warmup: one untimed ``set_image`` + ``predict`` before the timed ones.
    """

    max_clicks: int = field(default=20, metadata={"min": 1})
    feedback: str = field(default="none", metadata={"choices": FEEDBACK})
    mask_threshold: float = field(default=MASK_THRESHOLD, metadata={"min": 0.0, "max": 1.0})
    warmup: bool = True


def summarize_interactive(rows: pd.DataFrame) -> dict[str, Any]:
    """``mIoU@k`` (k in `SUMMARY_CLICKS`: mean of per-object IoUs, best-score mask at click 1),
    ``oracle_mIoU@1``, ``NoC@85`` / ``NoC@90`` (mean clicks, RITM rule) and their failure counts."""
    out: dict[str, Any] = {}
    for k in SUMMARY_CLICKS:
        at_k = rows[rows["clicks"] == k]["iou"]
        out[f"mIoU@{k}"] = at_k.mean() if len(at_k) else np.nan
    if "oracle_iou" in rows.columns:
        out["oracle_mIoU@1"] = rows[rows["clicks"] == 1]["oracle_iou"].astype(float).mean()
    curves = [g.sort_values("clicks")["iou"].to_numpy() for _, g in rows.groupby(["image_id", "object_id"], sort=False)]
    # the run's click budget (rows since max_clicks was recorded), not the most clicks a model
    # could take: an object a model stopped on (e.g. EfficientSAM's 6-point limit) is a failure
    # at the budget, as in RITM
    # (rows written before max_clicks was recorded, alone or merged with newer ones: their clicks)
    budget = rows["clicks"].astype(float)
    if "max_clicks" in rows.columns:
        budget = pd.to_numeric(rows["max_clicks"], errors="coerce").fillna(budget)
    max_clicks = int(budget.max())
    for thr in NOC_THRESHOLDS:
        result = noc(curves, thr, max_clicks=max_clicks)
        out[f"NoC@{round(thr * 100)}"] = result.mean
        out[f"NoC@{round(thr * 100)}_failures"] = result.failures
    return out


# ----------------------------------------------------------------------------------- table, figure


def click_curve_table(rows: pd.DataFrame) -> pd.DataFrame:
    """What `click_curves` draws: mean IoU after k clicks per configuration.

    From interactive result rows (``protocol == "interactive"``, ``status == "ok"``): one row per
    (model, weights, device, dtype, dataset) and ``clicks``, in order of appearance then clicks,
    with ``weights_kind``, ``device_name``, ``device_label``, ``mIoU`` (mean over objects of the IoU
    after that many clicks; the best-score mask at click 1) and ``objects`` (how many). Empty
    when there are no such rows.
    """
    columns = [
        "model",
        "weights",
        "weights_kind",
        "device",
        "device_name",
        "device_label",
        "dtype",
        "dataset",
        "clicks",
        "mIoU",
        "objects",
    ]
    if not is_rows(rows):
        raise TypeError("click_curve_table takes result rows (a frame with a 'protocol' column)")
    ok = rows[(rows["protocol"].astype("string") == "interactive") & (rows["status"].astype("string") == "ok")]
    if ok.empty:
        return pd.DataFrame(columns=columns)
    keys = ["model", "weights", "device", "dtype", "dataset"]
    ok = ok.assign(
        weights_kind=weights_labels(ok), device_name=ok["device_name"] if "device_name" in ok.columns else pd.NA
    )
    grouped = ok.groupby(keys + ["clicks"], dropna=False, sort=False)
    table = grouped.agg(
        weights_kind=("weights_kind", joined),
        device_name=("device_name", joined),
        mIoU=("iou", "mean"),
        objects=("iou", "count"),
    ).reset_index()
    table["weights_kind"] = table["weights_kind"].fillna("unknown")
    table["device_label"] = [device_label(d, n) for d, n in zip(table["device"], table["device_name"])]
    order = {
        k: i
        for i, k in enumerate(dict.fromkeys(tuple(str(v) for v in row) for row in table[keys].itertuples(index=False)))
    }
    table["\x00order"] = [order[tuple(str(v) for v in row)] for row in table[keys].itertuples(index=False)]
    table = table.sort_values(["\x00order", "clicks"], kind="stable").drop(columns="\x00order")
    return table[columns].reset_index(drop=True)


def click_curves(table: pd.DataFrame, *, title: str | None = None):
    """mIoU after k clicks, one line per configuration, from a `click_curve_table`.

    Each point is the table's ``mIoU`` (mean over objects of the IoU after k clicks; best-score
    mask at click 1); dashed horizontal lines mark the NoC thresholds 0.85 and 0.90.
    """
    refuse_rows(table, "click_curves", "samkit.eval.interactive.click_curve_table")
    if not {"clicks", "mIoU"} <= set(table.columns):
        raise ValueError(
            "click_curves draws a samkit.eval.interactive.click_curve_table (columns "
            f"clicks, mIoU); got columns {list(table.columns)}"
        )
    if table.empty:
        raise ValueError("no interactive rows to draw")
    keys = ["model", "weights", "device", "dtype", "dataset"]
    header = figure_header(table, title or "mIoU vs number of clicks", width=8.0)
    fig, ax = new_figure(8.0, 4.0, header)
    for _, curve in table.groupby(keys, dropna=False, sort=False):
        first = curve.iloc[0]
        ax.plot(
            curve["clicks"].astype(float),
            curve["mIoU"].astype(float),
            marker="o",
            markersize=3,
            label=f"{first['model']} ({first['weights_kind']}, {first['device']}, {first['dtype']})",
        )
    for thr in (0.85, 0.90):
        ax.axhline(thr, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("clicks")
    ax.set_ylabel("mIoU")
    ax.set_ylim(0, 1)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return fig


#: the registered ``interactive`` protocol (`samkit.eval.get_protocol("interactive")`)
PROTOCOL = Protocol(
    name="interactive",
    description="SAM paper / RITM: first click farthest from the boundary, then RITM clicks; mIoU@k and NoC@85/90",
    capability="points",
    params=InteractiveParams,
    runner=lambda model, dataset, p, **common: run_interactive(
        model,
        dataset,
        max_clicks=p.max_clicks,
        feedback=p.feedback,
        mask_threshold=p.mask_threshold,
        warmup=p.warmup,
        **common,
    ),
    summarizer=summarize_interactive,
)
