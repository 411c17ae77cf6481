"""The VOS scorers (DAVIS 2017, MOSE v1, SA-V) against the official evaluators' own numbers.

``tests/data/vos_golden/make_golden.py`` ran davis2017-evaluation and sam2's sav_evaluator on the
inputs ``make_inputs.py`` writes; these tests write the same inputs and require samkit's scores to
equal the official ones (summary and every per-object value), then check the error cases and the
``samkit score`` command.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from samkit.cli import build_parser, main
from samkit.errors import ParameterError
from samkit.metrics.scoring import VOS_BENCHMARKS, VOSScore, score_vos
from samkit.metrics.scoring.davis import DAVIS_SUMMARY_KEYS, score_davis2017, score_mosev1
from samkit.metrics.scoring.sav import SAV_SUMMARY_KEYS, score_sav

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "vos_golden"
_spec = importlib.util.spec_from_file_location("vos_make_inputs", GOLDEN / "make_inputs.py")
make_inputs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_inputs)

ATOL = 1e-12


def golden(name: str) -> dict:
    return json.loads((GOLDEN / f"golden_{name}.json").read_text())


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return make_inputs.write_all(tmp_path_factory.mktemp("vos_inputs"))


@pytest.fixture
def fresh(tmp_path) -> dict[str, Path]:
    """Inputs of one's own, to damage."""
    return make_inputs.write_all(tmp_path / "inputs")


def differing(expected: dict, actual: dict, what: str) -> tuple[int, list[str]]:
    """(values compared, descriptions of those that differ by more than ATOL)."""
    bad = []
    for key, value in expected.items():
        got = actual[key]
        if not (math.isclose(got, value, rel_tol=0, abs_tol=ATOL) or (math.isnan(got) and math.isnan(value))):
            bad.append(f"{what} {key}: official {value!r}, samkit {got!r}")
    return len(expected), bad


def compare_davis(score: VOSScore, record: dict) -> int:
    """Every summary and per-object value equal to the toolkit's; returns how many were compared."""
    assert list(score.summary) == list(DAVIS_SUMMARY_KEYS)
    n, bad = differing(record["summary"], score.summary, "summary")
    assert [f"{s}_{o}" for s, o in zip(score.per_object["sequence"], score.per_object["object"])] == [
        r["name"] for r in record["per_object"]
    ]
    for row, expected in zip(score.per_object.to_dict("records"), record["per_object"]):
        values = {k: v for k, v in expected.items() if k != "name"}
        m, more = differing(values, row, expected["name"])
        n, bad = n + m, bad + more
        assert row["J&F-Mean"] == (row["J-Mean"] + row["F-Mean"]) / 2
    assert not bad, "\n".join(bad)
    return n


def compare_sav(score: VOSScore, record: dict) -> int:
    assert list(score.summary) == list(SAV_SUMMARY_KEYS)
    n, bad = differing(record["summary"], score.summary, "summary")
    assert list(zip(score.per_object["sequence"], score.per_object["object"])) == [
        (r["sequence"], r["object"]) for r in record["per_object"]
    ]
    for row, expected in zip(score.per_object.to_dict("records"), record["per_object"]):
        m, more = differing({"J": expected["J"], "F": expected["F"]}, row, f"{row['sequence']}/{row['object']}")
        n, bad = n + m, bad + more
    assert not bad, "\n".join(bad)
    return n


# --------------------------------------------------------------------------- official values


def test_davis2017_equals_the_official_toolkit(inputs):
    score = score_vos(inputs["davis"], inputs["davis_pred"], "davis2017")
    assert compare_davis(score, golden("davis2017")) == 7 + 7 * 6
    assert score.benchmark == "davis2017"
    # the conventions the inputs exercise
    assert score.notes["unscored_ids"] == {"cow": [4]}  # appears later, above the first frame's ids
    assert list(score.per_object.query("sequence == 'cow'")["object"]) == [1, 2, 3]
    assert score.per_object.query("sequence == 'cow' and object == 3")["J-Mean"].item() == 0.0  # padded


def test_davis2017_options_and_processes_give_the_same_values(inputs):
    record = golden("davis2017")
    dog = score_davis2017(inputs["davis"], inputs["davis_pred"], sequences=["dog", "dog"])  # scored once
    assert dog.per_object["J-Mean"].tolist() == [r["J-Mean"] for r in record["per_object"] if r["name"] == "dog_1"]
    train = score_davis2017(inputs["davis"], inputs["davis_pred"], split="train")  # train.txt lists dog only
    pd.testing.assert_frame_equal(train.per_object, dog.per_object)
    assert train.summary == dog.summary
    pooled = score_davis2017(inputs["davis"], inputs["davis_pred"], num_processes=2)
    compare_davis(pooled, record)


def test_mosev1_equals_the_toolkit_on_mose_layout(inputs):
    score = score_vos(inputs["mose"], inputs["mose_pred"], "mosev1")
    assert compare_davis(score, golden("mosev1")) == 7 + 6 * 6
    assert "not published" in score.notes["official_evaluator"]
    direct = score_mosev1(inputs["mose"] / "Annotations", inputs["mose_pred"])  # the Annotations folder itself
    assert direct.summary == score.summary


def test_sav_equals_the_official_evaluator(inputs):
    record = golden("sav")
    score = score_vos(inputs["sav_gt"], inputs["sav_pred"], "sav")
    assert compare_sav(score, record) == 3 + 5 * 2
    assert score.notes["videos_without_prediction"] == ["sav_c"]  # skipped, as the official default
    assert score.notes["predicted_videos_without_gt"] == ["sav_extra"]
    assert record["printed"] == "Global score: J&F: {:.1f} J: {:.1f} F: {:.1f}".format(*score.summary.values())
    noskip = score_sav(inputs["sav_gt"], inputs["sav_pred"], skip_first_last=False)
    assert compare_sav(noskip, record["noskip"]) == 13
    davis_layout = score_sav(inputs["davis"] / "Annotations" / "480p", inputs["davis_pred"])
    assert compare_sav(davis_layout, record["davis_layout"]) == 3 + 9 * 2
    assert "255" in set(davis_layout.per_object["object"])  # every non-zero gt value is an object there


def test_sav_in_processes_equals_serial(inputs):
    serial = score_sav(inputs["sav_gt"], inputs["sav_pred"])
    pooled = score_sav(inputs["sav_gt"], inputs["sav_pred"], num_processes=2)
    pd.testing.assert_frame_equal(serial.per_object, pooled.per_object, check_exact=True)
    assert serial.summary == pooled.summary


def test_sav_root_holding_annotations_is_descended(inputs, tmp_path):
    root = tmp_path / "sav_val"
    shutil.copytree(inputs["sav_gt"], root / "Annotations")
    (root / "JPEGImages_24fps").mkdir()
    score = score_sav(root, inputs["sav_pred"])
    assert score.summary == golden("sav")["summary"]


# ------------------------------------------------------------------------------ error cases


def test_unknown_benchmark_and_missing_folders(inputs, tmp_path):
    with pytest.raises(ParameterError, match="benchmark must be one of"):
        score_vos(inputs["davis"], inputs["davis_pred"], "davis2016")
    assert {"davis2017", "mosev1", "sav"} <= set(VOS_BENCHMARKS)
    for benchmark, gt in (("davis2017", inputs["davis"]), ("mosev1", inputs["mose"]), ("sav", inputs["sav_gt"])):
        with pytest.raises(ParameterError, match="gt_root .* does not exist"):
            score_vos(tmp_path / "nowhere", inputs["davis_pred"], benchmark)
        with pytest.raises(ParameterError, match="pred_root .* does not exist"):
            score_vos(gt, tmp_path / "nowhere", benchmark)
    with pytest.raises(ParameterError, match="ImageSets/2017/test.txt"):
        score_davis2017(inputs["davis"], inputs["davis_pred"], split="test")
    with pytest.raises(ParameterError, match="Annotations/1080p"):
        score_davis2017(inputs["davis"], inputs["davis_pred"], resolution="1080p")
    with pytest.raises(ParameterError, match="sequences must be a list"):
        score_davis2017(inputs["davis"], inputs["davis_pred"], sequences="dog")
    with pytest.raises(ParameterError, match="num_processes"):
        score_sav(inputs["sav_gt"], inputs["sav_pred"], num_processes=0)


def test_davis_prediction_errors(fresh):
    davis, pred = fresh["davis"], fresh["davis_pred"]
    shutil.rmtree(pred / "cow")
    with pytest.raises(ParameterError, match="sequence 'cow': no prediction folder"):
        score_davis2017(davis, pred)
    score_davis2017(davis, pred, sequences=["boat", "dog"])  # the others still score
    (pred / "dog" / "00002.png").unlink()
    with pytest.raises(ParameterError, match="prediction frame 00002 not found"):
        score_davis2017(davis, pred, sequences=["dog"])
    label = np.zeros((48, 64), np.uint8)
    label[3, 3] = 4  # boat has 3 objects
    make_inputs.save_indexed(pred / "boat" / "00004.png", label)
    with pytest.raises(ParameterError, match="index 4, higher than the number of objects in the sequence \\(3"):
        score_davis2017(davis, pred, sequences=["boat"])
    make_inputs.save_indexed(pred / "boat" / "00004.png", np.zeros((40, 64), np.uint8))
    with pytest.raises(ParameterError, match="prediction 00004.png is 64x40"):
        score_davis2017(davis, pred, sequences=["boat"])
    Image.new("RGB", (64, 48)).save(pred / "boat" / "00004.png")
    with pytest.raises(ParameterError, match="not a single-channel"):
        score_davis2017(davis, pred, sequences=["boat"])


def test_davis_short_sequence_is_refused(fresh):
    seq = fresh["davis"] / "Annotations" / "480p" / "dog"
    for name in sorted(p.name for p in seq.iterdir())[2:]:
        (seq / name).unlink()
    with pytest.raises(ParameterError, match="2 annotated frame"):
        score_davis2017(fresh["davis"], fresh["davis_pred"], sequences=["dog"])


def test_sav_errors(fresh):
    gt, pred = fresh["sav_gt"], fresh["sav_pred"]
    with pytest.raises(ParameterError, match="strict: gt videos without a prediction folder .*sav_c"):
        score_sav(gt, pred, strict=True)
    shutil.rmtree(gt / "sav_c")
    with pytest.raises(ParameterError, match="predicted videos without gt .*sav_extra"):
        score_sav(gt, pred, strict=True)
    shutil.rmtree(pred / "sav_extra")
    assert score_sav(gt, pred, strict=True).summary == golden("sav")["summary"]

    shutil.rmtree(pred / "sav_b" / "001")  # a missing object folder stops the official too
    with pytest.raises(ParameterError, match="video 'sav_b': prediction .*001.*not found"):
        score_sav(gt, pred)
    shutil.copytree(pred / "sav_b" / "000", pred / "sav_b" / "001")
    make_inputs.save_indexed(pred / "sav_a" / "000" / "00008.png", np.arange(48 * 64).reshape(48, 64) % 3)
    with pytest.raises(ParameterError, match="more than 1 object in .*00008.png"):
        score_sav(gt, pred)
    make_inputs.save_indexed(pred / "sav_a" / "000" / "00008.png", np.zeros((48, 64), np.uint8))
    for png in (gt / "sav_a" / "002").iterdir():  # an object its gt never holds has no score
        make_inputs.save_gray(png, np.zeros((48, 64), np.uint8))
    with pytest.raises(ParameterError, match="object 002: the gt mask is empty on every scored frame"):
        score_sav(gt, pred)


def test_sav_empty_frames_count_only_once_the_object_is_seen(tmp_path):
    """Frames before an object first shows (in gt or prediction) are not scored; after, empty = 1."""
    gt, pred = tmp_path / "gt" / "v" / "000", tmp_path / "pred" / "v" / "000"
    full = make_inputs.rect((8, 8), 2, 2, 6, 6).astype(np.uint8)
    empty = np.zeros((8, 8), np.uint8)
    for t, (g, p) in enumerate([(full, full), (empty, empty), (empty, empty), (full, empty), (empty, empty)]):
        make_inputs.save_indexed(gt / f"{t:05d}.png", g)
        make_inputs.save_indexed(pred / f"{t:05d}.png", p)
    score = score_sav(tmp_path / "gt", tmp_path / "pred")  # frames 1..3: two unseen empties, then a miss
    assert score.summary == {"J&F": 0.0, "J": 0.0, "F": 0.0}
    score = score_sav(tmp_path / "gt", tmp_path / "pred", skip_first_last=False)  # 5 frames: hit, 2x1, miss, 1
    assert score.per_object["J"].item() == pytest.approx(80.0)


# ------------------------------------------------------------------------------------- CLI


def test_cli_score_vos_writes_summary_and_per_object(inputs, tmp_path):
    out = tmp_path / "scores" / "sav.json"
    args = ["score", "vos", "--benchmark", "sav", "--gt", str(inputs["sav_gt"]), "--pred", str(inputs["sav_pred"])]
    proc = subprocess.run(
        [sys.executable, "-m", "samkit.cli", *args, "--json", str(out), "--quiet"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "J&F  72.6461" in proc.stdout
    record = json.loads(out.read_text())
    assert record["benchmark"] == "sav" and record["summary"] == golden("sav")["summary"]
    assert record["notes"]["videos_without_prediction"] == ["sav_c"]
    table = pd.read_csv(tmp_path / "scores" / "sav_per_object.csv", dtype={"object": str})
    assert table["J"].tolist() == pytest.approx([r["J"] for r in golden("sav")["per_object"]], abs=ATOL, rel=0)


def test_cli_errors_exit_2(inputs, tmp_path, capsys):
    base = ["score", "vos", "--gt", str(inputs["davis"]), "--pred", str(inputs["davis_pred"]), "--quiet"]
    assert main([*base, "--benchmark", "davis2016"]) == 2
    assert "benchmark must be one of davis2017" in capsys.readouterr().err
    assert main(["score", "vos", "--benchmark", "sav", "--gt", str(tmp_path / "no"), "--pred", "x"]) == 2
    err = capsys.readouterr().err
    assert "gt_root" in err and "does not exist" in err
    assert main([*base, "--benchmark", "davis2017", "-o", "colour=red"]) == 2
    assert "davis2017 takes no option 'colour'; its options: resolution, split, sequences" in capsys.readouterr().err
    assert main([*base, "--benchmark", "davis2017", "-o", 'sequences=["dog"]', "-o", "split=train"]) == 0
    assert "1 objects scored" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main([*base, "--benchmark", "sav", "--num-processes", "0"])
    assert exc.value.code == 2


def test_cli_score_saco_is_registered(tmp_path, capsys):
    ns = build_parser().parse_args(["score", "saco", "--gt", "a.json", "b.json", "--pred", "p.json", "--video"])
    assert ns.func.__name__ == "_cmd_score_saco" and ns.gt == ["a.json", "b.json"] and ns.video
    assert main(["score", "saco", "--gt", str(tmp_path / "gt.json"), "--pred", str(tmp_path / "p.json")]) == 2
    assert "--gt" in capsys.readouterr().err
