"""Paths read from dataset files stay inside their root: COCO ``file_name`` / ``coco_url``, SA-1B and
folder listings, DAVIS split files, listings, frames and annotations; ``..``, absolute paths and
symlinks that lead out are refused with `DatasetError` naming the record and the root."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from samkit.data import CocoDataset, DavisDataset, FolderDataset, Sa1bDataset, write_davis
from samkit.data._io import resolve_inside
from samkit.errors import DatasetError, SamkitError

H, W = 12, 16


def save_png(path: Path, value: int = 0, mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (H, W, 3) if mode == "RGB" else (H, W)
    Image.fromarray(np.full(shape, value, np.uint8)).save(path)
    return path


def coco_json(tmp_path: Path, file_name: str, **image) -> tuple[Path, Path]:
    """A one-image COCO json whose image has ``file_name``; ``images/ok.png`` exists."""
    images_dir = tmp_path / "root" / "images"
    save_png(images_dir / "ok.png")
    entry = {"id": 7, "file_name": file_name, "height": H, "width": W, **image}
    if file_name is None:
        entry.pop("file_name")
    data = {"images": [entry], "annotations": [{"id": 1, "image_id": 7, "segmentation": [[1, 1, 5, 1, 5, 5]]}]}
    path = tmp_path / "root" / "ann.json"
    path.write_text(json.dumps(data))
    return path, images_dir


# --------------------------------------------------------------------------------------------
# the helper
# --------------------------------------------------------------------------------------------


def test_resolve_inside_keeps_the_joined_path_and_refuses_escapes(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    assert resolve_inside(root, "a.png", what="x") == root / "a.png"
    assert resolve_inside(root, "sub/../a.png", what="x") == root / "sub/../a.png"  # comes back inside
    assert resolve_inside(root, root / "sub" / "b.png", what="x") == root / "sub" / "b.png"  # absolute, inside
    for bad in ("../a.png", "sub/../../a.png", str(tmp_path / "a.png"), "/etc/passwd"):
        with pytest.raises(DatasetError, match=rf"record 3: the path .* outside the dataset root {root}"):
            resolve_inside(root, bad, what="record 3")
    with pytest.raises(DatasetError, match="cannot resolve"):
        resolve_inside(root, "a\x00b", what="record 4")
    assert issubclass(DatasetError, ValueError) and issubclass(DatasetError, SamkitError)


def test_resolve_inside_follows_symlinks(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.png").write_bytes(b"x")
    (root / "inner.png").write_bytes(b"x")
    (root / "out.png").symlink_to(tmp_path / "secret.png")
    (root / "in.png").symlink_to(root / "inner.png")
    (root / "outdir").symlink_to(tmp_path)
    assert resolve_inside(root, "in.png", what="x") == root / "in.png"
    with pytest.raises(DatasetError, match="out.png' resolves to .*secret.png, outside"):
        resolve_inside(root, "out.png", what="x")
    with pytest.raises(DatasetError, match="outside"):
        resolve_inside(root, "outdir/secret.png", what="x")
    # a root that is itself a symlink is followed: its contents are inside
    link_root = tmp_path / "link_root"
    link_root.symlink_to(root)
    assert resolve_inside(link_root, "inner.png", what="x") == link_root / "inner.png"


# --------------------------------------------------------------------------------------------
# COCO / SA-1B
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_name", ["../../../../etc/passwd", "../outside.png", "sub/../../outside.png"])
def test_coco_relative_escape_is_refused_naming_image_and_root(tmp_path, file_name):
    path, images_dir = coco_json(tmp_path, file_name)
    save_png(images_dir.parent / "outside.png")  # exists, so it would be read today
    with pytest.raises(DatasetError) as e:
        CocoDataset(path, images_dir)
    message = str(e.value)
    assert f"image 7 (file_name {file_name!r})" in message and str(path) in message
    assert f"outside the dataset root {images_dir.resolve()}" in message


def test_coco_absolute_file_name_outside_is_refused_inside_is_read(tmp_path):
    outside = save_png(tmp_path / "elsewhere" / "photo.png", value=200)
    path, images_dir = coco_json(tmp_path, str(outside))
    with pytest.raises(DatasetError, match=r"image 7 \(file_name '.*photo.png'\).* outside the dataset root"):
        CocoDataset(path, images_dir)
    path, images_dir = coco_json(tmp_path, str(images_dir / "ok.png"))
    sample = CocoDataset(path, images_dir)[0]
    assert sample.meta["file"] == str(images_dir / "ok.png") and sample.masks.shape == (1, H, W)


def test_coco_symlink_leading_out_is_refused_one_staying_in_is_read(tmp_path):
    secret = save_png(tmp_path / "secret.png", value=99)
    path, images_dir = coco_json(tmp_path, "link.png")
    (images_dir / "link.png").symlink_to(secret)
    with pytest.raises(DatasetError, match=r"image 7 \(file_name 'link.png'\).*secret.png, outside"):
        CocoDataset(path, images_dir)
    (images_dir / "link.png").unlink()
    (images_dir / "link.png").symlink_to(images_dir / "ok.png")
    assert len(CocoDataset(path, images_dir)[0].object_ids) == 1


def test_coco_url_name_is_confined_too(tmp_path):
    path, images_dir = coco_json(tmp_path, None, coco_url="http://images.cocodataset.org/val2017/..")
    with pytest.raises(DatasetError, match=r"image 7 \(coco_url 'http://images.cocodataset.org/val2017/..'\)"):
        CocoDataset(path, images_dir)


def test_sa1b_symlinked_image_or_json_leading_out_is_refused(tmp_path):
    folder = tmp_path / "sa1b"
    save_png(folder / "sa_1.png")
    ann = {
        "image": {"image_id": 1, "height": H, "width": W, "file_name": "../../etc/passwd"},
        "annotations": [{"id": 1, "segmentation": [[1, 1, 5, 1, 5, 5]]}],
    }
    (folder / "sa_1.json").write_text(json.dumps(ann))
    sample = Sa1bDataset(folder)[0]  # the json's own file_name is not used
    assert sample.meta["file"] == str(folder / "sa_1.png")

    secret = save_png(tmp_path / "secret.jpg")
    (folder / "sa_2.json").write_text(json.dumps(ann))
    (folder / "sa_2.jpg").symlink_to(secret)
    with pytest.raises(DatasetError, match=r"sa1b:sa1b: image 'sa_2'.*outside the dataset root"):
        Sa1bDataset(folder)
    (folder / "sa_2.jpg").unlink()
    (folder / "sa_2.json").unlink()
    (tmp_path / "other.json").write_text(json.dumps(ann))
    (folder / "sa_3.json").symlink_to(tmp_path / "other.json")
    with pytest.raises(DatasetError, match="annotation file of image 'sa_3'"):
        Sa1bDataset(folder)


# --------------------------------------------------------------------------------------------
# DAVIS
# --------------------------------------------------------------------------------------------


def davis_root(tmp_path: Path) -> Path:
    root = tmp_path / "DAVIS"
    write_davis(root, ["bear"], num_frames=2, size=(H, W), num_objects=1)
    return root


@pytest.mark.parametrize("line", ["../../../etc", "../480p-other", "/etc"])
def test_davis_split_file_escape_is_refused_naming_sequence_and_file(tmp_path, line):
    root = davis_root(tmp_path)
    split_file = root / "ImageSets" / "2017" / "val.txt"
    split_file.write_text(f"bear\n{line}\n")
    with pytest.raises(DatasetError) as e:
        DavisDataset(root, split="val")
    assert f"sequence {line!r} (from {split_file})" in str(e.value)
    assert "outside the dataset root" in str(e.value) and "JPEGImages" in str(e.value)


def test_davis_symlinked_sequence_folder_leading_out_is_refused(tmp_path):
    root = davis_root(tmp_path)
    other = davis_root(tmp_path / "other")
    (root / "JPEGImages" / "480p" / "cow").symlink_to(other / "JPEGImages" / "480p" / "bear")
    with pytest.raises(DatasetError, match=r"sequence 'cow' \(from the listing of .*JPEGImages/480p\)"):
        DavisDataset(root)


def test_davis_symlinked_frame_or_annotation_leading_out_is_refused_at_load(tmp_path):
    root = davis_root(tmp_path)
    secret = save_png(tmp_path / "secret.png")
    frame = root / "JPEGImages" / "480p" / "bear" / "00002.jpg"
    frame.symlink_to(secret)
    ds = DavisDataset(root)
    with pytest.raises(DatasetError, match=r"davis:480p: sequence 'bear' frame '00002.jpg'.*outside"):
        ds[0]
    frame.unlink()
    label = root / "Annotations" / "480p" / "bear" / "00000.png"
    label.unlink()
    label.symlink_to(save_png(tmp_path / "label.png", mode="L"))
    with pytest.raises(DatasetError, match=r"sequence 'bear' annotation '00000.png'.*Annotations/480p"):
        DavisDataset(root)[0]


def test_davis_symlinked_layout_folder_is_its_own_root(tmp_path):
    """A JPEGImages folder that is a symlink (data on another disk) is the root of its sequences."""
    real = davis_root(tmp_path / "disk")
    root = tmp_path / "DAVIS"
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").symlink_to(real / "JPEGImages")
    (root / "Annotations" / "480p").symlink_to(real / "Annotations" / "480p")
    sample = DavisDataset(root)[0]
    assert sample.sequence == "bear" and sample.masks.shape[:2] == (1, 2)


# --------------------------------------------------------------------------------------------
# folder dataset
# --------------------------------------------------------------------------------------------


def test_folder_symlinks_leading_out_are_refused(tmp_path):
    root = tmp_path / "data"
    save_png(root / "images" / "a.png")
    save_png(root / "masks" / "a.png", value=1, mode="L")
    assert FolderDataset(root)[0].object_ids == ["1"]
    secret = save_png(tmp_path / "secret.png")
    (root / "images" / "b.png").symlink_to(secret)
    with pytest.raises(DatasetError, match=r"folder:data: image 'b.png'.*outside the dataset root .*images"):
        FolderDataset(root)
    (root / "images" / "b.png").unlink()

    save_png(root / "images" / "c.png")
    (root / "masks" / "c").mkdir()
    save_png(root / "masks" / "c" / "1.png", value=255, mode="L")
    os.symlink(save_png(tmp_path / "m.png", value=255, mode="L"), root / "masks" / "c" / "2.png")
    ds = FolderDataset(root)
    with pytest.raises(DatasetError, match=r"image 'c' mask '2.png'.*outside the dataset root .*masks"):
        ds[ds.image_ids.index("c")]

    (root / "masks" / "d").symlink_to(tmp_path)
    save_png(root / "images" / "d.png")
    with pytest.raises(DatasetError, match=r"masks of image 'd'"):
        FolderDataset(root)
