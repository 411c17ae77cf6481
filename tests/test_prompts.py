import numpy as np
import pytest

from samkit.errors import NotReadyError, PromptError
from samkit.prompts import validate_prompts

HW = (100, 200)  # H, W


def test_valid_prompts_are_normalised():
    p = validate_prompts(HW, [[0, 0], [199.5, 99.9]], [1, 0], [0, 0, 200, 100], np.zeros((256, 256)))
    assert p.point_coords.shape == (2, 2) and p.point_labels.tolist() == [1, 0]
    assert p.point_labels.dtype == np.int32
    assert p.box.shape == (4,) and p.mask_input.shape == (1, 256, 256)
    assert validate_prompts(HW, [10, 20], 1).point_coords.tolist() == [[10, 20]]
    assert validate_prompts(HW, box=[[1, 2, 3, 4]]).box.tolist() == [1, 2, 3, 4]


def test_coordinates_keep_their_precision():
    p = validate_prompts(HW, [[12.3456789, 50.000001]], [1])
    assert p.point_coords.dtype == np.float64
    assert p.point_coords[0, 0] == 12.3456789


@pytest.mark.parametrize("point", [[-1, 10], [200, 10], [10, 100], [10, -0.5], [250, 300]])
def test_point_outside_image(point):
    with pytest.raises(PromptError, match=r"outside the 200x100 \(WxH\) image"):
        validate_prompts(HW, [point], [1])


@pytest.mark.parametrize("labels", [[2], [-1], [0.5]])
def test_labels_must_be_zero_or_one(labels):
    with pytest.raises(PromptError, match="must be 1 \\(foreground\\) or 0 \\(background\\)"):
        validate_prompts(HW, [[5, 5]], labels)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(point_coords=[[1, 2]]), "given together"),
        (dict(point_labels=[1]), "given together"),
        (dict(point_coords=[[1, 2]], point_labels=[1, 0]), "must have shape \\(1,\\)"),
        (dict(point_coords=[[1, 2, 3]], point_labels=[1]), "shape \\(N, 2\\)"),
        (dict(point_coords=[[np.nan, 2]], point_labels=[1]), "NaN"),
        (dict(point_coords=[["a", "b"]], point_labels=[1]), "numeric"),
        (dict(box=[50, 10, 40, 20]), "x0 <= x1"),
        (dict(box=[10, 50, 40, 20]), "y0 <= y1"),
        (dict(box=[10, 10, 250, 20]), "outside the 200x100"),
        (dict(box=[-1, 10, 20, 20]), "outside the 200x100"),
        (dict(box=[1, 2, 3]), "shape \\(4,\\)"),
        (dict(box=[[1, 2, 3, 4], [1, 2, 3, 4]]), "one XYXY box"),
        (dict(mask_input=np.zeros((1, 64, 64))), "\\(1, 256, 256\\)"),
        ({}, "needs a prompt"),
    ],
)
def test_bad_prompts(kwargs, message):
    with pytest.raises(PromptError, match=message):
        validate_prompts(HW, **kwargs)


def test_prompt_errors_are_value_errors():
    assert issubclass(PromptError, ValueError)


def test_predict_before_set_image(random_model):
    model = random_model("mobile_sam")
    model.reset_image()
    with pytest.raises(NotReadyError, match="call set_image\\(image\\) before predict"):
        model.predict(point_coords=[[1, 1]], point_labels=[1])


def test_model_checks_prompts_against_its_image(random_model, photo):
    model = random_model("mobile_sam")
    model.set_image(photo)  # 120 x 180
    with pytest.raises(PromptError, match="outside the 180x120"):
        model.predict(point_coords=[[180, 5]], point_labels=[1])
    with pytest.raises(PromptError, match="x0 <= x1"):
        model.predict(box=[100, 0, 50, 50])
