"""Agreement protocol: how far a fast setting (reduced precision, compiled encoder) moves the masks.

The model under test (any ``dtype`` / ``compile``) and a reference loaded beside it with the same
weights (the same seed and config for random weights, the same checkpoint file for pretrained ones)
in float32 eager see the same inputs: the synthetic set (seeded shapes with exact masks) and
scikit-image's sample photos. Prompts per object: one point (the object's pixel farthest from its
boundary, SAM's first click; 3 masks) and its box (1 mask); on the photos, their demo point and box.

Speed is the benchmark's job: these rows carry no timings. One row per (image, object, prompt): ``iou`` is the mean over the C masks of the mask IoU between
the two models' masks with the same index (two empty masks agree: 1), ``min_iou`` the smallest,
``score_diff`` the mean absolute difference of the predicted-IoU scores, ``max_score_diff`` the
largest. The summary's ``agreement_mIoU`` below `samkit.fast_settings.AGREEMENT_THRESHOLD` (0.99)
flags the setting wherever its speed is shown, and such a setting is never a default.

Agreement holds at any weights, but its value is only representative with pretrained weights:
random weights make near-threshold logits, so rows carry the random-weights note as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from samkit.eval.protocol import Protocol, row_header
from samkit.metrics.masks import mask_iou
from samkit.rows import new_run_id, rows_to_frame, save_results

__all__ = ["run_agreement", "reference_model", "agreement_inputs", "AgreementParams", "PROTOCOL"]

#: the capability each prompt kind needs
_NEEDS = {"point": "points", "box": "box"}


def reference_model(model: Any) -> Any:
    """A float32, eager copy of ``model``: same name, weights (seed/config, or checkpoint), family
    options and device, loaded anew (the model under test is left as it is)."""
    import samkit

    w = model.weights
    options = {k: getattr(model, k, default) for k, default in type(model).load_options.items()}
    if w.kind == "random":
        source: dict[str, Any] = {"weights": "random", "seed": int(w.seed or 0)}
        if w.config is not None:
            source["config"] = w.config
    else:
        source = {"checkpoint": w.path}
    return samkit.load(model.name, device=model.device, dtype="float32", compile=False,
                       download=False, progress=False, **source, **options)


def agreement_inputs(synthetic_images: int, synthetic_size: tuple[int, int], photos: list[str],
                     max_objects: int) -> list[tuple[str, np.ndarray, list[tuple[str, str, dict[str, Any]]]]]:
    """``[(image_id, HxWx3 uint8 image, [(object_id, prompt, predict kwargs)])]`` of both sets."""
    from samkit.data.sample import mask_box
    from samkit.data.samples import sample_photos
    from samkit.data.synthetic import SyntheticDataset
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
        prompts = [(photo.object, "point", {"point_coords": [list(photo.point)], "point_labels": [1]}),
                   (photo.object, "box", {"box": list(photo.box), "multimask_output": False})]
        out.append((f"photo/{photo.name}", photo.image, prompts))
    return out


def run_agreement(model: Any, *, synthetic_images: int = 4, synthetic_size: tuple[int, int] = (240, 320),
                  photos: list[str] | None = None, max_objects: int = 3, reference: Any = None,
                  run_id: str | None = None) -> pd.DataFrame:
    """Rows of ``model`` against its float32 eager `reference_model` (or ``reference``) on the
    synthetic set and the sample photos (``photos``: names, default all; ``[]``: none)."""
    from samkit.data.samples import SAMPLE_PROMPTS

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
            rows.append({**row_header(model, run_id, "agreement", dataset, image_id), **setting,
                         "object_id": object_id, "prompt": prompt, "iou": float(np.mean(ious)),
                         "min_iou": float(np.min(ious)), "score": float(scores[0]),
                         "score_diff": float(diffs.mean()), "max_score_diff": float(diffs.max()),
                         "compile_ms": model.compile_ms, "status": "ok"})
    return rows_to_frame(rows)


@dataclass
class AgreementParams:
    """Parameters of the agreement protocol (see `run_agreement`)."""

    synthetic_images: int = field(default=4, metadata={"min": 0})
    synthetic_size: list[int] = field(default_factory=lambda: [240, 320])
    photos: list[str] = field(default_factory=lambda: ["astronaut", "coffee", "chelsea", "rocket"])
    max_objects: int = field(default=3, metadata={"min": 1})


def _run(model: Any, dataset: Any, p: AgreementParams, *, run_id: str, out_path: Any = None,
         resume: bool = False, progress: bool = True) -> pd.DataFrame:
    frame = run_agreement(model, synthetic_images=p.synthetic_images,
                          synthetic_size=tuple(p.synthetic_size), photos=list(p.photos),
                          max_objects=p.max_objects, run_id=run_id)
    if out_path is not None:
        save_results(frame, out_path)
    return frame


def summarize_agreement(rows: pd.DataFrame) -> dict[str, Any]:
    """``agreement_mIoU`` (mean of the rows' ``iou``), ``agreement_min_IoU``, ``score_diff`` (mean)."""
    from samkit.fast_settings import AGREEMENT_THRESHOLD

    miou = float(rows["iou"].mean())
    return {"agreement_mIoU": miou, "agreement_min_IoU": float(rows["min_iou"].min()),
            "score_diff": float(rows["score_diff"].mean()), "agrees": bool(miou >= AGREEMENT_THRESHOLD)}


PROTOCOL = Protocol(
    name="agreement",
    description="masks and scores of a fast setting (dtype, compile) against float32 eager",
    capability="points",
    params=AgreementParams,
    runner=_run,
    summarizer=summarize_agreement,
    uses_dataset=False,
)
