"""VideoWidget from Python: prompts through the widget give the tracker's masks, propagation stores
every frame, the traits sent to the browser decode to those masks, scrubbing sends that frame only,
bad prompts are shown (not raised), a model without video is a clear error, and the JS parses.

Like tests/video, SAM 2 is built at a 256-pixel input (the same architecture and weights, ~16x
cheaper per frame on a CPU) and the video is a tiny synthetic one."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pytest

pytest.importorskip("anywidget", reason="the widgets need anywidget")

from samkit.data.synthetic_video import moving_shapes  # noqa: E402
from samkit.errors import UnsupportedError  # noqa: E402
from samkit.masks import decode_png, mask_box  # noqa: E402
from samkit.widgets import VideoWidget  # noqa: E402
from samkit.widgets._state import asset, resize_nearest  # noqa: E402

NAME = "sam2.1_hiera_tiny"
T, H, W = 5, 48, 64


@pytest.fixture(scope="module", autouse=True)
def _small_video_input(small_input):
    """SAM 2 built at the small input for this module (tests/conftest.py's `small_input`)."""
    yield small_input


@pytest.fixture(scope="module")
def model(small_sam2):
    return small_sam2


@pytest.fixture(scope="module")
def video():
    return moving_shapes(num_frames=T, size=(H, W), num_objects=2)


@pytest.fixture
def widget(model, video):
    return VideoWidget(model, video.frames, image_format="png")


def _box_of(mask):
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())]


def _centre_of(mask):
    ys, xs = np.nonzero(mask)
    i = len(ys) // 2
    return float(xs[i]), float(ys[i])


def _decode_image(data):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _assert_traits_match(widget, masks):
    """mask_pngs / mask_ids decode to ``masks`` (the objects with a non-empty mask)."""
    ids = [oid for oid, m in masks.items() if m.any()]
    assert widget.mask_ids == ids
    for png, oid in zip(widget.mask_pngs, ids):
        np.testing.assert_array_equal(decode_png(png), resize_nearest(masks[oid], widget.display_hw))


# ----------------------------------------------------------------------------- initial state
def test_initial_state(widget, video):
    assert (widget.width, widget.height, widget.num_frames) == (W, H, T)
    assert widget.frame == 0 and widget.obj_id == 1 and widget.obj_ids == []
    np.testing.assert_array_equal(_decode_image(widget.image), video.frames[0])  # PNG: lossless
    assert widget.mask_pngs == [] and widget.tracked_frames == [] and widget.error == ""
    assert widget.random_weights and "random weights" in widget.weights
    assert "meaningless" in widget.weights and widget.model_name == NAME


# ----------------------------------------------------------------------------- prompts == tracker
def test_prompts_equal_direct_tracker_calls(widget, model, video):
    gt = video.masks
    box = _box_of(gt[0, 0])
    click = _centre_of(gt[1, 0])
    widget.obj_id = 1
    widget.set_box(box)
    widget.obj_id = 2
    widget.add_point(*click)
    widget.add_point(2, 2, positive=False)
    assert widget.error == "" and widget.obj_ids == [1, 2]

    direct = model.video(video.frames)
    direct.add_prompt(0, 1, box=box)
    direct.add_prompt(0, 2, point_coords=[click], point_labels=[1])
    ref0 = direct.add_prompt(0, 2, point_coords=[click, (2, 2)], point_labels=[1, 0])
    shown = widget.masks_at(0)
    assert list(shown) == list(ref0) == [1, 2]
    for oid in ref0:
        np.testing.assert_array_equal(shown[oid], ref0[oid])
    _assert_traits_match(widget, shown)

    widget.propagate()
    ref = direct.track()
    assert widget.error == "" and "propagated" in widget.status
    assert sorted(widget.masks) == sorted(ref) == list(range(T))
    assert widget.tracked_frames == list(range(T)) and widget.propagated == T
    for t_idx, masks in ref.items():
        for oid, mask in masks.items():
            assert mask.shape == (H, W) and mask.dtype == bool
            np.testing.assert_array_equal(widget.masks_at(t_idx)[oid], mask, err_msg=f"{t_idx}/{oid}")


def test_scrubbing_sends_that_frame_and_its_masks(widget, video):
    widget.add_point(*_centre_of(video.masks[0, 0]))
    widget.propagate()
    for frame in (3, 1, 4):
        widget.frame = frame
        np.testing.assert_array_equal(_decode_image(widget.image), video.frames[frame])
        _assert_traits_match(widget, widget.masks_at(frame))
    # the current object's prompts follow the frame: none on frame 4, the click on frame 0
    assert widget.points == []
    widget.frame = 0
    assert len(widget.points) == 1 and widget.points[0][2] == 1
    with pytest.raises(Exception, match="outside the video"):
        widget.frame = T


def test_only_asked_frames_are_encoded(model, video):
    w = VideoWidget(model, video.frames, frame_cache=2)
    assert list(w._cache) == [0]  # the first frame only, not the video
    w.frame = 2
    w.frame = 3
    assert list(w._cache) == [2, 3]  # a small LRU of the frames shown
    assert w.image_format == "jpeg"
    shown = _decode_image(w.image).astype(int)
    assert shown.shape == (H, W, 3) and np.abs(shown - video.frames[3]).mean() < 20  # lossy


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


def _sent_keys(data: dict) -> set:
    """The traits in one comm message (bytes travel as buffers, named in buffer_paths)."""
    return set(data["state"]) | {path[0] for path in data.get("buffer_paths", [])}


def test_what_goes_over_the_wire(widget, video):
    """A prompt sends masks but no frame; propagation sends no frame; a scrub sends one frame."""
    recorder, comm = Recorder(), widget.comm
    widget.comm = recorder
    try:
        widget.add_point(*_centre_of(video.masks[0, 0]))
        widget.propagate()
        prompt_keys = set().union(*(_sent_keys(d) for d, _ in recorder.sent))
        assert "image" not in prompt_keys and {"mask_pngs", "mask_ids", "tracked_frames"} <= prompt_keys
        recorder.sent.clear()
        widget.frame = 2
    finally:
        widget.comm = comm
    images = [d for d, _ in recorder.sent if "image" in _sent_keys(d)]
    assert len(images) == 1  # that one frame, with its masks in the same message
    assert {"image", "mask_pngs", "points"} <= _sent_keys(images[0])
    sent = sum(len(memoryview(b)) for _, buffers in recorder.sent for b in buffers)
    assert 0 < sent < H * W * 3 + 2 * (H * W / 8 + 200)  # one PNG frame and two 1-bit masks


def test_reverse_and_reset(widget, model, video):
    widget.frame = T - 1
    point = _centre_of(video.masks[1, T - 1]) if video.masks[1, T - 1].any() else (W / 2, H / 2)
    widget.add_point(*point)
    widget.propagate(reverse=True)
    direct = model.video(video.frames)
    direct.add_prompt(T - 1, 1, point_coords=[point], point_labels=[1])
    ref = direct.track(reverse=True)
    assert sorted(widget.masks) == sorted(ref) == list(range(T))
    for t_idx in ref:
        np.testing.assert_array_equal(widget.masks_at(t_idx)[1], ref[t_idx][1])
    widget.reset()
    assert widget.masks == {} and widget.obj_ids == [] and widget.tracker.obj_ids == []
    assert widget.mask_pngs == [] and widget.tracked_frames == [] and widget.points == []


def test_new_object_and_frontend_messages(widget, video):
    widget.add_point(*_centre_of(video.masks[0, 0]))
    widget._handle_custom_msg({"event": "new_object"}, [])
    assert widget.obj_id == 2 and widget.obj_ids == [1, 2] and widget.points == []
    widget.set_box(_box_of(video.masks[1, 0]))
    assert widget.tracker.obj_ids == [1, 2]
    widget._handle_custom_msg({"event": "propagate", "reverse": False}, [])
    assert widget.tracked_frames == list(range(T))
    widget._handle_custom_msg({"event": "reset"}, [])
    assert widget.obj_ids == [] and widget.obj_id == 1
    widget._handle_custom_msg({"event": "something else"}, [])  # ignored


def test_to_pngs(widget, video, tmp_path):
    widget.add_point(*_centre_of(video.masks[0, 0]))
    widget.propagate(max_frames=1)
    paths = widget.to_pngs(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == ["1/00000.png", "1/00001.png"]
    np.testing.assert_array_equal(decode_png(paths[1]), widget.masks_at(1)[1])


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "points, box, fragment",
    [
        ([[-5, 3, 1]], None, "outside"),
        ([[W, 10, 1]], None, "outside"),
        ([], [40, 20, 10, 30], "x0 <= x1"),
        ([[10, 10, 2]], None, "label"),
        ([["a", "b", 1]], None, "bad prompt"),
    ],
)
def test_bad_prompt_is_shown_not_raised(widget, points, box, fragment):
    with widget.hold_trait_notifications():
        widget.points = points
        widget.box = box
    assert fragment in widget.error
    assert widget.masks == {} and widget.tracker.obj_ids == []
    assert widget.points == [] and widget.box is None  # back to the last accepted prompts (none)
    widget.points = [[10, 10, 1]]  # a good prompt clears the error
    assert widget.error == "" and 1 in widget.masks_at(0)
    before = widget.masks_at(0)[1].copy()
    widget.add_point(W + 5, 3)  # a bad click after a good one: the good one stays
    assert "outside" in widget.error and widget.points == [[10, 10, 1]]
    np.testing.assert_array_equal(widget.masks_at(0)[1], before)
    widget.add_point(20, 20, positive=False)
    assert widget.error == "" and widget.points == [[10, 10, 1], [20.0, 20.0, 0]]


def test_propagate_before_any_prompt_is_shown(widget):
    widget.propagate()
    assert "before any prompt" in widget.error and widget.masks == {}


def test_model_without_video_is_a_clear_error(random_model, video):
    with pytest.raises(UnsupportedError, match="video"):
        VideoWidget(random_model("mobile_sam"), video.frames)


def test_bad_image_format():
    with pytest.raises(ValueError, match="image_format"):
        VideoWidget("sam2.1_hiera_tiny", np.zeros((2, 8, 8, 3), np.uint8), image_format="gif")


# ----------------------------------------------------------------------------- assets
@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (JS syntax check)")
def test_video_js_parses(tmp_path):
    module = tmp_path / "widget.mjs"
    module.write_text(asset("_common.js", "video.js"))
    result = subprocess.run(["node", "--check", str(module)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_assets_are_plain_modules():
    assert "export default" in VideoWidget._esm and "function render" in VideoWidget._esm
    assert ".samkit-video" in VideoWidget._css and ".samkit-weights" in VideoWidget._css


def test_text_concepts_tracked_and_tagged_clicks_refused_until_cleared():
    """SAM 3 (tiny, random weights): the text box tracks every instance through the video, as the
    tracker does (same ids and masks per frame); each mask is tagged with its id, phrase, score and
    box; a click while text is tracked is refused and shown; × (clear_text) goes back to clicks.
    A model without text-in-video shows an error instead."""
    import samkit

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 60, (4, 112, 112, 3), dtype=np.uint8)
    for t in range(4):
        frames[t, 14:30, 8 + 4 * t : 24 + 4 * t] = (230, 200, 40)
    sam3 = samkit.load("sam3", weights="random", config="tiny", seed=4, device="cpu")
    w = VideoWidget(sam3, frames, image_format="png")
    assert w.text_enabled and w.text is None
    w._on_frontend_msg(w, {"event": "text", "text": "A cat", "box_threshold": "0.25", "text_threshold": 0.25}, [])
    assert w.error == "" and w.text == "a cat" and (w.box_threshold, w.text_threshold) == (0.25, 0.25)
    reference = samkit.load("sam3", weights="random", config="tiny", seed=4, device="cpu").video(frames)
    reference.add_text("a cat")
    reference.detection_threshold = reference.new_object_threshold = 0.25
    expected = dict(reference.propagate())
    assert sorted(w.masks) == sorted(expected) == list(range(4))
    for t, masks in expected.items():
        assert sorted(w.masks_at(t)) == sorted(masks)
        assert all(np.array_equal(w.masks_at(t)[i], m) for i, m in masks.items())
    found = [t for t in range(4) if any(m.any() for m in expected[t].values())]
    assert found, "the seed's tiny model finds the square"
    w.frame = found[0]
    tags = {tag["obj_id"]: tag for tag in w.mask_tags}
    assert sorted(tags) == w.mask_ids and w.obj_ids == [int(i) for i in reference.obj_ids]
    for oid, tag in tags.items():
        assert tag["label"] == f"{oid} a cat" and 0 <= tag["score"] <= 1
        assert tag["box"] == mask_box(w.masks_at(found[0])[oid]).tolist()
    w.add_point(10, 10)  # clicks and text never mix
    assert "text concepts are being tracked" in w.error and w.points == []
    w._on_frontend_msg(w, {"event": "clear_text"}, [])
    assert w.text is None and w.mask_tags == [] and w.masks == {} and w.error == ""
    w.set_text("a cat", detection_threshold=1.5)
    assert "detection_threshold" in w.error and w.text is None


def test_text_box_needs_a_text_video_model(widget):
    assert not widget.text_enabled
    widget.set_text("a cat")
    assert "does not track text concepts in video" in widget.error
