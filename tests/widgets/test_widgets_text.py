"""Text prompts in the widgets: `SegmentWidget.set_text` / the text box message on SAM 3 (native
text) and on mobile_sam with a tiny Grounding DINO, against a direct ``model.predict_text``; what
goes to the browser; text/click exclusivity; errors; `CompareWidget` with models with and without
text. Random weights: the instances are meaningless, only their agreement with the model is tested."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("anywidget", reason="the widgets need anywidget")

import samkit  # noqa: E402
from samkit.masks import decode_png, encode_rle  # noqa: E402
from samkit.widgets import CompareWidget, SegmentWidget  # noqa: E402

# pycocotools' decode under numpy 2
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

TEXT = "a cat. a dog."
SAM3_THRESHOLDS = {"box_threshold": 0.0, "text_threshold": 0.0}  # random sam3 scores are ~0.25
# random tiny Grounding DINO scores are near 1: 0.9999 keeps a few boxes (each costs a decode)
DINO_THRESHOLDS = {"box_threshold": 0.9999, "text_threshold": 0.0}
POINT = (90.0, 60.0)


@pytest.fixture(scope="module")
def sam3():
    return samkit.load("sam3", weights="random", config="tiny", device="cpu", seed=0)


@pytest.fixture(scope="module")
def grounded():
    """mobile_sam with a tiny random Grounding DINO attached (its own instance: the shared
    ``random_model("mobile_sam")`` stays without text)."""
    return samkit.load(
        "mobile_sam",
        weights="random",
        seed=0,
        device="cpu",
        text_detector="grounding_dino_tiny",
        text_detector_options={"config": "tiny"},
    )


@pytest.fixture(scope="module")
def sam3_widget(sam3, photo):
    return SegmentWidget(sam3, photo, model_names=["sam3", "mobile_sam"])


@pytest.fixture
def widget(sam3_widget, sam3):
    w = sam3_widget
    if w.model_name != "sam3":
        w.model_name = "sam3"
    w.reset()
    w.box_threshold = w.text_threshold = None
    w.error = ""
    assert w.model is sam3 and w.text is None
    return w


def _assert_same_result(widget, result):
    """The widget's state (Python side and the traits the browser gets) is ``result``'s."""
    got = widget.text_result
    assert got is not None and len(got) == len(result) > 0
    np.testing.assert_array_equal(widget.masks, result.masks)
    np.testing.assert_array_equal(got.boxes, result.boxes)
    assert got.labels == result.labels
    np.testing.assert_allclose(widget.scores, result.scores, rtol=1e-6)
    # the browser: one 1-bit PNG per instance, decoding to its mask; boxes as plain numbers
    assert len(widget.mask_pngs) == len(result)
    for png, mask in zip(widget.mask_pngs, result.masks):
        np.testing.assert_array_equal(decode_png(png), mask)
    assert [i["label"] for i in widget.instances] == result.labels
    np.testing.assert_allclose([i["box"] for i in widget.instances], result.boxes, atol=0.01)
    np.testing.assert_allclose([i["score"] for i in widget.instances], result.scores, rtol=1e-6)
    assert all(isinstance(v, float) for i in widget.instances for v in i["box"])
    assert widget.error == "" and f"{len(result)} instance" in widget.status


# ----------------------------------------------------------------------------- SegmentWidget
def test_text_box_shown_for_text_models(widget, grounded):
    assert widget.text_enabled and widget.text_hint == "" and widget.text_source == "native"
    assert "text" in grounded.capabilities and grounded.text_source == "detector:grounding_dino_tiny"


def test_sam3_text_matches_predict_text(widget, sam3):
    widget.set_text(TEXT, **SAM3_THRESHOLDS)
    assert widget.text == TEXT and widget.box_threshold == 0.0 and widget.text_mode
    _assert_same_result(widget, sam3.predict_text(TEXT, **SAM3_THRESHOLDS))
    assert widget.detect_ms is None  # SAM 3 has no separate detector stage
    assert widget.selected == 0
    np.testing.assert_array_equal(widget.mask, widget.masks[0])  # the most confident instance
    # exports work on the instances
    np.testing.assert_array_equal(decode_png(widget.to_png(index=1)), widget.masks[1])
    assert widget.to_coco_rle(index=1) == encode_rle(widget.masks[1])


def test_detector_text_matches_predict_text(grounded, photo):
    w = SegmentWidget(grounded, photo, model_names=["mobile_sam"])
    assert w.text_enabled and w.text_source == "detector:grounding_dino_tiny"
    w.set_text(TEXT, **DINO_THRESHOLDS)
    result = grounded.predict_text(TEXT, **DINO_THRESHOLDS)
    _assert_same_result(w, result)
    assert w.detect_ms is not None and w.detect_ms > 0
    # nothing above the threshold: a status line, no error, no masks
    w.set_text("a cat", box_threshold=1.0)
    assert w.error == "" and "no instances found" in w.status
    assert w.masks.shape == (0, 120, 180) and w.mask_pngs == [] and w.instances == []
    assert w.text_result is not None and len(w.text_result) == 0
    # a box model the dropdown loads gets the same detector, so text keeps working
    other = samkit.load("mobile_sam", weights="random", seed=0, device="cpu")
    w._share_text_detector(other)
    assert other.text_detector is grounded.text_detector and "text" in other.capabilities


class Recorder:
    """Stands in for the widget's comm and keeps every message the kernel would send."""

    comm_id = "recorder"
    kernel = object()

    def __init__(self) -> None:
        self.sent: list[tuple[dict, list]] = []

    def send(self, data=None, buffers=None, **_):
        self.sent.append((data, list(buffers or [])))

    def on_msg(self, callback):
        pass

    def close(self, *_, **__):
        pass


def test_text_query_on_the_wire(widget, sam3):
    """What the kernel sends for a text query: mask PNGs as binary buffers (decoding to the
    instance masks), boxes/labels/scores as strict JSON (no NaN), never the image."""
    import json

    recorder, comm = Recorder(), widget.comm
    widget.comm = recorder
    try:
        widget.set_text(TEXT, **SAM3_THRESHOLDS)
    finally:
        widget.comm = comm
    result = sam3.predict_text(TEXT, **SAM3_THRESHOLDS)
    sent_pngs: dict[int, bytes] = {}
    instances = None
    for data, buffers in recorder.sent:
        assert "image" not in data["state"]
        json.dumps(data, allow_nan=False)  # the browser's JSON.parse rejects NaN
        for path, buffer in zip(data.get("buffer_paths", []), buffers):
            if path[0] == "mask_pngs":
                sent_pngs[path[1]] = bytes(buffer)
        instances = data["state"].get("instances", instances)
    assert sorted(sent_pngs) == list(range(len(result)))
    for i, mask in enumerate(result.masks):
        np.testing.assert_array_equal(decode_png(sent_pngs[i]), mask)
    np.testing.assert_allclose([i["box"] for i in instances], result.boxes, atol=0.01)


def test_text_message_from_the_browser(widget, sam3):
    """The text box sends {"event": "text", ...} with thresholds as the inputs' strings."""
    widget._handle_custom_msg({"event": "text", "text": TEXT, "box_threshold": "0", "text_threshold": ""}, [])
    assert widget.box_threshold == 0.0 and widget.text_threshold is None
    _assert_same_result(widget, sam3.predict_text(TEXT, box_threshold=0.0))
    widget._handle_custom_msg({"event": "text", "text": TEXT, "box_threshold": "1.5"}, [])
    assert "[0, 1]" in widget.error
    widget._handle_custom_msg({"event": "clear_text"}, [])
    assert widget.text is None and widget.masks.shape[0] == 0 and widget.instances == []
    assert widget.text_result is None and widget.status == ""


def test_text_and_clicks_do_not_mix(widget, sam3):
    widget.add_point(*POINT)
    click_masks = widget.masks.copy()
    widget.set_text(TEXT, **SAM3_THRESHOLDS)
    assert widget.points == [] and widget.box is None  # the text query removed the click
    assert len(widget.instances) == len(widget.masks) > 0
    widget.undo()  # back to the click, out of text mode
    assert widget.text is None and widget.points == [[POINT[0], POINT[1], 1]]
    np.testing.assert_array_equal(widget.masks, click_masks)
    assert widget.instances == [] and widget.text_result is None
    widget.set_text(TEXT, **SAM3_THRESHOLDS)
    widget.set_box(40, 20, 150, 110)  # a box ends the text query
    assert widget.text is None and widget.instances == [] and widget.masks.shape[0] == 3
    widget.set_text(TEXT, **SAM3_THRESHOLDS)
    widget.clear()  # Clear ends it too
    assert widget.text is None and widget.masks.shape[0] == 0


def test_one_text_prediction_per_query(widget, monkeypatch):
    calls = []
    original = widget.model.predict_text
    monkeypatch.setattr(widget.model, "predict_text", lambda *a, **kw: calls.append(kw) or original(*a, **kw))
    widget.add_point(*POINT)
    widget.set_text(TEXT, **SAM3_THRESHOLDS)  # clears the point and sets 3 traits: one query
    assert len(calls) == 1 and calls[0] == SAM3_THRESHOLDS
    widget.set_text(TEXT, **SAM3_THRESHOLDS)  # the same query again: nothing to do
    assert len(calls) == 1


@pytest.mark.parametrize("text", ["", "  ", " . "])
def test_empty_text_shows_error(widget, text):
    widget.set_text(TEXT, **SAM3_THRESHOLDS)
    widget.set_text(text)
    assert "empty" in widget.error
    assert widget.masks.shape[0] == 0 and widget.mask_pngs == [] and widget.instances == []
    with pytest.raises(TypeError, match="string"):
        widget.set_text(None)


def test_model_without_text(widget, sam3):
    """Switched to a model without text: no text box, a hint, and a text query is an error."""
    widget.set_text(TEXT, **SAM3_THRESHOLDS)
    widget.model_name = "mobile_sam"  # loaded with random weights, no text detector
    assert widget.model.name == "mobile_sam" and "text" not in widget.model.capabilities
    assert not widget.text_enabled and widget.text_source == ""
    assert "text_detector=" in widget.text_hint
    assert "text_detector=" in widget.error and widget.instances == []  # the query still active
    widget.set_text("a cat", **SAM3_THRESHOLDS)
    assert "text_detector=" in widget.error and widget.masks.shape[0] == 0
    widget.model_name = "sam3"  # back: the query runs on it
    assert widget.text_enabled and widget.error == "" and len(widget.instances) > 0


# ----------------------------------------------------------------------------- CompareWidget
def test_compare_text_model_and_model_without_text(sam3, random_model, photo):
    plain = random_model("mobile_sam")
    w = CompareWidget([sam3, plain], photo)
    assert w.text_enabled and "mobile_sam" in w.text_hint and "text_detector=" in w.text_hint
    w.add_point(*POINT)
    w.set_text(TEXT, **SAM3_THRESHOLDS)
    assert w.points == [] and w.error == "" and w.text_mode
    result = sam3.predict_text(TEXT, **SAM3_THRESHOLDS)
    assert set(w.text_results) == {"sam3"} and len(result) > 0
    got = w.text_results["sam3"]
    assert got.labels == result.labels
    np.testing.assert_array_equal(got.masks, result.masks)
    np.testing.assert_array_equal(got.boxes, result.boxes)
    np.testing.assert_array_equal(w.masks["sam3"], result.masks.any(axis=0))  # their union
    assert w.scores["sam3"] == pytest.approx(float(result.scores.max()))
    assert "mobile_sam" not in w.masks and "sam3" not in w.notes
    assert w.notes["mobile_sam"].startswith("no text prompts (load it with text_detector=")
    assert f"{len(result)} instances found by 1 model" in w.status
    # what the browser gets: per panel its instance PNGs and records, or its note
    panels = {p["label"]: p for p in w.panels}
    pngs = dict(zip(w.labels, w.instance_pngs))
    assert pngs["mobile_sam"] == [] and w.mask_pngs == [b"", b""]
    assert len(pngs["sam3"]) == len(result)
    for png, mask in zip(pngs["sam3"], result.masks):
        np.testing.assert_array_equal(decode_png(png), mask)
    assert [i["label"] for i in panels["sam3"]["instances"]] == result.labels
    np.testing.assert_allclose([i["box"] for i in panels["sam3"]["instances"]], result.boxes, atol=0.01)
    assert panels["mobile_sam"]["note"] == w.notes["mobile_sam"]
    assert panels["mobile_sam"]["instances"] == [] and panels["sam3"]["detect_ms"] is None
    counts = w.table()["instances"].tolist()
    assert counts[0] == len(result) and counts[1] != counts[1]  # NaN: no text for mobile_sam

    w.set_text("a cat", box_threshold=1.0)  # nothing found: the panel and the status say so
    assert w.error == "" and w.notes["sam3"] == "no instances found"
    assert "no instances found" in w.status and not w.masks["sam3"].any()
    w.set_text(" ")  # empty text: one error for the widget
    assert "empty" in w.error and w.text_results == {} and w.masks == {}
    # a click ends the text query: every model (the one without text too) predicts again
    w.add_point(*POINT)
    assert w.text is None and w.error == "" and set(w.masks) == set(w.labels)
    assert w.instance_pngs == [[], []] and all(p["instances"] == [] for p in w.panels)
    assert w.text_results == {} and w.notes == {}
    assert "text" not in plain.capabilities  # the shared model was not changed


@pytest.mark.slow
def test_compare_detector_text_model(sam3, grounded, photo):
    """One query on two text models of both kinds (native, detector)."""
    w = CompareWidget([sam3, grounded], photo)
    w.set_text(TEXT, **DINO_THRESHOLDS)  # sam3's random scores are < 0.9999: nothing for it
    expected = grounded.predict_text(TEXT, **DINO_THRESHOLDS)
    assert w.error == "" and set(w.text_results) == {"sam3", "mobile_sam"}
    assert w.notes == {"sam3": "no instances found"} and len(expected) > 0
    np.testing.assert_array_equal(w.text_results["mobile_sam"].masks, expected.masks)
    assert w.text_results["mobile_sam"].labels == expected.labels
    for png, mask in zip(w.instance_pngs[1], expected.masks):
        np.testing.assert_array_equal(decode_png(png), mask)
    assert {p["label"]: p for p in w.panels}["mobile_sam"]["detect_ms"] > 0


def test_compare_without_any_text_model(random_model, photo):
    w = CompareWidget([random_model("mobile_sam")], photo)
    assert not w.text_enabled and "text_detector=" in w.text_hint
    w.set_text("a cat")
    assert w.error == "" and "no model here takes text" in w.status
    assert w.notes["mobile_sam"].startswith("no text prompts")
