"""moving_shapes and write_davis: determinism, exact masks under occlusion, smooth motion and the
DAVIS 2017 round trip through DavisDataset."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from samkit.data import DavisDataset, SyntheticVideo, moving_shapes, open_video, write_davis
from samkit.data.synthetic_video import davis_palette

T, SIZE = 12, (64, 96)


def test_shapes_and_types():
    video = moving_shapes(T, SIZE, num_objects=3, seed=1)
    assert isinstance(video, SyntheticVideo) and video.num_frames == T and video.size == SIZE
    assert video.frames.shape == (T, *SIZE, 3) and video.frames.dtype == np.uint8
    assert video.masks.shape == (3, T, *SIZE) and video.masks.dtype == bool
    assert video.amodal_masks.shape == video.masks.shape and video.object_ids == ["1", "2", "3"]
    assert video.meta["background"] in ("noise", "gradient", "stripes")
    assert all(s in ("ellipse", "rectangle", "polygon") for s in video.meta["shapes"])
    assert video.meta["centers"].shape == (3, T, 2)
    # open_video takes the frames as they are
    frames = open_video(video.frames)
    assert len(frames) == T and frames.size == SIZE


def test_deterministic_given_seed():
    a, b = moving_shapes(T, SIZE, 2, seed=3), moving_shapes(T, SIZE, 2, seed=3)
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.masks, b.masks)
    c = moving_shapes(T, SIZE, 2, seed=4)
    assert not np.array_equal(a.frames, c.frames)


def test_masks_are_exact_visible_pixels():
    for seed in range(4):
        video = moving_shapes(T, SIZE, 3, seed=seed)
        # visible = own silhouette minus the silhouettes drawn after it
        for k in range(3):
            above = video.amodal_masks[k + 1 :].any(axis=0)
            np.testing.assert_array_equal(video.masks[k], video.amodal_masks[k] & ~above)
        # masks are disjoint and each object's pixels have its colour
        assert (video.masks.sum(axis=0) <= 1).all()
        for k, color in enumerate(video.meta["colors"]):
            assert (video.frames[video.masks[k]] == color).all()
        # labels() is the same partition
        labels = video.labels()
        for k in range(3):
            np.testing.assert_array_equal(labels == k + 1, video.masks[k])


def test_later_objects_occlude_earlier_ones():
    occluded = []
    for seed in range(10):
        video = moving_shapes(T, SIZE, 2, seed=seed)
        overlap = video.amodal_masks[0] & video.amodal_masks[1]
        if overlap.any():
            assert not (video.masks[0] & overlap).any()  # object 1 hidden under object 2
            assert video.masks[1][overlap].all()
            occluded.append(seed)
    assert occluded, "no seed in 0..9 makes the two shapes overlap"


def test_every_object_visible_in_first_frame_and_motion_is_smooth():
    for seed in range(6):
        video = moving_shapes(T, SIZE, 3, seed=seed)
        drawn = video.amodal_masks[:, 0].sum(axis=(1, 2))
        seen = video.masks[:, 0].sum(axis=(1, 2))
        assert (seen > 0).all() and (seen * 4 >= drawn).all()
        centers = video.meta["centers"]
        h, w = SIZE
        assert (centers[..., 0] >= 0.05 * h - 1e-9).all() and (centers[..., 0] <= 0.95 * h).all()
        assert (centers[..., 1] >= 0.05 * w - 1e-9).all() and (centers[..., 1] <= 0.95 * w).all()
        step = np.abs(np.diff(centers, axis=1)).max()
        assert step < 0.25 * max(SIZE)  # no jumps between frames
        assert np.abs(np.diff(centers, axis=1)).sum() > 0  # they do move


def test_options_and_bad_arguments():
    video = moving_shapes(4, (32, 40), 2, seed=0, shapes=["ellipse"], background="gradient")
    assert video.meta["shapes"] == ["ellipse", "ellipse"] and video.meta["background"] == "gradient"
    assert moving_shapes(3, (16, 16), 0).masks.shape == (0, 3, 16, 16)
    for kwargs, match in [
        ({"num_frames": 0}, "num_frames"),
        ({"num_objects": -1}, "num_objects"),
        ({"size": (0, 4)}, "size"),
        ({"shapes": ["star"]}, "shapes"),
        ({"background": "plaid"}, "background"),
    ]:
        with pytest.raises(ValueError, match=match):
            moving_shapes(**kwargs)


def test_davis_round_trip(tmp_path):
    videos = write_davis(tmp_path, ["alpha", "beta"], num_frames=8, size=SIZE, num_objects=3, seed=2)
    assert sorted(videos) == ["alpha", "beta"]
    assert (tmp_path / "ImageSets" / "2017" / "val.txt").read_text() == "alpha\nbeta\n"
    ann = Image.open(tmp_path / "Annotations" / "480p" / "alpha" / "00000.png")
    assert ann.mode == "P" and ann.getpalette()[:9] == davis_palette()[:9]
    assert davis_palette()[3:9] == [128, 0, 0, 0, 128, 0]

    ds = DavisDataset(tmp_path, split="val")
    assert ds.sequences == ["alpha", "beta"] and ds.skipped_images == []
    for sample in ds:
        video = videos[sample.sequence]
        assert sample.object_ids == video.object_ids and sample.annotated.all()
        assert sample.void is None
        assert sample.frame_names == [f"{t:05d}" for t in range(8)]
        np.testing.assert_array_equal(sample.masks, video.masks)  # exact
        frames = sample.load_frames()
        assert frames.shape == video.frames.shape
        assert np.abs(frames.astype(int) - video.frames).mean() < 6  # JPEG, 4:4:4, quality 95
        # the JPEG folder is also an open_video source, in the same order
        assert open_video(sample.frame_paths[0].parent).frame_names == sample.frame_names


def test_write_davis_counts_mappings_and_split_merge(tmp_path):
    videos = write_davis(tmp_path, 2, num_frames=3, size=(32, 48), seed=0)
    assert list(videos) == ["shapes-000", "shapes-001"]
    again = write_davis(tmp_path / "again", 2, num_frames=3, size=(32, 48), seed=0)
    np.testing.assert_array_equal(videos["shapes-001"].masks, again["shapes-001"].masks)
    mine = moving_shapes(3, (32, 48), 1, seed=9, name="mine")
    write_davis(tmp_path, {"mine": mine})
    split = (tmp_path / "ImageSets" / "2017" / "val.txt").read_text().split()
    assert split == ["shapes-000", "shapes-001", "mine"]
    sample = DavisDataset(tmp_path, sequences=["mine"])[0]
    np.testing.assert_array_equal(sample.masks, mine.masks)
    with pytest.raises(ValueError, match="string"):
        write_davis(tmp_path, "abc")
    with pytest.raises(ValueError, match="unique"):
        write_davis(tmp_path, ["a", "a"])
    with pytest.raises(ValueError, match="plain folder name"):
        write_davis(tmp_path, ["../x"])
