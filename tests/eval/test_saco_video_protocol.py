"""SA-Co/VEval: the loader on the tiny official-layout set of ``tests/data/saco_veval_layout.py``,
and the saco_video protocol: an oracle tracker that returns the ground-truth masklets scores as the
official evaluator's ``perfect`` golden case does; the predictions file equals the rows'; a run
resumes; a tiny random SAM 3 runs end to end."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "data"))  # saco_veval_layout.py

import saco_veval_layout as L  # noqa: E402

from samkit.data import SacoVEvalDataset, SyntheticDataset  # noqa: E402
from samkit.errors import DatasetError  # noqa: E402
from samkit.eval import get_protocol  # noqa: E402
from samkit.eval.saco_video import (  # noqa: E402
    run_saco_video,
    saco_video_scores,
    saco_video_table,
    summarize_saco_video,
)
from samkit.metrics.scoring.saco import score_saco  # noqa: E402
from samkit.video.masklets import ConceptObject, collect_masklets  # noqa: E402
from samkit.weights import WeightsInfo  # noqa: E402

GOLDEN = Path(__file__).parents[1] / "data" / "saco_veval_golden" / "golden_saco_veval.json"


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    return L.write_veval(tmp_path_factory.mktemp("veval"))


@pytest.fixture(scope="module")
def veval(layout):
    return SacoVEvalDataset(layout.gt, layout.frames)


# ------------------------------------------------------------------------------------------ loader


def test_loader_counts_pairs_and_negatives(veval):
    assert veval.image_ids == ["0", "1"] and veval.num_pairs == 4 and veval.has_np_pairs
    videos = list(veval)
    assert [v.num_frames for v in videos] == [4, 3]
    v0, v1 = videos
    assert [(p["pair_id"], p["phrase"], p["positive"], p["num_masklets"]) for p in v0.pairs] == [
        ("0:1", "red square", True, 1),
        ("0:2", "blue circle", False, 0),
    ]
    assert [p["positive"] for p in v1.pairs] == [True, False]
    masks = v1.masklets("1:1")
    assert masks.shape == (2, 3, L.H, L.W) and not masks[1, 0].any()
    assert np.array_equal(masks[0, 2], L.MASKLETS[(2, 1, 1)][2])
    frames = v0.frames()
    assert len(frames) == 4 and frames.num_decoded == 0 and frames[0].shape == (L.H, L.W, 3)


def test_loader_subsample_and_shard_ids(layout):
    one = SacoVEvalDataset(layout.gt, layout.frames, max_images=1, seed=0)
    assert len(one) == 1 and one.num_pairs == 2
    one.keep_ids(["1"])
    assert [v.video_id for v in one] == [1]


def test_loader_refuses_path_outside_root_and_bad_records(layout, tmp_path):
    data = json.loads(layout.gt.read_text())
    bad = json.loads(json.dumps(data))
    bad["videos"][0]["file_names"][0] = "../../etc/passwd"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(DatasetError, match="outside the dataset root"):
        SacoVEvalDataset(tmp_path / "bad.json", layout.frames)
    short = json.loads(json.dumps(data))
    short["annotations"][0]["segmentations"] = short["annotations"][0]["segmentations"][:2]
    (tmp_path / "short.json").write_text(json.dumps(short))
    with pytest.raises(DatasetError, match="one entry per frame"):
        SacoVEvalDataset(tmp_path / "short.json", layout.frames)


def test_loader_skips_video_with_missing_frame(layout, tmp_path):
    data = json.loads(layout.gt.read_text())
    data["videos"][1]["file_names"][2] = "toy_001/99999.jpg"
    (tmp_path / "gt.json").write_text(json.dumps(data))
    with pytest.warns(UserWarning, match="1 video"):
        ds = SacoVEvalDataset(tmp_path / "gt.json", layout.frames)
    assert ds.image_ids == ["0"] and ds.skipped_images[0]["reason"] == "missing file"


# ------------------------------------------------------------------------------------------ oracle


class OracleTracker:
    """Returns the ground-truth masklets of the phrase on this video (score 0.9)."""

    def __init__(self, model, frames):
        self.model, self.frames, self.phrases = model, frames, []
        self.video = next(v for v in model.dataset if str(v.frame_paths[0].parent) == frames.source)

    def reset(self):
        self.phrases = []

    def add_text(self, text):
        self.phrases += list(text)

    def track_masklets(self):
        pair = next(p for p in self.video.pairs if p["phrase"] in self.phrases)
        masks = self.video.masklets(pair["pair_id"])
        info = {k: ConceptObject(pair["phrase"], 0.9, 0) for k in range(len(masks))}
        stream = [(t, {k: masks[k, t] for k in range(len(masks))}) for t in range(self.video.num_frames)]
        return collect_masklets(
            stream,
            info,
            size=(self.video.height, self.video.width),
            num_frames=self.video.num_frames,
            weights="oracle",
            random_weights=True,
            method="oracle",
        )


class OracleModel:
    name, family, dtype = "oracle", "fake", "float32"

    def __init__(self, dataset, capabilities=("video", "text_video")):
        self.dataset, self.capabilities = dataset, frozenset(capabilities)
        self.device = torch.device("cpu")
        self.weights = WeightsInfo("random", seed=0)
        self.model = torch.nn.Linear(1, 1)

    def video(self, frames, **options):
        return OracleTracker(self, frames)


def _perfect_golden():
    return json.loads(GOLDEN.read_text())["cases"]["perfect"]["result"]["dataset_results"]


def test_oracle_scores_as_the_official_perfect_case(veval, tmp_path):
    out = tmp_path / "rows.parquet"
    rows = run_saco_video(OracleModel(veval), veval, out_path=out, progress=False)
    assert len(rows) == 4 and (rows["status"] == "ok").all()
    assert rows["num_masklets"].tolist() == [1, 0, 2, 0]
    assert rows["positive"].tolist() == [True, False, True, False]
    summary = summarize_saco_video(rows)
    golden = _perfect_golden()
    # every family perfect; cgF1 and IL_MCC carry the official epsilons, as the golden perfect case
    assert summary["veval_pHOTA"] == 1.0 and summary["veval_mAP"] == 1.0 and summary["veval_TETA"] == 100.0
    assert summary["veval_phrase_AP"] == 1.0
    assert 0.9999 < summary["veval_cgF1"] < 1.0 and 0.9999 < golden["video_mask_demo_cgf1_micro_50_95"] < 1.0
    assert summary["veval_pairs"] == 4
    # the predictions file written as it went equals the rows' and scores the same on the dataset's file
    pred_file = tmp_path / "rows_veval_predictions.json"
    official = score_saco(veval.gt_file, pred_file, kind="video")["dataset_results"]
    assert official == saco_video_scores(rows)["dataset_results"]


def test_resume_keeps_done_videos_and_predictions(veval, tmp_path):
    out = tmp_path / "rows.parquet"
    first = SacoVEvalDataset(veval.gt_file, veval.frames_dir)
    first.keep_ids(["0"])
    run_saco_video(OracleModel(veval), first, out_path=out, progress=False, run_id="r")
    rows = run_saco_video(OracleModel(veval), veval, out_path=out, resume=True, progress=False, run_id="r")
    assert rows["pair_id"].tolist() == ["0:1", "0:2", "1:1", "1:3"]
    preds = json.loads((tmp_path / "rows_veval_predictions.json").read_text())
    assert [(p["video_id"], p["category_id"]) for p in preds] == [(0, 1), (1, 1), (1, 1)]


def test_protocol_registered_params_checked_and_capability(veval):
    protocol = get_protocol("saco_video")
    with pytest.raises(ValueError, match="detection_threshold"):
        protocol.make_params(detection_threshold=1.5)
    rows = protocol.run(OracleModel(veval, capabilities=("points",)), veval, progress=False)
    assert rows["status"].tolist() == ["unsupported"] and "text_video" in rows["error"][0]
    with pytest.raises(ValueError, match="SacoVEvalDataset"):
        run_saco_video(OracleModel(veval), SyntheticDataset(num_images=1), progress=False)


def test_no_prediction_gives_nan_and_says_why(veval):
    rows = run_saco_video(OracleModel(veval), veval, progress=False)
    rows = rows.assign(predictions="[]", num_masklets=0)
    summary = summarize_saco_video(rows)
    assert math.isnan(summary["veval_cgF1"]) and "empty prediction list" in summary["veval_note"]


# ------------------------------------------------------------------------------------------ SAM 3


@pytest.mark.slow  # ~20-60 s on 2 shared cores: SAM 3 tiny detects on every frame at threshold 0
def test_sam3_tiny_random_end_to_end(veval, tmp_path):
    import samkit

    one = SacoVEvalDataset(veval.gt_file, veval.frames_dir)
    one.keep_ids(["1"])
    model = samkit.load("sam3", weights="random", config="tiny")
    rows = get_protocol("saco_video").run(
        model, one, detection_threshold=0.0, new_object_threshold=0.0, progress=False, out_path=tmp_path / "r.parquet"
    )
    assert (rows["status"] == "ok").all(), rows.get("error")
    assert len(rows) == 2 and rows["random_weights"].all() and (rows["weights_kind"] == "random").all()
    assert np.isfinite(rows["track_ms"]).all()
    for entries in rows["predictions"]:
        for entry in json.loads(entries):  # VEval format: one entry per frame, the pair's category
            assert len(entry["segmentations"]) == len(entry["bboxes"]) == len(entry["areas"]) == 3
            assert entry["video_id"] == 1 and entry["category_id"] in (1, 3)
    summary = summarize_saco_video(rows)
    scores = [summary[k] for k in ("veval_cgF1", "veval_pHOTA", "veval_mAP", "veval_TETA")]
    # random scores may all fall under the official 0.5: then the official TETA cannot score, and the
    # summary says so instead of giving numbers
    assert all(np.isfinite(scores)) or (all(np.isnan(scores)) and summary["veval_note"])
    table = saco_video_table(rows)
    assert len(table) == 1 and "random" in str(table["note"][0]).lower()
    assert isinstance(table, pd.DataFrame)
