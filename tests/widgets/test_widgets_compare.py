"""CompareWidget from Python: the same prompts to several models, masks against predict, IoU
against the reference, undo/clear, errors, the summary table."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("anywidget", reason="the widgets need anywidget")

from samkit.masks import decode_png  # noqa: E402
from samkit.metrics import mask_iou  # noqa: E402
from samkit.widgets import CompareWidget  # noqa: E402

POINT = (90.0, 60.0)
BOX = [40.0, 20.0, 150.0, 110.0]


@pytest.fixture(scope="module")
def shared_widget(random_model, photo):
    """mobile_sam (a loaded model) and sam2.1_hiera_tiny (given by name, loaded with load_kwargs)."""
    return CompareWidget(
        [random_model("mobile_sam"), "sam2.1_hiera_tiny"],
        photo,
        load_kwargs={"weights": "random", "device": "cpu", "seed": 0},
    )


@pytest.fixture
def widget(shared_widget):
    w = shared_widget
    w.reset()
    w.reference = "mobile_sam"
    w.multimask = True
    w.error = ""
    return w


def _best(model, multimask=True, **prompts):
    masks, scores, _ = model.predict(**prompts, multimask_output=multimask)
    best = int(np.argmax(scores))
    return masks[best], float(scores[best])


def test_initial_state(widget):
    assert widget.labels == ["mobile_sam", "sam2.1_hiera_tiny"]
    assert widget.reference == "mobile_sam"
    assert widget.models["sam2.1_hiera_tiny"].weights.kind == "random"
    assert [p["label"] for p in widget.panels] == widget.labels
    for panel in widget.panels:
        assert panel["encoder_ms"] > 0 and panel["decoder_ms"] is None and panel["iou"] is None
        assert panel["random_weights"] and "meaningless" in panel["weights"]
    assert widget.masks == {} and widget.mask_pngs == [b"", b""]


def test_same_prompts_to_every_model(widget):
    widget.add_point(*POINT)
    widget.set_box(BOX)
    prompts = {"point_coords": [POINT], "point_labels": [1], "box": BOX}
    for label, model in widget.models.items():
        mask, score = _best(model, **prompts)
        np.testing.assert_array_equal(widget.masks[label], mask)
        assert widget.scores[label] == pytest.approx(score)
    ref = widget.masks["mobile_sam"]
    assert widget.ious == {label: pytest.approx(mask_iou(ref, m)) for label, m in widget.masks.items()}
    assert widget.ious["mobile_sam"] == 1.0
    by_label = {p["label"]: p for p in widget.panels}
    for label in widget.labels:
        assert by_label[label]["iou"] == pytest.approx(widget.ious[label])
        assert by_label[label]["decoder_ms"] > 0
        assert by_label[label]["area"] == pytest.approx(widget.masks[label].mean())
    for png, label in zip(widget.mask_pngs, widget.labels):
        np.testing.assert_array_equal(decode_png(png), widget.masks[label])


def test_single_mask_mode(widget):
    widget.multimask = False
    widget.add_point(*POINT)
    for label, model in widget.models.items():
        mask, _ = _best(model, multimask=False, point_coords=[POINT], point_labels=[1])
        np.testing.assert_array_equal(widget.masks[label], mask)


def test_reference_switch_recomputes_iou_without_predicting(widget, monkeypatch):
    widget.add_point(*POINT)
    calls = []
    for model in widget.models.values():
        original = model.predict
        monkeypatch.setattr(model, "predict", lambda _o=original, **kw: calls.append(1) or _o(**kw))
    widget.reference = "sam2.1_hiera_tiny"
    assert calls == []
    ref = widget.masks["sam2.1_hiera_tiny"]
    assert widget.ious["mobile_sam"] == pytest.approx(mask_iou(ref, widget.masks["mobile_sam"]))
    assert {p["label"]: p["iou"] for p in widget.panels}["sam2.1_hiera_tiny"] == 1.0
    widget.reference = "nope"  # as a stale browser might send
    assert widget.reference == "sam2.1_hiera_tiny" and "nope" in widget.error


def test_undo_clear_and_messages(widget):
    widget.add_point(*POINT)
    first = {k: v.copy() for k, v in widget.masks.items()}
    widget.add_point(20, 20, positive=False)
    widget.undo()
    assert len(widget.points) == 1
    for label, mask in first.items():
        np.testing.assert_array_equal(widget.masks[label], mask)
    widget._handle_custom_msg({"event": "clear"}, [])
    assert widget.points == [] and widget.masks == {} and widget.mask_pngs == [b"", b""]
    assert all(p["iou"] is None for p in widget.panels)
    widget._handle_custom_msg({"event": "undo"}, [])
    assert len(widget.points) == 1 and set(widget.masks) == set(widget.labels)


def test_invalid_prompt_sets_error(widget):
    widget.add_point(*POINT)
    widget.add_point(500, 10)
    assert "outside" in widget.error and widget.masks == {}
    widget.undo()
    assert widget.error == "" and set(widget.masks) == set(widget.labels)


def test_table(widget):
    widget.add_point(*POINT)
    table = widget.table()
    assert list(table["label"]) == widget.labels
    assert {"model", "weights", "device", "encoder_ms", "decoder_ms", "score", "iou_vs_reference", "reference"} <= set(
        table.columns
    )
    assert (table["weights"] == "random(seed=0)").all()
    assert table.set_index("label").loc["mobile_sam", "iou_vs_reference"] == 1.0


def test_duplicate_models_get_distinct_labels_and_bad_reference_fails(random_model, photo):
    model = random_model("mobile_sam")
    with pytest.raises(ValueError, match="reference"):
        CompareWidget([model], photo, reference="sam_vit_h")
    with pytest.raises(ValueError, match="at least one"):
        CompareWidget([], photo)
    w = CompareWidget([model, model], photo, reference="mobile_sam#2")
    assert w.labels == ["mobile_sam", "mobile_sam#2"] and w.reference == "mobile_sam#2"
    w.add_point(*POINT)
    np.testing.assert_array_equal(w.masks["mobile_sam"], w.masks["mobile_sam#2"])
    assert w.ious == {"mobile_sam": 1.0, "mobile_sam#2": 1.0}


def test_assets():
    assert "export default" in CompareWidget._esm and "samkit-compare" in CompareWidget._esm
    assert ".samkit-compare" in CompareWidget._css and ".samkit-weights" in CompareWidget._css
