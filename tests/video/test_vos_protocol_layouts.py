"""The video protocol as the papers run semi-supervised VOS, on generated sets in every benchmark's layout
(DAVIS, SA-V, MOSE, YouTube-VOS, LVOS): each object is prompted on its own first annotated frame and
joins the tracker there (never tracked before it), is scored on its own annotated frames from there on,
and the predictions are written frame by frame in the benchmark's layout, which the official scorers
(`score_vos`) read back at J&F 1 for an oracle; the submission archives decode back to the same masks.
A real SAM 2 (random weights, small input) runs a sequence whose object appears late."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import samkit
from samkit.data import DavisDataset, LvosDataset, MoseDataset, SavDataset, YouTubeVOSDataset
from samkit.data.synthetic_video import davis_palette, moving_shapes, write_davis
from samkit.errors import ParameterError
from samkit.eval import get_protocol
from samkit.eval._vos_writer import PredictionWriter, label_map
from samkit.eval.video import predictions_layout_of, run_video, write_submission
from samkit.metrics.scoring import score_vos
from samkit.weights import WeightsInfo

_spec = importlib.util.spec_from_file_location("vos_layouts", Path(__file__).parents[1] / "data" / "vos_layouts.py")
L = sys.modules.setdefault("vos_layouts", importlib.util.module_from_spec(_spec))
if not hasattr(L, "write_sav"):
    _spec.loader.exec_module(L)

T = 6
LATE = 2  # object 1 of sequence "late" is first annotated on this frame


def read(path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "P"
        return np.array(image)


# ------------------------------------------------------------------------------------- the oracle
class OracleTracker:
    """Answers every prompt and every tracked frame with the truth; follows ``start_frame`` and
    ``max_frames`` and knows an object only from the frame it was prompted on."""

    def __init__(self, sample, truth, log):
        self.sample, self.truth, self.log = sample, truth, log
        self.size = (sample.height, sample.width)
        self.prompted: dict[int, int] = {}

    def add_prompt(self, frame, obj_id, **prompt):
        self.log.append(("prompt", self.sample.sequence, frame, obj_id, sorted(prompt)))
        self.prompted.setdefault(obj_id, frame)
        return {obj_id: self.truth(self.sample, frame, obj_id)}

    def propagate(self, start_frame=None, max_frames=None, reverse=False):
        self.log.append(("propagate", self.sample.sequence, start_frame, max_frames))
        end = (
            self.sample.num_frames if max_frames is None else min(start_frame + max_frames + 1, self.sample.num_frames)
        )
        for t in range(start_frame, end):
            assert all(f <= t for f in self.prompted.values()), "an object tracked before its prompt frame"
            yield t, {oid: self.truth(self.sample, t, oid) for oid in self.prompted}


def ground_truth(sample, t, oid):
    """The loader's own masks (dense datasets): object ids are their label values."""
    k = [int(i) for i in sample.object_ids].index(int(oid))
    return sample.masks[k, t]


class OracleVideoModel:
    name, family, dtype = "oracle_vos", "fake", "float32"
    capabilities = frozenset({"video", "points", "box"})

    def __init__(self, dataset, truth=ground_truth):
        self.by_folder = {str(s.frame_paths[0].parent): s for s in dataset}
        self.truth = truth
        self.model = torch.nn.Linear(1, 1)
        self.device = torch.device("cpu")
        self.weights = WeightsInfo("pretrained", sha256="0" * 64, official=True, path="oracle.pt")
        self.log: list = []

    def video(self, frames, **options):
        return OracleTracker(self.by_folder[str(frames)], self.truth, self.log)


# ------------------------------------------------------------------------------------------ DAVIS
@pytest.fixture(scope="module")
def davis_root(tmp_path_factory):
    """Two DAVIS 2017 sequences: every object on frame 0, and one whose object 1 enters on frame 2."""
    root = tmp_path_factory.mktemp("davis")
    late = moving_shapes(T, (48, 64), 2, 11, name="late")
    masks = late.masks.copy()
    masks[0, :LATE] = False
    write_davis(root, {"late": dataclasses.replace(late, masks=masks)})
    write_davis(root, sequences=["early"], num_frames=T, size=(48, 64), num_objects=2, seed=3)
    return root


def test_davis_objects_join_on_their_first_frame_and_score_vos_reads_the_predictions(davis_root, tmp_path):
    dataset = DavisDataset(davis_root, split="val")
    model = OracleVideoModel(dataset)
    pred = tmp_path / "pred"
    rows = get_protocol("video").run(model, dataset, predictions_dir=str(pred), progress=False)
    assert (rows["status"] == "ok").all() and rows["J&F-Mean"].tolist() == pytest.approx([1.0] * 4)
    late = rows[rows["image_id"] == "late"].set_index("object_id")
    assert late.loc["1", "prompt_frame"] == LATE and late.loc["2", "prompt_frame"] == 0
    assert late.loc["1", "scored_frames"] == T - LATE - 2 and late.loc["2", "scored_frames"] == T - 2
    assert (rows["frames"] == T).all()  # every frame tracked once
    # one forward pass in segments: object 1 joins on its first frame
    segments = [e[2:] for e in model.log if e[0] == "propagate" and e[1] == "late"]
    assert segments == [(0, LATE - 1), (LATE, None)]
    prompts = [(e[2], e[3]) for e in model.log if e[0] == "prompt" and e[1] == "late"]
    assert prompts == [(0, 2), (LATE, 1)]
    # the predictions: every frame, label PNGs with DAVIS' palette, object 1 absent before frame 2
    assert set(rows["predictions"]) == {str(pred / "late"), str(pred / "early")}
    assert set(rows["predictions_layout"]) == {"davis"}
    sample = next(s for s in dataset if s.sequence == "late")
    for t in range(T):
        label = read(pred / "late" / f"{t:05d}.png")
        assert np.array_equal(label == 1, sample.masks[0, t]) and np.array_equal(label == 2, sample.masks[1, t])
    with Image.open(pred / "late" / "00000.png") as image:
        assert image.getpalette()[:12] == davis_palette()[:12]
    score = score_vos(davis_root, pred, "davis2017")
    assert score.summary["J&F-Mean"] == pytest.approx(1.0) and len(score.per_object) == 4


def test_layout_choice_relative_folder_and_ground_truth_refused(davis_root, tmp_path):
    dataset = DavisDataset(davis_root, sequences=["early"])
    assert predictions_layout_of(dataset) == "davis" and predictions_layout_of(dataset, "sav") == "sav"
    with pytest.raises(ValueError, match="predictions_layout"):
        run_video(OracleVideoModel(dataset), dataset, predictions_layout="png", progress=False)
    with pytest.raises(ValueError, match="annotations folder"):
        run_video(OracleVideoModel(dataset), dataset, predictions_dir=dataset.annotations_dir, progress=False)
    # relative: beside the rows (the run folder); the SA-V layout for DAVIS objects names them 001, 002
    rows = run_video(
        OracleVideoModel(dataset),
        dataset,
        predictions_dir="preds",
        predictions_layout="sav",
        out_path=tmp_path / "run" / "rows.parquet",
        progress=False,
    )
    assert rows["predictions"].tolist() == [str(tmp_path / "run" / "preds" / "early" / o) for o in ("001", "002")]
    assert sorted(p.name for p in (tmp_path / "run" / "preds" / "early" / "001").iterdir()) == [
        f"{t:05d}.png" for t in range(T)
    ]
    # without predictions_dir nothing is written and the rows say so
    rows = run_video(OracleVideoModel(dataset), dataset, progress=False)
    assert rows["predictions"].isna().all() and rows["J&F-Mean"].tolist() == pytest.approx([1.0, 1.0])


def test_overlaps_smallest_id_wins_and_ids_must_be_label_values(tmp_path):
    a, b = np.zeros((4, 6), bool), np.zeros((4, 6), bool)
    a[:, :4], b[:, 2:] = True, True
    label = label_map({3: b, 1: a}, (4, 6))  # sam2's put_per_obj_mask: painted in decreasing id order
    assert label[0].tolist() == [1, 1, 1, 1, 3, 3]
    with pytest.raises(ParameterError, match="sav"):
        PredictionWriter(tmp_path, "v", "davis", frame_names=["0"], objects={0: "000"}, size=(4, 6))
    with pytest.raises(ParameterError, match="plain"):
        PredictionWriter(tmp_path, "../v", "davis", frame_names=["0"], objects={1: "1"}, size=(4, 6))
    writer = PredictionWriter(
        tmp_path, "v", "sav", frame_names=["00000", "00001"], objects={1: "1", 3: "3"}, size=(4, 6)
    )
    writer.write(1, {1: a, 3: b})
    writer.finish()  # frame 0 was never tracked: empty
    assert read(tmp_path / "v" / "003" / "00001.png").tolist() == b.astype(np.uint8).tolist()  # overlaps kept
    assert not read(tmp_path / "v" / "001" / "00000.png").any()


# ------------------------------------------------------------------------------------------- SA-V
def test_sav_layout_per_object_pngs_scored_by_the_sav_evaluator(tmp_path):
    L.write_sav(tmp_path / "sav_val")
    dataset = SavDataset(tmp_path / "sav_val", sequences=["sav_000001"])
    assert predictions_layout_of(dataset) == "sav"
    model = OracleVideoModel(dataset, lambda sample, t, oid: L.sav_mask(sample.sequence, f"{oid:03d}", t))
    pred = tmp_path / "pred"
    rows = run_video(model, dataset, predictions_dir=pred, progress=False).set_index("object_id")
    assert rows.loc["002", "prompt_frame"] == 4  # appears on the second annotated frame
    assert rows.loc[["000", "001"], "J&F-Mean"].tolist() == pytest.approx([1.0, 1.0])
    # frames 4 and 8 are 002's own from its prompt on: both dropped (first and last), nothing to score
    assert rows.loc["002", "scored_frames"] == 0 and np.isnan(rows.loc["002", "J&F-Mean"])
    assert rows.loc["000", "predictions"] == str(pred / "sav_000001" / "000")
    assert sorted(p.name for p in (pred / "sav_000001").iterdir()) == ["000", "001", "002"]
    for t in range(12):
        person, hand = (read(pred / "sav_000001" / o / f"{t:05d}.png") for o in ("000", "001"))
        assert person.max() == 1 and (person & hand).any()  # binary PNGs: the overlap is in both
        late = read(pred / "sav_000001" / "002" / f"{t:05d}.png")
        assert late.any() == (t == 4)
    score = score_vos(tmp_path / "sav_val" / "Annotations_6fps", pred, "sav")
    assert score.summary["J&F"] == pytest.approx(100.0) and len(score.per_object) == 3

    archive = write_submission(pred, tmp_path / "sav.zip", "sav")
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        assert names == sorted(names) and len(names) == 3 * 12
        assert all(n.startswith("sav_000001/0") and n.count("/") == 2 for n in names)
        zf.extractall(tmp_path / "unzipped")
    score = score_vos(tmp_path / "sav_val" / "Annotations_6fps", tmp_path / "unzipped", "sav")
    assert score.summary["J&F"] == pytest.approx(100.0)


# ------------------------------------------------------------------------------------ YouTube-VOS
def ytvos_truth(sample, t, oid):
    """YouTube-VOS valid annotates each object on its first frame only: the truth is the generator's."""
    return L.ytvos_label(sample.sequence, int(sample.frame_names[t])) == int(oid)


@pytest.mark.parametrize("all_frames", [False, True])
def test_youtube_vos_first_appearance_objects_written_on_the_meta_frames_and_zipped(tmp_path, all_frames):
    expected = L.write_youtube_vos(tmp_path / "ytvos")["valid_all_frames" if all_frames else "valid"]
    dataset = YouTubeVOSDataset(tmp_path / "ytvos", "valid", all_frames=all_frames)
    model = OracleVideoModel(dataset, ytvos_truth)
    pred = tmp_path / "pred"
    rows = run_video(model, dataset, prompt="mask", predictions_dir=pred, progress=False)
    assert (rows["status"] == "ok").all()
    for _, row in rows.iterrows():
        assert row["prompt_frame"] == expected[row["image_id"]].first_frame[row["object_id"]]
    # valid's ground truth is each object's first frame only: nothing to score here (the server scores)
    assert (rows["scored_frames"] == 0).all() and rows["J&F-Mean"].isna().all()
    for sample in dataset:
        written = sorted(p.stem for p in (pred / sample.sequence).iterdir())
        assert written == [sample.frame_names[t] for t in sample.meta["meta_frames"]]
        assert all(int(n) % 5 == 0 for n in written)  # 30 fps frames: the 5-frame steps only

    archive = write_submission(pred, tmp_path / "ytvos.zip", "youtube_vos")
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        assert all(n.startswith("Annotations/") and n.count("/") == 2 for n in names)
        for name in names:
            _, video, frame = name.split("/")
            with Image.open(io.BytesIO(zf.read(name))) as image:
                assert image.mode == "P"
                assert np.array_equal(np.array(image), L.ytvos_label(video, int(frame.removesuffix(".png"))))
    assert len(names) == sum(len(s.meta["meta_frames"]) for s in dataset)


# ------------------------------------------------------------------------------------------- MOSE
def test_mose_archives_at_the_root_decode_and_score_as_mose(tmp_path):
    L.write_mose(tmp_path / "mose")
    dataset = MoseDataset(tmp_path / "mose", "train", sequences=["9f0e4c6d"])
    pred = tmp_path / "pred"
    rows = run_video(
        OracleVideoModel(dataset), dataset, prompt="points", clicks=2, predictions_dir=pred, progress=False
    )
    assert rows["J&F-Mean"].tolist() == pytest.approx([1.0, 1.0])
    for benchmark in ("mosev1", "mosev2"):
        archive = write_submission(pred, tmp_path / f"{benchmark}.zip", benchmark)
        with zipfile.ZipFile(archive) as zf:
            assert zf.namelist() == [f"9f0e4c6d/{t:05d}.png" for t in range(6)]
            out = tmp_path / f"{benchmark}_unzipped"
            zf.extractall(out)
        score = score_vos(tmp_path / "mose" / "train", out, "mosev1", sequences=["9f0e4c6d"])
        assert score.summary["J&F-Mean"] == pytest.approx(1.0)
    with pytest.raises(ParameterError, match="SA-V-layout"):
        write_submission(pred, tmp_path / "x.zip", "sav")
    with pytest.raises(ParameterError, match="benchmark must be one of"):
        write_submission(pred, tmp_path / "x.zip", "davis2016")


# ------------------------------------------------------------------------------------------- LVOS
def test_lvos_objects_scored_in_their_frame_range_and_zipped_as_youtube_vos(tmp_path):
    expected = L.write_lvos(tmp_path / "lvos")["val"]
    dataset = LvosDataset(tmp_path / "lvos", "val")
    pred = tmp_path / "pred"
    rows = run_video(OracleVideoModel(dataset), dataset, predictions_dir=pred, progress=False)
    assert rows["J&F-Mean"].tolist() == pytest.approx([1.0] * len(rows))
    late = rows[(rows["image_id"] == "0tCWPOrc") & (rows["object_id"] == "2")].iloc[0]
    assert late["prompt_frame"] == 3 and late["scored_frames"] == 2  # frames 3..6 of its range, ends dropped
    assert expected["0tCWPOrc"].first_frame["2"] == 3
    archive = write_submission(pred, tmp_path / "lvos.zip", "lvos")
    with zipfile.ZipFile(archive) as zf:
        assert {n.split("/")[1] for n in zf.namelist()} == {"0tCWPOrc", "7K7WVzGG"}
        assert all(n.startswith("Annotations/") for n in zf.namelist())


# ------------------------------------------------------------------------------------ a real SAM 2
def test_real_sam2_tracks_a_late_object_only_from_its_first_frame(davis_root, tmp_path, small_sam2):
    dataset = DavisDataset(davis_root, sequences=["late"])
    pred = tmp_path / "pred"
    rows = run_video(small_sam2, dataset, predictions_dir=pred, progress=False).set_index("object_id")
    assert (rows["status"] == "ok").all(), rows["error"].tolist()
    assert rows.loc["1", "prompt_frame"] == LATE and (rows["frames"] == T).all()
    assert rows["J&F-Mean"].between(0, 1).all()
    for t in range(LATE):
        assert not (read(pred / "late" / f"{t:05d}.png") == 1).any()  # never tracked before its prompt
    assert samkit.metrics.scoring.score_vos(davis_root, pred, "davis2017", sequences=["late"]).per_object.shape[0] == 2
