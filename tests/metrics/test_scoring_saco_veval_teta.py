"""SA-Co/VEval TETA (`samkit.metrics.scoring._veval_teta.veval_teta`): the golden outputs of sam3's
official ``VideoTetaEvaluator`` (``tests/data/saco_veval_golden``), then small hand-checked cases
of TETA's parts (LocA, AssocA, ClsA) and the official conventions."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from samkit.errors import DatasetError, ParameterError
from samkit.metrics.scoring._veval_teta import SCORE_THRESHOLD, TETA_KEYS, veval_teta

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "data" / "saco_veval_golden"
GOLDEN = json.loads((GOLDEN_DIR / "golden_saco_veval.json").read_text())


@pytest.fixture(scope="module")
def golden_inputs(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    # by path, under a name of its own: tests/data/saco_golden has a make_inputs.py too
    spec = importlib.util.spec_from_file_location("saco_veval_make_inputs", GOLDEN_DIR / "make_inputs.py")
    make_inputs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_inputs)
    return make_inputs.write_cases(tmp_path_factory.mktemp("veval_teta"))


def test_golden_inputs_are_the_scored_ones(golden_inputs):
    """The regenerated inputs are byte for byte those the golden was computed on."""
    for gt_path, pred_path in golden_inputs.values():
        for path in (gt_path, pred_path):
            assert hashlib.sha256(path.read_bytes()).hexdigest() == GOLDEN["inputs_sha256"][path.name]


@pytest.mark.parametrize("case", sorted(GOLDEN["cases"]))
def test_matches_official_golden(case, golden_inputs):
    gt_path, pred_path = golden_inputs[case]
    gt, preds = json.loads(gt_path.read_text()), json.loads(pred_path.read_text())
    expected = {k: v for k, v in GOLDEN["cases"][case]["result"]["dataset_results"].items() if k in TETA_KEYS}
    assert list(expected) == list(TETA_KEYS)  # the official evaluator returns every key, in this order
    gt_before, preds_before = copy.deepcopy(gt), copy.deepcopy(preds)
    results, per_pair = veval_teta(gt, preds)
    assert list(results) == list(TETA_KEYS)
    differing = {k: (results[k], v) for k, v in expected.items() if results[k] != v}
    assert differing == {}
    # the official TETA evaluator adds nothing per (video_id, category_id)
    assert per_pair == {}
    golden_pair_keys = {k for row in GOLDEN["cases"][case]["result"]["video_np_results"] for k in row}
    assert not golden_pair_keys & {"teta", "TETA", "mask_TETA", "LocA", "ClsA", "AssocA"}
    assert (gt, preds) == (gt_before, preds_before)  # inputs left as they were


# --------------------------------------------------------------------------------------------
# hand-checked cases: 8x8 frames, one video per entry of `videos`
# --------------------------------------------------------------------------------------------

H = W = 8


def _rle(mask: np.ndarray) -> dict:
    encoded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [H, W], "counts": encoded["counts"].decode()}


def _box(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


def _square(y: int, x: int, size: int = 4) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[y : y + size, x : x + size] = True
    return mask


def _masklet(masks: list[np.ndarray | None], **fields) -> dict:
    return {
        "segmentations": [None if m is None else _rle(m) for m in masks],
        "bboxes": [None if m is None else _box(m) for m in masks],
        "areas": [None if m is None else int(m.sum()) for m in masks],
        **fields,
    }


def _gt(videos: dict[int, int], masklets: list[tuple[int, int, list]]) -> dict:
    """``videos`` id -> frame count; ``masklets`` (video id, category id, per-frame masks)."""
    return {
        "videos": [
            {"id": v, "file_names": [f"v{v}/{t:05d}.jpg" for t in range(n)], "height": H, "width": W, "length": n}
            for v, n in videos.items()
        ],
        "annotations": [
            _masklet(masks, id=i + 1, video_id=v, category_id=c, iscrowd=0) for i, (v, c, masks) in enumerate(masklets)
        ],
        "categories": [{"id": 1, "name": "a red ball"}, {"id": 2, "name": "a blue box"}, {"id": 3, "name": "a cat"}],
    }


def _pred(video: int, category: int, masks: list, score: float = 0.9) -> dict:
    return _masklet(masks, video_id=video, category_id=category, score=score)


def _expect(teta, loc_a, assoc_a, cls_a, loc_re, loc_pr, assoc_re, assoc_pr, cls_re, cls_pr) -> dict:
    return dict(zip(TETA_KEYS, (teta, loc_a, assoc_a, cls_a, loc_re, loc_pr, assoc_re, assoc_pr, cls_re, cls_pr)))


def test_perfect_prediction_is_100():
    a, b = _square(0, 0), _square(4, 4)
    gt = _gt({0: 3}, [(0, 1, [a, a, None]), (0, 2, [b, None, b])])
    preds = [_pred(0, 1, [a, a, None]), _pred(0, 2, [b, None, b])]
    assert veval_teta(gt, preds) == (dict.fromkeys(TETA_KEYS, 100.0), {})


def test_localisation_threshold_sweep():
    """IoU 13/16: matched at the 17 thresholds 0.00..0.80, not at 0.85, 0.90, 0.95 (there the
    prediction is a localisation FP and the ground truth an FN). LocA = AssocA = 17/20; of the 10
    class thresholds 0.50..0.95, 7 have a correct class and 3 no match (ClsA 0 there): ClsA = 0.7;
    TETA = (0.85 + 0.85 + 0.7) / 3 = 0.8."""
    gt_mask = _square(0, 0)
    pred_mask = gt_mask.copy()
    pred_mask[3, 1:4] = False
    gt = _gt({0: 1}, [(0, 1, [gt_mask])])
    results, _ = veval_teta(gt, [_pred(0, 1, [pred_mask])])
    assert results == _expect(80.0, 85.0, 85.0, 70.0, 85.0, 85.0, 85.0, 85.0, 70.0, 70.0)


def test_wrong_phrase_costs_class_accuracy_only():
    """The prediction localises and tracks the masklet perfectly (LocA = AssocA = 1) but carries
    another phrase, one with no ground truth anywhere (so not a class): every class match is a
    class FN, nothing a class FP: ClsA = ClsRe = ClsPr = 0, TETA = 2/3."""
    m = _square(2, 2)
    gt = _gt({0: 2}, [(0, 1, [m, m])])
    results, _ = veval_teta(gt, [_pred(0, 3, [m, m])])
    assert results == _expect(66.667, 100.0, 100.0, 0.0, 100.0, 100.0, 100.0, 100.0, 0.0, 0.0)


def test_wrong_phrase_of_another_class_is_its_class_fp():
    """Video 0: masklet of phrase 1, predicted (perfectly placed) as phrase 2. Video 1: masklet of
    phrase 2, predicted right. Phrase 1: Cls TP 0, FN 2 -> ClsA 0. Phrase 2: TP 2, FP 2 -> ClsA =
    ClsPr = 0.5, ClsRe 1 (the toolkit counts the two video-0 frames once: its "no overlapping
    prediction" branch overwrites the FPs counted through phrase 1's wrong matches). Class means:
    ClsA 25, ClsRe 50, ClsPr 25; TETA = ((2 + 0) / 3 + (2 + 0.5) / 3) / 2 = 0.75."""
    m = _square(1, 1)
    gt = _gt({0: 2, 1: 2}, [(0, 1, [m, m]), (1, 2, [m, m])])
    preds = [_pred(0, 2, [m, m]), _pred(1, 2, [m, m])]
    results, _ = veval_teta(gt, preds)
    assert results == _expect(75.0, 100.0, 100.0, 25.0, 100.0, 100.0, 100.0, 100.0, 50.0, 25.0)


def test_identity_switch_costs_association_only():
    """One masklet over 4 frames, predicted by two tracks of 2 frames each: every frame is
    localised (LocA 1) with the right phrase (ClsA 1); each track/ground-truth pair has 2 matches,
    |gt| = 4 and |track| = 2: AssocA = 2/(4+2-2) = 0.5, AssocRe = 2/4, AssocPr = 2/2;
    TETA = (1 + 0.5 + 1) / 3."""
    m = _square(0, 2)
    gt = _gt({0: 4}, [(0, 1, [m, m, m, m])])
    preds = [_pred(0, 1, [m, m, None, None]), _pred(0, 1, [None, None, m, m])]
    results, _ = veval_teta(gt, preds)
    assert results == _expect(83.333, 100.0, 50.0, 100.0, 100.0, 100.0, 50.0, 100.0, 100.0, 100.0)


def test_score_threshold_and_frames_without_ground_truth():
    """``score >= 0.5`` counts (0.49999 is dropped); a frame with no ground-truth masklet at all is
    not evaluated, so what is predicted there is never a false positive."""
    m, other = _square(0, 0), _square(4, 4)
    gt = _gt({0: 2}, [(0, 1, [m, None])])
    preds = [
        _pred(0, 1, [m, other], score=SCORE_THRESHOLD),
        _pred(0, 1, [other, other], score=0.49999),
    ]
    assert veval_teta(gt, preds)[0] == dict.fromkeys(TETA_KEYS, 100.0)
    # the same low-scored track at 0.5 is a localisation and class false positive on frame 0
    preds[1]["score"] = 0.5
    results, _ = veval_teta(gt, preds)
    assert results["video_mask_loc_pr"] == 100.0  # it overlaps no masklet: not a localisation FP
    assert results["video_mask_cls_pr"] == 50.0  # but exhaustive: a class FP of phrase 1


def test_inputs_the_official_toolkit_cannot_score():
    m = _square(0, 0)
    gt = _gt({0: 1}, [(0, 1, [m])])
    with pytest.raises(DatasetError, match="score >= 0.5"):
        veval_teta(gt, [_pred(0, 1, [m], score=0.2)])
    with pytest.raises(DatasetError, match="no masklet frame"):
        veval_teta(_gt({0: 1}, [(0, 1, [None])]), [_pred(0, 1, [m])])
    with pytest.raises(DatasetError, match="video_id 7 frame 0"):
        veval_teta(gt, [_pred(7, 1, [m])])
    uncompressed = _gt({0: 1}, [(0, 1, [m])])
    uncompressed["annotations"][0]["segmentations"][0] = {"size": [H, W], "counts": [0, 16, 48]}
    with pytest.raises(DatasetError, match="uncompressed RLE"):
        veval_teta(uncompressed, [_pred(0, 1, [m])])
    with pytest.raises(ParameterError, match="gt must be"):
        veval_teta([], [])
    with pytest.raises(ParameterError, match="preds must be"):
        veval_teta(gt, "preds.json")


def test_all_values_are_finite_percentages(golden_inputs):
    gt_path, pred_path = golden_inputs["main"]
    results, _ = veval_teta(json.loads(gt_path.read_text()), json.loads(pred_path.read_text()))
    assert all(math.isfinite(v) and 0.0 <= v <= 100.0 for v in results.values())
