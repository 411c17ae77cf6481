"""DavisDataset on a tiny generated DAVIS 2017 layout: mask tracks, void, partial annotation and
bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from samkit.data import DavisDataset, VideoSample

H, W, T = 16, 20, 4


def save_palette(path: Path, label: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.frombytes("P", label.shape[::-1], label.astype(np.uint8).tobytes())
    img.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [200] * (3 * 253))
    img.save(path)


def labels_for(seq_index: int, t: int) -> np.ndarray:
    """Object 1 moves right one pixel per frame; object 2 appears from frame 1; a void row."""
    label = np.zeros((H, W), np.uint8)
    label[2:6, 2 + t : 6 + t] = 1
    if t >= 1:
        label[9:12, 10 : 15 + seq_index] = 2
    label[14, :] = 255
    return label


def frame(t: int) -> np.ndarray:
    """A smooth HxWx3 uint8 frame (JPEG keeps it close)."""
    yy, xx = np.mgrid[:H, :W]
    return np.stack([yy * 12, xx * 10, np.full((H, W), 40 * t)], axis=2).astype(np.uint8)


def make_davis(
    root: Path, sequences=("bear", "camel", "dog"), frames: int = T, annotate=lambda t: True
) -> dict[str, np.ndarray]:
    expected = {}
    for k, seq in enumerate(sequences):
        labels = []
        for t in range(frames):
            name = f"{t:05d}"
            rgb = frame(t)
            jpg = root / "JPEGImages" / "480p" / seq / f"{name}.jpg"
            jpg.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rgb).save(jpg, quality=95)
            labels.append(labels_for(k, t))
            if annotate(t):
                save_palette(root / "Annotations" / "480p" / seq / f"{name}.png", labels[-1])
        expected[seq] = np.stack(labels)
    return expected


def test_sequences_masks_and_void(tmp_path):
    expected = make_davis(tmp_path)
    ds = DavisDataset(tmp_path)
    assert len(ds) == 3 and ds.sequences == ["bear", "camel", "dog"] and ds.name == "davis:480p"
    assert ds.image_ids == ds.sequences and ds.skipped_images == []
    for v in ds:
        assert isinstance(v, VideoSample)
        labels = expected[v.sequence]
        assert v.frame_names == ["00000", "00001", "00002", "00003"]
        assert v.object_ids == ["1", "2"] and v.masks.shape == (2, T, H, W)
        np.testing.assert_array_equal(v.masks[0], labels == 1)
        np.testing.assert_array_equal(v.masks[1], labels == 2)
        np.testing.assert_array_equal(v.void, labels == 255)
        assert v.annotated.all() and v.skipped == []
        assert [o["first_frame"] for o in v.meta["objects"]] == [0, 1]
        assert v.meta["objects"][0]["area"] == 16 * T
    frames = ds[0].load_frames()
    assert frames.shape == (T, H, W, 3) and frames.dtype == np.uint8
    assert np.abs(frames[2].astype(int) - frame(2)).max() < 12  # JPEG: close, not equal


def test_first_frame_only_annotation(tmp_path):
    make_davis(tmp_path, sequences=("bear",), annotate=lambda t: t == 0)
    v = DavisDataset(tmp_path)[0]
    assert v.annotated.tolist() == [True, False, False, False]
    assert v.object_ids == ["1"]  # object 2 first appears in an unannotated frame
    assert v.masks[0, 0].sum() == 16 and not v.masks[0, 1:].any()


def test_no_void_gives_none(tmp_path):
    make_davis(tmp_path, sequences=("bear",))
    for png in (tmp_path / "Annotations" / "480p" / "bear").glob("*.png"):
        label = np.asarray(Image.open(png)).copy()
        label[label == 255] = 0
        save_palette(png, label)
    assert DavisDataset(tmp_path)[0].void is None


def test_split_and_missing_sequences(tmp_path):
    make_davis(tmp_path)
    split = tmp_path / "ImageSets" / "2017" / "val.txt"
    split.parent.mkdir(parents=True)
    split.write_text("camel\nhorse\n\n")
    with pytest.warns(UserWarning, match=r"1 sequence\(s\) skipped .*'horse', missing file"):
        ds = DavisDataset(tmp_path, split="val")
    assert ds.sequences == ["camel"]
    assert ds.skipped_images == [
        {"image_id": "horse", "reason": "missing file", "path": str(tmp_path / "JPEGImages" / "480p" / "horse")}
    ]
    # a sequence with frames but no annotation folder
    (tmp_path / "JPEGImages" / "480p" / "owl").mkdir()
    with pytest.warns(UserWarning, match="missing annotations"):
        ds = DavisDataset(tmp_path, sequences=["owl", "dog"])
    assert ds.sequences == ["dog"] and ds.skipped_images[0]["reason"] == "missing annotations"
    with pytest.raises(ValueError, match="either sequences or split"):
        DavisDataset(tmp_path, sequences=["dog"], split="val")
    with pytest.raises(FileNotFoundError, match="No DAVIS split file"):
        DavisDataset(tmp_path, split="test")
    with pytest.raises(FileNotFoundError, match="No DAVIS frames folder"):
        DavisDataset(tmp_path, resolution="Full-Resolution")


def test_subsampling_and_min_area(tmp_path):
    make_davis(tmp_path, sequences=[f"s{i}" for i in range(8)])
    a = DavisDataset(tmp_path, max_images=3, max_objects=1, seed=2)
    b = DavisDataset(tmp_path, max_images=3, max_objects=1, seed=2)
    assert len(a) == 3 and a.sequences == b.sequences
    assert [v.object_ids for v in a] == [v.object_ids for v in b]
    assert all(len(v.object_ids) == 1 and v.meta["num_eligible_objects"] == 2 for v in a)
    v = DavisDataset(tmp_path, sequences=["s0"], min_area=50)[0]  # areas: 16 * 4 and 15 * 3
    assert v.object_ids == ["1"] and v.skipped == [{"object_id": "2", "reason": "tiny"}]


def test_size_mismatches_and_orphan_annotation(tmp_path):
    make_davis(tmp_path, sequences=("bear",))
    ann = tmp_path / "Annotations" / "480p" / "bear"
    save_palette(ann / "00002.png", np.zeros((H, W + 1), np.uint8))
    with pytest.raises(
        ValueError,
        match=r"'bear': annotation .*00002\.png is 16x21 \(HxW\) but "
        "the frames are 16x20",
    ):
        DavisDataset(tmp_path)[0]
    save_palette(ann / "00002.png", labels_for(0, 2))
    save_palette(ann / "00009.png", labels_for(0, 2))
    with pytest.raises(ValueError, match=r"annotation .*00009\.png has no frame 00009\.jpg"):
        DavisDataset(tmp_path)[0]
    (ann / "00009.png").unlink()
    jpg = tmp_path / "JPEGImages" / "480p" / "bear" / "00003.jpg"
    Image.fromarray(np.zeros((H + 1, W, 3), np.uint8)).save(jpg)
    with pytest.raises(
        ValueError,
        match=r"frame .*00003\.jpg is 17x20 \(HxW\) but 00000\.jpg is "
        "16x20",
    ):
        DavisDataset(tmp_path)[0]
