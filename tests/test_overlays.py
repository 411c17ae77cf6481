import numpy as np
import pandas as pd
import pytest

from samkit.overlays import RANDOM_MASKS_NOTE, show_generated, show_prediction
from samkit.results import rows_to_frame
from samkit.viz import click_curves, figure_text

IMAGE = np.zeros((40, 60, 3), np.uint8)
MASKS = np.zeros((3, 40, 60), bool)
MASKS[:, 10:20, 10:30] = True


def test_show_prediction_labels_scores_and_random_weights():
    fig = show_prediction(IMAGE, MASKS, [0.9, 0.5, 0.1], points=[[15, 12]], labels=[1],
                          box=[5, 5, 40, 30], title="mobile_sam", weights="random(seed=0)")
    text = fig._suptitle.get_text()
    assert "mobile_sam" in text and "random(seed=0)" in text and RANDOM_MASKS_NOTE in text
    assert [ax.get_title() for ax in fig.axes] == ["mask 0: score 0.900", "mask 1: score 0.500",
                                                   "mask 2: score 0.100"]
    fig = show_prediction(IMAGE, MASKS[:1], [0.9], weights="pretrained(sha256=abc)")
    assert RANDOM_MASKS_NOTE not in fig._suptitle.get_text()


def test_show_generated_counts_masks():
    records = [{"segmentation": m, "area": int(m.sum())} for m in MASKS[:2]]
    fig = show_generated(IMAGE, records, title="auto", weights="random(seed=0)")
    assert "(2 masks)" in fig._suptitle.get_text()


def test_click_curves_has_one_line_per_model_and_the_random_banner():
    rows = rows_to_frame([
        dict(model=m, weights="random(seed=0)", device="cpu", dtype="float32", dataset="d",
             image_id="i", object_id="o", protocol="interactive", clicks=k, iou=0.1 * k, status="ok")
        for m in ("a", "b") for k in (1, 2, 3)])
    fig = click_curves(rows)
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2 + 2  # two models + two NoC threshold lines
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.1, 0.2, 0.3])
    assert "RANDOM WEIGHTS" in figure_text(fig)
    with pytest.raises(ValueError, match="no interactive rows"):
        click_curves(pd.DataFrame({"protocol": ["box"], "status": ["ok"]}))
