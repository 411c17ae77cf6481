import numpy as np
import pandas as pd
import pytest

from samkit.eval.interactive import click_curve_table, click_curves
from samkit.overlays import show_generated, show_prediction
from samkit.plotting import figure_text
from samkit.rows import rows_to_frame, weights_columns
from samkit.weights import WeightsInfo
from samkit.wording import RANDOM_WEIGHTS_WARNING

IMAGE = np.zeros((40, 60, 3), np.uint8)
MASKS = np.zeros((3, 40, 60), bool)
MASKS[:, 10:20, 10:30] = True
RANDOM = WeightsInfo(kind="random", seed=0)
PRETRAINED = WeightsInfo(kind="pretrained", sha256="abc" + "0" * 61, official=True)


def test_show_prediction_labels_scores_and_random_weights():
    fig = show_prediction(
        IMAGE,
        MASKS,
        [0.9, 0.5, 0.1],
        points=[[15, 12]],
        labels=[1],
        box=[5, 5, 40, 30],
        title="mobile_sam",
        weights=RANDOM,
    )
    text = fig._suptitle.get_text()
    assert "mobile_sam" in text and "random(seed=0)" in text and RANDOM_WEIGHTS_WARNING in text
    assert [ax.get_title() for ax in fig.axes] == ["mask 0: score 0.900", "mask 1: score 0.500", "mask 2: score 0.100"]
    fig = show_prediction(IMAGE, MASKS[:1], [0.9], weights=PRETRAINED)
    assert RANDOM_WEIGHTS_WARNING not in fig._suptitle.get_text()
    assert "pretrained(sha256=abc" in fig._suptitle.get_text()


def test_overlays_read_the_kind_never_the_string():
    fig = show_prediction(IMAGE, MASKS[:1], [0.9], weights="random(seed=0)", weights_kind="random")
    assert RANDOM_WEIGHTS_WARNING in fig._suptitle.get_text()
    fig = show_prediction(IMAGE, MASKS[:1], [0.9], weights="random-looking text")
    text = fig._suptitle.get_text()
    assert "random-looking text" in text and RANDOM_WEIGHTS_WARNING not in text


def test_show_generated_counts_masks():
    records = [{"segmentation": m, "area": int(m.sum())} for m in MASKS[:2]]
    fig = show_generated(IMAGE, records, title="auto", weights=RANDOM)
    assert "(2 masks)" in fig._suptitle.get_text()
    assert RANDOM_WEIGHTS_WARNING in fig._suptitle.get_text()


def test_click_curves_has_one_line_per_model_and_the_random_banner():
    rows = rows_to_frame(
        [
            dict(
                model=m,
                **weights_columns(RANDOM),
                device="cpu",
                dtype="float32",
                dataset="d",
                image_id="i",
                object_id=o,
                protocol="interactive",
                clicks=k,
                iou=0.1 * k + shift,
                status="ok",
            )
            for m in ("a", "b")
            for k in (3, 1, 2)
            for o, shift in (("o", 0.0), ("p", 0.2))
        ]
    )
    table = click_curve_table(rows)
    assert list(table["model"]) == ["a"] * 3 + ["b"] * 3
    assert list(table["clicks"]) == [1, 2, 3, 1, 2, 3]  # sorted by clicks within a configuration
    np.testing.assert_allclose(table["mIoU"], [0.2, 0.3, 0.4] * 2)  # mean over the two objects
    assert set(table["objects"]) == {2} and set(table["weights_kind"]) == {"random"}
    fig = click_curves(table)
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2 + 2  # two models + two NoC threshold lines
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.2, 0.3, 0.4])
    assert RANDOM_WEIGHTS_WARNING in figure_text(fig)
    assert "a (random, cpu, float32)" in figure_text(fig)
    with pytest.raises(ValueError, match="no interactive rows"):
        click_curves(click_curve_table(pd.DataFrame({"protocol": ["box"], "status": ["ok"]})))
    with pytest.raises(TypeError, match="samkit.eval.interactive.click_curve_table"):
        click_curves(rows)


def test_show_instances_draws_boxes_labels_and_says_when_empty():
    from samkit.overlays import show_instances
    from samkit.pipelines import PipelineResult, SegmentedObject

    objects = [
        SegmentedObject("a dog", 0.9, [10, 10, 30, 20], MASKS[0], 0.8),
        SegmentedObject("a cat", 0.4, [2, 2, 8, 8], MASKS[1], 0.7),
    ]
    fig = show_instances(IMAGE, PipelineResult(objects, (40, 60), 1.0, 2.0, 3.0), title="t", weights=RANDOM)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["a dog 0.90", "a cat 0.40"]
    assert len(ax.patches) == 2 and "(2 instances)" in fig._suptitle.get_text()
    assert RANDOM_WEIGHTS_WARNING in fig._suptitle.get_text()
    empty = show_instances(IMAGE, PipelineResult([], (40, 60), 1.0, float("nan"), float("nan")))
    assert [t.get_text() for t in empty.axes[0].texts] == ["no instances found"]
    with pytest.raises(ValueError, match="show_instances"):
        show_prediction(IMAGE, MASKS[:0], [])
