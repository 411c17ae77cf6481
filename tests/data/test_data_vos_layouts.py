"""The VOS loaders (SA-V, MOSE v1 / MOSEv2, YouTube-VOS, LVOS) on small sets written in each
benchmark's official layout (``vos_layouts.py``): exact masks, annotated and first frames, skipped
videos and objects with their reasons, subsampling, and paths kept inside the dataset."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import vos_layouts as L
from PIL import Image

import samkit.data._io
from samkit.data import LvosDataset, MoseDataset, Mosev2Dataset, SavDataset, VideoSample, YouTubeVOSDataset
from samkit.errors import DatasetError


def check(ds, expected: dict[str, L.Expected]) -> None:
    """Every video of ``ds`` is what the generator wrote, object by object and frame by frame."""
    assert ds.sequences == sorted(expected) and ds.image_ids == ds.sequences and ds.skipped_images == []
    for v in ds:
        e = expected[v.sequence]
        assert isinstance(v, VideoSample) and v.dataset == ds.name
        assert v.frame_names == e.frame_names and [p.stem for p in v.frame_paths] == e.frame_names
        assert np.flatnonzero(v.annotated).tolist() == e.annotated
        assert v.object_ids == list(e.masks) and v.masks.shape == (len(e.masks), len(e.frame_names), L.H, L.W)
        for k, object_id in enumerate(v.object_ids):
            np.testing.assert_array_equal(v.masks[k], e.masks[object_id], err_msg=f"{v.sequence} {object_id}")
            entry = v.meta["objects"][k]
            assert entry["first_frame"] == e.first_frame[object_id]
            assert entry["annotated_frames"] == e.annotated_frames[object_id]
            assert entry["area"] == int(e.masks[object_id].sum())
        assert v.skipped == e.skipped
        if e.void is None:
            assert v.void is None
        else:
            np.testing.assert_array_equal(v.void, e.void)


# ------------------------------------------------------------------------------------------- SA-V


def test_sav_overlapping_objects_every_4th_frame(tmp_path):
    expected = L.write_sav(tmp_path / "sav_val")
    ds = SavDataset(tmp_path / "sav_val")
    assert ds.name == "sav:val" and ds.split == "val" and len(ds) == 2
    check(ds, expected)
    v = ds[0]
    assert v.object_ids == ["000", "001", "002"]
    assert (v.masks[0] & v.masks[1]).sum() == 16 * 3  # the hand lies inside the person on frames 0, 4, 8
    assert v.masks[2, 4].any() and not v.masks[2, 8].any()  # object 002 appears at 4 and has left at 8
    assert not v.masks[:, 1:4].any()  # frames 1-3 have no annotation
    assert v.meta["num_eligible_objects"] == 3 and v.meta["split"] == "val"
    assert ds[1].skipped == [{"object_id": "001", "reason": "empty"}]
    assert SavDataset(tmp_path / "sav_val", split="val").sequences == ds.sequences
    renamed = tmp_path / "sav_val" / "sav_val.txt"
    renamed.unlink()  # no list file: every folder of JPEGImages_24fps, and no split in the name
    assert SavDataset(tmp_path / "sav_val").name == "sav"


def test_frames_are_read_only_when_asked(tmp_path, monkeypatch):
    L.write_sav(tmp_path)

    def refuse(path):
        raise AssertionError(f"frame {path} decoded")

    monkeypatch.setattr(samkit.data._io, "read_image", refuse)
    v = SavDataset(tmp_path)[0]  # masks read, frames only listed (and their headers read)
    with pytest.raises(AssertionError, match="decoded"):
        v.load_frame(0)
    monkeypatch.undo()
    frames = v.load_frames()
    assert frames.shape == (12, L.H, L.W, 3) and frames.dtype == np.uint8
    assert np.abs(frames[5].astype(int) - L.frame(5)).max() < 12  # JPEG: close, not equal


def test_sav_split_file_and_skipped_videos(tmp_path):
    L.write_sav(tmp_path)
    (tmp_path / "sav_val.txt").write_text("sav_000001\nsav_000009\n\nsav_000002\n")
    shutil.rmtree(tmp_path / "Annotations_6fps" / "sav_000002")
    with pytest.warns(UserWarning, match=r"2 video\(s\) skipped .*'sav_000009', missing file"):
        ds = SavDataset(tmp_path)
    assert ds.sequences == ["sav_000001"]
    assert ds.skipped_images == [
        {"image_id": "sav_000009", "reason": "missing file", "path": str(tmp_path / "JPEGImages_24fps" / "sav_000009")},
        {
            "image_id": "sav_000002",
            "reason": "missing annotations",
            "path": str(tmp_path / "Annotations_6fps" / "sav_000002"),
        },
    ]
    assert SavDataset(tmp_path, sequences=["sav_000001"]).name == "sav"
    with pytest.raises(ValueError, match="either sequences or split"):
        SavDataset(tmp_path, sequences=["sav_000001"], split="val")
    with pytest.raises(FileNotFoundError, match="No SA-V split file"):
        SavDataset(tmp_path, split="test")
    with pytest.raises(FileNotFoundError, match="No SA-V frames folder"):
        SavDataset(tmp_path / "Annotations_6fps")
    with pytest.raises(ValueError, match="list of names"):
        SavDataset(tmp_path, sequences="sav_000001")


def test_sav_bad_masks(tmp_path):
    L.write_sav(tmp_path)
    video = tmp_path / "Annotations_6fps" / "sav_000001"
    L.save_binary(video / "000" / "00004.png", np.zeros((L.H, L.W + 1), bool))
    with pytest.raises(ValueError, match=r"'sav_000001': mask .*00004\.png is 32x49 \(HxW\) but the frames are 32x48"):
        SavDataset(tmp_path)[0]
    L.save_binary(video / "000" / "00004.png", L.sav_mask("sav_000001", "000", 4))
    L.save_binary(video / "000" / "00040.png", L.sav_mask("sav_000001", "000", 4))
    with pytest.raises(ValueError, match=r"annotation .*00040\.png has no frame 00040\.jpg"):
        SavDataset(tmp_path)[0]
    (video / "000" / "00040.png").unlink()
    L.save_binary(video / "00000.png", L.sav_mask("sav_000001", "000", 0))
    with pytest.raises(ValueError, match="one folder per object"):
        SavDataset(tmp_path)[0]


# ------------------------------------------------------------------------------------------- MOSE


@pytest.mark.parametrize("split", ["train", "valid"])
def test_mose_v1(tmp_path, split):
    expected = L.write_mose(tmp_path, version=1)
    ds = MoseDataset(tmp_path, split)
    assert ds.name == f"mose:{split}" and not (tmp_path / f"meta_{split}.json").exists()
    check(ds, expected[split])
    v = ds[0]
    assert v.meta["complete_annotation"] and "meta_json" not in v.meta
    if split == "train":  # object 2 appears at frame 3 and has left after frame 5
        assert [o["first_frame"] for o in v.meta["objects"]] == [0, 3]
        assert v.masks[1, 3:6].all(axis=(1, 2)).tolist() == [False] * 3  # a box, not the whole frame
        assert v.masks[1].any(axis=(1, 2)).tolist() == [False, False, False, True, True, True, False, False]
    else:  # valid: only the first frame is annotated
        assert v.annotated.tolist() == [True] + [False] * 6


def test_mosev2_meta_json_lists_the_videos(tmp_path):
    expected = L.write_mose(tmp_path, version=2)
    ds = Mosev2Dataset(tmp_path, "valid")
    assert ds.name == "mosev2:valid"
    check(ds, expected["valid"])
    assert ds[0].meta["meta_json"] == {"length": 7, "height": L.H, "width": L.W, "objects": ["1", "4"]}
    meta = json.loads((tmp_path / "meta_valid.json").read_text())
    meta["videos"]["ffff0000"] = {"length": 3}
    (tmp_path / "meta_valid.json").write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="'ffff0000', missing file"):
        ds = Mosev2Dataset(tmp_path, "valid")
    assert ds.sequences == sorted(expected["valid"]) and ds.skipped_images[0]["image_id"] == "ffff0000"
    # the meta json is also looked for in the split folder
    (tmp_path / "meta_valid.json").rename(tmp_path / "valid" / "meta_valid.json")
    with pytest.warns(UserWarning, match="'ffff0000'"):
        assert len(Mosev2Dataset(tmp_path, "valid").skipped_images) == 1
    (tmp_path / "valid" / "meta_valid.json").rename(tmp_path / "valid" / "meta.json")  # the scorer's place
    with pytest.warns(UserWarning, match="'ffff0000'"):
        assert Mosev2Dataset(tmp_path, "valid").skipped_images[0]["image_id"] == "ffff0000"
    (tmp_path / "valid" / "meta.json").rename(tmp_path / "valid" / "meta_valid.json")
    (tmp_path / "valid" / "meta_valid.json").write_text('{"videos": []}')
    with pytest.raises(ValueError, match=r"meta_valid\.json: expected \{'videos'"):
        Mosev2Dataset(tmp_path, "valid")
    # without it: the listing of JPEGImages, and no meta_json
    (tmp_path / "valid" / "meta_valid.json").unlink()
    ds = Mosev2Dataset(tmp_path, "valid")
    assert ds.meta_json is None and "meta_json" not in ds[0].meta
    check(ds, expected["valid"])


def test_mose_bad_input(tmp_path):
    L.write_mose(tmp_path)
    ann = tmp_path / "train" / "Annotations" / "3b7d1a2c"
    Image.fromarray(np.zeros((L.H, L.W, 3), np.uint8)).save(ann / "00002.png")
    with pytest.raises(ValueError, match="single-channel"):
        MoseDataset(tmp_path, "train")[0]
    L.save_label(ann / "00002.png", np.zeros((L.H + 1, L.W), np.uint8))
    with pytest.raises(ValueError, match=r"'3b7d1a2c': annotation .*00002\.png is 33x48"):
        MoseDataset(tmp_path, "train")[0]
    L.save_label(ann / "00002.png", L.mose_label("3b7d1a2c", 2))
    Image.fromarray(np.zeros((L.H, L.W + 2, 3), np.uint8)).save(
        ann.parent.parent / "JPEGImages" / "3b7d1a2c" / "00005.jpg"
    )
    with pytest.raises(ValueError, match=r"frame .*00005\.jpg is 32x50 \(HxW\) but 00000\.jpg is 32x48"):
        MoseDataset(tmp_path, "train")[0]
    with pytest.raises(FileNotFoundError, match="No MOSE frames folder"):
        MoseDataset(tmp_path, "test")
    for t in range(6):
        (tmp_path / "valid" / "JPEGImages" / "c1d2e3f4" / f"{t:05d}.jpg").unlink()
    with pytest.raises(ValueError, match="'c1d2e3f4': no frames"):
        MoseDataset(tmp_path, "valid", ["c1d2e3f4"])[0]


# ------------------------------------------------------------------------------------ YouTube-VOS


def test_youtube_vos_valid_first_appearance(tmp_path):
    expected = L.write_youtube_vos(tmp_path)
    ds = YouTubeVOSDataset(tmp_path, "valid")
    assert ds.name == "youtube_vos:valid"
    check(ds, expected["valid"])
    v = ds[0]  # 0a49f5265b: the dog enters at 30 fps frame 10 (index 2 of the 5-frame steps)
    assert v.frame_names == ["00000", "00005", "00010", "00015", "00020", "00025"]
    assert v.annotated.tolist() == [True, False, True, False, False, False]
    assert [o["first_frame"] for o in v.meta["objects"]] == [0, 2]
    assert [o["category"] for o in v.meta["objects"]] == ["person", "dog"]
    assert [o["frames"] for o in v.meta["objects"]] == [[0, 1, 2, 3, 4, 5], [2, 3, 4, 5]]
    assert not v.masks[0, 2].any()  # frame 10's PNG annotates the dog only
    assert not v.meta["complete_annotation"] and v.meta["meta_frames"] == [0, 1, 2, 3, 4, 5]


def test_youtube_vos_all_frames(tmp_path):
    expected = L.write_youtube_vos(tmp_path)
    ds = YouTubeVOSDataset(tmp_path, "valid", all_frames=True)
    assert ds.name == "youtube_vos:valid_all_frames"
    assert ds.frames_dir == tmp_path / "valid_all_frames" / "JPEGImages"
    check(ds, expected["valid_all_frames"])
    v = ds[0]
    assert v.num_frames == 28 and np.flatnonzero(v.annotated).tolist() == [0, 10]
    assert [o["first_frame"] for o in v.meta["objects"]] == [0, 10]
    assert v.meta["meta_frames"] == [0, 5, 10, 15, 20, 25]  # the frames whose predictions are scored
    for o, e in zip(v.meta["objects"], v.object_ids):
        assert o["frames"] == expected["valid_all_frames"][v.sequence].extra["frames"][e]


def test_youtube_vos_train_and_meta_json(tmp_path):
    expected = L.write_youtube_vos(tmp_path)
    ds = YouTubeVOSDataset(tmp_path, "train")
    check(ds, expected["train"])
    v = ds[0]  # complete annotation: the object that left is absent, not unannotated
    assert v.meta["complete_annotation"] and v.masks[1].any(axis=(1, 2)).tolist() == [0, 0, 1, 1, 0, 0]
    assert [o["frames"] for o in v.meta["objects"]] == [[0, 1, 2, 3, 4, 5], [2, 3]]
    assert v.skipped == [{"object_id": "4", "reason": "not in meta.json"}]
    shutil.rmtree(tmp_path / "valid" / "JPEGImages" / "1b2c3d4e5f")
    with pytest.warns(UserWarning, match=r"2 video\(s\) skipped \(first: 'zzzz', not in meta\.json"):
        ds = YouTubeVOSDataset(tmp_path, "valid", ["zzzz", "0a49f5265b", "1b2c3d4e5f"], max_images=1)
    assert ds.sequences == ["0a49f5265b"]  # drawn among the usable videos only
    assert [(r["image_id"], r["reason"]) for r in ds.skipped_images] == [
        ("zzzz", "not in meta.json"),
        ("1b2c3d4e5f", "missing file"),
    ]
    with pytest.raises(FileNotFoundError, match="No YouTube-VOS frames folder"):
        YouTubeVOSDataset(tmp_path, "train", all_frames=True)


def test_youtube_vos_malformed_meta_json(tmp_path):
    L.write_youtube_vos(tmp_path)
    path = tmp_path / "valid" / "meta.json"
    good = json.loads(path.read_text())

    def with_meta(change) -> YouTubeVOSDataset:
        meta = json.loads(json.dumps(good))
        change(meta["videos"])
        path.write_text(json.dumps(meta))
        return YouTubeVOSDataset(tmp_path, "valid", ["0a49f5265b"])

    with pytest.raises(ValueError, match=r"lists frame '00030', which is not in"):
        with_meta(lambda v: v["0a49f5265b"]["objects"]["1"]["frames"].append("00030"))[0]
    with pytest.raises(ValueError, match="must be the object's label value"):
        with_meta(lambda v: v["0a49f5265b"]["objects"].update({"dog": {"frames": []}}))[0]
    with pytest.raises(ValueError, match=r"video '0a49f5265b': expected an 'objects' dict"):
        with_meta(lambda v: v["0a49f5265b"].pop("objects"))
    with pytest.raises(ValueError, match="expected {'category'"):
        with_meta(lambda v: v["0a49f5265b"]["objects"].update({"2": ["00010"]}))[0]
    # an object meta.json lists that no PNG shows: skipped as empty
    v = with_meta(lambda v: v["0a49f5265b"]["objects"].update({"7": {"category": "cat", "frames": []}}))[0]
    assert v.object_ids == ["1", "2"] and v.skipped == [{"object_id": "7", "reason": "empty"}]
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not a json file"):
        YouTubeVOSDataset(tmp_path, "valid")
    path.unlink()
    with pytest.raises(FileNotFoundError, match="No YouTube-VOS meta.json"):
        YouTubeVOSDataset(tmp_path, "valid")


# ------------------------------------------------------------------------------------------- LVOS


@pytest.mark.parametrize("split", ["val", "test"])
def test_lvos(tmp_path, split):
    expected = L.write_lvos(tmp_path)
    ds = LvosDataset(tmp_path, split)
    assert ds.name == f"lvos:{split}"
    check(ds, expected[split])
    for v in ds:
        ranges = [o["frame_range"] for o in v.meta["objects"]]
        assert ranges == [expected[split][v.sequence].extra["frame_range"][o] for o in v.object_ids]
        assert v.meta["complete_annotation"] == (split == "val")
    v = ds[0]  # object 2 appears on frame 3 (00000016) and, in val, has left after frame 6
    assert v.meta["objects"][1]["first_frame"] == 3 and v.meta["objects"][1]["frame_range"]["start"] == 16
    if split == "val":
        assert v.masks[1].any(axis=(1, 2)).tolist() == [False] * 3 + [True] * 4 + [False] * 3
    else:
        assert v.annotated.tolist() == [True, False, False, True] + [False] * 4


def test_lvos_without_meta_json_and_bad_frame_range(tmp_path):
    expected = L.write_lvos(tmp_path)
    meta_path = tmp_path / "val" / "val_meta.json"
    good = meta_path.read_text()
    meta_path.unlink()
    ds = LvosDataset(tmp_path, "val")  # the listing of JPEGImages, objects from the labels
    check(ds, expected["val"])
    assert "frame_range" not in ds[0].meta["objects"][0]
    meta = json.loads(good)
    meta["videos"]["0tCWPOrc"]["objects"]["2"]["frame_range"] = {"start": "x"}
    del meta["videos"]["0tCWPOrc"]["objects"]["1"]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"video '0tCWPOrc' object '2': expected \{'frame_range'"):
        LvosDataset(tmp_path, "val")[0]
    meta["videos"]["0tCWPOrc"]["objects"]["2"]["frame_range"] = {"start": 16, "end": 31, "frame_nums": 4}
    meta_path.write_text(json.dumps(meta))
    v = LvosDataset(tmp_path, "val")[0]
    assert v.object_ids == ["2"] and v.skipped == [{"object_id": "1", "reason": "not in val_meta.json"}]


# --------------------------------------------------------------------------- every loader at once

LOADERS = {
    "sav": (lambda root: L.write_sav(root), lambda root, **kw: SavDataset(root, **kw)),
    "mose": (lambda root: L.write_mose(root, 1)["train"], lambda root, **kw: MoseDataset(root, "train", **kw)),
    "mosev2": (lambda root: L.write_mose(root, 2)["valid"], lambda root, **kw: Mosev2Dataset(root, "valid", **kw)),
    "youtube_vos": (lambda root: L.write_youtube_vos(root)["valid"], lambda root, **kw: YouTubeVOSDataset(root, **kw)),
    "lvos": (lambda root: L.write_lvos(root)["val"], lambda root, **kw: LvosDataset(root, **kw)),
}


@pytest.mark.parametrize("loader", list(LOADERS))
def test_subsampling_and_min_area(tmp_path, loader):
    write, make = LOADERS[loader]
    expected = write(tmp_path)
    a = make(tmp_path, max_images=1, max_objects=1, seed=3)
    b = make(tmp_path, max_images=1, max_objects=1, seed=3)
    assert len(a) == 1 and a.sequences == b.sequences and a.sequences[0] in expected
    assert [v.object_ids for v in a] == [v.object_ids for v in b]
    v = a[0]
    assert len(v.object_ids) == 1 and v.meta["num_eligible_objects"] == len(expected[v.sequence].masks)
    assert v.masks.shape[0] == 1 and len(v.meta["objects"]) == 1
    np.testing.assert_array_equal(v.masks[0], expected[v.sequence].masks[v.object_ids[0]])
    seeds = {tuple(make(tmp_path, max_images=1, seed=s).sequences) for s in range(8)}
    assert len(seeds) == 2  # both videos get drawn
    # min_area: objects with fewer pixels (over all frames) are skipped as tiny
    min_area = min(int(m.sum()) for e in expected.values() for m in e.masks.values()) + 1
    for v in make(tmp_path, min_area=min_area):
        e = expected[v.sequence]
        tiny = [o for o, m in e.masks.items() if m.sum() < min_area]
        assert v.object_ids == [o for o in e.masks if o not in tiny]
        assert [s for s in v.skipped if s["reason"] == "tiny"] == [{"object_id": o, "reason": "tiny"} for o in tiny]
    with pytest.raises(ValueError, match="max_objects must be None or an int"):
        make(tmp_path, max_objects=-1)


# ------------------------------------------------------------------------------- paths stay inside


def _layouts(root: Path) -> dict[str, tuple]:
    """Per loader: (dataset root, the folder of videos' frames, the folder of their annotations,
    a video name, a make(**kw) function, a list file or meta json to edit)."""
    L.write_sav(root / "sav")
    L.write_mose(root / "mose", 2)
    L.write_youtube_vos(root / "yt")
    L.write_lvos(root / "lvos")
    return {
        "sav": (
            root / "sav" / "JPEGImages_24fps",
            root / "sav" / "Annotations_6fps",
            "sav_000001",
            lambda **kw: SavDataset(root / "sav", **kw),
        ),
        "mosev2": (
            root / "mose" / "valid" / "JPEGImages",
            root / "mose" / "valid" / "Annotations",
            "5a6b7c8d",
            lambda **kw: Mosev2Dataset(root / "mose", "valid", **kw),
        ),
        "youtube_vos": (
            root / "yt" / "valid" / "JPEGImages",
            root / "yt" / "valid" / "Annotations",
            "0a49f5265b",
            lambda **kw: YouTubeVOSDataset(root / "yt", "valid", **kw),
        ),
        "lvos": (
            root / "lvos" / "val" / "JPEGImages",
            root / "lvos" / "val" / "Annotations",
            "0tCWPOrc",
            lambda **kw: LvosDataset(root / "lvos", "val", **kw),
        ),
    }


@pytest.mark.parametrize("loader", ["sav", "mosev2", "youtube_vos", "lvos"])
def test_paths_stay_inside(tmp_path, loader):
    frames_dir, annotations_dir, video, make = _layouts(tmp_path / "data")[loader]
    outside = tmp_path / "outside"
    shutil.copytree(frames_dir / video, outside / video)
    # a `..` name (from the caller, or from a list file / meta json)
    with pytest.raises(DatasetError, match=r"video '\.\./\.\./\.\./outside/[^']+' \(from sequences\).*outside the"):
        make(sequences=[f"../../../outside/{video}"])
    # a video folder that is a symlink leading out: refused when the folders are listed
    os.symlink(outside / video, frames_dir / "linked")
    with pytest.raises(DatasetError, match=r"video 'linked' \(from .*\): the path 'linked' resolves to"):
        make(sequences=["linked"])
    (frames_dir / "linked").unlink()
    # an annotation entry that leads out: refused when the video is loaded
    if loader == "sav":  # an object folder that is a symlink
        os.symlink(outside / video, annotations_dir / video / "009")
        where = "object folder '009'"
    else:  # an annotation PNG that is a symlink
        png = sorted((annotations_dir / video).glob("*.png"))[0]
        shutil.copy(png, outside / "label.png")
        png.unlink()
        os.symlink(outside / "label.png", png)
        where = "annotation"
    ds = make(sequences=[video])
    with pytest.raises(DatasetError, match=f"video '{video}' {where}.*outside the dataset root"):
        ds[0]
    # a frame that is a symlink leading out
    if loader == "sav":
        (annotations_dir / video / "009").unlink()
    else:
        png.unlink()
        shutil.copy(outside / "label.png", png)
    first = sorted((frames_dir / video).iterdir())[0]
    first.unlink()
    os.symlink(outside / video / first.name, first)
    with pytest.raises(DatasetError, match=f"video '{video}' frame '{first.name}'"):
        make(sequences=[video])[0]


def test_list_files_and_meta_jsons_cannot_lead_out(tmp_path):
    layouts = _layouts(tmp_path)
    (tmp_path / "sav" / "sav_val.txt").write_text("../../escape\n")
    with pytest.raises(DatasetError, match=r"sav:val: video '\.\./\.\./escape' \(from .*sav_val\.txt\)"):
        layouts["sav"][3]()
    for key, path in (
        ("mosev2", tmp_path / "mose" / "meta_valid.json"),
        ("youtube_vos", tmp_path / "yt" / "valid" / "meta.json"),
        ("lvos", tmp_path / "lvos" / "val" / "val_meta.json"),
    ):
        path.write_text(json.dumps({"videos": {"/etc": {"objects": {}}}}))
        with pytest.raises(DatasetError, match=rf"video '/etc' \(from .*{path.name}\)"):
            layouts[key][3]()
