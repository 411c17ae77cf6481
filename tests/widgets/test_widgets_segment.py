"""SegmentWidget from Python: prompts through methods and synced traits, masks against predict,
undo/clear, frontend messages, model switching, exports, errors, and what goes over the comm."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pytest

pytest.importorskip("anywidget", reason="the widgets need anywidget")

import samkit  # noqa: E402
from samkit.masks import decode_png, encode_png
from samkit.widgets import SegmentWidget  # noqa: E402
from samkit.widgets._state import (  # noqa: E402
    asset,
    display_size,
    resize_nearest,
)

# pycocotools' decode under numpy 2
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

POINT = (90.0, 60.0)  # (x, y) on the 180x120 'photo' fixture
BOX = [40.0, 20.0, 150.0, 110.0]


@pytest.fixture(scope="module")
def model(random_model):
    return random_model("mobile_sam")


@pytest.fixture(scope="module")
def shared_widget(model, photo):
    """One widget for the module (each image embedding costs seconds on a CPU)."""
    return SegmentWidget(model, photo)


@pytest.fixture
def widget(shared_widget, model, photo):
    """The shared widget, back to mobile_sam, the photo, multimask, no prompts and no history."""
    w = shared_widget
    if w.model_name != "mobile_sam":
        w.model_name = "mobile_sam"
    if w.image_array is not photo:
        w.set_image(photo)
    w.multimask = True
    w.reset()
    w.error = ""
    assert w.model is model and w.masks.shape == (0, 120, 180)
    return w


def _predict(model, **prompts):
    return model.predict(**prompts, multimask_output=True)


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


# ----------------------------------------------------------------------------- initial state
def test_initial_state(widget, model, photo):
    from PIL import Image

    assert (widget.width, widget.height) == (180, 120)
    shown = np.array(Image.open(io.BytesIO(widget.image)))
    np.testing.assert_array_equal(shown, photo)  # small image: shown losslessly at full size
    assert widget.masks.shape == (0, 120, 180) and widget.mask is None
    assert widget.points == [] and widget.box is None and widget.error == ""
    assert widget.model_name == "mobile_sam" and widget.model is model
    assert set(samkit.list_models()) <= set(widget.model_names)
    assert widget.random_weights and "random weights" in widget.weights and "meaningless" in widget.weights
    assert widget.device == "cpu" and widget.encoder_ms > 0


# ----------------------------------------------------------------------------- prompts -> masks
def test_add_point_gives_predict_masks(widget, model):
    widget.add_point(*POINT)
    masks, scores, low_res = _predict(model, point_coords=[POINT], point_labels=[1])
    np.testing.assert_array_equal(widget.masks, masks)
    np.testing.assert_allclose(widget.scores, scores, rtol=1e-6)
    np.testing.assert_allclose(widget.low_res_logits, low_res)
    assert widget.selected == int(np.argmax(scores))
    np.testing.assert_array_equal(widget.mask, masks[widget.selected])
    assert widget.points == [[POINT[0], POINT[1], 1]]
    assert widget.decoder_ms > 0 and widget.handle_ms >= widget.decoder_ms
    # the browser gets one 1-bit PNG per candidate, decoding to the same masks
    assert len(widget.mask_pngs) == 3
    for png, mask in zip(widget.mask_pngs, masks):
        np.testing.assert_array_equal(decode_png(png), mask)
    np.testing.assert_allclose(widget.areas, masks.mean(axis=(1, 2)))


def test_traits_set_like_the_browser(widget, model):
    """The browser writes `points` ([x, y, label]) and `box`; Python predicts for them."""
    widget.points = [[90.5, 60.25, 1], [20, 20, 0]]
    widget.box = BOX
    masks, _, _ = _predict(model, point_coords=[[90.5, 60.25], [20, 20]], point_labels=[1, 0], box=BOX)
    np.testing.assert_array_equal(widget.masks, masks)
    prompts = widget.prompts
    np.testing.assert_array_equal(prompts["point_coords"], [[90.5, 60.25], [20, 20]])
    np.testing.assert_array_equal(prompts["point_labels"], [1, 0])
    np.testing.assert_array_equal(prompts["box"], BOX)
    np.testing.assert_array_equal(model.predict(**widget.prompts)[0], widget.masks)


def test_box_only_and_set_prompts(widget, model):
    widget.set_box(*BOX)
    np.testing.assert_array_equal(widget.masks, _predict(model, box=BOX)[0])
    widget.set_prompts(point_coords=[POINT, (30, 30)], point_labels=[1, 0], box=None)
    assert widget.box is None and len(widget.points) == 2
    expected = _predict(model, point_coords=[POINT, (30, 30)], point_labels=[1, 0])[0]
    np.testing.assert_array_equal(widget.masks, expected)


def test_negative_point_and_single_mask(widget, model):
    widget.multimask = False
    widget.add_point(*POINT)
    widget.add_point(10, 10, positive=False)
    assert widget.points[-1][2] == 0
    masks, _, _ = model.predict(point_coords=[POINT, (10, 10)], point_labels=[1, 0], multimask_output=False)
    assert widget.masks.shape == (1, 120, 180)
    np.testing.assert_array_equal(widget.masks, masks)
    assert widget.selected == 0 and len(widget.mask_pngs) == 1


def test_select_candidate(widget):
    widget.add_point(*POINT)
    widget.select(2)
    np.testing.assert_array_equal(widget.mask, widget.masks[2])
    with pytest.raises(IndexError):
        widget.select(3)


# ----------------------------------------------------------------------------- undo / clear
def test_undo_and_clear(widget, model):
    widget.add_point(*POINT)
    first = widget.masks.copy()
    widget.add_point(30, 30, positive=False)
    widget.set_box(BOX)
    assert len(widget.points) == 2 and widget.box == BOX

    widget.undo()  # removes the box
    assert widget.box is None and len(widget.points) == 2
    np.testing.assert_array_equal(widget.masks, _predict(model, point_coords=[POINT, (30, 30)], point_labels=[1, 0])[0])
    widget.undo()  # removes the negative point
    assert widget.points == [[POINT[0], POINT[1], 1]]
    np.testing.assert_array_equal(widget.masks, first)

    widget.clear()
    assert widget.points == [] and widget.box is None
    assert widget.masks.shape[0] == 0 and widget.mask_pngs == [] and widget.scores == []
    widget.undo()  # undoes the clear
    assert widget.points == [[POINT[0], POINT[1], 1]]
    np.testing.assert_array_equal(widget.masks, first)
    widget.undo()
    widget.undo()  # nothing left to undo: no error
    assert widget.points == [] and widget.error == ""


def test_frontend_undo_clear_messages(widget):
    """The Undo/Clear buttons send {"event": "undo" | "clear"} custom messages."""
    widget.add_point(*POINT)
    widget.add_point(20, 20)
    widget._handle_custom_msg({"event": "undo"}, [])
    assert len(widget.points) == 1
    widget._handle_custom_msg({"event": "clear"}, [])
    assert widget.points == [] and widget.masks.shape[0] == 0
    widget._handle_custom_msg({"event": "something else"}, [])  # ignored


def test_one_prediction_per_change(widget, monkeypatch):
    """Setting points and box together (as the browser does in one message) predicts once."""
    calls = []
    original = widget.model.predict
    monkeypatch.setattr(widget.model, "predict", lambda **kw: calls.append(kw) or original(**kw))
    widget.set_prompts(point_coords=[POINT], point_labels=[1], box=BOX)
    assert len(calls) == 1
    with widget.hold_trait_notifications():
        widget.points = []
        widget.box = None
    assert len(calls) == 1  # no prompt: nothing to predict
    widget.points = []  # no change at all
    assert len(calls) == 1


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "points, box, fragment",
    [
        ([[-5, 3, 1]], None, "outside"),
        ([[180, 10, 1]], None, "outside"),  # x == W is outside (0 <= x < W)
        ([], [150, 20, 40, 110], "x0 <= x1"),
        ([], [0, 0, 500, 100], "outside"),
        ([[10, 10, 2]], None, "label"),
        ([["a", "b", 1]], None, "ValueError"),
    ],
)
def test_invalid_prompts_set_error_not_raise(widget, points, box, fragment):
    widget.add_point(*POINT)
    with widget.hold_trait_notifications():
        widget.points = points
        widget.box = box
    assert fragment in widget.error
    assert widget.masks.shape[0] == 0 and widget.mask_pngs == [] and widget.mask is None
    widget.undo()  # back to the valid prompt: the error goes away
    assert widget.error == "" and widget.masks.shape[0] == 3


def test_add_point_outside_sets_error(widget):
    widget.add_point(1000, 10)
    assert "outside the 180x120" in widget.error
    with pytest.raises(ValueError, match="no mask"):
        widget.to_png()


# ----------------------------------------------------------------------------- exports
def test_png_export_round_trip(widget, tmp_path):
    from PIL import Image

    widget.add_point(*POINT)
    path = tmp_path / "mask.png"
    data = widget.to_png(path)
    assert path.read_bytes() == data
    with Image.open(path) as im:
        assert im.mode == "1" and im.size == (180, 120)
        np.testing.assert_array_equal(np.array(im), widget.mask)
    np.testing.assert_array_equal(decode_png(widget.to_png(index=1)), widget.masks[1])


def test_coco_rle_round_trip(widget):
    import json

    from pycocotools import mask as mask_utils

    widget.add_point(*POINT)
    rle = widget.to_coco_rle()
    assert rle["size"] == [120, 180] and isinstance(rle["counts"], str)
    json.dumps(rle)  # JSON-ready
    decoded = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    np.testing.assert_array_equal(decoded.astype(bool), widget.mask)
    assert mask_utils.area({"size": rle["size"], "counts": rle["counts"].encode()}) == widget.mask.sum()
    np.testing.assert_array_equal(mask_utils.decode(widget.to_coco_rle(index=0)).astype(bool), widget.masks[0])


# ----------------------------------------------------------------------------- large images
def test_set_image_large_display_copy_and_original_coordinates(widget, model):
    """A new image resets the prompts; a large one is shown downscaled, prompts stay in its pixels."""
    from PIL import Image

    widget.add_point(*POINT)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (300, 2000, 3), dtype=np.uint8)
    widget.set_image(image)
    assert (widget.width, widget.height) == (2000, 300) and widget.display_hw == (192, 1280)
    assert widget.points == [] and widget.masks.shape == (0, 300, 2000)
    assert Image.open(io.BytesIO(widget.image)).size == (1280, 192)  # the default max_display
    widget.add_point(1900, 250)  # original pixels, outside the display copy's extent
    assert widget.error == ""
    masks, _, _ = _predict(model, point_coords=[(1900, 250)], point_labels=[1])
    np.testing.assert_array_equal(widget.masks, masks)  # full size in Python
    shown = decode_png(widget.mask_pngs[0])
    assert shown.shape == (192, 1280)
    np.testing.assert_array_equal(shown, resize_nearest(masks[0], (192, 1280)))


# ----------------------------------------------------------------------------- the wire
def test_prompt_sends_compact_masks_and_never_the_image(widget):
    recorder, comm = Recorder(), widget.comm
    widget.comm = recorder
    try:
        widget.add_point(*POINT)
    finally:
        widget.comm = comm
    assert recorder.sent, "nothing was sent"
    keys = set()
    buffer_bytes = 0
    for data, buffers in recorder.sent:
        state = data["state"]
        keys |= set(state)
        assert not isinstance(state.get("mask_pngs"), list) or all(v is None for v in state["mask_pngs"])
        buffer_bytes += sum(len(memoryview(b)) for b in buffers)
    assert "image" not in keys
    assert {"mask_pngs", "scores", "decoder_ms"} <= keys
    # 3 masks of 180x120 as raw bytes would be 64800 bytes; as 1-bit PNGs they are far smaller
    assert 0 < buffer_bytes < 3 * 180 * 120 / 8 + 3 * 200


# ----------------------------------------------------------------------------- helpers
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (120, 180), (33, 64)])
def test_mask_png_encoding_round_trip(shape):
    from PIL import Image

    rng = np.random.default_rng(shape[0])
    mask = rng.random(shape) < 0.4
    for transparent in (True, False):
        data = encode_png(mask, transparent=transparent)
        with Image.open(io.BytesIO(data)) as im:
            assert im.mode == "1" and im.size == (shape[1], shape[0])
            assert ("transparency" in im.info) == transparent
        np.testing.assert_array_equal(decode_png(data), mask)


def test_mask_png_is_compact_for_blobs():
    yy, xx = np.mgrid[:1411, :1411]
    blob = (xx - 700) ** 2 + (yy - 650) ** 2 < 300**2
    assert len(encode_png(blob, transparent=True)) < 10_000  # vs 248,866 bytes packed, ~6 MB as a JSON list


def test_display_size_and_resize():
    assert display_size(120, 180, 1600) == (120, 180)
    assert display_size(2000, 3000, 1600) == (1067, 1600)
    assert display_size(2000, 3000, None) == (2000, 3000)
    mask = np.zeros((4, 6), bool)
    mask[:2, :3] = True
    np.testing.assert_array_equal(resize_nearest(mask, (2, 3)), [[1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(resize_nearest(mask, (8, 12))[:4, :6], True)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (JS syntax check)")
@pytest.mark.parametrize("files", [("_common.js", "segment.js"), ("_common.js", "compare.js")])
def test_widget_js_parses(files, tmp_path):
    module = tmp_path / "widget.mjs"
    module.write_text(asset(*files))
    result = subprocess.run(["node", "--check", str(module)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_assets_are_plain_modules():
    assert "export default" in SegmentWidget._esm and "function render" in SegmentWidget._esm
    assert ".samkit-segment" in SegmentWidget._css and ".samkit-weights" in SegmentWidget._css


# ----------------------------------------------------------------------------- model switching
def test_switch_model_by_name(widget):
    widget.add_point(*POINT)
    widget.model_name = "sam2.1_hiera_tiny"
    assert widget.error == ""
    assert widget.model.name == "sam2.1_hiera_tiny"
    assert widget.model.weights.kind == "random" and widget.model.weights.seed == 0
    assert str(widget.model.device) == "cpu" and "random weights" in widget.weights
    assert widget.model.original_size == (120, 180)  # the image was embedded again
    masks, _, _ = _predict(widget.model, point_coords=[POINT], point_labels=[1])
    np.testing.assert_array_equal(widget.masks, masks)  # and the prompts predicted again
    # switching back reuses the cached model
    first = widget._models["mobile_sam"]
    widget.model_name = "mobile_sam"
    assert widget.model is first and widget.masks.shape == (3, 120, 180)


def test_switch_to_unknown_model_keeps_the_old_one(widget):
    widget.add_point(*POINT)
    before = widget.masks.copy()
    widget.model_name = "no_such_model"
    assert "no_such_model" in widget.error
    assert widget.model_name == "mobile_sam" and widget.model.name == "mobile_sam"
    np.testing.assert_array_equal(widget.masks, before)
