"""`SacoDataset` on a small SA-Co/Gold and Silver written in the official layout (``saco_layout.py``):
one sample per image with its pairs (negatives included) in the first file's order, exact masks,
the pairs the official evaluator scores, every annotator's ground truth, skipped images and objects
with their reasons, subsampling, bad records named, and paths kept inside the images folder."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import saco_layout as L

from samkit.data import SacoDataset, saco_gt_files
from samkit.errors import DatasetError


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    return L.write_saco(tmp_path_factory.mktemp("saco"))


@pytest.fixture(scope="module")
def gold(layout):
    with pytest.warns(UserWarning, match="1 image"):
        return SacoDataset(layout.gold_gt, layout.gold_images)


def test_gt_files_of_a_subset(layout):
    assert saco_gt_files(layout.annotations, "metaclip") == layout.gold_gt
    assert saco_gt_files(layout.annotations, "gold_metaclip") == layout.gold_gt
    assert saco_gt_files(layout.annotations, "bdd100k") == layout.silver_gt
    with pytest.raises(FileNotFoundError, match="gold_crowded_merged_a_release_test.json"):
        saco_gt_files(layout.annotations, "crowded")
    with pytest.raises(ValueError, match="unknown SA-Co subset 'lvis'.*fg_food"):
        saco_gt_files(layout.annotations, "lvis")
    with pytest.raises(FileNotFoundError, match="silver_fathomnet_test.json"):
        saco_gt_files(layout.annotations, "fathomnet")


def test_one_sample_per_image_with_its_pairs(layout, gold):
    present = [f for f in L.GOLD_IMAGES if f != L.MISSING]
    assert gold.name == "saco:gold_metaclip_merged_a_release_test" and gold.annotators == 3
    assert gold.image_ids == present and len(gold) == 3 and gold.num_pairs == 10
    assert gold.skipped_images == [
        {"image_id": L.MISSING, "reason": "missing file", "path": str(layout.gold_images / L.MISSING)}
    ]
    position = {index: k for k, index in enumerate(L.GOLD_ORDER)}
    by_image: dict[str, list[L.Pair]] = {}
    for index in L.GOLD_ORDER:
        pair = layout.gold[index]
        by_image.setdefault(pair.file_name, []).append(pair)
    for sample in gold:
        pairs = sample.meta["pairs"]
        expected = by_image[sample.image_id]
        assert [p["text_input"] for p in pairs] == [e.phrase for e in expected]  # the file's order
        assert [p["pair_id"] for p in pairs] == [str(e.pair_id) for e in expected]
        assert [p["source_pair_id"] for p in pairs] == [e.pair_id for e in expected]
        assert [p["index"] for p in pairs] == [position[e.pair_id - L.BASE_ID] for e in expected]
        assert [p["positive"] for p in pairs] == [e.positive for e in expected]
        assert [p["scored"] for p in pairs] == [e.scored for e in expected]
        assert sample.image.shape == (*L.GOLD_HW, 3) and sample.meta["annotators"] == 3
        assert sample.meta["file"] == str(layout.gold_images / sample.image_id)
        # the masks: annotator a's non-crowd objects of every pair of the image, each naming its pair
        want = [(str(e.pair_id), e.phrase, m) for e in expected for m, crowd in e.objects["a"] if not crowd]
        got = sorted(zip(sample.object_ids, sample.masks, sample.meta["objects"]), key=lambda t: int(t[0]))
        assert len(got) == len(want) == sample.num_objects
        for (pair_id, phrase, mask), (_, got_mask, obj) in zip(want, got):
            assert obj["pair_id"] == pair_id and obj["category"] == phrase
            np.testing.assert_array_equal(got_mask, mask)
            assert obj["area"] == int(mask.sum()) and obj["saco_area"] == pytest.approx(mask.sum() / (40 * 56))
    negatives = [p for s in gold for p in s.meta["pairs"] if not p["positive"]]
    assert sorted(p["text_input"] for p in negatives) == ["blue disc", "sky"]


def test_crowd_skipped_and_unscored_pairs(gold):
    sample = gold[1]  # car (crowd + car), dog, wheel (not exhaustive for a), tree (not for b)
    assert [p["text_input"] for p in sample.meta["pairs"]] == ["car", "dog", "wheel", "tree"]
    assert [p["scored"] for p in sample.meta["pairs"]] == [True, True, False, False]
    car = sample.meta["pairs"][0]
    assert len(car["object_ids"]) == 2 and car["positive"]
    assert sample.skipped == [{"object_id": car["object_ids"][0], "reason": "crowd"}]
    assert sample.num_objects == 4 and sample.meta["num_eligible_objects"] == 4


def test_every_annotators_ground_truth(layout, gold, tmp_path):
    string = str(layout.gold_pair("string").pair_id)
    truth = gold.pair_ground_truth(string)
    assert [t["pair"]["text_input"] for t in truth] == ["string"] * 3
    assert [t["annotations"][0]["bbox"][2] for t in truth] == pytest.approx([2 / 56, 3 / 56, 2 / 56])

    def drop_string(d):
        d["images"] = [p for p in d["images"] if p["text_input"] != "string"]
        d["annotations"] = [a for a in d["annotations"] if str(a["image_id"]) != string]

    gap = _edited(layout, tmp_path, drop_string, layout.gold_gt[1])
    with pytest.warns(UserWarning):
        truth = SacoDataset([layout.gold_gt[0], gap, layout.gold_gt[2]], layout.gold_images).pair_ground_truth(string)
    assert truth[1] is None and truth[2]["pair"]["text_input"] == "string"
    dog = gold.pair_ground_truth(str(layout.gold_pair("dog").pair_id))
    assert [len(t["annotations"]) for t in dog] == [1, 1, 0]
    kite = gold.pair_ground_truth(str(layout.gold_pair("kite").pair_id))
    assert isinstance(kite[0]["annotations"][0]["segmentation"]["counts"], str)
    assert kite[1]["annotations"][0]["segmentation"] == L.KITE_POLYGON  # as written
    assert isinstance(kite[2]["annotations"][0]["segmentation"]["counts"], list)
    assert [t["pair"]["is_instance_exhaustive"] for t in gold.pair_ground_truth(str(L.BASE_ID + 6))] == [1, 0, 1]
    with pytest.raises(KeyError):
        gold.pair_ground_truth("42")


def image(dataset, file_name):
    """The sample of ``file_name``."""
    return dataset[dataset.image_ids.index(file_name)]


def test_silver_single_file_and_options(layout):
    silver = SacoDataset(layout.silver_gt[0], layout.silver_images)
    assert silver.name == "saco:silver_bdd100k_merged_test" and silver.annotators == 1
    assert silver.image_ids == [L.SILVER_IMAGES[1], L.SILVER_IMAGES[0]]  # natural order: "0a1b" < "00488"
    assert silver.num_pairs == 3 and silver.skipped_images == []
    cars = image(silver, L.SILVER_IMAGES[0])
    assert cars.image.shape == (*L.SILVER_HW, 3) and cars.num_objects == 2
    assert [p["text_input"] for p in cars.meta["pairs"]] == ["a silver car", "a traffic light"]
    negative = image(silver, L.SILVER_IMAGES[1])
    assert negative.num_objects == 0 and negative.meta["pairs"][0]["positive"] is False
    tiny = SacoDataset(layout.silver_gt, layout.silver_images, min_area=5, name="bdd")
    assert tiny.name == "bdd" and image(tiny, L.SILVER_IMAGES[0]).num_objects == 1
    assert image(tiny, L.SILVER_IMAGES[0]).skipped[0]["reason"] == "tiny"
    one = SacoDataset(layout.silver_gt, layout.silver_images, max_images=1, seed=3)
    assert len(one) == 1 and one.num_pairs in (1, 2)
    capped = SacoDataset(layout.silver_gt, layout.silver_images, max_objects=1)
    assert image(capped, L.SILVER_IMAGES[0]).num_objects == 1
    with pytest.raises(ValueError, match="max_images"):
        SacoDataset(layout.silver_gt, layout.silver_images, max_images=-1)
    with pytest.raises(FileNotFoundError, match="Images folder"):
        SacoDataset(layout.silver_gt, layout.root / "nowhere")


def _edited(layout, tmp_path, edit, source=None):
    data = json.loads((source or layout.silver_gt[0]).read_text())
    edit(data)
    path = tmp_path / "silver_edited_merged_test.json"
    path.write_text(json.dumps(data))
    return path


def test_bad_records_are_named(layout, tmp_path):
    def no_phrase(d):
        del d["images"][1]["text_input"]

    with pytest.raises(ValueError, match=r"images\[1\].*no str 'text_input'"):
        SacoDataset(_edited(layout, tmp_path, no_phrase), layout.silver_images)

    def bad_flag(d):
        d["images"][0]["is_instance_exhaustive"] = "yes"

    with pytest.raises(ValueError, match="is_instance_exhaustive"):
        SacoDataset(_edited(layout, tmp_path, bad_flag), layout.silver_images)

    def two_sizes(d):
        d["images"][1]["height"] = 30

    with pytest.raises(ValueError, match="an earlier pair of the same image 36x48"):
        SacoDataset(_edited(layout, tmp_path, two_sizes), layout.silver_images)

    def unknown_pair(d):
        d["annotations"][0]["image_id"] = 5

    with pytest.raises(ValueError, match="refers to image_id 5"):
        SacoDataset(_edited(layout, tmp_path, unknown_pair), layout.silver_images)

    def other_phrase(d):
        d["images"][0]["text_input"] = "a bus"

    other = _edited(layout, tmp_path, other_phrase, layout.gold_gt[1])
    with pytest.raises(ValueError, match="text_input 'a bus'.*disagree"):
        SacoDataset([layout.gold_gt[0], other], layout.gold_images)

    def rle_size(d):
        d["annotations"][0]["segmentation"]["size"] = [10, 10]
        d["annotations"][0]["segmentation"]["counts"] = "0"

    edited = _edited(layout, tmp_path, rle_size)
    sample = image(SacoDataset(edited, layout.silver_images), L.SILVER_IMAGES[0])
    assert sample.num_objects == 1 and sample.skipped[0]["reason"] == "RLE size mismatch"

    def wrong_size(d):
        for pair in d["images"][:2]:
            pair["height"], pair["width"] = 48, 36
        for ann in d["annotations"]:
            ann["segmentation"] = [[1.0, 1.0, 5.0, 1.0, 5.0, 5.0]]

    with pytest.raises(ValueError, match="is 36x48 .HxW. but"):
        image(SacoDataset(_edited(layout, tmp_path, wrong_size), layout.silver_images), L.SILVER_IMAGES[0])


def test_paths_stay_inside_the_images_folder(layout, tmp_path):
    def escape(d):
        d["images"][2]["file_name"] = "../annotations/silver_bdd100k_merged_test.json"

    with pytest.raises(DatasetError, match="outside the dataset root"):
        SacoDataset(_edited(layout, tmp_path, escape), layout.silver_images)

    def absolute(d):
        d["images"][2]["file_name"] = str(layout.gold_images / L.GOLD_IMAGES[0])

    with pytest.raises(DatasetError, match="pair 10000002"):
        SacoDataset(_edited(layout, tmp_path, absolute), layout.silver_images)
    images = tmp_path / "images"
    shutil.copytree(layout.silver_images, images)
    target = images / L.SILVER_IMAGES[1]
    target.unlink()
    os.symlink(layout.gold_images / L.GOLD_IMAGES[0], target)
    with pytest.raises(DatasetError, match="symlink"):
        SacoDataset(layout.silver_gt, images)

    # a later annotator's file_name is checked too, though only the first file's images are read
    def escape_later(d):
        d["images"].append({**d["images"][0], "id": 99, "file_name": "../../x.jpeg"})

    later = _edited(layout, tmp_path, escape_later, layout.gold_gt[2])
    with pytest.raises(DatasetError):
        SacoDataset([layout.gold_gt[0], later], layout.gold_images)
