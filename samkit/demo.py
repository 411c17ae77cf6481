"""The main job for now: every chosen model segments scikit-image's sample photos from a point and a box.

Writes, into ``out_dir``: ``overlays/<photo>.png`` (one panel per model and prompt), ``timings.csv``
(one row per model and photo: set_image and predict times in ms) and ``summary.txt`` (median per
model). Weights: ``auto`` uses a model's official checkpoint when it is present and verified, random
weights otherwise; every panel and row says which, and random-weight masks are labelled meaningless.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from samkit.atomic import atomic_write
from samkit.data.photos import SamplePhoto, sample_photos
from samkit.loading import choose_weights
from samkit.registry import get_spec, list_models

__all__ = ["run_demo", "resolve_models", "overlay_figure"]


def resolve_models(models: str | list[str]) -> list[str]:
    """``"default"`` (the small models), ``"all"``, a wildcard, or a list of names/wildcards."""
    if models == "default":
        return list_models(default_only=True)
    if models == "all":
        return list_models()
    items = [models] if isinstance(models, str) else list(models)
    names: list[str] = []
    for item in items:
        found = list_models(item) if any(c in item for c in "*?[") else [get_spec(item).name]
        names += [n for n in found if n not in names]
    if not names:
        raise ValueError(f"No registered model matches {models!r}.")
    return names


def run_demo(
    out_dir: str | os.PathLike,
    models: str | list[str] = "default",
    photos: list[str] | None = None,
    *,
    weights: str = "auto",
    device: str | None = None,
    seed: int = 0,
    repeats: int = 3,
    progress: bool = True,
) -> Any:
    """Segment the sample photos with each model; returns the timings table (pandas DataFrame)."""
    import pandas as pd
    from tqdm.auto import tqdm

    from samkit.loading import load
    from samkit.metrics.perf import time_call

    out = Path(out_dir)
    (out / "overlays").mkdir(parents=True, exist_ok=True)
    names = resolve_models(models)
    shots = sample_photos(photos)
    rows: list[dict[str, Any]] = []
    panels: dict[str, list[tuple[str, Any, dict]]] = {p.name: [] for p in shots}
    bar = tqdm(total=len(names) * len(shots), desc="demo", unit="image", disable=not progress)
    for name in names:
        kind = choose_weights(name, weights)
        bar.set_postfix_str(f"loading {name} ({kind})")
        model = load(name, weights=kind, device=device, seed=seed, progress=progress)
        model.set_image(shots[0].image)  # warm-up: the first call is never timed
        for shot in shots:
            bar.set_postfix_str(f"{name} on {shot.name}")
            row, masks = _segment(model, shot, repeats, time_call)
            rows.append(row)
            panels[shot.name].append((name, model.weights, masks))
            bar.update(1)
        table = pd.DataFrame(rows)  # saved after each model: finished models are never lost
        atomic_write(out / "timings.csv", lambda tmp: table.to_csv(tmp, index=False))
        del model
    bar.close()
    table = pd.DataFrame(rows)
    for shot in shots:
        _save_overlay(shot, panels[shot.name], out / "overlays" / f"{shot.name}.png")
    summary = summarize_timings(table)
    (out / "summary.txt").write_text(summary + "\n")
    return table


def _segment(model: Any, shot: SamplePhoto, repeats: int, time_call: Any) -> tuple[dict, dict]:
    set_t = time_call(lambda: model.set_image(shot.image), model.device, warmup=0, repeats=1)
    point = dict(point_coords=np.array([shot.point]), point_labels=np.array([1]))
    box = dict(box=np.array(shot.box))
    pt_t = time_call(lambda: model.predict(**point), model.device, warmup=1, repeats=repeats)
    bx_t = time_call(lambda: model.predict(**box, multimask_output=False), model.device, warmup=1, repeats=repeats)
    pt_masks, pt_scores, _ = model.predict(**point)
    bx_masks, bx_scores, _ = model.predict(**box, multimask_output=False)
    best = int(np.argmax(pt_scores))
    row = {
        "model": model.name,
        "family": model.family,
        "weights": model.weights.kind,
        "weights_id": str(model.weights),
        "device": str(model.device),
        "image": shot.name,
        "height": shot.image.shape[0],
        "width": shot.image.shape[1],
        "set_image_ms": set_t.median_ms,
        "predict_point_ms": pt_t.median_ms,
        "predict_box_ms": bx_t.median_ms,
        "point_score": float(pt_scores[best]),
        "box_score": float(bx_scores[0]),
    }
    masks = {"point": (pt_masks[best], float(pt_scores[best])), "box": (bx_masks[0], float(bx_scores[0]))}
    return row, masks


def summarize_timings(table: Any) -> str:
    """Median times per model as text, with device and weights named."""
    cols = ["set_image_ms", "predict_point_ms", "predict_box_ms"]
    med = table.groupby(["model", "device", "weights"], sort=False)[cols].median().round(1)
    note = (
        "set_image: one timed call per photo after one warm-up; predict: median of repeats. Medians over photos, in ms."
    )
    return f"{med.to_string()}\n\n{note}"


def overlay_figure(shot: SamplePhoto, panels: list[tuple[str, Any, dict]]) -> Any:
    """The overlay figure of one photo: a row per model (``panels``: (name, weights, {"point" | "box":
    (mask, score)})), the point and the box prompt side by side; the title says the photo and, where
    any model has random weights, `samkit.wording.RANDOM_WEIGHTS_WARNING` (in red). Titles are
    wrapped to the figure (`samkit.plotting.fit_text`), which grows to hold them."""
    from matplotlib.figure import Figure

    from samkit.overlays import draw_prediction
    from samkit.plotting import add_title, title_inches
    from samkit.wording import RANDOM_WEIGHTS_WARNING

    any_random = any(weights.kind == "random" for _, weights, _ in panels)
    title = f"{shot.name} ({shot.object})"
    if any_random:
        title += f"\n{RANDOM_WEIGHTS_WARNING}"
    width, font = 8.0, 10.0
    head = title_inches(title, width, font)
    fig = Figure(figsize=(width, 3.4 * len(panels) + head))
    add_title(fig, title, fontsize=font, color="red" if any_random else "black")
    axes = fig.subplots(len(panels), 2, squeeze=False)
    for (name, weights, masks), row in zip(panels, axes):
        for ax, prompt in zip(row, ("point", "box")):
            mask, score = masks[prompt]
            draw_prediction(
                ax,
                shot.image,
                mask,
                points=[shot.point] if prompt == "point" else None,
                box=shot.box if prompt == "box" else None,
                title=f"{name} · {prompt} · score {score:.2f}\n{weights}",
            )
    fig.tight_layout(rect=(0, 0, 1, 1 - head / fig.get_figheight()))
    return fig


def _save_overlay(shot: SamplePhoto, panels: list[tuple[str, Any, dict]], path: Path) -> None:
    overlay_figure(shot, panels).savefig(path, dpi=80)
