"""EdgeTAM and SAM 3 video tracking: samkit's trackers give exactly the masks of transformers' own
video-session API (``processor.init_video_session``, ``add_inputs_to_inference_session``,
``model(inference_session=..., frame_idx=...)``, ``propagate_in_video_iterator``,
``post_process_masks``) driven directly on the same saved checkpoint folder: points, a box, a mask,
two objects, prompts on a later frame, forward and reverse propagation; pretrained loading (strict)
of a hub-layout folder; streamed frames; bad input. Tiny random configs, a 5-frame video."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import samkit
from samkit.backends.transformers import seeded_build, transformers_module
from samkit.errors import CheckpointError, NotReadyError, PromptError, UnsupportedError

T, H, W = 5, 48, 64
#: seeds whose random tiny models give masks that are neither all empty nor all full on this video
SEEDS = {"edgetam": 2, "sam3": 3}
FAMILIES = ["edgetam", "sam3"]


def _frames() -> np.ndarray:
    """A bright square moving right over a textured background."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 60, (T, H, W, 3), dtype=np.uint8)
    for t in range(T):
        frames[t, 14:30, 8 + 4 * t : 24 + 4 * t] = (230, 200, 40)
    return frames


FRAMES = _frames()


def _processor(family: str, side: int):
    """The family's transformers video processor, made from transformers' classes as their docs do."""
    tf = transformers_module()
    size = {"height": side, "width": side}
    if family == "edgetam":
        return tf.Sam2VideoProcessor(
            image_processor=tf.Sam2ImageProcessor(size=size),
            video_processor=tf.Sam2VideoVideoProcessor(size=size),
            target_size=side,
        )
    half = [0.5, 0.5, 0.5]
    return tf.Sam3TrackerVideoProcessor(
        image_processor=tf.Sam3ImageProcessor(size=size),
        video_processor=tf.Sam2VideoVideoProcessor(size=size, image_mean=half, image_std=half),
        target_size=side,
    )


def _video_class(family: str):
    tf = transformers_module()
    return tf.EdgeTamVideoModel if family == "edgetam" else tf.Sam3TrackerVideoModel


SIDES = {"edgetam": 128, "sam3": 112}


@pytest.fixture(scope="module", params=FAMILIES)
def family(request):
    return request.param


@pytest.fixture(scope="module")
def model(family):
    return samkit.load(family, weights="random", config="tiny", seed=SEEDS[family], device="cpu")


@pytest.fixture(scope="module")
def folder(model, family, tmp_path_factory):
    """The video model samkit builds for ``model``, saved with transformers' save_pretrained."""
    path = tmp_path_factory.mktemp(f"{family}_video")
    model.video(FRAMES[:1]).video_model.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def reference(family, folder):
    """transformers' video model loaded from the folder, and its processor."""
    video_model = _video_class(family).from_pretrained(str(folder), local_files_only=True).eval()
    return video_model, _processor(family, SIDES[family])


POINTS = (1, 7, dict(point_coords=[[16, 22]], point_labels=[1]))
SCRIPT = [  # (frame, obj_id, prompt) in the order a user gives them
    POINTS,
    (1, -3, dict(box=[36, 4, 62, 44])),
    (3, 7, dict(point_coords=[[32, 22], [4, 4]], point_labels=[1, 0])),
]
MASK = np.zeros((H, W), bool)
MASK[14:30, 16:32] = True
OTHER = np.zeros((H, W), bool)
OTHER[30:46, 40:60] = True
MASK_SCRIPT = [(2, 5, dict(mask=MASK)), (2, 9, dict(mask=OTHER))]
#: a mask-prompted and a point-prompted object on one frame
MIXED_SCRIPT = [(2, 5, dict(mask=MASK)), (2, 9, dict(point_coords=[[50, 40]], point_labels=[1]))]


def _upstream_run(reference, script, reverse: bool, video=FRAMES):
    """The script through transformers' documented video API: masks after each prompt, then tracked."""
    video_model, processor = reference

    def masks(output):
        binary = processor.post_process_masks([output.pred_masks], original_sizes=[[H, W]], binarize=True)[0][
            :, 0
        ].numpy()
        return {int(oid): binary[i] for i, oid in enumerate(output.object_ids)}

    with torch.inference_mode():
        session = processor.init_video_session(video=video, inference_device="cpu", dtype=torch.float32)
        per_prompt = []
        for frame, oid, prompt in script:
            if "mask" in prompt:
                kwargs = {"input_masks": prompt["mask"]}
            elif "box" in prompt:
                kwargs = {"input_boxes": [[prompt["box"]]]}
            else:
                kwargs = {"input_points": [[prompt["point_coords"]]], "input_labels": [[prompt["point_labels"]]]}
            processor.add_inputs_to_inference_session(inference_session=session, frame_idx=frame, obj_ids=oid, **kwargs)
            per_prompt.append(masks(video_model(inference_session=session, frame_idx=frame)))
        tracked = {
            int(out.frame_idx): masks(out) for out in video_model.propagate_in_video_iterator(session, reverse=reverse)
        }
    return per_prompt, tracked


def _assert_same(ours: dict, ref: dict) -> None:
    assert list(ours) == list(ref)
    for t in ref:
        assert list(ours[t]) == list(ref[t])
        for oid in ref[t]:
            np.testing.assert_array_equal(ours[t][oid], ref[t][oid], err_msg=f"frame {t} object {oid}")


def _not_trivial(tracked: dict) -> None:
    """Random weights: make sure the compared masks are neither all empty nor all full."""
    areas = [m.sum() for f in tracked.values() for m in f.values()]
    assert any(0 < a < H * W for a in areas), areas


def _run_ours(tracker, script, reverse: bool):
    per_prompt = [tracker.add_prompt(frame, oid, **prompt) for frame, oid, prompt in script]
    return per_prompt, tracker.track(reverse=reverse)


@pytest.mark.parametrize("reverse", [False, True])
def test_points_and_box_track_exactly_as_transformers(model, reference, reverse):
    tracker = model.video(FRAMES)
    ref_prompts, ref_tracked = _upstream_run(reference, SCRIPT, reverse)
    ours_prompts, ours = _run_ours(tracker, SCRIPT, reverse)
    for mine, ref in zip(ours_prompts, ref_prompts):
        _assert_same({0: mine}, {0: ref})
    _assert_same(ours, ref_tracked)
    _not_trivial(ref_tracked)
    assert tracker.obj_ids == [7, -3]
    assert list(ours) == (list(range(1, -1, -1)) if reverse else list(range(1, T)))
    assert all(m.shape == (H, W) and m.dtype == bool for f in ours.values() for m in f.values())


@pytest.mark.parametrize("reverse", [False, True])
def test_mask_prompt_tracks_exactly_as_transformers(model, reference, reverse):
    tracker = model.video(FRAMES, video_storage="cpu")
    ref_prompts, ref_tracked = _upstream_run(reference, MASK_SCRIPT, reverse=reverse)
    ours_prompts, ours = _run_ours(tracker, MASK_SCRIPT, reverse=reverse)
    for mine, ref in zip(ours_prompts, ref_prompts):
        _assert_same({0: mine}, {0: ref})
    _assert_same(ours, ref_tracked)
    _not_trivial(ref_tracked)
    assert list(ours_prompts[0]) == [5]
    assert list(ours) == (list(range(2, -1, -1)) if reverse else list(range(2, T)))


def test_mask_and_point_objects_on_one_frame(model, reference, family):
    """SAM 3: exact. EdgeTAM: transformers 5.24's ``EdgeTamVideoModel`` itself fails on this script
    (a mask-prompted object's ``object_score_logits`` is (1, 1), a decoded one's (1, 1, 1): its
    ``torch.cat`` of them raises); samkit's tracker, running the same code, says so (UnsupportedError)."""
    if family == "edgetam":
        with pytest.raises(RuntimeError, match="same number of dimensions"):
            _upstream_run(reference, MIXED_SCRIPT, reverse=False)
        with pytest.raises(UnsupportedError, match="mask.*points or a box"):
            _run_ours(model.video(FRAMES), MIXED_SCRIPT, reverse=False)
        return
    ref_prompts, ref_tracked = _upstream_run(reference, MIXED_SCRIPT, reverse=False)
    ours_prompts, ours = _run_ours(model.video(FRAMES), MIXED_SCRIPT, reverse=False)
    for mine, ref in zip(ours_prompts, ref_prompts):
        _assert_same({0: mine}, {0: ref})
    _assert_same(ours, ref_tracked)
    _not_trivial(ref_tracked)


def test_frames_stream_reset_and_weights_are_shared(model, family):
    tracker = model.video(FRAMES)
    assert tracker.streamed.decoded == 0
    first = _run_ours(tracker, SCRIPT[:1], reverse=False)[1]
    assert tracker.streamed.decoded <= T  # one frame at a time, each once (its features are cached)
    tracker.reset()
    assert tracker.obj_ids == []
    with pytest.raises(NotReadyError, match="before any prompt"):
        tracker.track()
    _assert_same(_run_ours(tracker, SCRIPT[:1], reverse=False)[1], first)
    _assert_same(_run_ours(model.video(FRAMES, video_storage="device"), SCRIPT[:1], False)[1], first)
    limited = tracker.track(max_frames=2)
    assert list(limited) == [1, 2, 3]
    image_part = model.model if family == "edgetam" else model.model.tracker
    ours = dict(image_part.named_parameters())
    shared = [n for n, p in tracker.video_model.named_parameters() if n in ours]
    assert len(shared) == len(ours)
    assert all(
        p.data_ptr() == ours[n].data_ptr() for n, p in tracker.video_model.named_parameters() if n in ours
    )  # shared, not copied


def _hub_folder(family: str, path):
    """A hub-layout checkpoint folder (the hub file's type: EdgeTamVideoModel / Sam3VideoModel)."""
    tf = transformers_module()
    if family == "edgetam":
        from samkit.models.edgetam import hub_config

        built = seeded_build(lambda: tf.EdgeTamVideoModel(hub_config("tiny")), seed=7)
    else:
        from samkit.models.sam3 import hub_config

        built = seeded_build(lambda: tf.Sam3VideoModel(hub_config("tiny")), seed=7)
    built.save_pretrained(path)
    return path


def test_pretrained_folder_tracks_exactly_as_transformers(family, tmp_path):
    folder = _hub_folder(family, tmp_path)
    loaded = samkit.load(family, checkpoint=folder, device="cpu")
    reference = (
        _video_class(family).from_pretrained(str(folder), local_files_only=True).eval(),
        _processor(family, SIDES[family]),
    )
    ref_prompts, ref_tracked = _upstream_run(reference, SCRIPT, reverse=False)
    ours_prompts, ours = _run_ours(loaded.video(FRAMES), SCRIPT, reverse=False)
    for mine, ref in zip(ours_prompts, ref_prompts):
        _assert_same({0: mine}, {0: ref})
    _assert_same(ours, ref_tracked)
    _not_trivial(ref_tracked)


def test_pretrained_folder_without_the_video_weights_is_an_error(family, tmp_path):
    """An image-only file (no memory modules) loads for images but is a clear error for video."""
    from safetensors.torch import load_file, save_file

    folder = _hub_folder(family, tmp_path)
    state = load_file(str(folder / "model.safetensors"))
    save_file(
        {k: v for k, v in state.items() if "memory_encoder" not in k},
        str(folder / "model.safetensors"),
        metadata={"format": "pt"},
    )
    loaded = samkit.load(family, checkpoint=folder, device="cpu")
    with pytest.raises(CheckpointError, match="missing keys.*memory_encoder"):
        loaded.video(FRAMES)


def test_bad_video_prompts(model):
    tracker = model.video(FRAMES)
    with pytest.raises(NotReadyError, match="before any prompt"):
        next(tracker.propagate())
    with pytest.raises(PromptError, match="outside the video"):
        tracker.add_prompt(T, 1, point_coords=[[5, 5]], point_labels=[1])
    with pytest.raises(PromptError, match="outside"):
        tracker.add_prompt(0, 1, point_coords=[[W + 3, 5]], point_labels=[1])
    with pytest.raises(PromptError, match="obj_id must be an int"):
        tracker.add_prompt(0, "dog", point_coords=[[5, 5]], point_labels=[1])
    with pytest.raises(PromptError, match="video's size"):
        tracker.add_prompt(0, 1, mask=np.zeros((H + 1, W), bool))
    with pytest.raises(PromptError, match="alone"):
        tracker.add_prompt(0, 1, mask=np.zeros((H, W), bool), box=[1, 1, 5, 5])
    with pytest.raises(PromptError, match="needs"):
        tracker.add_prompt(0, 1)
    with pytest.raises(PromptError, match="clear_old_points"):
        tracker.add_prompt(0, 1, box=[1, 1, 20, 20], clear_old_points=False)
    with pytest.raises(ValueError, match="video_storage"):
        model.video(FRAMES, video_storage="gpu")


def test_model_video_and_capability(model, family):
    assert "video" in model.capabilities and family in samkit.list_models(capability="video")
    tracker = model.video(FRAMES)
    assert type(tracker).__name__ == {"edgetam": "EdgeTamVideoTracker", "sam3": "Sam3VideoTracker"}[family]
    assert tracker.num_frames == T and tracker.size == (H, W) and family in repr(tracker)
