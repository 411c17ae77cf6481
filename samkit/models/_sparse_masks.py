"""Thresholds of resized mask logits without making the resized logits.

The automatic mask generators (segment-anything's, sam2's, samkit's `GridMaskGenerator`) resize
every candidate's low-res logits ``(h, w)`` (256 x 256) to the image with bilinear interpolation
and then only ever look at them through three thresholds: the stability score counts the pixels
above ``t - offset`` and above ``t + offset``, and the mask is the pixels above ``t``. This module
gets the same counts, the mask's box and the mask itself from the low-res logits:

- a resized pixel is a convex combination of a small window of low-res pixels (its *support*;
  bilinear steps keep weights >= 0 that sum to 1), so it lies between the window's min and max;
- the output pixels are grouped into *cells*, the pixels whose support windows start at the same
  low-res row and column (at a 1024-pixel side, 4 x 4 pixels a cell);
- a cell whose window min and max are both above the highest threshold, or both below the
  lowest, by more than float rounding could move a value (`AxisResize.rounding`), is decided
  whole: its pixels are counted by the cell;
- only the pixels of the other cells (a thin band around each mask's edge) are interpolated:
  the cell's window times the steps' weights (torch's own float32 source positions and weights,
  `bilinear_step`) composed in float64;
- a mask whose undecided cells are more than a quarter of all (noisy logits) is resized whole
  by ``F.interpolate``, step by step as upstream, and so is every mask where a cell is about one
  pixel (small images): by ``F.interpolate`` for one step (sam2), by the composed weight
  matrices for a chain (segment-anything's: cheaper than its 1024 x 1024 intermediate).

So the results are those of thresholding the resized logits, up to float rounding of the pixels
within ~1e-6 of a threshold (the tests compare them with the resized logits). The resize is
described per axis by `AxisResize` (a chain of bilinear steps, e.g. segment-anything's
``postprocess_masks``: up to the model's input size, crop, down to the image) and built by
`sam_resize` / `bilinear_resize`. Masks are returned stored small (`CellMask`: whole cells and
edge pixels; `PackedMask`: the bits of the box) until a record needs the ``(H, W)`` array.

Shapes: ``n`` masks, low-res ``(h, w)``, output ``(H, W)``; ``A x B`` cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "BilinearStep",
    "AxisResize",
    "sam_resize",
    "bilinear_resize",
    "Thresholded",
    "threshold_masks",
    "CellMask",
    "PackedMask",
]

#: a mask whose undecided cells are more than this fraction of all cells is resized whole
DENSE_FRACTION = 0.25
#: masks a pass of the cell bounds (a few ``(masks, A, B)`` tensors at once)
MASK_CHUNK = 64
#: undecided cells interpolated a pass (a few hundred bytes each)
CELL_CHUNK = 1 << 15
#: masks resized whole a pass (``(masks, H, W)`` float32)
DENSE_CHUNK = 8
#: decide by cells only where there are at least this many output pixels a cell
CELL_GAIN = 3


# --------------------------------------------------------------------------- the resize, per axis
@dataclass(frozen=True)
class BilinearStep:
    """One axis of ``F.interpolate(mode="bilinear", align_corners=False)`` from ``in_size`` to
    ``out_size`` samples: ``out[o] = w0[o] * in[i0[o]] + w1[o] * in[i1[o]]``, with torch's own
    float32 source positions and weights (`bilinear_step`)."""

    i0: torch.Tensor  # (out,) int64
    i1: torch.Tensor  # (out,) int64
    w0: torch.Tensor  # (out,) float32
    w1: torch.Tensor  # (out,) float32
    in_size: int

    @property
    def out_size(self) -> int:
        return len(self.i0)


def bilinear_step(in_size: int, out_size: int) -> BilinearStep:
    """torch's CPU bilinear indices and weights (``area_pixel_compute_source_index``, no antialias):
    ``src = max(in/out * (o + 0.5) - 0.5, 0)`` with the float32 scale and one rounding (the fused
    multiply-add torch's kernel compiles to), ``i0 = floor(src)``, ``w1 = src - i0``."""
    scale = torch.tensor(float(in_size), dtype=torch.float32) / torch.tensor(float(out_size), dtype=torch.float32)
    centres = torch.arange(out_size, dtype=torch.float64) + 0.5
    src = (scale.double() * centres - 0.5).float().clamp(min=0)
    i0 = src.floor().to(torch.int64).clamp(max=in_size - 1)
    i1 = torch.where(i0 < in_size - 1, i0 + 1, i0)
    w1 = (src - i0.to(torch.float32)).clamp(0, 1)
    return BilinearStep(i0, i1, 1 - w1, w1, in_size)


@dataclass(frozen=True)
class CellAxis:
    """The output samples of one axis grouped by the start of their support window.

    Cell ``a`` holds outputs ``first[a] .. first[a] + count[a] - 1``, whose supports lie in the
    input window ``window[a] .. window[a] + width - 1`` (samples past the input's end have
    weight 0); ``weights[a, i, k]`` is the weight of input ``window[a] + k`` in output
    ``first[a] + i`` (float64, 0 for ``i >= count[a]``)."""

    window: torch.Tensor  # (A,) int64
    first: torch.Tensor  # (A,) int64
    count: torch.Tensor  # (A,) int64
    weights: torch.Tensor  # (A, max count, width) float64
    width: int

    @property
    def identity_windows(self) -> bool:
        """Whether cell ``a``'s window starts at input ``a`` for every cell."""
        return bool(torch.equal(self.window, torch.arange(len(self.window), device=self.window.device)))

    def to(self, device: torch.device) -> CellAxis:
        if self.window.device == device:
            return self
        return CellAxis(*(v.to(device) for v in (self.window, self.first, self.count, self.weights)), self.width)


@dataclass(frozen=True)
class AxisResize:
    """A chain of bilinear steps along one axis (each step's input is the previous step's
    output, possibly cropped at the end: a step may read fewer samples than the last gave)."""

    steps: tuple[BilinearStep, ...]

    @property
    def in_size(self) -> int:
        return self.steps[0].in_size

    @property
    def out_size(self) -> int:
        return self.steps[-1].out_size

    @property
    def rounding(self) -> float:
        """How far, relative to the largest magnitude in its window, a resized value computed
        another way (another build of torch's kernel, float32 products and sums in another
        order) may lie outside the window's range: a weight one ulp of its source position off
        (the position is below the step's input size: ``size * 2**-23``) times the window's
        spread (at most twice the largest magnitude), a step at a time, plus 1e-5 for the
        float32 products and sums (~1e-7 each)."""
        return sum(step.in_size * 2.0**-22 for step in self.steps) + 1e-5

    @cached_property
    def matrix(self) -> torch.Tensor:
        """``(out, in)`` float64: output = matrix @ input, the steps' float32 weights composed."""
        index = torch.arange(self.in_size)[:, None]  # each sample as (input index, weight) pairs
        weight = torch.ones(self.in_size, 1, dtype=torch.float64)
        for step in self.steps:
            index = torch.cat([index[step.i0], index[step.i1]], 1)
            weight = torch.cat(
                [weight[step.i0] * step.w0.double()[:, None], weight[step.i1] * step.w1.double()[:, None]], 1
            )
        out = torch.zeros(self.out_size, self.in_size, dtype=torch.float64)
        rows = torch.arange(self.out_size)[:, None].expand_as(index)
        return out.index_put_((rows, index), weight, accumulate=True)

    @cached_property
    def cells(self) -> CellAxis:
        """Cells of the output samples (`CellAxis`)."""
        low, high = self.steps[-1].i0, self.steps[-1].i1
        for step in reversed(self.steps[:-1]):
            low, high = step.i0[low], step.i1[high]
        width = int((high - low).max()) + 1
        window, count = torch.unique_consecutive(low, return_counts=True)
        first = torch.cumsum(count, 0) - count
        cols = (window[:, None] + torch.arange(width)).clamp(max=self.in_size - 1)
        rows = first[:, None] + torch.arange(int(count.max()))
        valid = (rows < (first + count)[:, None])[:, :, None] & (window[:, None] + torch.arange(width) < self.in_size)[
            :, None, :
        ]
        weights = self.matrix[rows.clamp(max=self.out_size - 1)[:, :, None], cols[:, None, :]] * valid
        return CellAxis(window, first, count, weights, width)


def sam_resize(
    low_hw: tuple[int, int], model_size: int, input_hw: tuple[int, int], image_hw: tuple[int, int]
) -> tuple[AxisResize, AxisResize]:
    """segment-anything's ``Sam.postprocess_masks`` per axis: bilinear to ``model_size`` square,
    crop to ``input_hw`` (the resized image inside the padded input), bilinear to ``image_hw``.
    The same sizes give the same objects (their cells are worked out once)."""
    return _sam_resize(*(tuple(int(v) for v in hw) for hw in (low_hw, input_hw, image_hw)), int(model_size))


def bilinear_resize(low_hw: tuple[int, int], image_hw: tuple[int, int]) -> tuple[AxisResize, AxisResize]:
    """One bilinear resize to ``image_hw`` (sam2's ``SAM2Transforms.postprocess_masks`` without
    hole filling) per axis. The same sizes give the same objects."""
    return _bilinear_resize(tuple(int(v) for v in low_hw), tuple(int(v) for v in image_hw))


@lru_cache(maxsize=16)
def _sam_resize(
    low_hw: tuple[int, int], input_hw: tuple[int, int], image_hw: tuple[int, int], model_size: int
) -> tuple[AxisResize, AxisResize]:
    return tuple(
        AxisResize((bilinear_step(low, model_size), bilinear_step(inp, out)))
        for low, inp, out in zip(low_hw, input_hw, image_hw)
    )


@lru_cache(maxsize=16)
def _bilinear_resize(low_hw: tuple[int, int], image_hw: tuple[int, int]) -> tuple[AxisResize, AxisResize]:
    return tuple(AxisResize((bilinear_step(low, out),)) for low, out in zip(low_hw, image_hw))


def _window_bounds(low: torch.Tensor, ry: CellAxis, rx: CellAxis) -> tuple[torch.Tensor, torch.Tensor]:
    """Min and max ``(n, A, B)`` of each cell's support window of ``low`` ``(n, h, w)``."""
    lo, hi = low, low
    for dim, axis in ((1, ry), (2, rx)):
        size = lo.shape[dim]
        new_lo, new_hi = lo.clone(), hi.clone()
        for k in range(1, axis.width):  # window [s, s + width) of the input, cut at its end
            new_lo.narrow(dim, 0, size - k).clamp_(max=lo.narrow(dim, k, size - k))
            new_hi.narrow(dim, 0, size - k).clamp_(min=hi.narrow(dim, k, size - k))
        if axis.identity_windows:
            lo, hi = new_lo.narrow(dim, 0, len(axis.window)), new_hi.narrow(dim, 0, len(axis.window))
        else:
            lo, hi = new_lo.index_select(dim, axis.window), new_hi.index_select(dim, axis.window)
    return lo, hi


def _decide(
    lo: torch.Tensor, hi: torch.Tensor, t_low: float, t_high: float, rounding: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per cell: whether all its pixels are above ``t_high`` (the highest threshold), and whether
    it is undecided, i.e. not all above ``t_high`` nor all below ``t_low`` (the lowest), its
    bounds widened by ``rounding`` times its largest magnitude, plus 1e-6 (`AxisResize.rounding`).
    A NaN in the window leaves the cell undecided (its comparisons are False)."""
    margin = torch.maximum(hi, -lo).mul_(rounding).add_(1e-6)
    above = (lo - margin) > t_high
    undecided = ~(above | ((hi + margin) < t_low))
    return above, undecided


def _nonzero(mask: torch.Tensor) -> torch.Tensor:
    """Flat indices (int64) of the True entries (numpy's scan on the CPU, several times torch's)."""
    if mask.device.type == "cpu":
        return torch.from_numpy(np.flatnonzero(mask.numpy()))
    return mask.flatten().nonzero().flatten()


def _cell_values(
    flat: torch.Tensor,
    hw: tuple[int, int],
    m: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    ry: CellAxis,
    rx: CellAxis,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Resized values ``(C, cy, cx)`` float64 of the pixels of cells ``(a, b)`` of masks ``m``
    (``flat``: the low-res logits ``(n, h, w)`` flattened) and which entries are pixels (cells
    are padded to the largest): each cell's support window times its row and column weights."""
    h, w = hw
    wy, wx = ry.weights[a], rx.weights[b]  # (C, cy, Ky), (C, cx, Kx)
    rows = (ry.window[a][:, None] + torch.arange(ry.width, device=flat.device)).clamp(max=h - 1)
    cols = (rx.window[b][:, None] + torch.arange(rx.width, device=flat.device)).clamp(max=w - 1)
    patch = flat[(m * (h * w))[:, None, None] + rows[:, :, None] * w + cols[:, None, :]].double()  # (C, Ky, Kx)
    along_rows = (wy[:, :, :, None] * patch[:, None]).sum(2)  # (C, cy, Kx)
    values = (along_rows[:, :, None, :] * wx[:, None, :, :]).sum(-1)  # (C, cy, cx)
    in_y = torch.arange(wy.shape[1], device=flat.device) < ry.count[a][:, None]
    in_x = torch.arange(wx.shape[1], device=flat.device) < rx.count[b][:, None]
    return values, in_y[:, :, None] & in_x[:, None, :]


# --------------------------------------------------------------------------- masks, stored small
@dataclass
class CellMask:
    """A mask of an ``image_hw`` image: whole cells (``cells`` over cells ``a0.., b0..`` of the
    crop's `CellAxis` pair) plus single pixels ``(ys, xs)`` of the crop, offset by ``offset`` (y, x)."""

    cells: torch.Tensor  # (a, b) bool
    a0: int
    b0: int
    ys: torch.Tensor  # (p,) int64
    xs: torch.Tensor
    axes: tuple[CellAxis, CellAxis]
    offset: tuple[int, int]
    image_hw: tuple[int, int]
    area: int

    def to_bool(self) -> np.ndarray:
        """``(H, W)`` bool mask of the image."""
        out = torch.zeros(self.image_hw, dtype=torch.bool)
        oy, ox = self.offset
        ry, rx = self.axes
        if self.cells.numel():
            a, b = self.cells.shape
            patch = self.cells.repeat_interleave(ry.count[self.a0 : self.a0 + a], 0)
            patch = patch.repeat_interleave(rx.count[self.b0 : self.b0 + b], 1)
            y, x = oy + int(ry.first[self.a0]), ox + int(rx.first[self.b0])
            out[y : y + patch.shape[0], x : x + patch.shape[1]] = patch
        out[oy + self.ys, ox + self.xs] = True
        return out.numpy()


@dataclass
class PackedMask:
    """A mask of an ``image_hw`` image stored as the bits (`numpy.packbits`) of its box: ``shape``
    pixels from ``yx0``."""

    bits: np.ndarray
    yx0: tuple[int, int]
    shape: tuple[int, int]
    image_hw: tuple[int, int]
    area: int

    def to_bool(self) -> np.ndarray:
        """``(H, W)`` bool mask of the image."""
        out = np.zeros(self.image_hw, dtype=bool)
        h, w = self.shape
        y, x = self.yx0
        out[y : y + h, x : x + w] = np.unpackbits(self.bits, count=h * w).reshape(h, w).view(bool)
        return out


# --------------------------------------------------------------------------- thresholds
@dataclass
class Thresholded:
    """The thresholds of ``n`` resized masks (`threshold_masks`).

    ``counts``: (n, T) int64 output pixels above each threshold; ``boxes``: (n, 4) int64 XYXY
    inclusive pixel box of the pixels above the mask threshold (0s if none); `mask` stores one
    of the masks small, placed in an image."""

    counts: torch.Tensor
    boxes: torch.Tensor
    cells: torch.Tensor  # (n, A, B) bool: whole cells above the mask threshold
    pixels: list[tuple[torch.Tensor, torch.Tensor]]  # per mask: (ys, xs) single pixels above it
    dense: dict[int, np.ndarray]  # mask index -> (H, W) bool, resized whole
    axes: tuple[CellAxis, CellAxis]

    def mask(self, i: int, offset: tuple[int, int], image_hw: tuple[int, int]) -> CellMask | PackedMask:
        """Mask ``i`` placed at ``offset`` (y, x) in an ``image_hw`` image, stored small."""
        area = int(self.counts[i, self.counts.shape[1] // 2])
        if i in self.dense:
            x0, y0, x1, y1 = (int(v) for v in self.boxes[i])
            patch = self.dense[i][y0 : y1 + 1, x0 : x1 + 1] if area else self.dense[i][:0, :0]
            return PackedMask(
                np.packbits(patch, axis=None), (offset[0] + y0, offset[1] + x0), patch.shape, image_hw, area
            )
        cells = self.cells[i]
        rows, cols = _nonzero(cells.any(1)), _nonzero(cells.any(0))
        if len(rows):
            a0, a1, b0, b1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        else:
            a0 = a1 = b0 = b1 = 0
        ys, xs = self.pixels[i]
        return CellMask(cells[a0:a1, b0:b1].clone(), a0, b0, ys, xs, self.axes, offset, image_hw, area)


def _dense_values(low: torch.Tensor, rows: AxisResize, cols: AxisResize, small: bool) -> torch.Tensor:
    """The resized logits ``(k, H, W)`` float32 of ``low`` ``(k, h, w)``: the steps one by one
    with ``F.interpolate`` (upstream's arithmetic), or for a ``small`` output through a chain
    the composed weight matrices' product (cheaper than a large intermediate, e.g. SAM's
    1024 x 1024 on the way to a 256-pixel image)."""
    if small and len(rows.steps) > 1:
        my, mx = rows.matrix.to(low.device, torch.float32), cols.matrix.to(low.device, torch.float32)
        return my @ low @ mx.T
    out = low[:, None]
    for sy, sx in zip(rows.steps, cols.steps):
        out = out[..., : sy.in_size, : sx.in_size]  # a step reads the start of the last one's output
        out = F.interpolate(out, (sy.out_size, sx.out_size), mode="bilinear", align_corners=False)
    return out[:, 0]


def threshold_masks(low: torch.Tensor, axes: tuple[AxisResize, AxisResize], thresholds: Sequence[float]) -> Thresholded:
    """Counts above ``thresholds`` (ascending; the middle one is the mask threshold), boxes and
    masks of the low-res logits ``low`` ``(n, h, w)`` resized by ``axes`` (rows, columns), as if
    the resized ``(n, H, W)`` logits had been made (see the module docstring)."""
    rows, cols = axes
    n, h, w = low.shape
    height, width = rows.out_size, cols.out_size
    if (h, w) != (rows.in_size, cols.in_size):
        raise ValueError(f"low-res logits are {h}x{w}, the resize reads {rows.in_size}x{cols.in_size}")
    ts = [float(t) for t in thresholds]
    if len(ts) % 2 == 0 or ts != sorted(ts):
        raise ValueError(f"thresholds must be an odd number of ascending values (the mask's in the middle), got {ts}")
    dev = low.device
    ry, rx = rows.cells.to(dev), cols.cells.to(dev)
    n_a, n_b = len(ry.window), len(rx.window)
    mid = len(ts) // 2
    low = low.float().contiguous()
    counts = torch.zeros(n, len(ts), dtype=torch.int64, device=dev)
    cells_in = torch.zeros(n, n_a, n_b, dtype=torch.bool, device=dev)
    boxes = torch.zeros(n, 4, dtype=torch.int64, device=dev)
    pixels: list[tuple[torch.Tensor, torch.Tensor]] = [(_EMPTY, _EMPTY)] * n
    small = height * width <= CELL_GAIN * n_a * n_b
    if small:  # cells of about one pixel: resize every mask
        is_dense = torch.ones(n, dtype=torch.bool, device=dev)
    else:
        is_dense = _cell_pass(low, rows, cols, ts, counts, cells_in, boxes, pixels)
    dense_masks: dict[int, np.ndarray] = {}
    dense_index = _nonzero(is_dense).tolist()
    for s in range(0, len(dense_index), DENSE_CHUNK):
        chunk = dense_index[s : s + DENSE_CHUNK]
        values = _dense_values(low[chunk], rows, cols, small)
        for j, t in enumerate(ts):
            counts[chunk, j] = (values > t).flatten(1).sum(1, dtype=torch.int64)
        masks = values > ts[mid]
        del values
        boxes[chunk] = _boxes(masks)
        for i, mask in zip(chunk, masks.cpu().numpy()):
            dense_masks[i] = mask
    return Thresholded(counts.cpu(), boxes.cpu(), cells_in.cpu(), pixels, dense_masks, (rows.cells, cols.cells))


def _cell_pass(
    low: torch.Tensor,
    rows: AxisResize,
    cols: AxisResize,
    ts: list[float],
    counts: torch.Tensor,
    cells_in: torch.Tensor,
    boxes: torch.Tensor,
    pixels: list[tuple[torch.Tensor, torch.Tensor]],
) -> torch.Tensor:
    """`threshold_masks` by cells: fills ``counts``, ``cells_in``, ``boxes`` and ``pixels`` of
    the masks it decides; returns which masks (n,) bool are left to resize whole."""
    n, h, w = low.shape
    dev = low.device
    ry, rx = rows.cells.to(dev), cols.cells.to(dev)
    n_a, n_b = len(ry.window), len(rx.window)
    mid = len(ts) // 2
    fdt = torch.float32 if rows.out_size * cols.out_size < 2**24 else torch.float64  # exact pixel sums
    rounding = max(rows.rounding, cols.rounding)
    cy, cx = ry.count.to(fdt), rx.count.to(fdt)
    rows_any = torch.empty(n, n_a, dtype=torch.bool, device=dev)
    cols_any = torch.empty(n, n_b, dtype=torch.bool, device=dev)
    undecided = torch.empty(n, n_a, n_b, dtype=torch.bool, device=dev)
    for s in range(0, n, MASK_CHUNK):
        part = slice(s, min(s + MASK_CHUNK, n))
        above, undecided[part] = _decide(*_window_bounds(low[part], ry, rx), ts[0], ts[-1], rounding)
        above_f = above.to(fdt)
        per_row = above_f @ cx  # (k, A): pixels of the whole cells above every threshold, by row
        counts[part] = (per_row @ cy).round().to(torch.int64)[:, None]
        cells_in[part] = above
        rows_any[part] = per_row > 0
        cols_any[part] = (cy @ above_f) > 0
    n_undecided = undecided.sum(-1, dtype=torch.int32).sum(-1)
    is_dense = n_undecided > DENSE_FRACTION * n_a * n_b
    undecided &= ~is_dense[:, None, None]

    # the undecided cells' pixels
    flat_cells = _nonzero(undecided).to(dev)
    m, ab = flat_cells // (n_a * n_b), flat_cells % (n_a * n_b)
    a, b = ab // n_b, ab % n_b
    flat = low.flatten()
    found: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    for p in range(0, len(m), CELL_CHUNK):
        mp, ap, bp = m[p : p + CELL_CHUNK], a[p : p + CELL_CHUNK], b[p : p + CELL_CHUNK]
        values, valid = _cell_values(flat, (h, w), mp, ap, bp, ry, rx)
        for j, t in enumerate(ts):
            inside = (values > t) & valid
            counts[:, j].index_add_(0, mp, inside.flatten(1).sum(1))
            if j == mid:  # the mask's pixels
                per_cell = inside.shape[1] * inside.shape[2]
                flat_px = _nonzero(inside).to(dev)
                c, rest = flat_px // per_cell, flat_px % per_cell
                found.append(
                    (mp[c], ry.first[ap[c]] + rest // inside.shape[2], rx.first[bp[c]] + rest % inside.shape[2])
                )
    empty = torch.zeros(0, dtype=torch.int64, device=dev)
    pm, py, px = (torch.cat(v) for v in zip(*found)) if found else (empty, empty, empty)

    # boxes: whole cells, then single pixels
    big = max(rows.out_size, cols.out_size) + 1
    first_a = rows_any.to(torch.uint8).argmax(1)
    last_a = n_a - 1 - rows_any.flip(1).to(torch.uint8).argmax(1)
    first_b = cols_any.to(torch.uint8).argmax(1)
    last_b = n_b - 1 - cols_any.flip(1).to(torch.uint8).argmax(1)
    has = rows_any.any(1)
    y0 = torch.where(has, ry.first[first_a], big)
    y1 = torch.where(has, ry.first[last_a] + ry.count[last_a] - 1, -1)
    x0 = torch.where(has, rx.first[first_b], big)
    x1 = torch.where(has, rx.first[last_b] + rx.count[last_b] - 1, -1)
    if len(pm):
        y0 = y0.scatter_reduce(0, pm, py, "amin")
        y1 = y1.scatter_reduce(0, pm, py, "amax")
        x0 = x0.scatter_reduce(0, pm, px, "amin")
        x1 = x1.scatter_reduce(0, pm, px, "amax")
    found_boxes = torch.stack([x0, y0, x1, y1], 1)
    found_boxes[found_boxes[:, 2] < 0] = 0  # empty masks: upstream's [0, 0, 0, 0]
    boxes.copy_(found_boxes)
    per_mask = torch.bincount(pm, minlength=n).cpu().tolist()
    pixels[:] = list(zip(torch.split(py.cpu(), per_mask), torch.split(px.cpu(), per_mask)))
    return is_dense


_EMPTY = torch.zeros(0, dtype=torch.int64)


def _boxes(masks: torch.Tensor) -> torch.Tensor:
    """XYXY inclusive boxes ``(k, 4)`` int64 of ``(k, H, W)`` bool masks; 0s if empty (upstream's
    ``batched_mask_to_box``)."""
    k, height, width = masks.shape
    rows, cols = masks.any(2).to(torch.uint8), masks.any(1).to(torch.uint8)
    y0, y1 = rows.argmax(1), height - 1 - rows.flip(1).argmax(1)
    x0, x1 = cols.argmax(1), width - 1 - cols.flip(1).argmax(1)
    return torch.stack([x0, y0, x1, y1], 1) * rows.any(1, keepdim=True)
