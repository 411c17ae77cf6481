"""The video protocol on synthetic DAVIS-layout sequences with exact masks: an oracle tracker scores
J&F 1, prompts come from each object's first annotated frame, rows carry the timings; a real SAM 2
(random weights, small input) runs end to end; a failing sequence is one row and the run goes on."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import samkit
from samkit.data import DavisDataset
from samkit.data.synthetic_video import write_davis
from samkit.eval import get_protocol, summarize
from samkit.eval.video import prompt_of, run_video
from samkit.weights import WeightsInfo


@pytest.fixture(scope="module")
def davis(tmp_path_factory):
    root = tmp_path_factory.mktemp("davis")
    videos = write_davis(root, sequences=2, num_frames=6, size=(48, 64), num_objects=2, seed=3)
    return DavisDataset(root), videos


class OracleTracker:
    """Answers every prompt and every propagated frame with the ground truth of its sequence."""

    def __init__(self, sample, log):
        self.sample, self.log, self.size = sample, log, sample.masks.shape[2:]
        self.ids: list[int] = []

    def add_prompt(self, frame, obj_id, **prompt):
        self.log.append((self.sample.sequence, frame, obj_id, sorted(prompt)))
        self.ids.append(obj_id)
        k = int(obj_id) - 1
        return {obj_id: self.sample.masks[k, frame]}

    def propagate(self, start_frame=None, **_):
        for t in range(start_frame, self.sample.masks.shape[1]):
            yield t, {oid: self.sample.masks[int(oid) - 1, t] for oid in self.ids}


class OracleVideoModel:
    name, family, dtype = "oracle_video", "fake", "float32"
    capabilities = frozenset({"video", "points", "box"})

    def __init__(self, dataset, fail_on=None):
        self.by_folder = {str(s.frame_paths[0].parent): s for s in dataset}
        self.model = torch.nn.Linear(1, 1)
        self.device = torch.device("cpu")
        self.weights = WeightsInfo("pretrained", sha256="0" * 64, official=True, path="oracle.pt")
        self.log: list = []
        self.fail_on = fail_on

    def video(self, frames, **options):
        sample = self.by_folder[str(frames)]
        if sample.sequence == self.fail_on:
            raise RuntimeError("CUDA out of memory (simulated)")
        return OracleTracker(sample, self.log)


def test_oracle_scores_one_and_prompts_come_from_the_first_annotated_frame(davis):
    dataset, videos = davis
    model = OracleVideoModel(dataset)
    frame = get_protocol("video").run(model, dataset, prompt="box", progress=False)
    ok = frame[frame["status"] == "ok"]
    assert len(ok) == sum(len(v.object_ids) for v in videos.values())
    assert ok["J&F-Mean"].tolist() == pytest.approx([1.0] * len(ok))
    assert (ok["frames"] == 6).all() and ok["fps"].gt(0).all() and ok["propagate_ms"].notna().all()
    for seq, first, oid, kinds in model.log:
        sample = next(s for s in dataset if s.sequence == seq)
        k = sample.object_ids.index(str(oid))
        assert first == int(np.flatnonzero(sample.masks[k].any(axis=(1, 2)))[0]) and kinds == ["box"]
    summary = summarize(frame)
    assert summary.loc[0, "J&F"] == pytest.approx(1.0) and summary.loc[0, "video_fps"] > 0


def test_prompts_from_a_mask():
    gt = np.zeros((20, 30), bool)
    gt[5:15, 8:20] = True
    assert prompt_of(gt, "box")["box"].tolist() == [8, 5, 20, 15]
    point = prompt_of(gt, "points")["point_coords"][0]
    assert gt[point[1], point[0]] and prompt_of(gt, "mask")["mask"] is gt


def test_a_failing_sequence_is_a_row_and_the_run_goes_on(davis):
    dataset, _ = davis
    model = OracleVideoModel(dataset, fail_on=dataset.sequences[0])
    frame = run_video(model, dataset, progress=False)
    failed = frame[frame["status"] == "oom"]
    assert failed["image_id"].tolist() == [dataset.sequences[0]]
    assert (frame[frame["image_id"] == dataset.sequences[1]]["status"] == "ok").all()
    with pytest.raises(ValueError, match="prompt must be one of"):
        run_video(model, dataset, prompt="scribble")


def test_real_sam2_end_to_end_with_clicks(davis, tmp_path):
    dataset, _ = davis
    model = samkit.load("sam2.1_hiera_tiny", weights="random", device="cpu")
    one = DavisDataset(dataset.root, sequences=dataset.sequences[:1])
    frame = run_video(model, one, prompt="points", clicks=2, out_path=tmp_path / "rows.parquet", progress=False)
    assert (frame["status"] == "ok").all(), frame["error"].tolist()
    assert frame["J&F-Mean"].between(0, 1).all() and (frame["clicks"] == 2).all()
    assert json.loads(frame.iloc[0]["prompt_detail"])["frame"] == frame.iloc[0]["prompt_frame"]
    assert frame["weights_kind"].eq("random").all() and frame["peak_mem_mib"].gt(0).all()


def test_sequence_table_and_report(davis, tmp_path):
    from samkit.eval.video import sequence_table
    from samkit.results import write_report

    dataset, _ = davis
    frame = run_video(OracleVideoModel(dataset), dataset, progress=False)
    table = sequence_table(frame)
    assert table["sequence"].tolist() == dataset.sequences
    assert table["J&F"].tolist() == pytest.approx([1.0, 1.0]) and (table["objects"] == 2).all()
    assert (table["note"] == "").all()  # pretrained oracle: no warning
    written = write_report(frame, tmp_path / "report")
    assert "J&F" in written["video_sequences_md"].read_text()
