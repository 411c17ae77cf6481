"""LVOS scorer: samkit's numbers equal the official evaluator's, value for value.

``tests/data/lvos_golden/make_golden.py`` ran lvos-evaluation's ``evaluation_method.py`` (unchanged,
commit 25cb02d1) on the inputs ``make_inputs.write_inputs`` writes, and on variants of them; the
tests regenerate the same inputs, score them with samkit and compare every number exactly (the
summary, the per-object table, the per-frame J and F, the CSV text), and where the evaluator stops,
check that samkit raises a clear error instead. Then the layout options, the errors of samkit's own
and the ``samkit score vos --benchmark lvos`` command.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from samkit.cli import main
from samkit.errors import ParameterError
from samkit.metrics.scoring import VOS_BENCHMARKS, VOSScore, score_vos
from samkit.metrics.scoring.lvos import (
    LVOS_SUMMARY_KEYS,
    LVOS_V2_VAL_UNSEEN,
    OFFICIAL_COMMIT,
    _read_meta,
    _video_scores,
    score_lvos,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "lvos_golden"


def _load_inputs_module():
    # by path under its own name: other golden folders have a make_inputs.py of their own
    spec = importlib.util.spec_from_file_location("lvos_golden_make_inputs", DATA / "make_inputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_INPUTS = _load_inputs_module()
VARIANTS, UNSEEN, write_inputs, frame_name = _INPUTS.VARIANTS, _INPUTS.UNSEEN, _INPUTS.write_inputs, _INPUTS.frame_name

GOLDEN = json.loads((DATA / "golden_lvos.json").read_text())
RUNS = GOLDEN["runs"]
#: variants where the official evaluator stops -> (what stopped it, the video samkit's error must name)
ERROR_VARIANTS = {
    "missing_prediction_frame": ("SystemExit(None)", "seenA001"),
    "missing_prediction_video": ("SystemExit(None)", "seenB002"),
    "wrong_shape": ("AssertionError", "R3UJGYwy"),
    "range_longer_than_frame_nums": ("IndexError", "seenA001"),
    "frame_nums_below_two": ("ValueError", "seenB002"),
    "missing_gt_frame": ("FileNotFoundError", "seenB002"),
}


def _score_quietly(gt_root: Path, pred_root: Path, **options) -> VOSScore:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return score_vos(gt_root, pred_root, "lvos", **options)


def _inputs_of(run: str, root: Path) -> tuple[Path, Path]:
    gt_root, pred_root = write_inputs(root)
    if run in VARIANTS:
        VARIANTS[run](gt_root, pred_root)
    return gt_root, pred_root


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    return write_inputs(tmp_path_factory.mktemp("lvos"))


@pytest.fixture(scope="module")
def score(inputs) -> VOSScore:
    return _score_quietly(*inputs)


def _same(mine: float, official: float | None) -> bool:
    if official is None:
        return math.isnan(mine)
    return mine == official


def _differences(result: VOSScore, run: dict) -> tuple[int, list[str]]:
    """(values compared, descriptions of those differing) between samkit's result and a golden run."""
    compared, diffs = 0, []
    assert list(result.summary) == list(run["summary"]) == list(LVOS_SUMMARY_KEYS)
    for key, official in run["summary"].items():
        compared += 1
        if not _same(result.summary[key], official):
            diffs.append(f"summary {key}: samkit {result.summary[key]!r}, official {official!r}")
    rows = result.per_object.to_dict("records")
    assert [row["name"] for row in rows] == [row["Sequence"] for row in run["per_object"]]
    for row, official in zip(rows, run["per_object"]):
        for key in ("J-Mean", "F-Mean", "V-Mean"):
            compared += 1
            if not _same(row[key], official[key]):
                diffs.append(f"{row['name']} {key}: samkit {row[key]!r}, official {official[key]!r}")
    return compared, diffs


def _official_csv(result: VOSScore) -> dict[str, str]:
    """samkit's values written as the evaluator writes its two CSV files (``%.3f``)."""
    summary = pd.DataFrame([list(result.summary.values())], columns=list(result.summary))
    table = result.per_object.rename(columns={"name": "Sequence"})[["Sequence", "J-Mean", "F-Mean", "V-Mean"]]
    return {
        "global_results-valid.csv": summary.to_csv(index=False, float_format="%.3f"),
        "per-sequence_results-valid.csv": table.to_csv(index=False, float_format="%.3f"),
    }


# ------------------------------------------------------------------------------ golden comparison


def test_golden_file_is_the_official_run():
    assert GOLDEN["reference"]["commit"] == OFFICIAL_COMMIT
    assert GOLDEN["environment"]["cython_extension"] is False
    assert set(RUNS) == {"main", "main_mp", "main_cython", *VARIANTS}
    assert {name for name, run in RUNS.items() if "error" in run} == set(ERROR_VARIANTS)


def test_summary_and_per_object_equal_the_official(score):
    compared, diffs = _differences(score, RUNS["main"])
    assert compared == 10 + 8 * 3
    assert diffs == []
    assert score.benchmark == "lvos"
    assert score.per_object["sequence"].tolist() == ["R3UJGYwy"] * 2 + ["seenA001"] * 3 + ["seenB002"] * 3
    # the official names are positions in the meta json, not ids: seenA001 lists objects 3, 1, 2
    assert score.per_object["object"].tolist() == [1, 2, 3, 1, 2, 1, 2, 5]
    assert score.per_object["unseen"].tolist() == [True] * 2 + [False] * 6
    assert score.notes["unseen_videos_scored"] == ["R3UJGYwy"]
    assert (score.notes["objects_seen"], score.notes["objects_unseen"]) == (6, 2)


def test_csv_text_equals_the_official(score):
    assert _official_csv(score) == RUNS["main"]["csv"]


def test_per_frame_values_equal_the_official(inputs):
    gt_root, pred_root = inputs
    split = gt_root / "val"
    frames = RUNS["main"]["frames"]
    compared = 0
    for video, objects in _read_meta(split / "valid_meta.json").items():
        values = _video_scores((video, str(split / "Annotations" / video), str(pred_root / video), objects, False))
        assert [obj.key for obj in objects] == list(frames[video])
        for obj, (j, f) in zip(objects, values):
            official = frames[video][obj.key]
            assert j.tolist() == official["j"], (video, obj.key)
            assert f.tolist() == official["f"], (video, obj.key)
            compared += len(official["j"]) + len(official["f"])
    assert compared == 2 * (10 + 6 + 12 + 12 + 6 + 8 + 4 + 3)


@pytest.mark.parametrize("run", ["custom_unseen", "meta_quirks"])
def test_variants_equal_the_official(run, tmp_path):
    gt_root, pred_root = _inputs_of(run, tmp_path)
    options = {"unseen_videos": UNSEEN[run]} if run in UNSEEN else {}
    result = _score_quietly(gt_root, pred_root, **options)
    compared, diffs = _differences(result, RUNS[run])
    assert compared == 34 and diffs == []
    assert _official_csv(result) == RUNS[run]["csv"]


def test_custom_unseen_list_from_a_file(tmp_path):
    gt_root, pred_root = write_inputs(tmp_path / "inputs")
    listing = tmp_path / "unseen_videos.txt"
    listing.write_text("".join(f"{video}\n" for video in UNSEEN["custom_unseen"]))
    result = _score_quietly(gt_root, pred_root, unseen_videos=listing)
    assert _differences(result, RUNS["custom_unseen"])[1] == []
    assert result.notes["unseen_list"] == str(listing)
    assert result.notes["unseen_videos_scored"] == ["seenA001"]


def test_meta_quirks_warn_and_note(tmp_path):
    gt_root, pred_root = _inputs_of("meta_quirks", tmp_path)
    with pytest.warns(UserWarning) as record:
        result = score_lvos(gt_root, pred_root)
    messages = " ".join(str(w.message) for w in record)
    assert "R3UJGYwy_1" in messages and "seenB002_3" in messages
    assert result.notes["unfilled_slots"] == {"R3UJGYwy_1": 2}
    assert result.notes["no_scored_frames"] == ["seenB002_3"]
    row = result.per_object.set_index("name").loc["R3UJGYwy_1"]
    assert (row["frames"], row["scored"]) == (12, 10)
    row = result.per_object.set_index("name").loc["seenB002_1"]  # frame_nums 9 over 10 frames: 7 slots
    assert (row["frames"], row["scored"]) == (7, 7)
    assert math.isnan(result.summary["J&F-Mean"]) and not math.isnan(result.summary["J-unseen-Mean"])


def test_cython_extension_run_equals_the_official_with_it(inputs):
    result = _score_quietly(*inputs, cython_extension=True)
    compared, diffs = _differences(result, RUNS["main_cython"])
    assert compared == 34 and diffs == []
    # the extension changes F (and V), never J
    main, cython = RUNS["main"]["summary"], RUNS["main_cython"]["summary"]
    assert main["J-Mean"] == cython["J-Mean"] and main["F-Mean"] != cython["F-Mean"]
    assert "Cython extension built" in result.notes["official"]


def test_processes_give_the_serial_values(inputs, score):
    pooled = _score_quietly(*inputs, num_processes=2)
    assert pooled.summary == score.summary
    pd.testing.assert_frame_equal(pooled.per_object, score.per_object)
    # the evaluator's own pool gathers objects in completion order: equal but for the last bit
    for key, official in RUNS["main_mp"]["summary"].items():
        assert pooled.summary[key] == pytest.approx(official, rel=0, abs=1e-15)


@pytest.mark.parametrize("run", sorted(ERROR_VARIANTS))
def test_where_the_official_stops_samkit_raises(run, tmp_path):
    official, video = ERROR_VARIANTS[run]
    assert RUNS[run]["error"].startswith(official)
    gt_root, pred_root = _inputs_of(run, tmp_path)
    with pytest.raises(ParameterError, match=video):
        score_lvos(gt_root, pred_root)


def test_missing_prediction_messages(tmp_path):
    gt_root, pred_root = _inputs_of("missing_prediction_frame", tmp_path / "a")
    with pytest.raises(ParameterError, match=r"prediction frame .*00000015\.png not found"):
        score_lvos(gt_root, pred_root)
    gt_root, pred_root = _inputs_of("missing_prediction_video", tmp_path / "b")
    with pytest.raises(ParameterError, match=r"prediction folder .*seenB002 not found"):
        score_lvos(gt_root, pred_root)


# ---------------------------------------------------------------------------------- layout


def test_registered_and_reached_through_score_vos(score):
    assert VOS_BENCHMARKS["lvos"] == "samkit.metrics.scoring.lvos:score_lvos"
    assert score.notes["meta"].endswith("valid_meta.json") and "meta_name" not in score.notes


def test_split_folder_as_gt_root(inputs, score):
    gt_root, pred_root = inputs
    direct = _score_quietly(gt_root / "val", pred_root)
    assert direct.summary == score.summary


def test_readme_meta_name_is_the_fallback(tmp_path, score):
    gt_root, pred_root = write_inputs(tmp_path)
    (gt_root / "val" / "valid_meta.json").rename(gt_root / "val" / "val_meta.json")
    result = _score_quietly(gt_root, pred_root)
    assert result.summary == score.summary
    assert "valid_meta.json" in result.notes["meta_name"]


def test_lvos_dataset_reads_the_same_layout(tmp_path):
    from samkit.data import LvosDataset

    gt_root, _ = write_inputs(tmp_path)
    shutil.copy(gt_root / "val" / "valid_meta.json", gt_root / "val" / "val_meta.json")
    dataset = LvosDataset(gt_root, "val")
    assert sorted(dataset.image_ids) == sorted(_INPUTS.VIDEOS)


def test_empty_group_gives_nan_and_a_warning(inputs):
    with pytest.warns(UserWarning, match="no unseen object"):
        result = score_lvos(*inputs, unseen_videos=[])
    assert math.isnan(result.summary["J&F-Mean"]) and math.isnan(result.summary["J-unseen-Mean"])
    assert not math.isnan(result.summary["J-seen-Mean"])


def test_unseen_list_is_the_toolkits():
    assert len(LVOS_V2_VAL_UNSEEN) == len(set(LVOS_V2_VAL_UNSEEN)) == 51
    assert "R3UJGYwy" in LVOS_V2_VAL_UNSEEN and "seenA001" not in LVOS_V2_VAL_UNSEEN


def test_void_is_background(tmp_path, score):
    # 255 in the prediction everywhere an object is not: nothing changes (void is not an object)
    gt_root, pred_root = write_inputs(tmp_path)
    for png in (pred_root / "seenB002").glob("*.png"):
        labels = np.array(Image.open(png))
        labels[labels == 0] = 255
        _INPUTS.save_palette_png(png, labels)
    result = _score_quietly(gt_root, pred_root)
    assert result.summary == score.summary


# ---------------------------------------------------------------------------------- errors


def test_bad_arguments(inputs, tmp_path):
    gt_root, pred_root = inputs
    with pytest.raises(ParameterError, match="gt_root"):
        score_lvos(tmp_path / "nothing", pred_root)
    with pytest.raises(ParameterError, match="pred_root"):
        score_lvos(gt_root, tmp_path / "nothing")
    with pytest.raises(ParameterError, match="split"):
        score_lvos(gt_root, pred_root, split="../val")
    with pytest.raises(ParameterError, match="no split folder 'train'"):
        score_lvos(gt_root, pred_root, split="train")
    with pytest.raises(ParameterError, match="unseen_videos"):
        score_lvos(gt_root, pred_root, unseen_videos=[1, 2])
    with pytest.raises(ParameterError, match="unseen_videos: cannot read"):
        score_lvos(gt_root, pred_root, unseen_videos=tmp_path / "none.txt")
    with pytest.raises(ParameterError, match="num_processes"):
        score_lvos(gt_root, pred_root, num_processes=0)
    with pytest.raises(ParameterError, match="cython_extension"):
        score_lvos(gt_root, pred_root, cython_extension="yes")


def test_missing_meta_and_annotations(tmp_path):
    gt_root, pred_root = write_inputs(tmp_path)
    (gt_root / "val" / "valid_meta.json").unlink()
    with pytest.raises(ParameterError, match="no meta json .*valid_meta.json or val_meta.json"):
        score_lvos(gt_root, pred_root)
    shutil.rmtree(gt_root / "val" / "Annotations")
    with pytest.raises(ParameterError, match="Annotations"):
        score_lvos(gt_root, pred_root)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read it"),
        ('{"video": {}}', "expected"),
        ('{"videos": {"v": {"objects": [1, 2]}}}', "video 'v' has no 'objects' mapping"),
        ('{"videos": {"v": {"objects": {"a": {"frame_range": {"start": 0, "end": 5, "frame_nums": 2}}}}}}', "id"),
        ('{"videos": {"v": {"objects": {"1": {"frame_range": {"start": 0, "end": 5}}}}}}', "frame_nums"),
        ('{"videos": {"v": {"objects": {"1": {"frame_range": {"start": 0.5, "end": 5, "frame_nums": 2}}}}}}', "start"),
        ('{"videos": {"../v": {"objects": {}}}}', "not a video folder name"),
    ],
)
def test_malformed_meta(tmp_path, content, message):
    gt_root, pred_root = write_inputs(tmp_path)
    (gt_root / "val" / "valid_meta.json").write_text(content)
    with pytest.raises(ParameterError, match=message):
        score_lvos(gt_root, pred_root)


def test_meta_fields_as_digit_strings(tmp_path, score):
    # the evaluator int()s start, end and frame_nums: strings of digits work the same
    gt_root, pred_root = write_inputs(tmp_path)
    path = gt_root / "val" / "valid_meta.json"
    data = json.loads(path.read_text())
    for video in data["videos"].values():
        for obj in video["objects"].values():
            obj["frame_range"] = {k: f"{v:08d}" for k, v in obj["frame_range"].items()}
    path.write_text(json.dumps(data))
    assert _score_quietly(gt_root, pred_root).summary == score.summary


def test_wrong_shape_message(tmp_path):
    gt_root, pred_root = _inputs_of("wrong_shape", tmp_path)
    with pytest.raises(ParameterError, match=r"R3UJGYwy.*00000021\.png is 55x40 \(WxH\) but its annotation is 56x40"):
        score_lvos(gt_root, pred_root)


# ------------------------------------------------------------------------------------- CLI


def test_cli_score_vos_lvos(inputs, tmp_path, capsys):
    gt_root, pred_root = inputs
    out = tmp_path / "scores" / "lvos.json"
    args = ["score", "vos", "--benchmark", "lvos", "--gt", str(gt_root), "--pred", str(pred_root), "--quiet"]
    assert main([*args, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "lvos: 8 objects scored" in printed
    assert f"J&F-Mean       {RUNS['main']['summary']['J&F-Mean']:.6g}" in printed
    record = json.loads(out.read_text())
    assert record["benchmark"] == "lvos" and record["summary"] == RUNS["main"]["summary"]
    table = pd.read_csv(tmp_path / "scores" / "lvos_per_object.csv")
    assert table["name"].tolist() == [r["Sequence"] for r in RUNS["main"]["per_object"]]
    assert table["J-Mean"].tolist() == pytest.approx([r["J-Mean"] for r in RUNS["main"]["per_object"]], rel=0, abs=0)


def test_cli_options(inputs, tmp_path, capsys):
    gt_root, pred_root = inputs
    listing = tmp_path / "unseen.txt"
    listing.write_text("seenA001\n")
    base = ["score", "vos", "--benchmark", "lvos", "--gt", str(gt_root), "--pred", str(pred_root), "--quiet"]
    out = tmp_path / "custom.json"
    assert main([*base, "-o", f"unseen_videos={listing}", "--num-processes", "1", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["summary"] == RUNS["custom_unseen"]["summary"]
    capsys.readouterr()
    assert main([*base, "-o", "colour=red"]) == 2
    err = capsys.readouterr().err
    assert "lvos takes no option 'colour'" in err and "unseen_videos" in err
    assert main([*base, "-o", "split=test"]) == 2
    assert "no split folder 'test'" in capsys.readouterr().err
