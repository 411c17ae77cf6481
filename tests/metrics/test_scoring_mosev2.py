"""MOSEv2 scorer: samkit's numbers equal the official evaluator's, value for value.

``tests/data/mosev2_golden/make_golden.py`` ran MOSE-api's ``score.py`` (unchanged, commit
241977ae) on the inputs ``make_inputs.write_inputs`` writes, and on variants of them; the tests
regenerate the same inputs, score them with samkit and compare every number: the summary and the
per-object values rounded as the tool rounds (exactly), the unrounded per-object and per-frame
values (atol 1e-12), and where the tool stops, that samkit raises a clear error instead.
"""

from __future__ import annotations

import importlib.util
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from samkit.errors import ParameterError, VideoError
from samkit.metrics.scoring import VOSScore, score_vos
from samkit.metrics.scoring.mosev2 import (
    RAW_KEYS,
    SUMMARY_KEYS,
    _prediction_dir,
    _score_sequence,
    _sequences_of,
    boundary_radii,
    frame_scores,
    object_scores,
    score_mosev2,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "mosev2_golden"


def _load_inputs_module():
    # by path under its own name: other golden folders may have a make_inputs.py of their own
    spec = importlib.util.spec_from_file_location("mosev2_golden_make_inputs", DATA / "make_inputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_INPUTS = _load_inputs_module()
VARIANTS, write_inputs = _INPUTS.VARIANTS, _INPUTS.write_inputs

GOLDEN = json.loads((DATA / "golden_mosev2.json").read_text())
RUNS = GOLDEN["runs"]
#: variants where the official tool stops -> the sequence samkit's error must name
ERROR_VARIANTS = {"two_frames_missing": "seq_a", "wrong_shape": "seq_b", "length_mismatch": "seq_a"}


def _score_quietly(gt_root: Path, pred_root: Path, **options) -> VOSScore:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return score_vos(gt_root, pred_root, "mosev2", **options)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    return write_inputs(tmp_path_factory.mktemp("mosev2"))


@pytest.fixture(scope="module")
def score(inputs) -> VOSScore:
    return _score_quietly(*inputs)


def _same(mine: float, official: float | None, atol: float = 0.0) -> bool:
    if official is None or (isinstance(official, float) and math.isnan(official)):
        return math.isnan(mine)
    return abs(mine - official) <= atol


def _differences(result: VOSScore, run: dict) -> tuple[int, list[str]]:
    """(values compared, descriptions of those differing) between samkit's result and a golden run."""
    compared, diffs = 0, []
    assert list(result.summary) == list(run["summary"])
    for key, official in run["summary"].items():
        compared += 1
        if not _same(result.summary[key], official):
            diffs.append(f"summary {key}: {result.summary[key]} != {official}")
    rows = {f"{r.sequence}_{r.object}": r for r in result.per_object.itertuples(index=False)}
    assert set(rows) == set(run["per_object"]) == set(run["raw"])
    for name, row in rows.items():
        values = row._asdict()
        for key in SUMMARY_KEYS:
            compared += 1
            # itertuples renames columns that are not identifiers: read them by position
            mine = row[list(result.per_object.columns).index(key)]
            if not _same(mine, run["per_object"][name][key]):
                diffs.append(f"{name} {key}: {mine} != {run['per_object'][name][key]}")
        for key, official in zip(RAW_KEYS, run["raw"][name]):
            compared += 1
            if not _same(values[key], official, atol=1e-12):
                diffs.append(f"{name} {key}: {values[key]} != {official}")
    return compared, diffs


# ------------------------------------------------------------------------------ golden comparison


def test_golden_file_is_the_official_run():
    assert GOLDEN["reference"]["commit"] == "241977ae2ceceee054fa2a2c8a2690838c451369"
    assert set(RUNS) == {"main", *VARIANTS}
    assert list(RUNS["main"]["summary"]) == list(SUMMARY_KEYS)


def test_summary_and_per_object_equal_the_official(score):
    compared, diffs = _differences(score, RUNS["main"])
    assert compared == 7 + 16 * 14
    assert diffs == []
    assert list(score.summary) == list(SUMMARY_KEYS)
    assert score.benchmark == "mosev2"


def test_per_frame_values_equal_the_official(inputs):
    gt_root, pred_root = inputs
    pred_dir, descended = _prediction_dir(pred_root)
    assert descended == "results"  # the lone folder rule
    frames = RUNS["main"]["frames"]
    compared, diffs = 0, []
    for seq in _sequences_of(gt_root, pred_dir):
        result = _score_sequence(seq)
        for obj, (j, f_new, f, empty) in zip(seq.objects, result.per_object):
            official = frames[f"{seq.name}_{obj}"]
            for name, mine, theirs in (("j", j, official["j"]), ("f_new", f_new, official["f_new"])):
                compared += len(theirs)
                if len(mine) != len(theirs) or not np.allclose(mine, theirs, rtol=0, atol=1e-12):
                    diffs.append(f"{seq.name}_{obj} {name}")
            compared += len(official["f"]) + len(official["empty_gt"])
            if len(f) != len(official["f"]) or not np.allclose(f, official["f"], rtol=0, atol=1e-12):
                diffs.append(f"{seq.name}_{obj} f")
            if list(empty) != official["empty_gt"]:
                diffs.append(f"{seq.name}_{obj} empty_gt")
    # every object of every sequence with frames left is compared (seq_f missing, seq_g too short)
    assert set(frames) == {k for k in RUNS["main"]["raw"] if not k.startswith(("seq_f", "seq_g"))}
    assert compared == sum(len(v[k]) for v in frames.values() for k in v)
    assert diffs == []


def test_pooled_equals_serial(inputs, score):
    pooled = _score_quietly(*inputs, num_processes=2)
    assert pooled.summary == score.summary
    assert pooled.per_object.equals(score.per_object)
    assert pooled.notes == score.notes


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variants_as_the_official_tool(variant, tmp_path):
    gt_root, pred_root = write_inputs(tmp_path)
    VARIANTS[variant](gt_root, pred_root)
    run = RUNS[variant]
    if variant in ERROR_VARIANTS:
        assert "error" in run  # the official tool stopped
        with pytest.raises(VideoError, match=ERROR_VARIANTS[variant]):
            _score_quietly(gt_root, pred_root)
        return
    assert "error" not in run
    if variant == "flat_single_sequence":
        with pytest.warns(UserWarning, match="takes as the prediction root"):
            result = score_mosev2(gt_root, pred_root)
        assert set(result.per_object["status"]) == {"missing_prediction"}
    else:
        result = _score_quietly(gt_root, pred_root)
    compared, diffs = _differences(result, run)
    assert compared > 7
    assert diffs == []


# -------------------------------------------------------------------------- official conventions


def test_missing_prediction_video_scores_zero_and_warns(inputs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = score_mosev2(*inputs)
    messages = [str(w.message) for w in caught]
    assert any("no prediction for 1 sequence(s) (seq_f)" in m for m in messages), messages
    assert any("prediction frames of seq_c do not match" in m for m in messages), messages
    rows = result.per_object[result.per_object["sequence"] == "seq_f"]
    assert list(rows["object"]) == [1, 3]
    assert (rows[["J", "F_new", "F", "J&F_new", "J&F", "j", "f_new", "f"]] == 0).all().all()
    assert rows[["disappear_J&F_new", "reappear_J&F_new", "disappear_j", "reappear_j"]].isna().all().all()
    assert set(rows["status"]) == {"missing_prediction"}
    assert result.notes["missing_predictions"] == ["seq_f"]


def test_notes_and_table(score):
    notes = score.notes
    assert notes["no_scored_frames"] == ["seq_g"]
    assert notes["frame_name_mismatch"] == ["seq_c"]  # prediction frame 9 missing: positions shift
    assert notes["prediction_root"].endswith("results")
    table = score.per_object
    assert list(table.columns[:2]) == ["sequence", "object"]
    assert list(table.columns[2:16]) == [*SUMMARY_KEYS, *RAW_KEYS]
    first = table.iloc[0]
    assert (first["sequence"], first["object"], first["frames"], first["status"]) == ("seq_a", 1, 8, "scored")
    assert table.loc[table["sequence"] == "seq_c", "frames"].tolist() == [18, 18]
    assert json.dumps(score.to_json(), allow_nan=True)


def test_missing_meta_json_and_folders(inputs, tmp_path):
    gt_root, pred_root = inputs
    (tmp_path / "Annotations").mkdir()
    with pytest.raises(FileNotFoundError, match="meta.json"):
        score_mosev2(tmp_path, pred_root)
    (tmp_path / "meta.json").write_text('{"videos": {}}')
    (tmp_path / "Annotations").rmdir()
    with pytest.raises(FileNotFoundError, match="Annotations"):
        score_mosev2(tmp_path, pred_root)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        score_mosev2(gt_root, tmp_path / "nowhere")


def test_sequence_not_in_meta(tmp_path):
    gt_root, pred_root = write_inputs(tmp_path)
    data = json.loads((gt_root / "meta.json").read_text())
    del data["videos"]["seq_d"]
    (gt_root / "meta.json").write_text(json.dumps(data))
    with pytest.raises(VideoError, match="'seq_d'.*not in"):
        score_mosev2(gt_root, pred_root)


def test_num_processes_is_checked(inputs):
    for bad in (0, 1.5, "2"):
        with pytest.raises(ParameterError, match="num_processes"):
            score_mosev2(*inputs, num_processes=bad)


def test_frame_scores_smoothed_j_and_empty_cases():
    gt = np.zeros((48, 64), bool)
    pred = np.zeros((48, 64), bool)
    assert frame_scores(gt, pred) == (1.0, 1.0, 1.0, True)
    pred[5:8, 5:8] = True  # 9 false-positive pixels on an empty gt
    j, f_new, f, empty = frame_scores(gt, pred)
    assert (j, f_new, f, empty) == (1 / 10, 0.0, 0.0, True)
    gt[20:30, 20:30] = True
    j, _, _, empty = frame_scores(gt, pred)
    assert j == 1 / 110 and not empty
    assert frame_scores(gt, gt) == (1.0, 1.0, 1.0, False)


def test_boundary_radii():
    # 150x200: 0.008 * 250 = 2.0; area 270 gives ceil(1.64) = 2: the tie keeps both at 2.0
    assert boundary_radii((150, 200), 270) == (2.0, 2.0)
    assert boundary_radii((150, 200), 64) == (2.0, 1.0)  # ceil(0.8) = 1 < 2
    # 96x128: d = 1.28; a small object gets (ceil(d), 1), a large one d itself, unrounded
    assert boundary_radii((96, 128), 48) == (2.0, 1.0)
    assert boundary_radii((96, 128), 1500) == pytest.approx((1.28, 1.28), abs=1e-15)
    # an empty gt: a = ceil(0.1 * diagonal) > d, so both use d
    assert boundary_radii((120, 160), 0) == pytest.approx((1.6, 1.6), abs=1e-15)


def test_object_scores_segments():
    # scored frames: visible, gone, gone, back, back, gone: one disappear segment is [1:3] and [5:6]
    j = [0.9, 0.5, 0.7, 0.2, 0.4, 1.0]
    f = [0.8, 0.1, 0.3, 0.6, 0.2, 0.0]
    empty = [False, True, True, False, False, True]
    out = object_scores(j, f, [0.5] * 6, empty)
    assert out["j"] == pytest.approx(np.mean(j)) and out["f"] == 0.5
    assert out["disappear_j"] == pytest.approx(np.mean([np.mean([0.5, 0.7]), 1.0]))
    assert out["disappear_f_new"] == pytest.approx(np.mean([np.mean([0.1, 0.3]), 0.0]))
    assert out["reappear_j"] == pytest.approx(0.3) and out["reappear_f_new"] == pytest.approx(0.4)
    # absent at the start, appearing later: a reappear segment and no disappear one
    late = object_scores([1.0, 1.0, 0.5], [1.0, 1.0, 0.25], [1.0, 1.0, 0.25], [True, True, False])
    assert late["disappear_j"] is None and late["reappear_j"] == 0.5 and late["reappear_f_new"] == 0.25
    # never empty: neither
    assert object_scores([0.5], [0.5], [0.5], [False])["reappear_j"] is None
    # no frames: zeros and None, as the official merge step
    none = object_scores([], [], [], [])
    assert (none["j"], none["f_new"], none["f"], none["disappear_j"]) == (0.0, 0.0, 0.0, None)
