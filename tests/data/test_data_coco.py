"""CocoDataset / Sa1bDataset: polygons, uncompressed and compressed RLE, crowd, LVIS and SA-1B
styles, subsampling, and every kind of bad input (raised with a message naming it, or counted)."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
import pycocotools.mask as coco_mask
import pytest
from PIL import Image
from pycocotools.coco import COCO

from samkit.data import CocoDataset, Sa1bDataset

# pycocotools 2.0.x under numpy 2 warns inside mask.decode/area; not this code's concern
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

H, W = 20, 30


def uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE: run lengths over the column-major pixels, starting with a 0-run."""
    flat = mask.ravel(order="F").astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0]:
        counts = [0] + counts
    return {"size": list(mask.shape), "counts": counts}


def compressed_rle(mask: np.ndarray) -> dict:
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": list(mask.shape), "counts": rle["counts"].decode()}


def rect(y0, y1, x0, x1, h=H, w=W) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def save_image(path: Path, h: int = H, w: int = W, seed: int = 0, mode: str = "RGB") -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    img = Image.fromarray(arr)
    if mode != "RGB":
        img = img.convert(mode)
    img.save(path)
    return arr


CROWD = rect(0, 5, 0, 30)
RLE_MASK = rect(8, 14, 20, 27) | rect(2, 4, 1, 3)  # two blobs, one at the top left


def coco_dict() -> dict:
    """Three images: 1 with a polygon, a compressed RLE, a crowd (uncompressed RLE), an empty and a
    tiny (4-pixel) mask; 2 with a polygon only; 3 with no annotations."""
    return {
        "images": [{"id": i, "file_name": f"{i:06d}.png", "height": H, "width": W} for i in (1, 2, 3)],
        "categories": [{"id": 1, "name": "thing"}, {"id": 2, "name": "stuff"}],
        "annotations": [
            {
                "id": 10,
                "image_id": 1,
                "category_id": 1,
                "iscrowd": 0,
                "area": 50.0,
                "segmentation": [[2, 10, 12, 10, 12, 18, 2, 18]],
            },
            {"id": 11, "image_id": 1, "category_id": 2, "iscrowd": 0, "segmentation": compressed_rle(RLE_MASK)},
            {"id": 12, "image_id": 1, "category_id": 1, "iscrowd": 1, "segmentation": uncompressed_rle(CROWD)},
            {"id": 13, "image_id": 1, "category_id": 1, "iscrowd": 0, "segmentation": []},
            {
                "id": 14,
                "image_id": 1,
                "category_id": 1,
                "iscrowd": 0,
                "segmentation": compressed_rle(rect(15, 17, 25, 27)),
            },
            {"id": 20, "image_id": 2, "category_id": 2, "segmentation": [[0, 0, 3, 0], [5, 5, 25, 5, 15, 15]]},
        ],
    }


def write_coco(tmp_path: Path, data: dict | None = None, images=(1, 2, 3)) -> tuple[Path, Path]:
    images_dir = tmp_path / "images"
    images_dir.mkdir(exist_ok=True)
    for i in images:
        save_image(images_dir / f"{i:06d}.png", seed=i)
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(coco_dict() if data is None else data))
    return path, images_dir


def reference_masks(data: dict, image_id: int) -> dict[str, np.ndarray]:
    """pycocotools' own annToMask for each non-empty annotation of one image."""
    coco = COCO()
    coco.dataset = copy.deepcopy(data)
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return {
        str(a["id"]): coco.annToMask(a).astype(bool) for a in coco.imgToAnns[image_id] if len(a["segmentation"]) > 0
    }


def test_loads_polygons_and_rle_like_pycocotools(tmp_path):
    path, images_dir = write_coco(tmp_path)
    ds = CocoDataset(path, images_dir)
    assert len(ds) == 3 and ds.name == "coco:ann" and ds.image_ids == ["1", "2", "3"]
    s1, s2, s3 = list(ds)
    ref = reference_masks(coco_dict(), 1)
    assert s1.object_ids == ["10", "11", "14"]
    for oid, mask in zip(s1.object_ids, s1.masks):
        np.testing.assert_array_equal(mask, ref[oid])
    np.testing.assert_array_equal(s1.masks[1], RLE_MASK)
    np.testing.assert_array_equal(s1.image, save_image(tmp_path / "x.png", seed=1))
    assert s1.skipped == [{"object_id": "12", "reason": "crowd"}, {"object_id": "13", "reason": "empty"}]
    obj = s1.meta["objects"][0]
    assert obj["category"] == "thing" and obj["iscrowd"] == 0 and obj["coco_area"] == 50.0
    assert obj["area"] == int(ref["10"].sum())
    assert s1.meta["source_image_id"] == 1 and s1.meta["file"].endswith("000001.png")
    # image 2: the 2-point part [0, 0, 3, 0] has no area and is ignored (pycocotools' frPyObjects
    # reads a 4-number first part as a box and fails); the triangle is rasterised as pycocotools
    # does
    tri = reference_masks(
        {
            **coco_dict(),
            "annotations": [{"id": 1, "image_id": 2, "category_id": 2, "segmentation": [[5, 5, 25, 5, 15, 15]]}],
        },
        2,
    )
    np.testing.assert_array_equal(s2.masks[0], tri["1"])
    assert s3.num_objects == 0 and s3.masks.shape == (0, H, W) and s3.skipped == []


def test_crowd_kept_on_request(tmp_path):
    ds = CocoDataset(*write_coco(tmp_path), skip_crowd=False)
    s = ds[0]
    assert s.object_ids == ["10", "11", "12", "14"]
    np.testing.assert_array_equal(s.masks[2], CROWD)
    assert s.meta["objects"][2]["iscrowd"] == 1
    assert s.skipped == [{"object_id": "13", "reason": "empty"}]


def test_min_area(tmp_path):
    s = CocoDataset(*write_coco(tmp_path), min_area=5)[0]
    assert s.object_ids == ["10", "11"]
    assert {"object_id": "14", "reason": "tiny"} in s.skipped and len(s.skipped) == 3


def test_subsampling_is_reproducible_and_order_free(tmp_path):
    images = range(1, 41)
    data = {
        "images": [{"id": i, "file_name": f"{i:06d}.png", "height": H, "width": W} for i in images],
        "annotations": [
            {
                "id": 100 * i + k,
                "image_id": i,
                "iscrowd": 0,
                "segmentation": compressed_rle(rect(k, k + 3, k, 2 * k + 4)),
            }
            for i in images
            for k in range(6)
        ],
    }
    path, images_dir = write_coco(tmp_path, data, images=images)
    a = CocoDataset(path, images_dir, max_images=7, max_objects=3, seed=4)
    b = CocoDataset(path, images_dir, max_images=7, max_objects=3, seed=4)
    assert len(a) == 7 and a.image_ids == b.image_ids
    assert a.image_ids == sorted(a.image_ids, key=int)
    assert CocoDataset(path, images_dir, max_images=7, seed=5).image_ids != a.image_ids
    samples = list(a)
    for i, s in enumerate(samples):
        assert s.num_objects == 3 and s.meta["num_eligible_objects"] == 6
        assert s.object_ids == b[i].object_ids  # random access gives what iteration gives
    # the objects chosen for an image do not depend on which other images were drawn
    every = CocoDataset(path, images_dir, max_objects=3, seed=4)
    by_id = {s.image_id: s.object_ids for s in every}
    assert all(by_id[s.image_id] == s.object_ids for s in samples)
    assert len({tuple(v) for v in by_id.values()}) > 1  # different images, different draws


def test_lvis_style(tmp_path):
    """No iscrowd key (means 0), no file_name (coco_url's last part), polygon segmentations."""
    data = {
        "images": [{"id": 7, "coco_url": "http://images.cocodataset.org/val2017/000007.png", "height": H, "width": W}],
        "categories": [{"id": 3, "name": "lvis_cat"}],
        "annotations": [{"id": 1, "image_id": 7, "category_id": 3, "segmentation": [[1, 1, 20, 1, 20, 10, 1, 10]]}],
    }
    images_dir = tmp_path / "val2017"
    save_image(images_dir / "000007.png")
    path = tmp_path / "lvis_v1_val.json"
    path.write_text(json.dumps(data))
    s = CocoDataset(path, images_dir, name="lvis")[0]
    assert s.dataset == "lvis" and s.object_ids == ["1"] and s.skipped == []
    np.testing.assert_array_equal(s.masks[0], reference_masks(data, 7)["1"])
    assert s.meta["objects"][0]["iscrowd"] == 0 and s.meta["objects"][0]["category"] == "lvis_cat"


def sa1b_dict(image_id: int, masks: list[np.ndarray]) -> dict:
    return {
        "image": {"image_id": image_id, "width": W, "height": H, "file_name": f"sa_{image_id}.jpg"},
        "annotations": [
            {
                "id": 1000 * image_id + k,
                "segmentation": compressed_rle(m),
                "area": int(m.sum()),
                "bbox": [0, 0, 1, 1],
                "predicted_iou": 0.9,
                "point_coords": [[1.0, 2.0]],
                "stability_score": 0.95,
                "crop_box": [0, 0, W, H],
            }
            for k, m in enumerate(masks)
        ],
    }


def test_sa1b_json_in_coco_dataset(tmp_path):
    masks = [rect(0, 10, 0, 10), RLE_MASK, np.zeros((H, W), bool)]
    path = tmp_path / "sa_5.json"
    path.write_text(json.dumps(sa1b_dict(5, masks)))
    save_image(tmp_path / "sa_5.jpg")
    s = CocoDataset(path, tmp_path)[0]
    assert s.image_id == "5" and s.object_ids == ["5000", "5001"]
    np.testing.assert_array_equal(s.masks, np.stack(masks[:2]))
    assert s.skipped == [{"object_id": "5002", "reason": "empty"}]
    assert s.meta["objects"][0]["point_coords"] == [[1.0, 2.0]]


@pytest.mark.filterwarnings("ignore:sa1b.*missing:UserWarning")
def test_sa1b_folder(tmp_path):
    rng = np.random.default_rng(0)
    expected = {}
    for i in (1, 2, 10):
        masks = [rng.random((H, W)) < 0.3 for _ in range(3)]
        expected[f"sa_{i}"] = np.stack(masks)
        (tmp_path / f"sa_{i}.json").write_text(json.dumps(sa1b_dict(i, masks)))
        save_image(tmp_path / f"sa_{i}.jpg", seed=i)
    (tmp_path / "sa_11.json").write_text(json.dumps(sa1b_dict(11, [])))  # no image file
    with pytest.warns(UserWarning, match="1 image.* missing"):
        ds = Sa1bDataset(tmp_path, max_objects=2, seed=1)
    assert ds.image_ids == ["sa_1", "sa_2", "sa_10"] and ds.name == f"sa1b:{tmp_path.name}"
    assert ds.skipped_images == [{"image_id": "sa_11", "reason": "missing file", "path": str(tmp_path / "sa_11.jpg")}]
    for s in ds:
        assert s.num_objects == 2 and s.meta["num_eligible_objects"] == 3
        ids = [str(1000 * int(s.image_id[3:]) + k) for k in range(3)]
        for oid, mask in zip(s.object_ids, s.masks):
            np.testing.assert_array_equal(mask, expected[s.image_id][ids.index(oid)])
    assert [s.object_ids for s in ds] == [s.object_ids for s in Sa1bDataset(tmp_path, max_objects=2, seed=1)]
    assert len(Sa1bDataset(tmp_path, max_images=2)) == 2


def test_sa1b_malformed_json_raises_when_loaded(tmp_path):
    (tmp_path / "sa_1.json").write_text('{"image": {"image_id": 1}, "annotations": [')
    save_image(tmp_path / "sa_1.jpg")
    ds = Sa1bDataset(tmp_path)
    with pytest.raises(ValueError, match=r"sa_1\.json: malformed JSON"):
        ds[0]
    (tmp_path / "sa_1.json").write_text(json.dumps({"image": {"image_id": 1, "height": H}, "annotations": []}))
    with pytest.raises(
        ValueError,
        match=r"sa_1\.json: images\[0\] \(id 1\) has no positive int "
        "'width'",
    ):
        ds[0]


def test_missing_image_file_is_counted_and_warned(tmp_path):
    path, images_dir = write_coco(tmp_path, images=(1, 3))
    with pytest.warns(UserWarning, match=r"1 image\(s\) skipped because the image file is missing"):
        ds = CocoDataset(path, images_dir)
    assert len(ds) == 2 and ds.image_ids == ["1", "3"]
    assert ds.skipped_images == [{"image_id": "2", "reason": "missing file", "path": str(images_dir / "000002.png")}]
    # max_images draws among the usable images
    with pytest.warns(UserWarning):
        assert len(CocoDataset(path, images_dir, max_images=2)) == 2


def test_image_size_differs_from_json(tmp_path):
    path, images_dir = write_coco(tmp_path)
    save_image(images_dir / "000002.png", h=H + 1)
    ds = CocoDataset(path, images_dir)
    with pytest.raises(
        ValueError,
        match=r"image 2 \(.*000002\.png\) is 21x30 \(HxW\) but "
        r".*ann\.json says 20x30",
    ):
        ds[1]


def test_grayscale_image_is_converted(tmp_path):
    path, images_dir = write_coco(tmp_path)
    save_image(images_dir / "000001.png", seed=1, mode="L")
    s = CocoDataset(path, images_dir)[0]
    assert s.image.shape == (H, W, 3) and s.meta["image_mode"] == "L"
    assert (s.image[..., 0] == s.image[..., 2]).all()


def broken(change) -> dict:
    data = coco_dict()
    change(data)
    return data


@pytest.mark.parametrize(
    "data, text",
    [
        ([1, 2], "expected a JSON object with 'images' and 'annotations', got a JSON list"),
        (broken(lambda d: d.pop("annotations")), "no 'annotations' list"),
        (broken(lambda d: d.update(images={})), "'images' must be a list"),
        (broken(lambda d: d["images"][1].pop("id")), r"images\[1\] has no int or str 'id'"),
        (
            broken(lambda d: d["images"][0].pop("height")),
            r"images\[0\] \(id 1\) has no positive int "
            "'height'",
        ),
        (broken(lambda d: d["images"][0].pop("file_name")), "has no 'file_name'"),
        (broken(lambda d: d["images"].append(dict(d["images"][0]))), "image id 1 appears more than"),
        (broken(lambda d: d["annotations"][1].update(id=10)), "annotation id 10 appears more than"),
        (
            broken(lambda d: d["annotations"][0].update(image_id=99)),
            "annotation 10 refers to image_id 99, which is not in 'images'",
        ),
        (broken(lambda d: d["annotations"][0].update(category_id=9)), "category_id 9, which is not in"),
        (broken(lambda d: d["annotations"][0].update(iscrowd=2)), "iscrowd 2; expected 0 or 1"),
        (broken(lambda d: d["annotations"][0].pop("segmentation")), "annotation 10 has no 'segmentation'"),
        (broken(lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3]])), "even number"),
        (broken(lambda d: d["annotations"][0].update(segmentation=[1, 2, 3, 4, 5, 6])), "even number"),
        (broken(lambda d: d["annotations"][0].update(segmentation="abc")), "polygons .* or RLE"),
        (
            broken(lambda d: d["annotations"][2]["segmentation"]["counts"].append(1)),
            "annotation 12: uncompressed RLE counts must be ints >= 0 summing to height\\*width = 600",
        ),
        (broken(lambda d: d["annotations"][1]["segmentation"].update(counts=5)), "'counts' must be"),
    ],
)
def test_malformed_json_names_file_and_problem(tmp_path, data, text):
    path, images_dir = write_coco(tmp_path, data)
    with pytest.raises(ValueError, match=text) as e:
        CocoDataset(path, images_dir)
    assert str(path) in str(e.value)


def test_rle_size_mismatch_is_skipped_with_both_sizes(tmp_path):
    data = coco_dict()
    data["annotations"][1]["segmentation"] = compressed_rle(np.zeros((H, W + 2), bool))
    path, images_dir = write_coco(tmp_path, data)
    s1 = CocoDataset(path, images_dir)[0]
    assert s1.object_ids == ["10", "14"]
    assert {
        "object_id": "11",
        "reason": "RLE size mismatch",
        "detail": "the RLE mask is 20x32 (HxW) but the image is 20x30",
    } in s1.skipped


def test_bad_json_syntax_and_missing_paths(tmp_path):
    path, images_dir = write_coco(tmp_path)
    path.write_text('{"images": [}')
    with pytest.raises(ValueError, match=r"ann\.json: malformed JSON: .* line 1 column 13"):
        CocoDataset(path, images_dir)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="malformed JSON"):
        CocoDataset(path, images_dir)
    with pytest.raises(FileNotFoundError, match="Annotation file not found"):
        CocoDataset(tmp_path / "nope.json", images_dir)
    with pytest.raises(FileNotFoundError, match="Images folder not found"):
        CocoDataset(path, tmp_path / "nope")


def test_unreadable_image_names_file(tmp_path):
    path, images_dir = write_coco(tmp_path)
    (images_dir / "000001.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"000001\.png: cannot read the image file"):
        CocoDataset(path, images_dir)[0]
