"""`samkit.models._sparse_masks`: thresholds of resized logits from the low-res logits, against
resizing them with ``torch.nn.functional.interpolate`` as segment-anything's ``postprocess_masks``
and sam2's ``postprocess_masks`` do and thresholding the image-size logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from samkit.models._sparse_masks import (
    CellMask,
    PackedMask,
    bilinear_resize,
    bilinear_step,
    sam_resize,
    threshold_masks,
)
from samkit.models.grid_generator import mask_boxes

THRESHOLDS = (-1.0, 0.0, 1.0)  # stability offset 1 around the mask threshold 0


def _sam_postprocess(low: torch.Tensor, input_hw: tuple[int, int], image_hw: tuple[int, int]) -> torch.Tensor:
    """segment-anything's ``Sam.postprocess_masks`` (1024-pixel model input) of ``(n, h, w)``."""
    x = F.interpolate(low[:, None], (1024, 1024), mode="bilinear", align_corners=False)
    x = x[..., : input_hw[0], : input_hw[1]]
    return F.interpolate(x, image_hw, mode="bilinear", align_corners=False)[:, 0]


def _sam2_postprocess(low: torch.Tensor, image_hw: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(low[:, None], image_hw, mode="bilinear", align_corners=False)[:, 0]


def _input_hw(image_hw: tuple[int, int]) -> tuple[int, int]:
    """segment-anything's ``ResizeLongestSide(1024)`` size of an image."""
    scale = 1024 / max(image_hw)
    return tuple(int(s * scale + 0.5) for s in image_hw)


def _disks(n: int, seed: int, noise: float = 0.0) -> torch.Tensor:
    """``(n, 256, 256)`` low-res logits: a disk a mask (50 at its centre, 0 on its rim, falling
    quadratically), some far from the image, some cut by its edge, plus Gaussian noise."""
    gen = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(256) + 0.5, torch.arange(256) + 0.5, indexing="ij")
    cy, cx = torch.rand(n, generator=gen) * 300 - 20, torch.rand(n, generator=gen) * 300 - 20
    r = 2 + torch.rand(n, generator=gen) * 50
    d2 = (ys - cy[:, None, None]) ** 2 + (xs - cx[:, None, None]) ** 2
    return 50 * (1 - d2 / r[:, None, None] ** 2) + noise * torch.randn(n, 256, 256, generator=gen)


def _assert_like_dense(low: torch.Tensor, axes, resized: torch.Tensor, offset=(0, 0), image_hw=None) -> None:
    """`threshold_masks` of ``low`` gives the counts, boxes and masks of thresholding ``resized``
    (up to float rounding of pixels within ~1e-6 of a threshold: at most 2 pixels a mask)."""
    found = threshold_masks(low, axes, THRESHOLDS)
    counts = torch.stack([(resized > t).flatten(1).sum(1) for t in THRESHOLDS], 1)
    masks = resized > THRESHOLDS[1]
    assert (found.counts - counts).abs().max() <= 2
    assert (found.boxes - mask_boxes(masks)).abs().max() <= 1
    image_hw = image_hw or tuple(masks.shape[1:])
    oy, ox = offset
    for i, mask in enumerate(masks.numpy()):
        stored = found.mask(i, offset, image_hw)
        expected = np.zeros(image_hw, bool)
        expected[oy : oy + mask.shape[0], ox : ox + mask.shape[1]] = mask
        got = stored.to_bool()
        assert got.shape == image_hw and got.dtype == bool
        assert (got != expected).sum() <= 2
        assert stored.area == int(found.counts[i, 1])


@pytest.mark.parametrize("sizes", [(256, 1024), (1024, 1500), (819, 256), (333, 1000), (256, 77), (7, 3), (5, 5)])
def test_bilinear_step_is_torchs_bilinear_resize(sizes):
    n_in, n_out = sizes
    x = torch.randn(2, 1, n_in, 4, generator=torch.Generator().manual_seed(0))
    expected = F.interpolate(x, (n_out, 4), mode="bilinear", align_corners=False)[:, 0, :, 0]
    step = bilinear_step(n_in, n_out)
    ours = x[:, 0, step.i0, 0] * step.w0 + x[:, 0, step.i1, 0] * step.w1
    assert step.out_size == n_out and step.in_size == n_in
    assert bool(((step.w0 >= 0) & (step.w1 >= 0)).all())
    torch.testing.assert_close(ours, expected, atol=1e-5 * float(x.abs().max()), rtol=0)


@pytest.mark.parametrize("image_hw", [(120, 180), (1024, 1024), (1500, 1000), (333, 101)])
def test_composed_weights_are_the_two_step_resize(image_hw):
    low = torch.randn(3, 256, 256, generator=torch.Generator().manual_seed(1))
    rows, cols = sam_resize((256, 256), 1024, _input_hw(image_hw), image_hw)
    ours = rows.matrix.float() @ low @ cols.matrix.float().T
    torch.testing.assert_close(ours, _sam_postprocess(low, _input_hw(image_hw), image_hw), atol=1e-4, rtol=0)
    assert torch.allclose(rows.matrix.sum(1), torch.ones(image_hw[0], dtype=torch.float64))
    cells = rows.cells
    assert int(cells.count.sum()) == image_hw[0] and cells.weights.shape[2] == cells.width <= 4


@pytest.mark.parametrize(
    "image_hw, noise", [((1024, 1024), 3.0), ((768, 1024), 0.0), ((120, 180), 0.0), ((333, 101), 3.0)]
)
def test_sam_thresholds_match_the_resized_logits(image_hw, noise):
    """Large images go by cells (4 x 4 pixels at 1024), small ones resize every mask."""
    low = _disks(12, seed=image_hw[0], noise=noise)
    resized = _sam_postprocess(low, _input_hw(image_hw), image_hw)
    _assert_like_dense(low, sam_resize((256, 256), 1024, _input_hw(image_hw), image_hw), resized)


@pytest.mark.parametrize("image_hw", [(1500, 1000), (256, 320)])
def test_sam2_thresholds_match_the_resized_logits(image_hw):
    low = _disks(12, seed=7, noise=1.0)
    _assert_like_dense(low, bilinear_resize((256, 256), image_hw), _sam2_postprocess(low, image_hw))


def test_noisy_masks_are_resized_whole_and_still_match():
    """Logits near a threshold everywhere (the plain random model's stipple) leave most cells
    undecided: those masks are resized whole (stored as packed bits), the others by cells."""
    low = torch.cat([_disks(3, seed=3), 30 * torch.randn(3, 256, 256, generator=torch.Generator().manual_seed(3))])
    axes = sam_resize((256, 256), 1024, (1024, 1024), (1024, 1024))
    found = threshold_masks(low, axes, THRESHOLDS)
    assert sorted(found.dense) == [3, 4, 5]
    assert isinstance(found.mask(0, (0, 0), (1024, 1024)), CellMask)
    assert isinstance(found.mask(4, (0, 0), (1024, 1024)), PackedMask)
    _assert_like_dense(low, axes, _sam_postprocess(low, (1024, 1024), (1024, 1024)))


def test_masks_are_placed_at_their_crop_offset():
    """A crop's masks land at the crop's place in the image (upstream's ``uncrop_masks``)."""
    crop_hw, image_hw = (700, 600), (1000, 900)
    low = torch.cat([_disks(4, seed=5), 30 * torch.randn(2, 256, 256, generator=torch.Generator().manual_seed(5))])
    axes = sam_resize((256, 256), 1024, _input_hw(crop_hw), crop_hw)
    resized = _sam_postprocess(low, _input_hw(crop_hw), crop_hw)
    _assert_like_dense(low, axes, resized, offset=(250, 300), image_hw=image_hw)


def test_thresholds_on_flat_logits_and_nan():
    """Flat logits exactly at a threshold are not above it (``>``), empty masks have upstream's
    [0, 0, 0, 0] box, and NaN logits are never above a threshold."""
    axes = sam_resize((256, 256), 1024, (1024, 1024), (1024, 1024))
    low = torch.stack([torch.full((256, 256), v) for v in (-1.0, 0.0, 1.0, -100.0, 100.0)])
    low = torch.cat([low, _disks(1, seed=9)])
    low[5, 100:110, 100:110] = float("nan")
    found = threshold_masks(low, axes, THRESHOLDS)
    full = 1024 * 1024
    assert found.counts[:5].tolist() == [[0, 0, 0], [full, 0, 0], [full, full, 0], [0, 0, 0], [full, full, full]]
    assert found.boxes[0].tolist() == [0, 0, 0, 0] and found.boxes[4].tolist() == [0, 0, 1023, 1023]
    assert not found.mask(0, (0, 0), (1024, 1024)).to_bool().any()
    resized = _sam_postprocess(low[5:], (1024, 1024), (1024, 1024))
    expected = torch.stack([(resized > t).flatten(1).sum(1) for t in THRESHOLDS], 1)
    assert (found.counts[5:] - expected).abs().max() <= 2


def test_logits_must_match_the_resize_and_thresholds_ascend():
    axes = bilinear_resize((256, 256), (100, 100))
    with pytest.raises(ValueError, match="low-res logits are 64x64"):
        threshold_masks(torch.zeros(1, 64, 64), axes, THRESHOLDS)
    with pytest.raises(ValueError, match="odd number of ascending values"):
        threshold_masks(torch.zeros(1, 256, 256), axes, (1.0, 0.0, -1.0))
    assert bilinear_resize((256, 256), (100, 100)) is axes  # made once a size
