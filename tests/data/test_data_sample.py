"""Sample: validation, boxes (vs pycocotools toBbox), COCO RLE round trip, select; the subsampling
helpers; VideoSample validation."""

from __future__ import annotations

import json

import numpy as np
import pycocotools.mask as coco_mask
import pytest

from samkit.data import Sample, VideoSample
from samkit.data._subsample import id_sort_key, select_objects, subsample

# pycocotools 2.0.x under numpy 2 warns inside mask.decode/area; not this code's concern
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def make_sample(n: int = 3, h: int = 12, w: int = 16, seed: int = 0) -> Sample:
    rng = np.random.default_rng(seed)
    masks = rng.random((n, h, w)) < 0.3
    return Sample(
        image=rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        masks=masks,
        object_ids=[f"o{i}" for i in range(n)],
        image_id="img",
        dataset="test",
        meta={"objects": [{"k": i} for i in range(n)], "file": "x.png"},
        skipped=[{"object_id": "gone", "reason": "tiny"}],
    )


def test_properties_and_repr():
    s = make_sample()
    assert (s.height, s.width, s.num_objects) == (12, 16, 3)
    assert s.areas.tolist() == [int(m.sum()) for m in s.masks]
    assert repr(s) == "Sample(image_id='img', dataset='test', image=12x16, objects=3, skipped=1)"


@pytest.mark.parametrize(
    "image, text",
    [
        (np.zeros((12, 16, 3), np.float32), "dtype float32"),
        (np.zeros((12, 16), np.uint8), "shape (12, 16) "),
        (np.zeros((12, 16, 4), np.uint8), "shape (12, 16, 4)"),
        ([[0]], "dtype list"),
    ],
)
def test_bad_image(image, text):
    with pytest.raises(ValueError, match="HxWx3 uint8") as e:
        Sample(image, np.zeros((0, 12, 16), bool), [], "a", "t")
    assert text in str(e.value)


def test_bad_masks():
    image = np.zeros((12, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="bool .* got dtype uint8"):
        Sample(image, np.zeros((1, 12, 16), np.uint8), ["a"], "a", "t")
    with pytest.raises(
        ValueError,
        match=r"masks shape \(1, 12, 15\) and image shape "
        r"\(12, 16, 3\)",
    ):
        Sample(image, np.zeros((1, 12, 15), bool), ["a"], "a", "t")
    with pytest.raises(ValueError, match=r"masks shape \(12, 16\)"):
        Sample(image, np.zeros((12, 16), bool), ["a"], "a", "t")


def test_bad_ids_and_meta():
    image, masks = np.zeros((4, 5, 3), np.uint8), np.zeros((2, 4, 5), bool)
    with pytest.raises(ValueError, match="1 object_ids for 2 masks"):
        Sample(image, masks, ["a"], "i", "t")
    with pytest.raises(ValueError, match="not unique"):
        Sample(image, masks, ["a", "a"], "i", "t")
    with pytest.raises(ValueError, match="must be str"):
        Sample(image, masks, [1, 2], "i", "t")
    with pytest.raises(ValueError, match=r"meta\['objects'\] has 1 entries for 2 masks"):
        Sample(image, masks, ["a", "b"], "i", "t", meta={"objects": [{}]})


def test_boxes_cover_whole_pixels():
    masks = np.zeros((3, 10, 20), bool)
    masks[0, 4, 7] = True  # one pixel at row 4, col 7
    masks[1, 2:5, 3:11] = True  # rows 2..4, cols 3..10
    s = Sample(np.zeros((10, 20, 3), np.uint8), masks, ["a", "b", "empty"], "i", "t")
    boxes = s.boxes
    assert boxes.dtype == np.float64 and boxes.shape == (3, 4)
    assert boxes[0].tolist() == [7, 4, 8, 5]
    assert boxes[1].tolist() == [3, 2, 11, 5]
    assert np.isnan(boxes[2]).all()


def test_boxes_match_pycocotools():
    s = make_sample(n=6, h=30, w=41, seed=3)
    xywh = coco_mask.toBbox(coco_mask.encode(np.asfortranarray(s.masks.transpose(1, 2, 0).astype(np.uint8))))
    expected = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
    np.testing.assert_array_equal(s.boxes, expected)


def test_no_objects():
    s = Sample(np.zeros((4, 5, 3), np.uint8), np.zeros((0, 4, 5), bool), [], "i", "t")
    assert s.boxes.shape == (0, 4) and s.to_coco_rle() == [] and s.areas.shape == (0,)


def test_to_coco_rle_round_trip():
    s = make_sample(n=4, h=17, w=23)
    rles = s.to_coco_rle()
    assert len(rles) == 4
    assert all(isinstance(r["counts"], str) and r["size"] == [17, 23] for r in rles)
    json.dumps(rles)  # serialisable as is
    decoded = coco_mask.decode(rles).transpose(2, 0, 1).astype(bool)
    np.testing.assert_array_equal(decoded, s.masks)


def test_select():
    s = make_sample(n=4)
    t = s.select([2, 0])
    assert t.object_ids == ["o2", "o0"]
    np.testing.assert_array_equal(t.masks, s.masks[[2, 0]])
    assert t.meta["objects"] == [{"k": 2}, {"k": 0}] and t.meta["file"] == "x.png"
    assert t.skipped == s.skipped and t.image is s.image
    assert s.num_objects == 4 and len(s.meta["objects"]) == 4  # original untouched
    u = s.select(np.array([True, False, False, True]))
    assert u.object_ids == ["o0", "o3"]
    assert s.select([]).num_objects == 0
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        s.select(np.array([True, False]))
    with pytest.raises(ValueError, match="not unique"):
        s.select([1, 1])


def test_subsample_is_sorted_seeded_and_order_free():
    ids = [str(i) for i in range(30)] + ["b", "a"]
    assert subsample(ids, None, 0) == [str(i) for i in range(30)] + ["a", "b"]
    chosen = subsample(ids, 5, 7, "images")
    assert chosen == subsample(list(reversed(ids)), 5, 7, "images")  # independent of input order
    assert chosen == sorted(chosen, key=id_sort_key) and len(set(chosen)) == 5
    assert subsample(ids, 5, 8, "images") != chosen
    with pytest.raises(ValueError, match="unique"):
        subsample(["1", "1"], 1, 0)


def test_select_objects_reasons_in_order():
    keep, skipped, eligible = select_objects(
        ["1", "2", "3", "4", "5"],
        [0, 3, 50, 50, 0],
        [False, False, True, False, True],
        image_id="i",
        min_area=5,
        max_objects=None,
        seed=0,
    )
    assert keep == [3] and eligible == 1
    assert skipped == [
        {"object_id": "1", "reason": "empty"},
        {"object_id": "2", "reason": "tiny"},
        {"object_id": "3", "reason": "crowd"},
        {"object_id": "5", "reason": "crowd"},
    ]


def test_video_sample_validation():
    kw = dict(
        sequence="s",
        frame_paths=["a.jpg", "b.jpg"],
        frame_names=["a", "b"],
        object_ids=["1"],
        annotated=np.ones(2, bool),
        void=None,
        dataset="d",
    )
    v = VideoSample(masks=np.zeros((1, 2, 4, 5), bool), **kw)
    assert (v.num_frames, v.height, v.width) == (2, 4, 5)
    with pytest.raises(ValueError, match=r"\(K, T, H, W\) bool with T = 2"):
        VideoSample(masks=np.zeros((1, 3, 4, 5), bool), **kw)
    with pytest.raises(ValueError, match="void must be"):
        VideoSample(masks=np.zeros((1, 2, 4, 5), bool), **{**kw, "void": np.zeros((2, 4, 4), bool)})
    with pytest.raises(ValueError, match="annotated"):
        VideoSample(masks=np.zeros((1, 2, 4, 5), bool), **{**kw, "annotated": np.ones(3, bool)})
