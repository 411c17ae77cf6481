"""SyntheticDataset: determinism, exact masks under occlusion, skips, subsampling and disk round
trips."""

from __future__ import annotations

import numpy as np
import pytest

from samkit.data import CocoDataset, FolderDataset, Sample, SyntheticDataset

# pycocotools 2.0.x under numpy 2 warns inside mask.decode/area; not this code's concern
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def assert_same(a: Sample, b: Sample) -> None:
    assert a.image_id == b.image_id and a.object_ids == b.object_ids and a.skipped == b.skipped
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.masks, b.masks)


def test_samples_are_valid():
    ds = SyntheticDataset(num_images=6, size=(40, 56), max_shapes=5, seed=1)
    assert len(ds) == 6 and ds.image_ids == [str(i) for i in range(6)] and ds.skipped_images == []
    for s in ds:
        assert s.image.shape == (40, 56, 3) and s.image.dtype == np.uint8
        assert s.masks.shape == (s.num_objects, 40, 56) and s.masks.dtype == bool
        assert s.dataset == "synthetic" and s.num_objects >= 1
        assert s.meta["background"] in ("noise", "gradient", "stripes")


def test_same_seed_same_arrays_different_seed_different():
    a, b = list(SyntheticDataset(seed=3)), list(SyntheticDataset(seed=3))
    for x, y in zip(a, b):
        assert_same(x, y)
    c = list(SyntheticDataset(seed=4))
    assert not all(np.array_equal(x.image, z.image) for x, z in zip(a, c))
    assert not all(x.masks.shape == z.masks.shape and np.array_equal(x.masks, z.masks) for x, z in zip(a, c))


def test_image_depends_only_on_seed_and_index():
    assert_same(SyntheticDataset(num_images=8, seed=2)[5], SyntheticDataset(num_images=20, seed=2)[5])
    ds = SyntheticDataset(num_images=5, seed=2)
    assert_same(list(ds)[3], ds[3])


def test_masks_are_exact_under_occlusion():
    """Each shape is one solid colour drawn in order: the visible pixels of object k all have its
    colour, masks never overlap, and hidden shapes are counted."""
    ds = SyntheticDataset(num_images=30, size=(32, 40), max_shapes=10, seed=0)
    occluded = 0
    for s in ds:
        assert s.masks.sum(axis=0).max() <= 1  # later shapes occlude earlier ones
        for mask, obj in zip(s.masks, s.meta["objects"]):
            assert (s.image[mask] == obj["color"]).all()
            assert mask.sum() == obj["area"] <= obj["drawn_area"]
        assert s.num_objects + len(s.skipped) == s.meta["num_shapes"]
        assert {x["reason"] for x in s.skipped} <= {"occluded", "empty"}
        assert not set(s.object_ids) & {x["object_id"] for x in s.skipped}
        occluded += sum(x["reason"] == "occluded" for x in s.skipped)
        # the topmost shape is never occluded
        top = str(s.meta["num_shapes"])
        if top in s.object_ids:
            top_obj = s.meta["objects"][s.object_ids.index(top)]
            assert top_obj["area"] == top_obj["drawn_area"] > 0
        else:
            assert {"object_id": top, "reason": "empty"} in s.skipped
    assert occluded > 0  # this configuration does hide some shapes


def test_min_area_skips_are_counted():
    full = list(SyntheticDataset(num_images=10, size=(48, 64), max_shapes=6, seed=5))
    cut = list(SyntheticDataset(num_images=10, size=(48, 64), max_shapes=6, seed=5, min_area=150))
    tiny = 0
    for a, b in zip(full, cut):
        assert (b.areas >= 150).all()
        assert set(b.object_ids) == {i for i, m in zip(a.object_ids, a.areas) if m >= 150}
        reasons = [x for x in b.skipped if x["reason"] == "tiny"]
        assert {x["object_id"] for x in reasons} == {i for i, m in zip(a.object_ids, a.areas) if m < 150}
        tiny += len(reasons)
        assert b.num_objects + len(b.skipped) == b.meta["num_shapes"]
    assert tiny > 0


def test_max_objects_and_max_images_reproducible():
    kw = dict(num_images=12, size=(32, 40), max_shapes=8, seed=9)
    full = {s.image_id: s for s in SyntheticDataset(**kw)}
    a = list(SyntheticDataset(**kw, max_images=4, max_objects=2))
    b = list(SyntheticDataset(**kw, max_images=4, max_objects=2))
    assert len(SyntheticDataset(**kw, max_images=4)) == 4
    assert [s.image_id for s in a] == [s.image_id for s in b]
    assert len({s.image_id for s in a}) == 4 and {s.image_id for s in a} <= set(full)
    for x, y in zip(a, b):
        assert_same(x, y)
        ref = full[x.image_id]
        assert x.num_objects == min(2, ref.num_objects)
        assert x.meta["num_eligible_objects"] == ref.num_objects
        assert set(x.object_ids) <= set(ref.object_ids)
        for oid, mask in zip(x.object_ids, x.masks):
            np.testing.assert_array_equal(mask, ref.masks[ref.object_ids.index(oid)])
    other = [s.image_id for s in SyntheticDataset(**{**kw, "seed": 10}, max_images=4)]
    assert other != [s.image_id for s in a]


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({"num_images": -1}, "num_images"),
        ({"size": (0, 5)}, "size"),
        ({"max_images": -2}, "max_images"),
        ({"max_objects": 1.5}, "max_objects"),
        ({"min_area": -1}, "min_area"),
    ],
)
def test_bad_options(kwargs, text):
    with pytest.raises(ValueError, match=text):
        SyntheticDataset(**kwargs)


def test_write_coco_round_trip(tmp_path):
    ds = SyntheticDataset(num_images=5, size=(36, 44), max_shapes=6, seed=11)
    path = ds.write_coco(tmp_path / "coco")
    coco = CocoDataset(path, tmp_path / "coco" / "images")
    assert len(coco) == len(ds) and coco.image_ids == ds.image_ids and coco.skipped_images == []
    for original, loaded in zip(ds, coco):
        assert loaded.image_id == original.image_id
        np.testing.assert_array_equal(loaded.image, original.image)
        np.testing.assert_array_equal(loaded.masks, original.masks)
        assert [o["synthetic_object_id"] for o in loaded.meta["objects"]] == original.object_ids
        assert [o["category"] for o in loaded.meta["objects"]] == [o["shape"] for o in original.meta["objects"]]
        assert loaded.areas.tolist() == original.areas.tolist() == [o["area"] for o in loaded.meta["objects"]]
        assert loaded.skipped == []


@pytest.mark.parametrize("per_object", [False, True])
def test_write_folder_round_trip(tmp_path, per_object):
    ds = SyntheticDataset(num_images=5, size=(36, 44), max_shapes=6, seed=12)
    root = ds.write_folder(tmp_path / "folder", per_object=per_object)
    folder = FolderDataset(root)
    assert folder.image_ids == ds.image_ids and folder.images_without_masks == []
    for original, loaded in zip(ds, folder):
        assert loaded.image_id == original.image_id and loaded.object_ids == original.object_ids
        np.testing.assert_array_equal(loaded.image, original.image)
        np.testing.assert_array_equal(loaded.masks, original.masks)
