import numpy as np

from samkit.data.photos import SAMPLE_PROMPTS, sample_photo_dataset, sample_photos


def test_sample_photos_load_offline_with_prompts_inside_each_photo():
    photos = sample_photos()
    assert [p.name for p in photos] == list(SAMPLE_PROMPTS)
    for p in photos:
        h, w = p.image.shape[:2]
        assert p.image.dtype == np.uint8 and p.image.shape[2] == 3
        x, y = p.point
        x0, y0, x1, y1 = p.box
        assert 0 <= x < w and 0 <= y < h and 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h


def test_sample_photo_dataset_has_no_ground_truth():
    samples = sample_photo_dataset(["coffee"])
    assert len(samples) == 1
    s = samples[0]
    assert s.image_id == "coffee" and s.dataset == "skimage" and s.masks.shape == (0, 400, 600)
    assert s.meta["point"] == SAMPLE_PROMPTS["coffee"][1]
