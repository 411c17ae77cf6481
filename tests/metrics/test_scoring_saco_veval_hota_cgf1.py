"""SA-Co/VEval phrase HOTA and video cgF1 (`samkit.metrics.scoring._veval_hota.veval_hota`,
`samkit.metrics.scoring._veval_cgf1.veval_cgf1`): the golden outputs of sam3's official
``VideoPhraseHotaEvaluator`` and ``VideoCGF1Evaluator`` (``tests/data/saco_veval_golden``, compared
exactly: every value equal, NaN equal to NaN), then small hand-checked cases of the HOTA and cgF1
definitions and of the official conventions."""

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

from samkit.errors import DatasetError
from samkit.metrics.scoring._veval_cgf1 import cgf1_keys, veval_cgf1
from samkit.metrics.scoring._veval_hota import HOTA_FIELDS, hota_keys, veval_hota

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "data" / "saco_veval_golden"
GOLDEN = json.loads((GOLDEN_DIR / "golden_saco_veval.json").read_text())

HOTA_PAIR_KEYS = [f"{p}_{name}" for p in ("bbox", "mask") for name in HOTA_FIELDS]
CGF1_PAIR_KEYS = [
    f"{p}_{name}_{suffix}"
    for p in ("bbox", "mask")
    for suffix in ("50_95", "50", "75")
    for name in ("TP", "FP", "FN", "F1")
]


def _is_hota_key(key: str) -> bool:
    return "_phrase_" in key and key.rsplit("_", 1)[-1] in HOTA_FIELDS


def _is_cgf1_key(key: str) -> bool:
    return key.startswith(("video_bbox_demo_", "video_mask_demo_"))


def _same(a: float, b: float) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


@pytest.fixture(scope="module")
def golden_inputs(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    # by path, under a name of its own: tests/data/saco_golden has a make_inputs.py too
    spec = importlib.util.spec_from_file_location("saco_veval_make_inputs", GOLDEN_DIR / "make_inputs.py")
    make_inputs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_inputs)
    return make_inputs.write_cases(tmp_path_factory.mktemp("veval_hota_cgf1"))


def _load(paths: tuple[Path, Path]) -> tuple[dict, list]:
    return json.loads(paths[0].read_text()), json.loads(paths[1].read_text())


def test_golden_inputs_are_the_scored_ones(golden_inputs):
    """The regenerated inputs are byte for byte those the golden was computed on."""
    assert set(golden_inputs) == set(GOLDEN["cases"])
    for gt_path, pred_path in golden_inputs.values():
        for path in (gt_path, pred_path):
            assert hashlib.sha256(path.read_bytes()).hexdigest() == GOLDEN["inputs_sha256"][path.name]


@pytest.mark.parametrize("family", ["hota", "cgf1"])
@pytest.mark.parametrize("case", sorted(GOLDEN["cases"]))
def test_matches_official_golden(case, family, golden_inputs):
    """Every dataset-level and per-pair value of the family equals the official one exactly; the
    keys and their order are the official ones; the inputs are left unchanged."""
    gt, preds = _load(golden_inputs[case])
    gt_before, preds_before = copy.deepcopy(gt), copy.deepcopy(preds)
    expected = GOLDEN["cases"][case]["result"]
    is_mine, pair_keys, score = (
        (_is_hota_key, HOTA_PAIR_KEYS, veval_hota) if family == "hota" else (_is_cgf1_key, CGF1_PAIR_KEYS, veval_cgf1)
    )
    results, per_pair = score(gt, preds)

    expected_keys = [k for k in expected["dataset_results"] if is_mine(k)]
    assert list(results) == expected_keys
    if family == "hota":
        assert expected_keys == hota_keys()
    else:
        assert expected_keys == (cgf1_keys() if "video_np_pairs" in gt else [])
    differing = {
        k: (results[k], v) for k, v in expected["dataset_results"].items() if is_mine(k) and not _same(results[k], v)
    }
    assert differing == {}

    rows = [r for r in expected["video_np_results"] if any(k in r for k in pair_keys)]
    assert list(per_pair) == [(r["video_id"], r["category_id"]) for r in rows]
    compared = 0
    for row in rows:
        mine = per_pair[(row["video_id"], row["category_id"])]
        assert list(mine) == [k for k in row if k in pair_keys] == pair_keys
        bad = {k: (mine[k], row[k]) for k in pair_keys if not _same(mine[k], row[k])}
        assert bad == {}, (row["video_id"], row["category_id"])
        compared += len(pair_keys)
    assert compared > 0
    assert (gt, preds) == (gt_before, preds_before)


@pytest.mark.parametrize("case", sorted(GOLDEN["cases"]))
def test_pairs_merge_in_the_official_order(case, golden_inputs):
    """Merged as ``VEvalEvaluator.run_eval`` does (HOTA's pairs first, then cgF1's), the per-pair
    rows are exactly the golden ``video_np_results``: same pairs, same order, same keys."""
    gt, preds = _load(golden_inputs[case])
    merged: dict = {}
    for score in (veval_hota, veval_cgf1):
        for pair, values in score(gt, preds)[1].items():
            merged.setdefault(pair, {}).update(values)
    rows = [{"video_id": v, "category_id": c, **values} for (v, c), values in merged.items()]
    golden_rows = GOLDEN["cases"][case]["result"]["video_np_results"]
    assert [list(r) for r in rows] == [list(r) for r in golden_rows]


# --------------------------------------------------------------------------------------------
# hand-checked cases: 8x8 frames; masks give the boxes (integer pixel xywh) and areas
# --------------------------------------------------------------------------------------------

H = W = 8


def _square(y: int, x: int, height: int = 4, width: int = 4) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[y : y + height, x : x + width] = True
    return mask


def _frame(mask: np.ndarray | None) -> tuple:
    """(rle, box, area) of one frame; ``None`` -> all three ``None``."""
    if mask is None:
        return None, None, None
    encoded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle = {"size": [H, W], "counts": encoded["counts"].decode()}
    if not mask.any():  # what the official writer produces for an empty frame
        return rle, [0, 0, 0, 0], 0
    ys, xs = np.nonzero(mask)
    box = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]
    return rle, box, int(mask.sum())


def _track(masks: list) -> dict:
    frames = [_frame(m) for m in masks]
    return {"segmentations": [f[0] for f in frames], "bboxes": [f[1] for f in frames], "areas": [f[2] for f in frames]}


def _gt(n_frames: int, anns: list[tuple[int, int, list]], pairs: list[tuple[int, int]] | None = None) -> dict:
    """One video (id 0) of ``n_frames`` frames; ``anns`` = (annotation id, category id, masks)."""
    gt = {
        "videos": [{"id": 0, "file_names": [f"v/{t:05d}.jpg" for t in range(n_frames)], "height": H, "width": W}],
        "annotations": [
            {"id": i, "video_id": 0, "category_id": c, "iscrowd": 0, "height": H, "width": W, **_track(m)}
            for i, c, m in anns
        ],
        "categories": [{"id": c, "name": f"phrase {c}"} for c in range(1, 6)],
    }
    if pairs is not None:
        gt["video_np_pairs"] = [{"id": k, "video_id": v, "category_id": c} for k, (v, c) in enumerate(pairs)]
    return gt


def _pred(category: int, masks: list, score: float = 0.9) -> dict:
    return {"video_id": 0, "category_id": category, "score": score, **_track(masks)}


def _empty() -> np.ndarray:
    return np.zeros((H, W), bool)


def _hota(gt: dict, preds: list, prefix: str = "bbox") -> dict[str, float]:
    results, _ = veval_hota(gt, preds)
    return {name: results[f"video_{prefix}_all_phrase_{name}"] for name in HOTA_FIELDS}


@pytest.mark.parametrize("prefix", ["bbox", "mask"])
def test_hota_perfect_tracking_is_one(prefix):
    masks = [_square(0, 0), _square(1, 1), _square(2, 2)]
    other = [_square(4, 4), None, _square(3, 4)]
    gt = _gt(3, [(1, 1, masks), (2, 1, other)])
    preds = [_pred(1, masks), _pred(1, [m if m is not None else _empty() for m in other])]
    assert _hota(gt, preds, prefix) == pytest.approx(dict.fromkeys(HOTA_FIELDS, 1.0), abs=1e-12)


def test_hota_identity_switch_halves_association():
    """One object over 4 frames, tracked perfectly but by prediction A in frames 0-1 and B in 2-3:
    detection is perfect, each TP's association is 2 / (4 + 2 - 2) = 0.5 (AssRe 2/4, AssPr 2/2),
    so HOTA = sqrt(1 * 0.5)."""
    masks = [_square(0, 0), _square(0, 1), _square(1, 1), _square(1, 2)]
    gt = _gt(4, [(7, 1, masks)])
    preds = [_pred(1, masks[:2] + [_empty(), _empty()]), _pred(1, [_empty(), _empty()] + masks[2:])]
    expected = {"DetA": 1.0, "DetRe": 1.0, "DetPr": 1.0, "LocA": 1.0, "AssA": 0.5, "AssRe": 0.5, "AssPr": 1.0}
    expected.update(HOTA=math.sqrt(0.5), OWTA=math.sqrt(0.5))
    for prefix in ("bbox", "mask"):
        assert _hota(gt, preds, prefix) == pytest.approx(expected, abs=1e-12)


def test_hota_false_positive_track_halves_detection():
    """A perfect track plus a disjoint extra track: TP 2, FP 2, FN 0 -> DetA = DetPr = 0.5."""
    masks = [_square(0, 0), _square(0, 0)]
    gt = _gt(2, [(1, 1, masks)])
    preds = [_pred(1, masks), _pred(1, [_square(4, 4), _square(4, 4)], score=0.6)]
    expected = {"DetA": 0.5, "DetRe": 1.0, "DetPr": 0.5, "AssA": 1.0, "AssRe": 1.0, "AssPr": 1.0, "LocA": 1.0}
    expected.update(HOTA=math.sqrt(0.5), OWTA=1.0)
    assert _hota(gt, preds) == pytest.approx(expected, abs=1e-12)


def test_hota_localisation_threshold_alpha():
    """IoU 0.5 in every frame: a TP for the 10 alphas 0.05 ... 0.50, FN + FP for the 9 above. The
    reported numbers are means over the 19 alphas; LocA is 1 where nothing matched (the official
    1e-10 / 1e-10)."""
    gt = _gt(2, [(1, 1, [_square(0, 0), _square(2, 2)])])
    preds = [_pred(1, [_square(0, 0, height=2), _square(2, 2, height=2)])]
    for prefix in ("bbox", "mask"):
        values = _hota(gt, preds, prefix)
        for name in ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "OWTA"):
            assert values[name] == pytest.approx(10 / 19, abs=1e-12), name
        assert values["LocA"] == pytest.approx((10 * 0.5 + 9 * 1.0) / 19, abs=1e-12)


def test_hota_score_threshold_and_empty_sequences():
    """HOTA keeps ``score > 0.5`` only; a pair with predictions but no ground truth is a sequence of
    FPs (per pair LocA 1, the rest 0); negatives of ``video_np_pairs`` are not scored."""
    masks = [_square(0, 0), _square(2, 2)]
    gt = _gt(2, [(1, 1, masks)], pairs=[(0, 1), (0, 2), (0, 3), (0, 4)])
    preds = [_pred(1, masks), _pred(2, masks, score=0.9), _pred(3, masks, score=0.5)]
    results, per_pair = veval_hota(gt, preds)
    assert list(per_pair) == [(0, 1), (0, 2)]  # (0, 3) only has a prediction at exactly 0.5
    assert per_pair[(0, 1)]["bbox_HOTA"] == pytest.approx(1.0)
    assert per_pair[(0, 2)] == {k: (1.0 if k.endswith("_LocA") else 0.0) for k in HOTA_PAIR_KEYS}
    assert results["video_bbox_all_phrase_DetPr"] == pytest.approx(0.5)  # 2 TPs, 2 FPs
    assert results["video_bbox_all_phrase_DetRe"] == pytest.approx(1.0)


def test_hota_challenging_keys_follow_the_tags():
    masks = [_square(0, 0), _square(2, 2)]
    gt = _gt(2, [(1, 1, masks), (2, 2, masks)])
    gt["annotations"][0]["tags"] = ["tracking_challenging_pair"]
    gt["annotations"][1]["tags"] = []
    preds = [_pred(1, masks), _pred(2, [_square(4, 4), _square(4, 4)])]
    results, _ = veval_hota(gt, preds)
    assert list(results) == hota_keys(challenging=True)
    assert results["video_bbox_challenging_phrase_HOTA"] == pytest.approx(1.0)  # only pair (0, 1)
    assert results["video_bbox_all_phrase_HOTA"] < 1.0
    gt["annotations"][0]["tags"] = []
    with pytest.raises(DatasetError, match="tracking_challenging_pair"):
        veval_hota(gt, preds)


def test_hota_refuses_what_the_official_cannot_score():
    masks = [_square(0, 0)]
    with pytest.raises(DatasetError, match="no annotations"):
        veval_hota(_gt(1, []), [_pred(1, masks)])
    with pytest.raises(DatasetError, match="video"):
        veval_hota(_gt(1, [(1, 1, masks)]), [{**_pred(1, masks), "video_id": 9}])
    broken = _pred(1, masks)
    broken["segmentations"] = [None]  # box and area given, mask missing: the official asserts
    with pytest.raises(DatasetError, match="all given or all null"):
        veval_hota(_gt(1, [(1, 1, masks)]), [broken])


def _cgf1_case() -> tuple[dict, list]:
    """Pairs (video 0, category): 1 positive, predicted perfectly; 2 positive, predicted at IoU
    12/16 = 0.75; 3 negative, no prediction (IL TN); 4 negative with a prediction (IL FP);
    5 positive without any kept prediction (a 0.49 one only: IL FN)."""
    a, b = _square(0, 0), _square(4, 4)
    gt = _gt(2, [(1, 1, [a, b]), (2, 2, [a, a]), (3, 5, [b, None])], pairs=[(0, c) for c in range(1, 6)])
    preds = [
        _pred(1, [a, b]),
        _pred(2, [_square(0, 0, height=3), _square(0, 0, height=3)], score=0.5),
        _pred(4, [a, a], score=0.7),
        _pred(5, [b, _empty()], score=0.49),
    ]
    return gt, preds


def test_cgf1_hand_checked_counts():
    gt, preds = _cgf1_case()
    results, per_pair = veval_cgf1(gt, preds)
    assert list(results) == cgf1_keys()
    # pairs named by predictions or annotations, sorted; then the other video_np_pairs
    assert list(per_pair) == [(0, 1), (0, 2), (0, 4), (0, 5), (0, 3)]
    for prefix in ("bbox", "mask"):
        assert {k[len(prefix) + 1 :]: v for k, v in per_pair[(0, 1)].items() if k.startswith(prefix)} == {
            **{f"{n}_{s}": 0.0 for n in ("FP", "FN") for s in ("50_95", "50", "75")},
            **{f"{n}_{s}": 1.0 for n in ("TP", "F1") for s in ("50_95", "50", "75")},
        }
        pair2 = per_pair[(0, 2)]  # IoU exactly 0.75: a TP at 0.50 ... 0.75 (6 of 10 thresholds)
        assert pair2[f"{prefix}_TP_50_95"] == pytest.approx(0.6)
        assert pair2[f"{prefix}_TP_75"] == 1.0 and pair2[f"{prefix}_FN_50_95"] == pytest.approx(0.4)
        assert pair2[f"{prefix}_F1_50_95"] == pytest.approx(0.6)
        assert per_pair[(0, 3)][f"{prefix}_F1_50"] == 1.0  # true negative: nothing to count, F1 1
        assert per_pair[(0, 4)][f"{prefix}_FP_50_95"] == 1.0 and per_pair[(0, 4)][f"{prefix}_F1_50_95"] == 0.0
        assert per_pair[(0, 5)][f"{prefix}_FN_75"] == 1.0 and per_pair[(0, 5)][f"{prefix}_TP_50"] == 0.0

    # image level: TP 2 (pairs 1, 2), TN 1 (3), FP 1 (4), FN 1 (5)
    mcc = (2 * 1 - 1 * 1) / (math.sqrt((2 + 1) * (2 + 1) * (1 + 1) * (1 + 1)) + 1e-6)
    # box level at 0.5: TP 2 (pairs 1, 2), FN 1 (pair 5), FPs of positive pairs 0 (pair 4's left out)
    precision, recall = 2 / (2 + 0 + 1e-4), 2 / (2 + 1 + 1e-4)
    pmf1 = 2 * precision * recall / (precision + recall + 1e-4)
    for prefix in ("bbox", "mask"):
        key = f"video_{prefix}_demo"
        assert results[f"{key}_ilmcc_50_95"] == pytest.approx(mcc, rel=1e-12)
        assert results[f"{key}_positive_micro_f1_50"] == pytest.approx(pmf1, rel=1e-12)
        assert results[f"{key}_cgf1_micro_50"] == pytest.approx(pmf1 * mcc, rel=1e-12)
        assert results[f"{key}_ilmcc_50"] == pytest.approx(mcc, rel=1e-9)  # cgF1 / pmF1


def test_cgf1_without_video_np_pairs_has_only_per_pair_counts():
    gt, preds = _cgf1_case()
    del gt["video_np_pairs"]
    results, per_pair = veval_cgf1(gt, preds)
    assert results == {}
    assert list(per_pair) == [(0, 1), (0, 2), (0, 4), (0, 5)]  # the negative without predictions is unknown
    assert list(per_pair[(0, 1)]) == CGF1_PAIR_KEYS


def test_inputs_are_not_modified():
    gt, preds = _cgf1_case()
    gt["annotations"][0]["segmentations"][0] = {  # an uncompressed RLE, which both compress
        "size": [H, W],
        "counts": [0, 4, 4, 4, 4, 4, 4, 4, 36],
    }
    before = copy.deepcopy((gt, preds))
    veval_hota(gt, preds)
    veval_cgf1(gt, preds)
    assert (gt, preds) == before
