"""FolderDataset: label PNGs (8-bit, palette, 16-bit), per-object PNGs, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from samkit.data import FolderDataset

H, W = 18, 24


def save_image(path: Path, h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return arr


def save_label(path: Path, label: np.ndarray, mode: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "P":  # palette PNG as DAVIS: pixel values are palette indices
        img = Image.frombytes("P", label.shape[::-1], label.astype(np.uint8).tobytes())
        img.putpalette([v for i in range(256) for v in (i, 255 - i, (7 * i) % 256)])
    else:
        img = Image.fromarray(label)
    img.save(path)


def label_image(h: int = H, w: int = W) -> np.ndarray:
    label = np.zeros((h, w), np.uint8)
    label[2:8, 3:10] = 3
    label[10:16, 12:20] = 7
    label[0, 0] = 9  # a one-pixel object
    return label


def test_label_png(tmp_path):
    image = save_image(tmp_path / "images" / "a.png")
    save_label(tmp_path / "masks" / "a.png", label_image())
    ds = FolderDataset(tmp_path)
    assert ds.name == f"folder:{tmp_path.name}" and len(ds) == 1 and ds.skipped_images == []
    s = ds[0]
    assert s.image_id == "a" and s.object_ids == ["3", "7", "9"]
    np.testing.assert_array_equal(s.image, image)
    expected = label_image()[None] == np.array([3, 7, 9])[:, None, None]
    np.testing.assert_array_equal(s.masks, expected)
    assert s.meta["has_masks"] and s.meta["objects"] == [{"area": 42}, {"area": 48}, {"area": 1}]


def test_min_area_and_max_objects(tmp_path):
    save_image(tmp_path / "images" / "a.png")
    save_label(tmp_path / "masks" / "a.png", label_image())
    s = FolderDataset(tmp_path, min_area=2)[0]
    assert s.object_ids == ["3", "7"] and s.skipped == [{"object_id": "9", "reason": "tiny"}]
    one = [FolderDataset(tmp_path, max_objects=1, seed=k)[0].object_ids for k in range(12)]
    assert all(len(o) == 1 for o in one) and len({o[0] for o in one}) > 1
    assert one == [FolderDataset(tmp_path, max_objects=1, seed=k)[0].object_ids for k in range(12)]


def test_palette_png_with_void(tmp_path):
    label = label_image()
    label[8, :] = 255
    save_image(tmp_path / "images" / "a.jpg")
    save_label(tmp_path / "masks" / "a.png", label, mode="P")
    assert Image.open(tmp_path / "masks" / "a.png").mode == "P"
    assert FolderDataset(tmp_path)[0].object_ids == ["3", "7", "9", "255"]
    s = FolderDataset(tmp_path, void_value=255)[0]
    assert s.object_ids == ["3", "7", "9"] and s.image.shape == (H, W, 3)
    np.testing.assert_array_equal(s.meta["void"], label == 255)
    np.testing.assert_array_equal(s.masks[1], label == 7)


def test_16_bit_label_png(tmp_path):
    label = np.zeros((H, W), np.uint16)
    label[1:5, 1:5] = 300
    label[6:9, 6:9] = 2
    save_image(tmp_path / "images" / "a.png")
    save_label(tmp_path / "masks" / "a.png", label)
    s = FolderDataset(tmp_path)[0]
    assert s.object_ids == ["2", "300"]
    np.testing.assert_array_equal(s.masks[1], label == 300)


def test_per_object_pngs(tmp_path):
    save_image(tmp_path / "images" / "a.png")
    d = tmp_path / "masks" / "a"
    d.mkdir(parents=True)
    cat = np.zeros((H, W), bool)
    cat[3:9, 4:15] = True
    dog = np.zeros((H, W), bool)
    dog[5:15, 10:20] = True  # overlaps cat: per-object masks may overlap
    Image.fromarray(cat.astype(np.uint8) * 255).save(d / "cat.png")
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[dog] = (0, 0, 1)  # nonzero in any channel is foreground
    Image.fromarray(rgb).save(d / "dog.png")
    Image.fromarray(np.zeros((H, W), np.uint8)).save(d / "ghost.png")
    (d / "notes.txt").write_text("ignored")
    s = FolderDataset(tmp_path)[0]
    assert s.object_ids == ["cat", "dog"] and s.skipped == [{"object_id": "ghost", "reason": "empty"}]
    np.testing.assert_array_equal(s.masks, np.stack([cat, dog]))


def test_image_without_masks_gives_empty_sample(tmp_path):
    save_image(tmp_path / "images" / "a.png")
    save_image(tmp_path / "images" / "b.png")
    save_label(tmp_path / "masks" / "a.png", label_image())
    with pytest.warns(UserWarning, match=r"1 of 2 image\(s\) have no masks .*'b'"):
        ds = FolderDataset(tmp_path)
    assert len(ds) == 2 and ds.images_without_masks == ["b"]
    b = ds[1]
    assert b.image_id == "b" and b.num_objects == 0 and b.masks.shape == (0, H, W)
    assert b.meta["has_masks"] is False


def test_mask_without_image_is_counted(tmp_path):
    save_image(tmp_path / "images" / "a.png")
    save_label(tmp_path / "masks" / "a.png", label_image())
    save_label(tmp_path / "masks" / "lost.png", label_image())
    with pytest.warns(UserWarning, match=r"1 mask file\(s\) have no image"):
        ds = FolderDataset(tmp_path)
    assert len(ds) == 1
    assert [(x["image_id"], x["reason"]) for x in ds.skipped_images] == [("lost", "missing file")]


def test_size_mismatch_names_image_and_sizes(tmp_path):
    save_image(tmp_path / "images" / "a.png")
    save_label(tmp_path / "masks" / "a.png", label_image(h=H + 2))
    with pytest.raises(
        ValueError,
        match=r"Image 'a': mask .*a\.png is 20x24 \(HxW\) but image "
        r".*a\.png is 18x24",
    ):
        FolderDataset(tmp_path)[0]
    (tmp_path / "masks" / "a.png").unlink()
    (tmp_path / "masks" / "a").mkdir()
    Image.fromarray(np.ones((H, W + 1), np.uint8)).save(tmp_path / "masks" / "a" / "x.png")
    with pytest.raises(ValueError, match=r"x\.png is 18x25 \(HxW\) but image .* is 18x24"):
        FolderDataset(tmp_path)[0]


def test_rgb_label_png_is_rejected(tmp_path):
    save_image(tmp_path / "images" / "a.png")
    save_image(tmp_path / "masks" / "a.png")
    with pytest.raises(ValueError, match="label PNG must be single-channel .* got mode 'RGB'"):
        FolderDataset(tmp_path)[0]


def test_layout_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No images folder"):
        FolderDataset(tmp_path)
    save_image(tmp_path / "images" / "a.png")
    save_image(tmp_path / "images" / "a.jpg")
    with pytest.raises(ValueError, match="Two images with the stem 'a'"):
        FolderDataset(tmp_path)
    (tmp_path / "images" / "a.jpg").unlink()
    save_label(tmp_path / "masks" / "a.png", label_image())
    (tmp_path / "masks" / "a").mkdir()
    with pytest.raises(ValueError, match="Both a label PNG and a mask folder for 'a'"):
        FolderDataset(tmp_path)


def test_max_images_reproducible(tmp_path):
    for i in range(15):
        save_image(tmp_path / "images" / f"im{i}.png", seed=i)
        save_label(tmp_path / "masks" / f"im{i}.png", label_image())
    a = FolderDataset(tmp_path, max_images=4, seed=3)
    assert len(a) == 4 and a.image_ids == FolderDataset(tmp_path, max_images=4, seed=3).image_ids
    assert a.image_ids == sorted(a.image_ids, key=lambda s: int(s[2:]))
    assert [s.image_id for s in a] == a.image_ids
    assert FolderDataset(tmp_path, max_images=4, seed=4).image_ids != a.image_ids
    assert len(FolderDataset(tmp_path, max_images=0)) == 0
