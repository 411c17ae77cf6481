"""FastSAM (fastsam_s by default, fastsam_x slow): parity with ultralytics' own FastSAM, offline use.

Random weights saved in the official layout (ultralytics' ``strip_optimizer`` format, as the
released FastSAM-s.pt) go through samkit and through ``ultralytics.FastSAM(path)(image, points=...,
labels=..., bboxes=...)``; masks and scores must be identical. An untouched random YOLOv8-seg
gives (nearly) the same confidence and the same tiny mask for every anchor, so `_give_structure`
changes the file's weights first (BatchNorm variances, class-logit scale): varied confidences and
mask sizes, so that selection and ordering are really tested. The everything pass uses
``imgsz=256`` (a load option; the registry's input size stays 1024) to stay fast on a CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import samkit
from samkit.errors import CheckpointError, UnsupportedError
from samkit.registry import REGISTRY

EVERYTHING = dict(imgsz=256, conf=0.25, iou=0.7, retina_masks=True)
BOX = [40.0, 20.0, 150.0, 110.0]


def _give_structure(model: torch.nn.Module) -> torch.nn.Module:
    """Make a random YOLOv8-seg tell anchors apart (see the module docstring); in place."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_var.fill_(0.2)
        for branch in model.model[-1].cv3:  # class-logit branches of the Segment head
            branch[-1].weight.mul_(300.0)
            branch[-1].bias.zero_()
    return model


def _saved(tmp_path_factory, name: str):
    from samkit.models.fastsam import save_checkpoint

    model = samkit.load(name, weights="random", seed=0, device="cpu").model
    path = tmp_path_factory.mktemp(name) / f"{name}-random.pt"
    return save_checkpoint(_give_structure(model), path)


@pytest.fixture(scope="module")
def ckpt_s(tmp_path_factory):
    return _saved(tmp_path_factory, "fastsam_s")


@pytest.fixture(scope="module")
def ours_s(ckpt_s, photo):
    model = samkit.load("fastsam_s", checkpoint=ckpt_s, device="cpu", **EVERYTHING)
    model.set_image(photo)
    return model


@pytest.fixture(scope="module")
def theirs_s(ckpt_s):
    from ultralytics import FastSAM

    return FastSAM(str(ckpt_s))


def _upstream(theirs, photo, everything=EVERYTHING, **prompts):
    """ultralytics' own answer: (N, H, W) bool masks at the image size and (N,) confidences."""
    from ultralytics.utils.ops import scale_masks

    result = theirs(np.ascontiguousarray(photo[..., ::-1]), verbose=False, **everything, **prompts)[
        0
    ]  # ultralytics reads numpy images as BGR
    if len(result) == 0:
        return np.zeros((0, *photo.shape[:2]), bool), np.zeros(0, np.float32)
    masks = result.masks.data
    if tuple(masks.shape[1:]) != photo.shape[:2]:  # retina_masks=False: as FastSAMPredictor.prompt
        masks = scale_masks(masks[None].float(), photo.shape[:2])[0] > 0.5
    return masks.bool().numpy(), result.boxes.conf.numpy()


def _inside_point(model, index: int) -> list[float]:
    """A pixel of everything-mask ``index`` (its median foreground pixel, as (x, y))."""
    ys, xs = np.nonzero(model._predictor.masks[index].numpy())
    order = np.argsort(ys * 10_000 + xs)
    return [float(xs[order[len(order) // 2]]), float(ys[order[len(order) // 2]])]


def _prompt_cases(model):
    inside, other = _inside_point(model, 0), _inside_point(model, 3)
    return {
        "one point": dict(point_coords=[inside], point_labels=[1]),
        "point + background point": dict(point_coords=[inside, other], point_labels=[1, 0]),
        "background point only": dict(point_coords=[other], point_labels=[0]),
        "box": dict(box=BOX),
        "box + point": dict(box=BOX, point_coords=[other], point_labels=[1]),
    }


def _as_upstream(kwargs):
    out = {}
    if "box" in kwargs:
        out["bboxes"] = kwargs["box"]
    if "point_coords" in kwargs:
        out["points"], out["labels"] = kwargs["point_coords"], kwargs["point_labels"]
    return out


def test_everything_pass_has_varied_detections(ours_s):
    """Guard for the parity tests below: many detections with distinct scores and sizes."""
    pred = ours_s._predictor
    assert len(pred.result) >= 10
    assert len(np.unique(pred.result.boxes.conf.numpy())) >= 10
    assert len(np.unique(pred.masks.sum((1, 2)).numpy())) >= 10


def test_predict_matches_ultralytics_fastsam(ours_s, theirs_s, photo):
    for label, kwargs in _prompt_cases(ours_s).items():
        masks, scores, low = ours_s.predict(**kwargs, multimask_output=True)
        up_masks, up_scores = _upstream(theirs_s, photo, **_as_upstream(kwargs))
        assert len(up_masks) >= 1, label
        np.testing.assert_array_equal(masks, up_masks, err_msg=label)
        np.testing.assert_array_equal(scores, up_scores, err_msg=label)
        assert masks.dtype == bool and scores.dtype == np.float32 and low.dtype == np.float32
        assert low.shape == (len(masks), 256, 256)
        single = ours_s.predict(**kwargs, multimask_output=False)
        np.testing.assert_array_equal(single[0], up_masks[:1], err_msg=label)
        np.testing.assert_array_equal(single[1], up_scores[:1], err_msg=label)


def test_points_select_several_masks_and_scores_are_confidences(ours_s):
    masks, scores, _ = ours_s.predict(point_coords=[_inside_point(ours_s, 0)], point_labels=[1])
    assert len(masks) > 1  # every mask that holds the point
    assert np.all(np.diff(scores) <= 0) and np.all((scores > 0) & (scores <= 1))  # confidences, sorted


def test_retina_masks_false_matches_ultralytics(ckpt_s, theirs_s, photo):
    everything = {**EVERYTHING, "retina_masks": False}
    model = samkit.load("fastsam_s", checkpoint=ckpt_s, device="cpu", **everything)
    model.set_image(photo)
    for label, kwargs in _prompt_cases(model).items():
        masks, scores, _ = model.predict(**kwargs)
        up_masks, up_scores = _upstream(theirs_s, photo, everything, **_as_upstream(kwargs))
        np.testing.assert_array_equal(masks, up_masks, err_msg=label)
        np.testing.assert_array_equal(scores, up_scores, err_msg=label)
    assert len(model.generate(photo)) > 0


def test_generate_is_ultralytics_everything_mode(ours_s, theirs_s, photo):
    records = ours_s.generate(photo)
    up_masks, up_scores = _upstream(theirs_s, photo)
    keep = up_masks.any((1, 2))
    assert len(records) == keep.sum() >= 10
    for record, mask, score in zip(records, up_masks[keep], up_scores[keep]):
        assert set(record) == {
            "segmentation",
            "area",
            "bbox",
            "predicted_iou",
            "point_coords",
            "stability_score",
            "crop_box",
        }
        np.testing.assert_array_equal(record["segmentation"], mask)
        assert record["predicted_iou"] == pytest.approx(float(score))
        assert record["area"] == int(mask.sum())
        ys, xs = np.nonzero(mask)
        assert record["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min()]
        assert record["crop_box"] == [0, 0, 180, 120] and record["point_coords"] == []
        assert np.isnan(record["stability_score"])


def test_generate_params_and_rle(ours_s, photo):
    from pycocotools import mask as mask_utils

    strict = ours_s.generate(photo, conf=0.6)
    assert 0 < len(strict) < len(ours_s.generate(photo))
    assert all(r["predicted_iou"] >= 0.6 for r in strict)
    rle = ours_s.generate(photo, conf=0.6, output_mode="coco_rle")
    for a, b in zip(strict, rle):
        np.testing.assert_array_equal(mask_utils.decode(b["segmentation"]).astype(bool), a["segmentation"])
    with pytest.raises(TypeError, match="points_per_side.*imgsz, conf, iou"):
        ours_s.generate(photo, points_per_side=8)
    with pytest.raises(ValueError, match="conf must be a number in"):
        ours_s.generate(photo, conf=1.5)
    assert ours_s.is_image_set  # generate leaves the image set with set_image alone


def test_the_automatic_protocol_runs_fastsam_with_its_own_parameters(ours_s):
    """One sweep over grid and everything models: FastSAM gets ``everything``, not SAM's grid names."""
    import json

    from samkit.data import SyntheticDataset
    from samkit.eval import get_protocol

    data = SyntheticDataset(num_images=1, size=(96, 128), max_shapes=2, seed=0)
    rows = get_protocol("automatic").run(ours_s, data, progress=False, everything={"conf": 0.3})
    assert rows["status"].tolist() == ["ok"] and rows["prompt"].tolist() == ["everything"]
    assert json.loads(rows.iloc[0]["generate_params"]) == {"conf": 0.3}
    assert rows.iloc[0]["num_masks"] == len(ours_s.generate(data[0].image, conf=0.3))
    assert ours_s.is_image_set


def test_predict_boxes_is_one_box_at_a_time(ours_s):
    boxes = np.array([BOX, [0, 0, 60, 60], [100, 50, 179, 119]], dtype=float)
    masks, scores, low = ours_s.predict_boxes(boxes, multimask_output=True)
    assert masks.shape == (3, 1, 120, 180) and scores.shape == (3, 1) and low.shape == (3, 1, 256, 256)
    for i, box in enumerate(boxes):
        for a, b in zip((masks[i], scores[i], low[i]), ours_s.predict(box=box)):
            np.testing.assert_array_equal(a, b)


def test_logits_describe_the_masks(ours_s):
    kwargs = dict(point_coords=[_inside_point(ours_s, 0)], point_labels=[1])
    masks, _, low = ours_s.predict(**kwargs)
    logits, scores, low2 = ours_s.predict(**kwargs, return_logits=True)
    assert logits.dtype == np.float32 and logits.shape == masks.shape
    np.testing.assert_array_equal(low, low2)
    agree = ((logits > 0) == masks).mean()
    assert agree > 0.99  # ultralytics thresholds after its own resampling: a few boundary pixels differ
    import torch.nn.functional as F

    resized = F.interpolate(torch.from_numpy(logits)[None], (256, 256), mode="bilinear")[0].numpy()
    np.testing.assert_allclose(low, resized, rtol=1e-5, atol=1e-4)


def test_no_detection_gives_one_empty_mask_with_score_zero(ckpt_s, photo):
    from samkit.models.fastsam import OUTSIDE_LOGIT

    model = samkit.load("fastsam_s", checkpoint=ckpt_s, device="cpu", **{**EVERYTHING, "conf": 1.0})
    model.set_image(photo)
    assert len(model._predictor.result) == 0
    for kwargs in (dict(box=BOX), dict(point_coords=[[90, 60]], point_labels=[1])):
        masks, scores, low = model.predict(**kwargs)
        assert masks.shape == (1, 120, 180) and not masks.any()
        assert scores.tolist() == [0.0] and np.all(low == OUTSIDE_LOGIT)
    masks, scores, _ = model.predict_boxes([BOX, [0, 0, 50, 50]])
    assert masks.shape == (2, 1, 120, 180) and not masks.any() and not scores.any()
    assert model.generate(photo) == []


def test_mask_input_and_text_are_unsupported(ours_s):
    with pytest.raises(UnsupportedError, match="fastsam_s does not support mask_input.*sam_vit_b"):
        ours_s.predict(box=BOX, mask_input=np.zeros((1, 256, 256), np.float32))
    assert "mask_input" not in ours_s.capabilities and "text" not in ours_s.capabilities
    assert "fastsam_s" not in samkit.list_models(capability="mask_input")
    assert "fastsam_s" in samkit.list_models(capability="automatic")


def test_parameter_counts(ckpt_s, theirs_s, ours_s):
    """Unfused = the checkpoint's count (what ultralytics loads); fused = what it predicts with."""
    import copy

    spec = REGISTRY["fastsam_s"]
    unfused = sum(p.numel() for p in theirs_s.model.parameters())
    fused = sum(p.numel() for p in copy.deepcopy(theirs_s.model).fuse(verbose=False).parameters())
    assert ours_s.num_parameters() == unfused and ours_s.fused_num_parameters() == fused < unfused
    assert round(unfused / 1e6, 1) == round(fused / 1e6, 1) == spec.params_published_m  # 11.8M
    assert samkit.load("fastsam_s", weights="random", device="cpu").num_parameters() == unfused


def test_checkpoint_layout_and_safe_reading(ckpt_s, ours_s, tmp_path):
    import datetime

    ckpt = torch.load(ckpt_s, map_location="cpu", weights_only=False)  # our own file
    assert {"model", "train_args", "date", "version", "epoch", "optimizer", "ema"} <= set(ckpt)
    assert type(ckpt["model"]).__name__ == "SegmentationModel" and ckpt["epoch"] == -1
    assert next(ckpt["model"].parameters()).dtype == torch.float16  # as the released files
    # no SHA-256 is published for FastSAM's files: official is None ("cannot be told"), not False
    assert ours_s.weights.kind == "pretrained" and ours_s.weights.official is None
    evil = tmp_path / "evil.pt"
    torch.save({"model": datetime.date(2024, 1, 1)}, evil)  # a global outside the allow-list
    with pytest.raises(CheckpointError, match="safely"):
        samkit.load("fastsam_s", checkpoint=evil, device="cpu")
    flat = tmp_path / "flat.pt"
    torch.save({"w": torch.zeros(1)}, flat)
    with pytest.raises(CheckpointError, match="ultralytics layout"):
        samkit.load("fastsam_s", checkpoint=flat, device="cpu")


def test_load_options_are_checked(ckpt_s):
    with pytest.raises(TypeError, match="unknown option.*'points_per_side'.*imgsz=1024"):
        samkit.load("fastsam_s", weights="random", points_per_side=8)
    with pytest.raises(ValueError, match="iou must be a number in"):
        samkit.load("fastsam_s", weights="random", device="cpu", iou=2.0)
    with pytest.raises(ValueError, match="float32 only"):
        samkit.load("fastsam_s", weights="random", device="cpu", dtype="bfloat16")
    model = samkit.load("fastsam_s", weights="random", device="cpu", imgsz=320, conf=0.1)
    assert (model.imgsz, model.conf, model.iou, model.retina_masks) == (320, 0.1, 0.9, True)
    assert REGISTRY["fastsam_s"].input_size == 1024 == samkit.load("fastsam_s", weights="random", device="cpu").imgsz


_OFFLINE_SCRIPT = r"""
import json, os, socket, subprocess, sys
calls = []
def deny(*args, **kwargs):
    calls.append(["network", repr(args[:2])])
    raise OSError("network access attempted (blocked by the test)")
socket.getaddrinfo = deny
socket.create_connection = deny
socket.gethostbyname = deny
class RecordingPopen(subprocess.Popen):
    def __init__(self, args, *rest, **kwargs):
        calls.append(["process", repr(args)])
        super().__init__(args, *rest, **kwargs)
subprocess.Popen = RecordingPopen

import numpy as np
import samkit
model = samkit.load("fastsam_s", weights="random", device="cpu", imgsz=64, conf=0.001)
image = np.zeros((48, 64, 3), np.uint8)
image[10:30, 20:40] = 200
model.set_image(image)
model.predict(point_coords=[[30, 20]], point_labels=[1])
model.predict_boxes([[0, 0, 40, 40]])
model.generate(image, imgsz=64)
from samkit.models.fastsam import save_checkpoint
path = save_checkpoint(model.model, os.path.join(sys.argv[1], "f.pt"))
samkit.load("fastsam_s", checkpoint=path, device="cpu", imgsz=64).set_image(image)
import ultralytics.utils as utils, ultralytics.utils.checks as checks, ultralytics.utils.events as events
print(json.dumps({"calls": calls, "online": utils.ONLINE, "autoinstall": checks.AUTOINSTALL,
                  "events": events.events.enabled, "settings": str(utils.SETTINGS.file)}))
"""


def test_ultralytics_is_used_offline_without_installs(tmp_path):
    """In a fresh process: no DNS look-up or connection, no pip/uv/apt/git process, a private settings file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOLO_")}
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        OMP_NUM_THREADS="1",
    )
    out = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT, str(tmp_path)], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert [c for c in report["calls"] if c[0] == "network"] == []
    processes = [c[1] for c in report["calls"] if c[0] == "process"]  # e.g. ctypes' ldconfig -p
    assert not [p for p in processes if any(w in p for w in ("pip", "install", "uv", "apt", "git"))]
    assert report["online"] is False and report["autoinstall"] is False and report["events"] is False
    assert report["settings"].startswith(str(tmp_path / "cache" / "samkit" / "ultralytics"))


def test_import_samkit_does_not_import_ultralytics():
    code = "import sys, samkit; samkit.list_models(); print('ultralytics' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_fastsam_x_matches_ultralytics(tmp_path_factory, photo):
    from ultralytics import FastSAM

    path = _saved(tmp_path_factory, "fastsam_x")
    ours = samkit.load("fastsam_x", checkpoint=path, device="cpu", **EVERYTHING)
    ours.set_image(photo)
    theirs = FastSAM(str(path))
    assert len(ours._predictor.result) >= 3
    for label, kwargs in _prompt_cases(ours).items():
        masks, scores, _ = ours.predict(**kwargs)
        up_masks, up_scores = _upstream(theirs, photo, **_as_upstream(kwargs))
        np.testing.assert_array_equal(masks, up_masks, err_msg=label)
        np.testing.assert_array_equal(scores, up_scores, err_msg=label)
    assert ours.num_parameters() == sum(p.numel() for p in theirs.model.parameters())


@pytest.mark.slow
def test_wrong_size_checkpoint_names_the_right_model(ckpt_s):
    with pytest.raises(CheckpointError, match="looks like a checkpoint for 'fastsam_s'"):
        samkit.load("fastsam_x", checkpoint=ckpt_s, device="cpu")
