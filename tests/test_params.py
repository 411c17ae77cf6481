"""Parameters are checked where they enter: the checkers, generate, predict, protocols and the CLI."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from samkit.errors import ParameterError
from samkit.params import ParameterSpec, check_bool, check_choice, check_fraction, check_int, check_number


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check_fraction("pred_iou_thresh", 88), "pred_iou_thresh must be a number in [0, 1], got 88"),
        (lambda: check_fraction("t", "high"), "t must be a number in [0, 1], got 'high' (a str)"),
        (lambda: check_fraction("t", True), "t must be a number in [0, 1], got True"),
        (lambda: check_number("x", float("nan")), "x must be a number (finite), got nan"),
        (lambda: check_number("x", 0.0, low=0, low_open=True), "x must be a number > 0, got 0.0"),
        (
            lambda: check_int("k", "8.5", low=1, allow_none=True),
            "k must be an integer >= 1 (or None), got '8.5' (a str)",
        ),
        (lambda: check_int("k", 8.5, low=1), "k must be an integer >= 1, got 8.5"),
        (lambda: check_int("k", 0, low=1, high=3), "k must be an integer in [1, 3], got 0"),
        (lambda: check_bool("b", 1), "b must be True or False, got 1"),
        (lambda: check_bool("b", "false"), "b must be True or False, got 'false' (a str)"),
        (lambda: check_choice("mode", "png", ("a", "b")), "mode must be one of 'a', 'b'; got 'png' (a str)"),
    ],
)
def test_checkers_name_the_parameter_value_and_range(call, message):
    with pytest.raises(ParameterError) as err:
        call()
    assert str(err.value) == message
    assert isinstance(err.value, ValueError) and isinstance(err.value, TypeError)


def test_checkers_return_canonical_types():
    assert check_int("k", 8.0) == 8 and type(check_int("k", np.int64(3))) is int
    assert check_int("k", None, allow_none=True) is None
    assert check_fraction("t", 1) == 1.0 and type(check_fraction("t", np.float32(0.5))) is float
    assert check_bool("b", np.bool_(True)) is True
    table = {"n": ParameterSpec.integer(low=1), "t": ParameterSpec.fraction()}
    assert ParameterSpec.check_all(table, {"n": 2.0, "t": 0, "other": "x"}) == {"n": 2, "t": 0.0, "other": "x"}


@pytest.fixture()
def mobile(random_model):
    """The cached mobile_sam, no image set: every check here runs before any model work."""
    return random_model("mobile_sam")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"points_per_side": "8.5"}, "points_per_side must be an integer >= 1 (or None), got '8.5'"),
        ({"pred_iou_thresh": "high"}, "pred_iou_thresh must be a number in [0, 1], got 'high'"),
        ({"pred_iou_thresh": 88}, "pred_iou_thresh must be a number in [0, 1], got 88"),
        ({"stability_score_thresh": -0.1}, "stability_score_thresh must be a number in [0, 1], got -0.1"),
        ({"points_per_batch": 0}, "points_per_batch must be an integer >= 1, got 0"),
        ({"crop_n_layers": 1.5}, "crop_n_layers must be an integer >= 0, got 1.5"),
        ({"crop_overlap_ratio": 1.0}, "crop_overlap_ratio must be a number in [0, 1), got 1.0"),
        ({"output_mode": "png"}, "output_mode must be one of 'binary_mask', 'uncompressed_rle', 'coco_rle'"),
        ({"multimask_output": "yes"}, "multimask_output must be True or False, got 'yes'"),
    ],
)
def test_generate_refuses_bad_parameters_before_any_work(mobile, photo, params, message, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the generator was built")

    monkeypatch.setattr("samkit.models.grid_generator.GridMaskGenerator.generate", no_work)
    with pytest.raises(ParameterError, match=re.escape(f"mobile_sam.generate(): {message}")):
        mobile.generate(photo, **params)


def test_generate_checks_the_upstream_generators_parameters_too(mobile, photo):
    with pytest.raises(ParameterError, match=re.escape("pred_iou_thresh must be a number in [0, 1], got 88")):
        mobile.generate(photo, engine="upstream", pred_iou_thresh=88)


def test_generate_engine_and_unknown_names_are_named(mobile, photo):
    with pytest.raises(ParameterError, match="engine must be one of 'samkit', 'upstream'; got 'fast'"):
        mobile.generate(photo, engine="fast")
    with pytest.raises(TypeError, match="unknown parameter\\(s\\) \\['points'\\]"):
        mobile.generate(photo, points=4)


def test_fastsam_everything_parameters_are_checked(random_model, photo):
    fastsam = random_model("fastsam_s")
    with pytest.raises(ParameterError, match="conf must be a number in \\[0, 1\\], got 40"):
        fastsam.generate(photo, conf=40)
    with pytest.raises(ParameterError, match="imgsz must be an integer >= 32, got 'big'"):
        fastsam.generate(photo, imgsz="big")
    with pytest.raises(ParameterError, match="retina_masks must be True or False"):
        fastsam.generate(photo, retina_masks="no")
    with pytest.raises(TypeError, match="unknown parameter\\(s\\) \\['points_per_side'\\]"):
        fastsam.generate(photo, points_per_side=8)


def test_predict_flags_are_booleans(mobile):
    with pytest.raises(ParameterError, match="multimask_output must be True or False, got 'no'"):
        mobile.predict(point_coords=[[9, 9]], point_labels=[1], multimask_output="no")
    with pytest.raises(ParameterError, match="return_logits must be True or False, got 1"):
        mobile.predict(point_coords=[[9, 9]], point_labels=[1], return_logits=1)
    with pytest.raises(ParameterError, match="multimask_output must be True or False"):
        mobile.predict_boxes([[0, 0, 9, 9]], multimask_output="yes")
    with pytest.raises(ParameterError, match="multimask_output must be True or False"):
        mobile.predict_points([[[9, 9]]], [[1]], multimask_output=None)


@pytest.mark.parametrize(
    ("protocol", "params", "message"),
    [
        ("interactive", {"max_clicks": "many"}, "interactive protocol: max_clicks must be an integer >= 1"),
        ("interactive", {"max_clicks": 0}, "max_clicks must be an integer >= 1, got 0"),
        ("interactive", {"feedback": "yes"}, "feedback must be one of 'none', 'logits'"),
        ("interactive", {"warmup": "false"}, "warmup must be True or False, got 'false'"),
        ("text", {"box_threshold": 35}, "text protocol: box_threshold must be a number in [0, 1], got 35"),
        ("text", {"detector": 3}, "detector must be a string, got 3"),
        ("detector_boxes", {"score_threshold": -1}, "score_threshold must be a number in [0, 1], got -1"),
        ("video_benchmark", {"lengths": [8, 0]}, "lengths[1] must be an integer >= 1, got 0"),
        ("video_benchmark", {"lengths": 8}, "lengths must be a list of integers >= 1, got 8"),
        ("benchmark", {"phases": ["set_image", "fast"]}, "phases[1] must be one of"),
        ("automatic", {"generate": "dense"}, "generate must be a mapping of names to values"),
    ],
)
def test_protocol_parameters_are_checked_with_their_names(protocol, params, message):
    from samkit.eval import get_protocol

    with pytest.raises(ParameterError, match=re.escape(message)):
        get_protocol(protocol).make_params(**params)


def test_protocol_parameters_come_back_in_their_canonical_types():
    from samkit.eval import get_protocol

    params = get_protocol("video_benchmark").make_params(lengths=(8.0, 16), offload_state_to_cpu=[np.bool_(True)])
    assert params.lengths == [8, 16] and all(type(n) is int for n in params.lengths)
    assert params.offload_state_to_cpu == [True]
    assert get_protocol("detector_boxes").make_params(score_threshold=0).score_threshold == 0.0


def test_automatic_protocol_fails_once_on_a_bad_generate_parameter(random_model, tmp_path):
    from samkit.data.synthetic import SyntheticDataset
    from samkit.eval import get_protocol

    model = random_model("mobile_sam")
    with pytest.raises(ParameterError, match="pred_iou_thresh must be a number in \\[0, 1\\], got 88"):
        get_protocol("automatic").run(
            model, SyntheticDataset(num_images=2, size=(64, 80)), generate={"pred_iou_thresh": 88}, progress=False
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "0"], "argument --port: must be an integer in [1, 65535], got 0"),
        (["--port", "http"], "argument --port: must be an integer in [1, 65535], got 'http' (a str)"),
        (["--cache-mib", "-5"], "argument --cache-mib: must be a number > 0, got -5.0"),
        (["--seed", "-1"], "argument --seed: must be an integer >= 0, got -1"),
    ],
)
def test_cli_names_the_option_value_and_range(args, message):
    out = subprocess.run(
        [sys.executable, "-m", "samkit.cli", "serve", "--model", "mobile_sam", *args], capture_output=True, text=True
    )
    assert out.returncode == 2 and message in out.stderr
