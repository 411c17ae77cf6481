"""`ClickBenchmark` on small sets written in RITM's layouts (``click_layouts.py``): exact masks and
ignore regions, the same reading as RITM's loaders (OpenCV, where installed), skipped images and
objects with their reasons, subsampling, RITM's names, and paths kept inside the dataset."""

from __future__ import annotations

import warnings
from pathlib import Path

import click_layouts as C
import numpy as np
import pytest
from PIL import Image

from samkit.data import CLICK_BENCHMARKS, ClickBenchmark, Sample
from samkit.errors import DatasetError


def write(key: str, tmp_path: Path) -> tuple[Path, C.Written]:
    root = tmp_path / key
    return root, C.WRITERS[key](root)


def load(key: str, root: Path, **options) -> ClickBenchmark:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the generators' skipped images warn
        return ClickBenchmark(key, root, **options)


def check(ds: ClickBenchmark, written: C.Written) -> None:
    """Every sample of ``ds`` is what the generator wrote, pixel for pixel."""
    assert ds.image_ids == sorted(written.expected) and len(ds) == len(written.expected)
    assert ds.skipped_images == written.skipped_images
    for sample in ds:
        e = written.expected[sample.image_id]
        assert isinstance(sample, Sample) and sample.dataset == ds.name
        image_path = ds.images_dir / e.image_file
        assert sample.meta["file"] == str(image_path) and sample.meta["mask_file"] == str(ds.masks_dir / e.mask_file)
        want_image = e.image if e.image is not None else np.asarray(Image.open(image_path).convert("RGB"))
        np.testing.assert_array_equal(sample.image, want_image)
        assert sample.object_ids == list(e.masks)
        for k, object_id in enumerate(sample.object_ids):
            np.testing.assert_array_equal(sample.masks[k], e.masks[object_id], err_msg=f"{sample.image_id} {object_id}")
            assert sample.meta["objects"][k]["area"] == int(e.masks[object_id].sum())
            if e.categories:
                assert sample.meta["objects"][k]["category_id"] == e.categories[object_id]
        assert sample.meta["num_eligible_objects"] == len(e.masks)
        assert sample.skipped == e.skipped
        if e.void is None:
            assert "void" not in sample.meta
        else:
            assert sample.meta["void"].dtype == np.bool_
            np.testing.assert_array_equal(sample.meta["void"], e.void)
            assert not (sample.masks & sample.meta["void"]).any()  # ignore pixels belong to no object


@pytest.mark.parametrize("key", list(C.WRITERS))
def test_each_benchmark_reads_back_exactly(key, tmp_path):
    root, written = write(key, tmp_path)
    ds = load(key, root)
    assert ds.layout is CLICK_BENCHMARKS[key]
    assert ds.name == (f"{key}:val" if ds.layout.splits else key) and ds.split == ("val" if ds.layout.splits else None)
    check(ds, written)
    assert repr(ds).startswith(f"ClickBenchmark({key!r}")


def test_grabcut_rules_and_warnings(tmp_path):
    root, written = write("grabcut", tmp_path)
    with pytest.warns(UserWarning) as record:
        ds = ClickBenchmark("grabcut", root)
    messages = [str(w.message) for w in record]
    assert any("1 image(s) have no mask (first: 'nomask'" in m for m in messages)
    assert any("1 mask(s) or listed name(s) have no image (first: 'ghost'" in m for m in messages)
    flower = ds[ds.image_ids.index("flower")]
    mask, void = flower.masks[0], flower.meta["void"]
    assert mask[20, 4] and mask[20, 6] and not mask[20, 2]  # 1 and 200 are the object, 64 background
    assert void.sum() == written.expected["flower"].void.sum() > 0
    banana = ds[ds.image_ids.index("banana1")]
    assert not banana.masks[0][14:20, 2:8].any()  # red-only pixels: the blue channel is 0
    assert banana.meta["mask_mode"] == "RGB" and flower.meta["mask_mode"] == "L"
    empty = ds[ds.image_ids.index("106024")]
    assert empty.num_objects == 0 and empty.skipped == [{"object_id": "1", "reason": "empty"}]
    assert "README" not in " ".join(ds.image_ids) and "._flower" not in ds.image_ids


def test_sample_select_keeps_the_ignore_region(tmp_path):
    root, written = write("pascalvoc", tmp_path)
    sample = load("pascalvoc", root)[0]
    one = sample.select([1])
    assert one.object_ids == ["2"]
    np.testing.assert_array_equal(one.meta["void"], written.expected[sample.image_id].void)


# ---------------------------------------------------------------------- RITM's own reading (OpenCV)


def ritm_pair(layout, mask_path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(object, ignore) as RITM's GrabCutDataset / DavisDataset read ``mask_path``."""
    cv2 = pytest.importorskip("cv2")
    if layout.mask_rule == "grabcut":  # grabcut.py: channel 0, 128 -> -1, > 128 -> 1, object id 1
        encoded = cv2.imread(str(mask_path))[:, :, 0].astype(np.int32)
        encoded[encoded == 128] = -1
        encoded[encoded > 128] = 1
        return encoded == 1, encoded == -1
    encoded = np.max(cv2.imread(str(mask_path)).astype(np.int32), axis=2)  # davis.py
    encoded[encoded > 0] = 1
    return encoded == 1, None


def ritm_image(path: Path) -> np.ndarray:
    cv2 = pytest.importorskip("cv2")
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("key", ["grabcut", "berkeley", "davis345", "coco_mval"])
def test_folder_pairs_read_as_ritm_does(key, tmp_path):
    root, _ = write(key, tmp_path)
    ds = load(key, root)
    for sample in ds:
        obj, ignore = ritm_pair(ds.layout, Path(sample.meta["mask_file"]))
        got = sample.masks[0] if sample.num_objects else np.zeros_like(obj)
        np.testing.assert_array_equal(got, obj)
        if ignore is None:
            assert "void" not in sample.meta
        else:
            np.testing.assert_array_equal(sample.meta["void"], ignore)
        np.testing.assert_array_equal(sample.image, ritm_image(Path(sample.meta["file"])))


def test_sbd_reads_as_ritm_does(tmp_path):
    from scipy.io import loadmat

    root, _ = write("sbd", tmp_path)
    for sample in load("sbd", root):
        # sbd.py SBDEvaluationDataset: the first field of GTinst, one sample per nonzero label
        encoded = loadmat(sample.meta["mask_file"])["GTinst"][0][0][0].astype(np.int32)
        counts = np.bincount(encoded.flatten())
        ids = [i for i in np.nonzero(counts)[0].tolist() if i != 0]
        assert sample.object_ids == [str(i) for i in ids]
        for k, i in enumerate(ids):
            np.testing.assert_array_equal(sample.masks[k], encoded == i)
        np.testing.assert_array_equal(sample.image, ritm_image(Path(sample.meta["file"])))


def ritm_voc_gray(mask_path: Path) -> np.ndarray:
    cv2 = pytest.importorskip("cv2")
    return cv2.cvtColor(cv2.imread(str(mask_path)), cv2.COLOR_BGR2GRAY).astype(np.int32)


def test_pascalvoc_as_ritm_except_the_gray_levels_it_merges(tmp_path):
    """RITM takes OpenCV gray levels as instance ids (void 220): the same objects and ignore region
    as the palette indices, except where two palette colours share a gray level (1 and 16 here)."""
    root, _ = write("pascalvoc", tmp_path)
    ds = load("pascalvoc", root)
    few = ds[ds.image_ids.index("2007_000033")]
    gray = ritm_voc_gray(Path(few.meta["mask_file"]))
    np.testing.assert_array_equal(few.meta["void"], gray == 220)
    ritm_objects = [gray == v for v in np.unique(gray) if v not in (0, 220)]
    assert sorted(m.tobytes() for m in ritm_objects) == sorted(m.tobytes() for m in few.masks)
    np.testing.assert_array_equal(few.image, ritm_image(Path(few.meta["file"])))

    many = ds[ds.image_ids.index("2007_000129")]
    gray = ritm_voc_gray(Path(many.meta["mask_file"]))
    assert many.num_objects == 17 and len([v for v in np.unique(gray) if v not in (0, 220)]) == 16
    merged = gray == 38  # palette indices 1 (128, 0, 0) and 16 (0, 64, 0)
    np.testing.assert_array_equal(merged, many.masks[0] | many.masks[15])
    assert many.object_ids[0] == "1" and many.object_ids[15] == "16"


# ------------------------------------------------------------------------------------ options


def test_ritm_names_splits_and_default_names(tmp_path):
    roots = {key: write(key, tmp_path)[0] for key in C.WRITERS}
    aliases = {
        "GrabCut": "grabcut",
        "Berkeley": "berkeley",
        "DAVIS": "davis345",
        "DAVIS-345": "davis345",
        "COCO_MVal": "coco_mval",
        "coco-mval": "coco_mval",
        "SBD": "sbd",
        "PascalVOC": "pascalvoc",
    }
    for alias, key in aliases.items():
        assert load(alias, roots[key]).layout.key == key
    assert load("DAVIS", roots["davis345"]).name == "davis345"
    train = load("sbd", roots["sbd"], split="train")
    assert train.name == "sbd:train" and train.image_ids == ["2008_000010"] and train[0].object_ids == ["1"]
    assert train[0].meta["split"] == "train" and train[0].meta["objects"] == [{"area": 25, "category_id": 7}]
    assert load("pascalvoc", roots["pascalvoc"], split="trainval").image_ids == [
        "2007_000032",
        "2007_000033",
        "2007_000129",
    ]
    assert load("grabcut", roots["grabcut"], name="gc").name == "gc"
    with pytest.raises(ValueError, match=r"Unknown click benchmark 'SBD_Train' \(RITM's SBD_Train is .*split='train'"):
        ClickBenchmark("SBD_Train", roots["sbd"])
    with pytest.raises(ValueError, match="Unknown click benchmark 'davis2017'; known: grabcut, berkeley"):
        ClickBenchmark("davis2017", roots["davis345"])
    with pytest.raises(ValueError, match=r"PascalVOC: split must be one of \['val', 'train', 'trainval'\]"):
        ClickBenchmark("pascalvoc", roots["pascalvoc"], split="test")
    with pytest.raises(ValueError, match="GrabCut has no splits"):
        ClickBenchmark("grabcut", roots["grabcut"], split="val")
    with pytest.raises(ValueError, match="max_images must be None or an int >= 0"):
        ClickBenchmark("grabcut", roots["grabcut"], max_images=-1)


def test_subsampling_and_min_area_are_seeded_and_counted(tmp_path):
    root, written = write("sbd", tmp_path)
    tiny = load("sbd", root, min_area=3)[1]
    assert tiny.object_ids == ["1", "3"] and tiny.skipped == [{"object_id": "2", "reason": "tiny"}]
    assert tiny.meta["num_eligible_objects"] == 2
    one = [load("sbd", root, max_objects=1, seed=s)[1].object_ids for s in range(6)]
    assert all(len(o) == 1 for o in one) and len({o[0] for o in one}) > 1
    assert one == [load("sbd", root, max_objects=1, seed=s)[1].object_ids for s in range(6)]
    voc_root, _ = write("pascalvoc", tmp_path)
    picks = {tuple(load("pascalvoc", voc_root, max_images=1, seed=s).image_ids) for s in range(8)}
    assert picks == {("2007_000033",), ("2007_000129",)}


# ---------------------------------------------------------------------------------- bad input


def test_bad_input_is_named(tmp_path):
    root, _ = write("grabcut", tmp_path)
    with pytest.raises(FileNotFoundError, match="No GrabCut folder .*boundary_GT"):
        ClickBenchmark("grabcut", root / "data_GT")
    with pytest.raises(FileNotFoundError, match="Berkeley folder not found"):
        ClickBenchmark("berkeley", tmp_path / "nowhere")

    Image.fromarray(np.zeros((10, 10), np.uint8)).save(root / "boundary_GT" / "flower.bmp")
    ds = load("grabcut", root)
    with pytest.raises(ValueError, match=r"Image 'flower': mask .*flower.bmp is 10x10 \(HxW\) but image .* is 24x32"):
        ds[ds.image_ids.index("flower")]
    Image.fromarray(C.image(0)).save(root / "data_GT" / "flower.png")
    with pytest.raises(ValueError, match="two images with the id 'flower'"):
        load("grabcut", root)

    sbd, _ = write("sbd", tmp_path)
    (sbd / "val.txt").write_text("2008_000002\n2008_000003\n2008_000002\n")
    with pytest.raises(ValueError, match=r"'2008_000002' is listed twice \(lines 1 and 3\)"):
        load("sbd", sbd)
    (sbd / "val.txt").write_text("2008_000002\n")
    (sbd / "inst" / "2008_000002.mat").write_bytes(b"not a mat file")
    with pytest.raises(ValueError, match=r"2008_000002.mat: cannot read the .mat file"):
        load("sbd", sbd)[0]
    from scipy.io import savemat

    savemat(sbd / "inst" / "2008_000002.mat", {"GTcls": {"Segmentation": np.zeros((C.H, C.W), np.uint8)}})
    with pytest.raises(ValueError, match="expected a GTinst struct with a Segmentation field .*no GTinst"):
        load("sbd", sbd)[0]
    (sbd / "val.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"sbd:val: no list file .*val.txt"):
        load("sbd", sbd)

    voc, _ = write("pascalvoc", tmp_path)
    Image.fromarray(C.image(1)).save(voc / "SegmentationObject" / "2007_000033.png")
    with pytest.raises(ValueError, match="a label PNG must be single-channel"):
        load("pascalvoc", voc)[0]


# ------------------------------------------------------------------------------ path confinement


def test_paths_stay_inside_their_folders(tmp_path):
    secret = tmp_path / "secret.jpg"
    Image.fromarray(C.image(9)).save(secret)

    root, _ = write("davis345", tmp_path)
    (root / "img" / "leak.jpg").symlink_to(secret)
    with pytest.raises(DatasetError, match=r"davis345: image 'leak.jpg': the path .* resolves to .*secret.jpg"):
        load("davis345", root)
    (root / "img" / "leak.jpg").unlink()
    (root / "gt" / "bear2.png").symlink_to(secret)
    with pytest.raises(DatasetError, match=r"davis345: mask 'bear2.png'.*outside the dataset root"):
        load("davis345", root)
    (root / "gt" / "bear2.png").unlink()
    (root / "img" / "bear2.jpg").symlink_to(root / "img" / "bear.jpg")  # a link that stays inside
    (root / "gt" / "bear2.png").symlink_to(root / "gt" / "bear.png")
    ds = load("davis345", root)
    np.testing.assert_array_equal(ds[ds.image_ids.index("bear2")].masks, ds[ds.image_ids.index("bear")].masks)
    link = tmp_path / "linked_root"  # a root that is itself a symlink is followed
    link.symlink_to(root)
    assert load("davis345", link).image_ids == ds.image_ids

    sbd, _ = write("sbd", tmp_path)
    (sbd / "val.txt").write_text("2008_000002\n../../secret\n")
    with pytest.raises(DatasetError, match=r"val.txt line 2 \('../../secret'\): image: .*outside the dataset root"):
        load("sbd", sbd)
    (sbd / "val.txt").write_text(f"{tmp_path / 'secret'}\n")
    with pytest.raises(DatasetError, match="outside the dataset root"):
        load("sbd", sbd)
    (sbd / "val.txt").write_text("../inst/2008_000002\n")  # inside the root, but not inside img/
    with pytest.raises(DatasetError, match=r"line 1 .*: image: the path '../inst/2008_000002.jpg'"):
        load("sbd", sbd)

    voc, _ = write("pascalvoc", tmp_path)
    (voc / "SegmentationObject" / "2007_000033.png").unlink()
    (voc / "SegmentationObject" / "2007_000033.png").symlink_to(secret)
    with pytest.raises(DatasetError, match=r"val.txt line 1 \('2007_000033'\): mask: .*secret.jpg, outside"):
        load("pascalvoc", voc)
