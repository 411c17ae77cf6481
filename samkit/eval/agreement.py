"""Agreement protocol: how far a fast setting (reduced precision, compiled encoder) moves the masks.

The model under test (any ``dtype`` / ``compile``) and a reference loaded beside it with the same
weights (the same seed and config for random weights, the same checkpoint file for pretrained ones)
in float32 eager see the same inputs: the synthetic set (seeded shapes with exact masks) and
scikit-image's sample photos. Prompts per object: one point (the object's pixel farthest from its
boundary, SAM's first click; 3 masks) and its box (1 mask); on the photos, their demo point and box.

Speed is the benchmark's job: these rows carry no timings. One row per (image, object, prompt):
``iou`` is the mean over the C masks of the mask IoU between the two models' masks with the same
index (two empty masks agree: 1), ``min_iou`` the smallest, ``score_diff`` the mean absolute
difference of the predicted-IoU scores, ``max_score_diff`` the largest. The summary's
``agreement_mIoU`` below `samkit.fast_settings.AGREEMENT_THRESHOLD` (0.99) flags the setting
wherever its speed is shown, and such a setting is never a default.

Agreement holds at any weights, but its value is only representative with pretrained weights:
random weights make near-threshold logits, so rows carry the random-weights note as usual.

Its tables: `agreement_table` (one row per setting: mean mask IoU and score difference against
float32 eager, per input set and pooled, ``agreement_flag`` below the threshold; the report's
``agreement.md``) and `flag_agreement`, which adds ``agreement_mIoU`` / ``agreement_flag`` to any
table with the setting keys, so that every table that shows a setting's speed (the benchmark's)
also shows whether its masks can be trusted. The speed of each setting beside the plain one is the
benchmark protocol's `samkit.eval.benchmark.fast_settings_table`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from samkit.eval.protocol import Protocol, Section, row_header
from samkit.fast_settings import AGREEMENT_THRESHOLD
from samkit.metrics.masks import mask_iou
from samkit.rows import new_run_id, rows_to_frame, save_results
from samkit.wording import RANDOM_WEIGHTS_WARNING, device_label, joined, weights_labels

__all__ = [
    "run_agreement",
    "reference_model",
    "agreement_inputs",
    "AgreementParams",
    "PROTOCOL",
    "SETTING_KEYS",
    "BELOW",
    "UNMEASURED",
    "agreement_table",
    "flag_agreement",
]

#: the capability each prompt kind needs
_NEEDS = {"point": "points", "box": "box"}


def reference_model(model: Any) -> Any:
    """A float32, eager copy of ``model``: same name, weights (seed/config, or checkpoint), family
    options and device, loaded anew (the model under test is left as it is)."""
    from samkit.loading import load

    w = model.weights
    options = {k: getattr(model, k, default) for k, default in type(model).load_options.items()}
    if w.kind == "random":
        source: dict[str, Any] = {"weights": "random", "seed": int(w.seed or 0)}
        if w.config is not None:
            source["config"] = w.config
    else:
        source = {"checkpoint": w.path}
    return load(
        model.name,
        device=model.device,
        dtype="float32",
        compile=False,
        download=False,
        progress=False,
        **source,
        **options,
    )


def agreement_inputs(
    synthetic_images: int, synthetic_size: tuple[int, int], photos: list[str], max_objects: int
) -> list[tuple[str, np.ndarray, list[tuple[str, str, dict[str, Any]]]]]:
    """``[(image_id, HxWx3 uint8 image, [(object_id, prompt, predict kwargs)])]`` of both sets."""
    from samkit.data.photos import sample_photos
    from samkit.data.synthetic import SyntheticDataset
    from samkit.masks import mask_box
    from samkit.metrics.clicks import next_click

    out = []
    if synthetic_images > 0:
        data = SyntheticDataset(num_images=synthetic_images, size=tuple(synthetic_size), seed=0)
        for sample in data:
            prompts = []
            for gt, obj in list(zip(sample.masks, sample.object_ids))[:max_objects]:
                x, y, _ = next_click(gt, np.zeros_like(gt))
                prompts.append((str(obj), "point", {"point_coords": [[x, y]], "point_labels": [1]}))
                prompts.append((str(obj), "box", {"box": mask_box(gt), "multimask_output": False}))
            out.append((f"synthetic/{sample.image_id}", sample.image, prompts))
    for photo in sample_photos(photos) if photos else []:
        prompts = [
            (photo.object, "point", {"point_coords": [list(photo.point)], "point_labels": [1]}),
            (photo.object, "box", {"box": list(photo.box), "multimask_output": False}),
        ]
        out.append((f"photo/{photo.name}", photo.image, prompts))
    return out


def run_agreement(
    model: Any,
    *,
    synthetic_images: int = 4,
    synthetic_size: tuple[int, int] = (240, 320),
    photos: list[str] | None = None,
    max_objects: int = 3,
    reference: Any = None,
    run_id: str | None = None,
) -> pd.DataFrame:
    """Rows of ``model`` against its float32 eager `reference_model` (or ``reference``) on the
    synthetic set and the sample photos (``photos``: names, default all; ``[]``: none)."""
    from samkit.data.photos import SAMPLE_PROMPTS

    ref = reference if reference is not None else reference_model(model)
    run_id = run_id or new_run_id()
    names = list(SAMPLE_PROMPTS) if photos is None else list(photos)
    rows = []
    setting = {"reference": "float32 eager"}
    for image_id, image, prompts in agreement_inputs(synthetic_images, synthetic_size, names, max_objects):
        dataset = image_id.split("/", 1)[0]
        model.set_image(image)
        ref.set_image(image)
        for object_id, prompt, kwargs in prompts:
            if _NEEDS[prompt] not in model.capabilities:
                continue
            masks, scores, _ = model.predict(**kwargs)
            ref_masks, ref_scores, _ = ref.predict(**kwargs)
            ious = [mask_iou(b, a, empty_value=1.0) for a, b in zip(masks, ref_masks)]
            diffs = np.abs(np.asarray(scores, np.float64) - np.asarray(ref_scores, np.float64))
            rows.append(
                {
                    **row_header(model, run_id, "agreement", dataset, image_id),
                    **setting,
                    "object_id": object_id,
                    "prompt": prompt,
                    "iou": float(np.mean(ious)),
                    "min_iou": float(np.min(ious)),
                    "score": float(scores[0]),
                    "score_diff": float(diffs.mean()),
                    "max_score_diff": float(diffs.max()),
                    "compile_ms": model.compile_ms,
                    "status": "ok",
                }
            )
    return rows_to_frame(rows)


@dataclass
class AgreementParams:
    """Parameters of the agreement protocol (see `run_agreement`)."""

    synthetic_images: int = field(default=4, metadata={"min": 0})
    synthetic_size: list[int] = field(default_factory=lambda: [240, 320], metadata={"min": 1})
    photos: list[str] = field(default_factory=lambda: ["astronaut", "coffee", "chelsea", "rocket"])
    max_objects: int = field(default=3, metadata={"min": 1})


def _run(
    model: Any,
    dataset: Any,
    p: AgreementParams,
    *,
    run_id: str,
    out_path: Any = None,
    resume: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    frame = run_agreement(
        model,
        synthetic_images=p.synthetic_images,
        synthetic_size=tuple(p.synthetic_size),
        photos=list(p.photos),
        max_objects=p.max_objects,
        run_id=run_id,
    )
    if out_path is not None:
        save_results(frame, out_path)
    return frame


def summarize_agreement(rows: pd.DataFrame) -> dict[str, Any]:
    """``agreement_mIoU`` (mean of the rows' ``iou``), ``agreement_min_IoU``, ``score_diff`` (mean)."""
    miou = float(rows["iou"].mean())
    return {
        "agreement_mIoU": miou,
        "agreement_min_IoU": float(rows["min_iou"].min()),
        "score_diff": float(rows["score_diff"].mean()),
        "agrees": bool(miou >= AGREEMENT_THRESHOLD),
    }


# ------------------------------------------------------------------------------------------ tables

SETTING_KEYS = ["model", "weights", "device", "dtype", "compile"]
"""A setting of one model: the keys an agreement row and a benchmark row share."""

#: the ``agreement_flag`` of a setting whose mean IoU against float32 eager is under the threshold
BELOW = f"agreement below {AGREEMENT_THRESHOLD} mean IoU: not a safe default"
#: the ``agreement_flag`` of a benchmarked setting without an agreement row
UNMEASURED = "agreement not measured"


def _settings_keys(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["compile"] = out["compile"].astype("boolean").fillna(False).astype(bool) if "compile" in out.columns else False
    for col in ("model", "weights", "device", "dtype"):
        out[col] = out[col].astype("string")
    return out


def agreement_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Agreement per setting (`SETTING_KEYS`): ``agreement_mIoU`` (pooled), ``agreement_min_IoU``,
    ``score_diff``, ``max_score_diff``, ``synthetic_mIoU`` / ``photo_mIoU`` (per input set),
    ``prompts``, ``agreement_flag`` (`BELOW` under `samkit.fast_settings.AGREEMENT_THRESHOLD`)
    and ``note`` (random weights: their speed is real, their agreement is not representative);
    empty without ``agreement`` rows."""
    columns = SETTING_KEYS + [
        "weights_kind",
        "device_label",
        "agreement_mIoU",
        "agreement_min_IoU",
        "score_diff",
        "max_score_diff",
        "synthetic_mIoU",
        "photo_mIoU",
        "prompts",
        "agreement_flag",
        "note",
    ]
    if "protocol" not in rows.columns:
        return pd.DataFrame(columns=columns)
    ok = rows[(rows["protocol"].astype("string") == "agreement") & (rows["status"].astype("string") == "ok")]
    if not len(ok):
        return pd.DataFrame(columns=columns)
    ok = _settings_keys(ok)
    out = []
    for key, group in ok.groupby(SETTING_KEYS, dropna=False, sort=False):
        rec: dict[str, Any] = dict(zip(SETTING_KEYS, key))
        rec["weights_kind"] = joined(weights_labels(group))
        rec["device_label"] = device_label(rec["device"], joined(group["device_name"]))
        miou = float(group["iou"].mean())
        rec.update(
            agreement_mIoU=miou,
            agreement_min_IoU=float(group["min_iou"].min()),
            score_diff=float(group["score_diff"].mean()),
            max_score_diff=float(group["max_score_diff"].max()),
            prompts=len(group),
        )
        for name in ("synthetic", "photo"):
            part = group[group["dataset"].astype("string") == name]
            rec[f"{name}_mIoU"] = float(part["iou"].mean()) if len(part) else np.nan
        rec["agreement_flag"] = "" if miou >= AGREEMENT_THRESHOLD else BELOW
        rec["note"] = RANDOM_WEIGHTS_WARNING if rec["weights_kind"] == "random" else ""
        out.append(rec)
    return pd.DataFrame(out, columns=columns)


def flag_agreement(table: pd.DataFrame, agreement: pd.DataFrame) -> pd.DataFrame:
    """``table`` with ``agreement_mIoU`` and ``agreement_flag`` joined on `SETTING_KEYS`.

    float32 eager is the reference (mIoU 1 by definition); any other setting without an
    agreement row is flagged `UNMEASURED`, one below the threshold `BELOW`.
    """
    out = _settings_keys(table)
    agree = (
        _settings_keys(agreement)[SETTING_KEYS + ["agreement_mIoU"]]
        if len(agreement)
        else pd.DataFrame(columns=SETTING_KEYS + ["agreement_mIoU"])
    )
    out = out.drop(columns=[c for c in ("agreement_mIoU", "agreement_flag") if c in out.columns])
    out = out.merge(agree.astype({"compile": bool}), on=SETTING_KEYS, how="left")
    reference = (out["dtype"] == "float32") & ~out["compile"]
    out.loc[reference, "agreement_mIoU"] = 1.0
    miou = pd.to_numeric(out["agreement_mIoU"], errors="coerce")
    out["agreement_flag"] = np.where(miou.isna(), UNMEASURED, np.where(miou < AGREEMENT_THRESHOLD, BELOW, ""))
    out.loc[reference, "agreement_flag"] = ""
    return out


def report_sections(rows: pd.DataFrame, published: pd.DataFrame | None = None) -> list[Section]:
    """``agreement``: `agreement_table` (where the rows have agreement rows), after the benchmark table."""
    agreement = agreement_table(rows)
    if not len(agreement):
        return []
    return [
        Section(
            "agreement",
            "Fast settings: agreement with float32 eager (mean mask IoU, score difference)",
            table=agreement,
            order=20,
        )
    ]


#: the registered ``agreement`` protocol (`samkit.eval.get_protocol("agreement")`)
PROTOCOL = Protocol(
    name="agreement",
    description="masks and scores of a fast setting (dtype, compile) against float32 eager",
    capability="points",
    params=AgreementParams,
    runner=_run,
    summarizer=summarize_agreement,
    uses_dataset=False,
    report_sections=report_sections,
)
