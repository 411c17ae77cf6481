"""The interactive protocol's ``mask_threshold``: applied to the model's logits (sigmoid, float32,
strictly above) when it is not 0.5, the model's own masks at 0.5, recorded in every row."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from samkit.data import Sample, SyntheticDataset
from samkit.errors import ParameterError
from samkit.eval import get_protocol, run_interactive
from samkit.eval.interactive import MASK_THRESHOLD, InteractiveParams, _threshold
from samkit.metrics import mask_iou
from samkit.weights import WeightsInfo

H, W = 24, 32
CORE, BAND, OUTSIDE = 6.0, float(np.log(0.495 / 0.505)), -6.0  # band: probability 0.495


def rect(y0: int, x0: int, h: int, w: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y0 : y0 + h, x0 : x0 + w] = True
    return m


GT = rect(4, 6, 14, 18)
CORE_MASK = rect(6, 8, 10, 14)  # the object less a 2-pixel band


class BandModel:
    """Segmenter-shaped fake whose logits are CORE inside ``CORE_MASK``, BAND (probability 0.495)
    on the rest of the object and OUTSIDE elsewhere: its own boolean masks (logits > 0) are the
    core; above 0.49 the whole object. Records each predict's ``return_logits``."""

    name, family, dtype = "band", "fake", "float32"
    capabilities = frozenset({"points"})

    def __init__(self, max_points: int | None = None):
        self.model = torch.nn.Linear(1, 1)
        self.device = torch.device("cpu")
        self.weights = WeightsInfo("random", seed=0)
        self.max_points = max_points
        self.return_logits: list[bool] = []

    def set_image(self, image):
        pass

    def predict(
        self,
        point_coords=None,
        point_labels=None,
        box=None,
        mask_input=None,
        multimask_output=True,
        return_logits=False,
    ):
        if self.max_points is not None and len(point_coords) > self.max_points:
            from samkit.errors import UnsupportedError

            raise UnsupportedError(f"band takes at most {self.max_points} points")
        self.return_logits.append(return_logits)
        logits = np.full((H, W), OUTSIDE, np.float32)
        logits[GT] = BAND
        logits[CORE_MASK] = CORE
        n = 3 if multimask_output else 1
        stack = np.stack([logits] + [np.full((H, W), OUTSIDE, np.float32)] * (n - 1))
        masks = stack if return_logits else stack > 0
        return masks, np.linspace(0.9, 0.5, n).astype(np.float32), np.zeros((n, 256, 256), np.float32)


def dataset(skipped: bool = False) -> list[Sample]:
    image = np.zeros((H, W, 3), np.uint8)
    skips = [{"object_id": "9", "reason": "tiny"}] if skipped else []
    return [Sample(image, GT[None], ["1"], "img", "toy", skipped=skips)]


def test_the_threshold_is_applied_to_the_logits():
    at_half = BandModel()
    rows = run_interactive(at_half, dataset(), max_clicks=3, warmup=False, progress=False)
    ok = rows[rows["status"] == "ok"]
    assert ok["iou"].tolist() == [mask_iou(GT, CORE_MASK)] * 3 and (ok["iou"] < 1).all()
    assert ok["oracle_iou"].dropna().tolist() == [mask_iou(GT, CORE_MASK)]
    assert at_half.return_logits == [False] * 3  # 0.5: the model's own masks, no logits asked for

    below = BandModel()
    rows = run_interactive(below, dataset(), max_clicks=3, mask_threshold=0.49, warmup=False, progress=False)
    ok = rows[rows["status"] == "ok"]
    assert (ok["iou"] == 1.0).all() and (ok["boundary_iou"] == 1.0).all()
    assert ok["oracle_iou"].dropna().tolist() == [1.0]
    assert below.return_logits == [True] * 3

    above = run_interactive(BandModel(), dataset(), max_clicks=1, mask_threshold=0.9, warmup=False, progress=False)
    assert above["iou"].tolist() == [mask_iou(GT, CORE_MASK)]  # sigmoid(6) = 0.9975 > 0.9


def test_every_row_carries_the_threshold():
    model = BandModel(max_points=2)
    rows = run_interactive(
        model, dataset(skipped=True), max_clicks=4, mask_threshold=0.49, warmup=False, progress=False
    )
    assert sorted(rows["status"].unique()) == ["ok", "skipped", "unsupported"]
    assert (rows["mask_threshold"] == 0.49).all()
    default = run_interactive(BandModel(), dataset(skipped=True), max_clicks=1, warmup=False, progress=False)
    assert (default["mask_threshold"] == MASK_THRESHOLD).all() and MASK_THRESHOLD == 0.5
    registry = get_protocol("interactive").run(
        BandModel(), dataset(), max_clicks=1, mask_threshold=0.49, progress=False
    )
    assert registry["mask_threshold"].tolist() == [0.49] and registry["iou"].tolist() == [1.0]


def test_resumed_rows_keep_their_own_threshold(tmp_path):
    path = tmp_path / "rows.parquet"
    run_interactive(BandModel(), dataset(), max_clicks=1, mask_threshold=0.49, out_path=path, progress=False)
    rows = run_interactive(BandModel(), dataset(), max_clicks=1, out_path=path, resume=True, progress=False)
    assert rows["mask_threshold"].tolist() == [0.49]  # the image was done: nothing rerun or restamped


def test_threshold_is_float32_sigmoid_strictly_above():
    """As RITM's ``pred_probs > pred_thr``: float32 probabilities (torch.sigmoid) against the
    threshold in float32; a probability equal to the threshold is out."""
    t = 0.7
    edge = float(np.log(t / (1 - t)))
    logits = np.array([[edge - 1e-3, edge + 1e-3, -100.0, 100.0]], np.float32)
    np.testing.assert_array_equal(_threshold(logits, t), [[False, True, False, True]])
    x = np.linspace(-0.1, 0.1, 20001, dtype=np.float32)
    ritm = torch.sigmoid(torch.from_numpy(x)).numpy() > 0.49
    np.testing.assert_array_equal(_threshold(x, 0.49), ritm)
    assert not _threshold(np.zeros(1, np.float32), 0.5).any()  # sigmoid(0) is exactly 0.5: not above
    assert (
        _threshold(np.full(1, 1.0, np.float32), 0.0).all() and not _threshold(np.full(1, 50.0, np.float32), 1.0).any()
    )


def test_threshold_values_are_checked():
    protocol = get_protocol("interactive")
    assert protocol.make_params(mask_threshold=0.49).mask_threshold == 0.49
    assert protocol.make_params(mask_threshold=1).mask_threshold == 1.0
    assert InteractiveParams().mask_threshold == 0.5
    for bad in (1.5, -0.1, float("nan"), True, "0.49"):
        with pytest.raises(ParameterError, match="mask_threshold must be a number in"):
            protocol.make_params(mask_threshold=bad)
        with pytest.raises(ValueError, match=r"mask_threshold must be a probability in \[0, 1\]"):
            run_interactive(BandModel(), dataset(), mask_threshold=bad, progress=False)


def test_a_real_model_agrees_with_its_own_masks_through_its_logits(random_model):
    """Just above 0.5 the logits path gives a real model's own masks (logits > 0) back."""
    model = random_model("mobile_sam")
    data = SyntheticDataset(num_images=1, size=(64, 80), max_shapes=2, seed=1)
    own = run_interactive(model, data, max_clicks=2, warmup=False, progress=False)
    logits = run_interactive(model, data, max_clicks=2, mask_threshold=0.5000001, warmup=False, progress=False)
    ok = own["status"] == "ok"
    assert ok.any()
    np.testing.assert_array_equal(own.loc[ok, "iou"].to_numpy(), logits.loc[ok, "iou"].to_numpy())
    assert (logits["mask_threshold"] == 0.5000001).all()
