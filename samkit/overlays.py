"""Masks drawn on their image (matplotlib): predictions with their prompts, and automatic masks.

Images are HxWx3 uint8 RGB, masks HxW bool, points (x, y) pixels, boxes XYXY pixels. Functions return
a `matplotlib.figure.Figure` (no pyplot state). ``weights`` (the model's `samkit.weights.WeightsInfo`,
``model.weights``) goes into the title, and random weights (its typed ``kind``) add a red line with
`samkit.wording.RANDOM_WEIGHTS_WARNING`. A plain string is shown as it is, never parsed: pass its
kind as ``weights_kind`` for the warning. Titles, the warning and labels are wrapped to fit the
figure (`samkit.plotting.fit_text`); the figure grows to hold them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from samkit.plotting import add_title, column_inches, fit_text, fit_title, lines_inches, text_room, title_inches
from samkit.wording import RANDOM_WEIGHTS_WARNING, present

__all__ = ["draw_prediction", "show_prediction", "show_instances", "show_generated", "show_video_masks"]


def draw_prediction(
    ax: Any,
    image: np.ndarray,
    mask: np.ndarray,
    *,
    points: Any = None,
    labels: Any = None,
    box: Any = None,
    title: str = "",
) -> None:
    """Draw ``image``, ``mask`` (translucent), the points (green + / red x) and the box on ``ax``."""
    ax.imshow(image)
    ax.imshow(np.ma.masked_where(~mask, mask), alpha=0.5, cmap="autumn", vmin=0, vmax=1)
    if points is not None and len(points):
        pts = np.asarray(points, dtype=float)
        lab = np.ones(len(pts), int) if labels is None else np.asarray(labels)
        ax.scatter(*pts[lab == 1].T, marker="*", s=160, color="lime", edgecolors="k")
        ax.scatter(*pts[lab == 0].T, marker="X", s=110, color="red", edgecolors="k")
    if box is not None:
        import matplotlib.patches as patches

        x0, y0, x1, y1 = np.asarray(box, dtype=float)
        ax.add_patch(patches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color="lime", lw=2))
    fit_title(ax, title, fontsize=8)  # wrapped to its column of the figure
    ax.axis("off")


_TITLE_FONT = 9.0
_PANEL_TITLE = 0.35  # inches above a panel for its (one or two line) title


def _heading(title: str, weights: Any, weights_kind: str | None) -> tuple[str, bool]:
    """The suptitle: ``title``, the weights, and the random-weights warning where the kind is
    random; and whether it is."""
    kind = weights_kind if present(weights_kind) else getattr(weights, "kind", None)
    random = kind == "random"
    text = title + (f"\nweights: {weights}" if present(weights) else "")
    if random:
        text += f"\n{RANDOM_WEIGHTS_WARNING}"
    return text, random


def _titled_figure(width: float, body: float, heading: tuple[str, bool]) -> tuple[Any, float]:
    """A figure ``width`` inches wide: the ``heading`` (`_heading`) on top, wrapped to the width,
    and ``body`` inches below it; returns (figure, the heading's inches)."""
    from matplotlib.figure import Figure

    text, random = heading
    head = title_inches(text, width, _TITLE_FONT) if text else 0.1
    fig = Figure(figsize=(width, body + head))
    add_title(fig, text, fontsize=_TITLE_FONT, color="red" if random else "black")
    return fig, head


def _lay_out(fig: Any, head: float, bottom: float = 0.0) -> None:
    """Tight layout of the panels between ``bottom`` and the heading (inches)."""
    height = fig.get_figheight()
    fig.tight_layout(rect=(0, bottom / height, 1, 1 - head / height))


def show_prediction(
    image: np.ndarray,
    masks: np.ndarray,
    scores: Sequence[float],
    *,
    points: Any = None,
    labels: Any = None,
    box: Any = None,
    title: str = "",
    weights: Any = None,
    weights_kind: str | None = None,
):
    """One panel per candidate mask (``masks`` (C, H, W)), each titled with its predicted IoU.

    ``weights``: ``model.weights`` (a `samkit.weights.WeightsInfo`; its ``kind`` decides the
    warning) or any text to show; ``weights_kind`` (``"random"`` / ``"pretrained"``) overrides it.
    """
    n = len(masks)
    if n == 0:
        raise ValueError(
            "show_prediction needs at least one mask (got 0); for detector / text "
            "results, which may be empty, use show_instances"
        )
    heading = _heading(title, weights, weights_kind)
    fig, head = _titled_figure(3.6 * n, 3.6 * image.shape[0] / image.shape[1] + _PANEL_TITLE, heading)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for i, (ax, mask) in enumerate(zip(axes, masks)):
        draw_prediction(
            ax, image, mask, points=points, labels=labels, box=box, title=f"mask {i}: score {float(scores[i]):.3f}"
        )
    _lay_out(fig, head)
    return fig


def show_instances(
    image: np.ndarray,
    result: Any,
    *,
    title: str = "",
    weights: Any = None,
    weights_kind: str | None = None,
    seed: int = 0,
):
    """Every object of a detector -> segmenter result (`samkit.pipelines.PipelineResult`, e.g.
    ``model.predict_text(...)``) on ``image`` (HxWx3 uint8): its mask in its own colour, its box
    (XYXY) outlined and labelled ``"<phrase or class> <detector score>"``; an empty result says
    "no instances found". ``weights`` / ``weights_kind`` as in `show_prediction`. A label stays
    inside the image: at most half its width (wrapped), drawn leftwards from a box in the right
    half and inside a box at the image's top.
    """
    from matplotlib.patches import Rectangle

    heading = _heading(f"{title} ({len(result)} instances)", weights, weights_kind)
    fig, head = _titled_figure(6, 6 * image.shape[0] / image.shape[1] + 0.2, heading)
    ax = fig.subplots()
    ax.imshow(image)
    overlay = np.zeros((*image.shape[:2], 4))
    rng = np.random.default_rng(seed)
    colours = [rng.random(3) for _ in range(len(result))]
    for obj, colour in zip(reversed(list(result)), reversed(colours)):  # most confident on top
        overlay[obj.mask] = [*colour, 0.45]
    ax.imshow(overlay)
    room = column_inches(ax) / 2  # a label's width at most: half the image
    inches_per_pixel = 6 / image.shape[1]
    for obj, colour in zip(result, colours):
        x0, y0, x1, y1 = (float(v) for v in obj.box)
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour, linewidth=1.5))
        right = (x0 + x1) / 2 > image.shape[1] / 2
        label = ax.text(
            x1 if right else x0,
            y0,
            f"{obj.label} {obj.score:.2f}",
            color="white",
            fontsize=7,
            ha="right" if right else "left",
            va="bottom",
            bbox={"facecolor": colour, "alpha": 0.8, "pad": 1, "edgecolor": "none"},
        )
        lines = fit_text(label, room)
        if y0 * inches_per_pixel < lines_inches(lines, 7) + 0.05:  # no room above the box: inside it
            label.set_verticalalignment("top")
    if not len(result):
        ax.text(
            0.5,
            0.5,
            "no instances found",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="white",
            bbox={"facecolor": "black", "alpha": 0.6},
        )
    ax.axis("off")
    _lay_out(fig, head)
    return fig


def show_generated(
    image: np.ndarray,
    records: Sequence[dict],
    *,
    title: str = "",
    weights: Any = None,
    weights_kind: str | None = None,
    seed: int = 0,
):
    """Automatic masks (`Segmenter.generate` records) in random colours, largest drawn first.

    ``weights`` / ``weights_kind`` as in `show_prediction`.
    """
    heading = _heading(f"{title} ({len(records)} masks)", weights, weights_kind)
    fig, head = _titled_figure(6, 6 * image.shape[0] / image.shape[1] + 0.2, heading)
    ax = fig.subplots()
    ax.imshow(image)
    overlay = np.zeros((*image.shape[:2], 4))
    rng = np.random.default_rng(seed)
    for rec in sorted(records, key=lambda r: r["area"], reverse=True):
        overlay[rec["segmentation"]] = [*rng.random(3), 0.5]
    ax.imshow(overlay)
    ax.axis("off")
    _lay_out(fig, head)
    return fig


def show_video_masks(
    frames: Any,
    masks: dict[int, dict[int, np.ndarray]],
    *,
    frame_indices: Sequence[int] | None = None,
    max_frames: int = 8,
    title: str = "",
    weights: Any = None,
    weights_kind: str | None = None,
    columns: int | None = None,
):
    """A strip of video frames with every object's mask in its own colour (one panel per frame).

    Args:
        frames: T frames (a ``(T, H, W, 3)`` uint8 array, a list, or `samkit.video_io.VideoFrames`).
        masks: ``{frame_index: {obj_id: HxW bool}}``, e.g. ``tracker.track()``; frames without
            an entry are drawn without masks.
        frame_indices: the frames to show; default: ``max_frames`` evenly spaced over the video.
        columns: panels per row (default: all in one row, at most 8).
        weights / weights_kind: as in `show_prediction` (random weights add the warning).

    Each object keeps its colour across frames (tab10, by its place in the sorted object ids);
    the legend names the ids.
    """
    from matplotlib import colormaps
    from matplotlib.patches import Patch

    total = len(frames)
    if total == 0:
        raise ValueError("show_video_masks needs at least one frame (got 0)")
    if frame_indices is None:
        count = max(1, min(int(max_frames), total))
        frame_indices = sorted({int(round(v)) for v in np.linspace(0, total - 1, count)})
    indices = [int(i) for i in frame_indices]
    bad = [i for i in indices if not 0 <= i < total]
    if bad or not indices:
        raise ValueError(f"frame_indices must be a non-empty list in 0..{total - 1}, got {list(frame_indices)}")
    ids = sorted({int(oid) for t in indices for oid in masks.get(t, {})})
    cmap = colormaps["tab10"]
    colours = {oid: cmap(k % 10) for k, oid in enumerate(ids)}
    cols = min(len(indices), int(columns) if columns else 8)
    rows = -(-len(indices) // cols)
    first = np.asarray(frames[indices[0]])
    aspect = first.shape[0] / first.shape[1]
    entry = text_room(f"object {max(ids, default=0)}", 7) + 0.5  # a legend entry: patch, label, gap
    ncol = max(1, min(len(ids), 6, int((2.4 * cols - 0.2) // entry)))  # as many as the width holds
    bottom = 0.08 + 0.2 * -(-len(ids) // ncol) if ids else 0.0
    heading = _heading(title, weights, weights_kind)
    fig, head = _titled_figure(2.4 * cols, (2.4 * aspect + _PANEL_TITLE) * rows + bottom, heading)
    axes = fig.subplots(rows, cols, squeeze=False).reshape(-1)
    for ax in axes[len(indices) :]:
        ax.axis("off")
    for ax, t in zip(axes, indices):
        image = np.asarray(frames[t])
        ax.imshow(image)
        overlay = np.zeros((*image.shape[:2], 4))
        for oid, mask in masks.get(t, {}).items():
            overlay[np.asarray(mask, dtype=bool)] = [*colours[int(oid)][:3], 0.5]
        ax.imshow(overlay)
        fit_title(ax, f"frame {t}", fontsize=8)
        ax.axis("off")
    if ids:
        fig.legend(
            handles=[Patch(color=colours[oid], label=f"object {oid}") for oid in ids],
            loc="lower center",
            ncol=ncol,
            fontsize=7,
            frameon=False,
        )
    _lay_out(fig, head, bottom)
    return fig
