"""SAM 2 video tracking: samkit's tracker gives exactly sam2's ``build_sam2_video_predictor`` masks on
the same checkpoint and JPEG frames (several objects, any integer ids, prompts on later frames,
forward and reverse, reset); frames stream; bad input is a clear error. Random weights, tiny video.

By default both sides run the same architecture and weights at a 256-pixel input (``image_size``
256 in the model config, for samkit and for sam2's builder alike: the Hiera encoder costs ~16x
less than at 1024); the slow test runs the released 1024 input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import samkit
from samkit.errors import NotReadyError, PromptError, UnsupportedError
from samkit.models.sam2 import model_config as RELEASED_CONFIG  # before conftest's fixture patches it

NAME = "sam2.1_hiera_tiny"
T, H, W = 6, 48, 64


def _frames() -> np.ndarray:
    """T frames of two disks moving on a gradient (HxWx3 uint8)."""
    yy, xx = np.mgrid[:H, :W]
    out = np.empty((T, H, W, 3), np.uint8)
    for t in range(T):
        img = np.stack([xx * 3 % 256, yy * 4 % 256, np.full_like(xx, 90)], -1).astype(np.uint8)
        for cx, cy, color in ((14 + 3 * t, 20, (250, 40, 40)), (50 - 2 * t, 30, (40, 40, 250))):
            img[(xx - cx) ** 2 + (yy - cy) ** 2 < 64] = color
        out[t] = img
    return out


@pytest.fixture(scope="module")
def video_folder(tmp_path_factory):
    """The frames as sam2 expects a video: 0.jpg, 1.jpg ... (and the decoded JPEGs, which both
    sides read)."""
    folder = tmp_path_factory.mktemp("video")
    for t, frame in enumerate(_frames()):
        Image.fromarray(frame).save(folder / f"{t:05d}.jpg", quality=95)
    decoded = np.stack([np.asarray(Image.open(folder / f"{t:05d}.jpg").convert("RGB")) for t in range(T)])
    return folder, decoded


@pytest.fixture(scope="module")
def model(small_sam2):
    return small_sam2


def build_upstream(model, folder, side: int):
    """sam2's own ``build_sam2_video_predictor`` on ``model``'s weights saved in the official layout."""
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from sam2.build_sam import build_sam2_video_predictor

    path = folder / "sam2.pt"
    torch.save({"model": model.model.state_dict()}, path)
    GlobalHydra.instance().clear()
    with initialize_config_module("sam2", version_base="1.2"):
        predictor = build_sam2_video_predictor(
            model.spec.arch, ckpt_path=str(path), device="cpu", hydra_overrides_extra=[f"++model.image_size={side}"]
        )
    GlobalHydra.instance().clear()
    assert predictor.image_size == side
    return predictor


@pytest.fixture(scope="module")
def upstream(model, small_input, tmp_path_factory):
    return build_upstream(model, tmp_path_factory.mktemp("ckpt"), small_input)


SCRIPT = [  # (frame, obj_id, prompt) in the order a user gives them
    (2, 7, dict(point_coords=[[20, 20]], point_labels=[1])),
    (2, -3, dict(box=[38, 18, 60, 42])),
    (4, 7, dict(point_coords=[[26, 20], [5, 5]], point_labels=[1, 0])),
]


def _upstream_run(predictor, folder, reverse: bool):
    import sam2.utils.misc  # noqa: F401

    with torch.inference_mode():
        state = predictor.init_state(video_path=str(folder))
        per_prompt = []
        for frame, oid, prompt in SCRIPT:
            kwargs = (
                {"box": np.asarray(prompt["box"], np.float32)}
                if "box" in prompt
                else {
                    "points": np.asarray(prompt["point_coords"], np.float32),
                    "labels": np.asarray(prompt["point_labels"], np.int32),
                }
            )
            _, ids, logits = predictor.add_new_points_or_box(state, frame_idx=frame, obj_id=oid, **kwargs)
            per_prompt.append({int(i): (logits[k, 0] > 0).numpy() for k, i in enumerate(ids)})
        tracked = {
            int(t): {int(i): (logits[k, 0] > 0).numpy() for k, i in enumerate(ids)}
            for t, ids, logits in predictor.propagate_in_video(state, reverse=reverse)
        }
    return per_prompt, tracked


def _assert_same(ours: dict, ref: dict) -> None:
    assert list(ours) == list(ref)
    for t in ref:
        assert list(ours[t]) == list(ref[t])
        for oid in ref[t]:
            np.testing.assert_array_equal(ours[t][oid], ref[t][oid], err_msg=f"frame {t} object {oid}")


@pytest.mark.parametrize("source, reverse", [("folder", False), ("array", True)])
def test_tracks_exactly_as_sam2(model, upstream, video_folder, source, reverse):
    folder, decoded = video_folder
    tracker = model.video(folder if source == "folder" else decoded)
    ref_prompts, ref_tracked = _upstream_run(upstream, folder, reverse)
    for (frame, oid, prompt), ref in zip(SCRIPT, ref_prompts):
        _assert_same({0: tracker.add_prompt(frame, oid, **prompt)}, {0: ref})
    assert tracker.obj_ids == [7, -3]
    ours = tracker.track(reverse=reverse)
    _assert_same(ours, ref_tracked)
    assert list(ours) == (list(range(2, -1, -1)) if reverse else list(range(2, T)))
    assert all(m.shape == (H, W) and m.dtype == bool for f in ours.values() for m in f.values())


def test_frames_stream_and_reset(model, video_folder):
    _, decoded = video_folder
    tracker = model.video(decoded)
    assert tracker.frame_tensors.decoded == 1  # sam2's init_state warms up on frame 0 only
    tracker.add_prompt(0, 1, point_coords=[[14, 20]], point_labels=[1])
    first = tracker.track()
    assert sorted(first) == list(range(T)) and tracker.frame_tensors.decoded <= 2 * T
    tracker.reset()
    assert tracker.obj_ids == []
    with pytest.raises(NotReadyError, match="before any prompt"):
        tracker.track()
    tracker.add_prompt(0, 1, point_coords=[[14, 20]], point_labels=[1])
    again = tracker.track()
    _assert_same(again, first)
    stored = model.video(decoded, video_storage="cpu")
    stored.add_prompt(0, 1, point_coords=[[14, 20]], point_labels=[1])
    _assert_same(stored.track(), first)


def test_mask_prompt_and_weights_are_shared(model, video_folder):
    _, decoded = video_folder
    tracker = model.video(decoded)
    mask = np.zeros((H, W), bool)
    mask[12:28, 6:22] = True
    out = tracker.add_prompt(1, 5, mask=mask)
    assert list(out) == [5] and out[5].shape == (H, W)
    assert len(tracker.track()) == T - 1
    ours = dict(model.model.named_parameters())
    for name, p in tracker.predictor.named_parameters():
        assert p.data_ptr() == ours[name].data_ptr(), name  # shared, not copied


def test_bad_video_prompts(model, video_folder):
    _, decoded = video_folder
    tracker = model.video(decoded)
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
    with pytest.raises(ValueError, match="video_storage"):
        model.video(decoded, video_storage="gpu")


def test_models_without_video_say_which_can(random_model):
    with pytest.raises(UnsupportedError, match="sam2.1_hiera_tiny"):
        random_model("mobile_sam").video(np.zeros((2, 8, 8, 3), np.uint8))


@pytest.mark.slow
def test_tracks_exactly_as_sam2_at_the_released_input_size(video_folder, tmp_path):
    """The same parity at the released 1024-pixel input (the module's other tests use 256)."""
    import samkit.models.sam2 as sam2_adapter

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sam2_adapter, "model_config", RELEASED_CONFIG)
        full = samkit.load(NAME, weights="random", seed=0, device="cpu")
        assert full.model.image_size == 1024
        folder, _ = video_folder
        upstream = build_upstream(full, tmp_path, 1024)
        tracker = full.video(folder)
        ref_prompts, ref_tracked = _upstream_run(upstream, folder, reverse=False)
        for (frame, oid, prompt), ref in zip(SCRIPT, ref_prompts):
            _assert_same({0: tracker.add_prompt(frame, oid, **prompt)}, {0: ref})
        _assert_same(tracker.track(), ref_tracked)


def test_an_mp4_tracks_as_its_decoded_frames(model, video_folder, tmp_path):
    """A small generated mp4, read through PyAV and streamed, gives exactly the masks of its decoded
    frames given as an array."""
    from samkit.video_io import open_video, write_video

    _, decoded = video_folder
    path = write_video(tmp_path / "clip.mp4", decoded, fps=10)
    frames = open_video(path).to_array()
    assert frames.shape == decoded.shape
    results = []
    for source in (path, frames):
        tracker = model.video(source)
        tracker.add_prompt(1, 2, box=[6, 10, 26, 30])
        results.append(tracker.track())
    _assert_same(results[0], results[1])
