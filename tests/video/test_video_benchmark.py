"""The video benchmark protocol on a real SAM 2.1 tiny (random weights, the conftest's 256-pixel input,
tiny synthetic videos): one row per (length, storage, offload) with times, fps and peak memory; a
combination that fails is one failure row and the others run; its table, its memory-vs-length
figure and the report files; the evaluate entry point runs it without a dataset. No wall-clock
thresholds."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from samkit.eval import accuracy_table, get_protocol, summarize
from samkit.eval.video_benchmark import memory_vs_length, run_video_benchmark, video_benchmark_table
from samkit.plotting import figure_text
from samkit.results import write_report
from samkit.weights import WeightsInfo
from samkit.wording import RANDOM_WEIGHTS_WARNING

NAME = "sam2.1_hiera_tiny"
LENGTHS, SIZE = [2, 4], [32, 48]
STORAGES, OFFLOADS = ["stream", "device"], [False, True]
FAIL = (4, "device", True)  # the combination whose tracker creation fails (simulated OOM)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model(small_sam2):
    return small_sam2


@pytest.fixture(scope="module")
def rows(model):
    real = model.video
    calls = []

    def video(frames, *, video_storage="stream", offload_state_to_cpu=False, **kw):
        calls.append((len(frames), video_storage, offload_state_to_cpu))
        if (len(frames), video_storage, offload_state_to_cpu) == FAIL:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(frames, video_storage=video_storage, offload_state_to_cpu=offload_state_to_cpu, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(model, "video", video)
        frame = get_protocol("video_benchmark").run(
            model, lengths=LENGTHS, size=SIZE, video_storage=STORAGES, offload_state_to_cpu=OFFLOADS, progress=False
        )
    assert calls[0] == (2, "stream", False)  # the untimed warm-up track comes first
    assert len(calls) == 1 + len(LENGTHS) * len(STORAGES) * len(OFFLOADS)
    return frame


def test_one_row_per_combination_with_times_and_memory(rows):
    assert len(rows) == len(LENGTHS) * len(STORAGES) * len(OFFLOADS)
    combos = list(zip(rows["length"], rows["video_storage"], rows["offload_state_to_cpu"]))
    assert combos == [(n, s, o) for n in LENGTHS for s in STORAGES for o in OFFLOADS]
    assert (rows["protocol"] == "video_benchmark").all() and (rows["dataset"] == "moving_shapes").all()
    assert (rows["height"] == SIZE[0]).all() and (rows["width"] == SIZE[1]).all()
    assert (rows["model"] == NAME).all() and (rows["weights_kind"] == "random").all()
    assert (rows["device"] == "cpu").all() and rows["device_name"].notna().all()
    assert rows["warmed_up"].all()
    ok = rows[rows["status"] == "ok"]
    assert len(ok) == len(rows) - 1
    assert (ok["frames"] == ok["length"]).all()
    for col in ("init_ms", "prompt_ms", "propagate_ms", "fps"):
        assert ok[col].gt(0).all(), col
    assert np.allclose(ok["fps"], ok["frames"] / (ok["propagate_ms"] / 1000))
    assert ok["mem_method"].isin(["cpu_process_peak_rss", "unavailable"]).all()
    measured = ok[ok["mem_method"] == "cpu_process_peak_rss"]
    assert measured["peak_mem_mib"].gt(0).all()
    # J&F against the synthetic truth: scored (in [0, 1]) from 3 frames on, NaN below (DAVIS skips
    # the first and last frames)
    assert ok.loc[ok["length"] == 4, "J&F-Mean"].between(0, 1).all()
    assert ok.loc[ok["length"] == 2, "J&F-Mean"].isna().all()


def test_a_failing_combination_is_one_row_and_the_others_run(rows):
    failed = rows[rows["status"] != "ok"]
    assert len(failed) == 1
    row = failed.iloc[0]
    assert (row["length"], row["video_storage"], bool(row["offload_state_to_cpu"])) == FAIL
    assert row["status"] == "oom" and "out of memory" in row["error"]
    assert pd.isna(row["fps"]) and pd.isna(row["peak_mem_mib"])


def test_summary_median_fps_and_max_memory(rows):
    summary = summarize(rows)
    assert len(summary) == 1
    ok = rows[rows["status"] == "ok"]
    assert summary.loc[0, "video_fps"] == pytest.approx(ok["fps"].median())
    if ok["peak_mem_mib"].notna().any():
        assert summary.loc[0, "video_peak_mem_mib"] == pytest.approx(ok["peak_mem_mib"].max())
    assert summary.loc[0, "errors"] == 1
    assert accuracy_table(rows).empty  # measurement rows have their own table


def test_table_one_row_per_option_and_length(rows):
    table = video_benchmark_table(rows)
    assert len(table) == len(rows)
    keys = list(zip(table["video_storage"], table["offload_state_to_cpu"], table["length"]))
    assert keys == list(zip(rows["video_storage"], rows["offload_state_to_cpu"], rows["length"]))
    for col in (
        "fps",
        "propagate_ms",
        "init_ms",
        "prompt_ms",
        "peak_mem_mib",
        "mem_method",
        "device_label",
        "note",
        "weights_kind",
        "failure",
    ):
        assert col in table.columns, col
    assert (table["note"] == RANDOM_WEIGHTS_WARNING).all() and (table["weights_kind"] == "random").all()
    assert table["device_label"].str.startswith("cpu").all()
    failed = table[table["errors"] == 1]
    assert len(failed) == 1 and failed["failure"].iloc[0] == "oom" and pd.isna(failed["fps"].iloc[0])
    ok = table[table["errors"] == 0]
    assert ok["fps"].gt(0).all() and (ok["runs"] == 1).all()
    assert video_benchmark_table(rows[rows["protocol"] != "video_benchmark"]).empty


def test_figure_one_line_per_option_labelled(rows):
    table = video_benchmark_table(rows)
    fig = memory_vs_length(table)
    text = figure_text(fig)
    ax = fig.axes[0]
    if table["peak_mem_mib"].notna().any():
        labels = [line.get_label() for line in ax.get_lines()]
        assert len(labels) == len(STORAGES) * len(OFFLOADS)
        for s in STORAGES:
            for o in OFFLOADS:
                assert sum(f"storage={s}, offload_state_to_cpu={o}" in lab for lab in labels) == 1
        assert all(lab.startswith(NAME) for lab in labels)
    assert "video length, frames" in text and "peak memory, MiB" in text
    assert table["device_label"].iloc[0] in text and "cpu" in text.lower()
    assert "cuda" not in text.lower() and "nvidia" not in text.lower()
    assert RANDOM_WEIGHTS_WARNING in text and "random" in text
    assert "device/offload=True/bounded=True at 4 frames (oom)" in text  # the failed combination is named
    with pytest.raises(TypeError, match="video_benchmark_table"):
        memory_vs_length(rows)


def test_write_report_writes_the_video_files(rows, tmp_path):
    files = write_report(rows, tmp_path / "report")
    assert {"video_benchmark_md", "video_benchmark_csv", "index_md"} <= set(files)
    if rows["peak_mem_mib"].notna().any():
        assert files["video_memory_png"].stat().st_size > 0
    md = files["video_benchmark_md"].read_text()
    assert RANDOM_WEIGHTS_WARNING in md and "video_storage" in md
    assert len(pd.read_csv(files["video_benchmark_csv"])) == len(rows)
    assert "video_benchmark.md" in files["index_md"].read_text()
    assert "accuracy_md" not in files and "benchmark_md" not in files
    empty = write_report(rows[rows["protocol"] != "video_benchmark"].iloc[0:0], tmp_path / "none")
    assert "video_benchmark_md" not in empty and "video_memory_png" not in empty


def test_parameters_are_checked():
    protocol = get_protocol("video_benchmark")
    assert protocol.capability == "video" and not protocol.uses_dataset
    for bad, match in (
        (dict(lengths=[0]), "lengths"),
        (dict(lengths=[]), "lengths"),
        (dict(size=[32]), "size"),
        (dict(video_storage=["gpu"]), "video_storage"),
        (dict(offload_state_to_cpu=[]), "offload_state_to_cpu"),
        (dict(num_objects=0), "num_objects"),
    ):
        with pytest.raises(ValueError, match=match):
            protocol.make_params(**bad)
    with pytest.raises(ValueError, match="size"):
        run_video_benchmark(object(), size=(32, 48, 3))


class NoVideoModel:
    name, family, dtype = "no_video", "fake", "float32"
    capabilities = frozenset({"points", "box"})

    def __init__(self):
        self.model = torch.nn.Linear(1, 1)
        self.device = torch.device("cpu")
        self.weights = WeightsInfo("pretrained", sha256="0" * 64, official=True, path="x.pt")


def test_a_model_without_video_tracking_gets_an_unsupported_row():
    frame = get_protocol("video_benchmark").run(NoVideoModel(), progress=False)
    assert len(frame) == 1 and frame.loc[0, "status"] == "unsupported"
    assert "sam2.1_hiera_tiny" in frame.loc[0, "error"]


def test_evaluate_entry_point_runs_it_without_a_dataset(tmp_path, small_input):
    from hydra import compose, initialize_config_dir

    sys.path.insert(0, str(ROOT / "experiments"))
    import evaluate  # noqa: PLC0415 - the entry point registers its schemas on import

    overrides = [
        "+experiment=video_benchmark",
        f"model={NAME}",
        "weights=random",
        "device=cpu",
        "progress=false",
        "protocol.lengths=[3]",
        "protocol.size=[32,48]",
        "protocol.video_storage=[stream]",
        "protocol.offload_state_to_cpu=[false]",
        "protocol.warmup=false",
    ]
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("evaluate", overrides=overrides)
        assert evaluate.run(cfg, str(tmp_path)) == 0
    out = pd.read_parquet(tmp_path / "rows.parquet")
    assert len(out) == 1 and out.loc[0, "status"] == "ok" and out.loc[0, "protocol"] == "video_benchmark"
    assert out.loc[0, "frames"] == 3 and out.loc[0, "fps"] > 0


# ------------------------------------------------------------------------------ bounded option


@pytest.fixture(scope="module")
def bounded_rows(model):
    return run_video_benchmark(  # plumbing: rows, table, figure (pruning itself: tests/video/test_bounded.py)
        model,
        lengths=[3],
        size=SIZE,
        video_storage=["stream"],
        offload_state_to_cpu=[False],
        bounded=[True, False],
        warmup=False,
        progress=False,
    )


def test_bounded_and_unbounded_rows_same_scores_and_both_curves(bounded_rows):
    rows = bounded_rows
    assert rows["bounded"].tolist() == [True, False] and (rows["status"] == "ok").all()
    assert rows["J&F-Mean"].iloc[0] == rows["J&F-Mean"].iloc[1]  # the same masks, bounded or not
    table = video_benchmark_table(rows)
    assert table["bounded"].tolist() == [True, False]
    if table["peak_mem_mib"].notna().all():
        labels = [line.get_label() for line in memory_vs_length(table).axes[0].get_lines()]
        assert len(labels) == 2
        assert any("bounded=True" in lab for lab in labels) and any("bounded=False" in lab for lab in labels)
    with pytest.raises(ValueError, match="bounded"):
        get_protocol("video_benchmark").make_params(bounded=[])
    with pytest.raises(ValueError, match="bounded"):
        run_video_benchmark(object(), bounded=["yes"])


def test_streamed_scores_are_j_and_f():
    from samkit.data.streamed_shapes import streamed_shapes
    from samkit.eval.video_benchmark import _StreamedScores
    from samkit.metrics import j_and_f

    video = streamed_shapes(6, (24, 32), num_objects=2, seed=1)
    rng = np.random.default_rng(0)
    preds = rng.random((6, 2, 24, 32)) > 0.4
    scores = _StreamedScores(video)
    for t in range(5):  # frame 5 never tracked: empty, as j_and_f is given
        scores.add(t, {1: preds[t, 0], 2: preds[t, 1]})
    preds[5] = False
    want = [j_and_f(np.stack([video.masks(t)[k] for t in range(6)]), preds[:, k]) for k in range(2)]
    got = scores.result()
    for key in ("J-Mean", "F-Mean", "J&F-Mean"):
        assert got[key] == pytest.approx(np.mean([w[key] for w in want]))
    assert scores.frames == 5


# ------------------------------------------------------------------------------ objects and text prompts


def test_object_counts_are_rows_and_a_figure(model):
    from samkit.eval.video_benchmark import report_sections, speed_vs_objects

    rows = run_video_benchmark(
        model,
        lengths=[2],
        size=SIZE,
        num_objects=[1, 2],
        video_storage=["stream"],
        offload_state_to_cpu=[False],
        warmup=False,
        progress=False,
    )
    assert (rows["status"] == "ok").all() and rows["objects"].tolist() == [1, 2]
    assert rows["prompt"].tolist() == ["mask", "mask"] and rows["instances"].tolist() == [1, 2]
    table = video_benchmark_table(rows)
    assert table["objects"].tolist() == [1, 2] and table["prompt"].tolist() == ["mask", "mask"]
    fig = speed_vs_objects(table)
    fps_line = fig.axes[0].get_lines()[0]
    assert fps_line.get_xdata().tolist() == [1.0, 2.0]
    assert fps_line.get_ydata().tolist() == table["fps"].tolist()
    assert fig.axes[1].get_lines()[0].get_ydata().tolist() == table["peak_mem_mib"].tolist()
    assert "objects" in figure_text(fig) and RANDOM_WEIGHTS_WARNING in figure_text(fig)
    assert "video_objects" in [s.name for s in report_sections(rows)]


def test_text_prompts_need_concept_tracking(model):
    rows = run_video_benchmark(
        model,
        lengths=[2],
        size=SIZE,
        prompt=["text"],
        video_storage=["stream"],
        offload_state_to_cpu=[False],
        warmup=False,
        progress=False,
    )
    assert rows.loc[0, "status"] == "unsupported" and "text prompts" in rows.loc[0, "error"]
    assert "sam3" in rows.loc[0, "error"]  # the models that do
    for bad in (["words"], [], "mask,text"):
        with pytest.raises(ValueError, match="prompt"):
            run_video_benchmark(model, prompt=bad)
    with pytest.raises(ValueError, match="text"):
        run_video_benchmark(model, prompt=["text"], text=" ")
    with pytest.raises(ValueError, match="num_objects"):
        get_protocol("video_benchmark").make_params(num_objects=[0])


def test_text_rows_track_the_instances_asked(random_model):
    """SAM 3 (tiny random config): a phrase, thresholds at 0, no detection NMS and at most k
    instances: here each text row tracks k instances (the measured ``instances``)."""
    sam3 = random_model("sam3", config="tiny")
    rows = get_protocol("video_benchmark").run(
        sam3,
        lengths=[2],
        size=SIZE,
        num_objects=[1, 3],
        prompt=["text"],
        bounded=[True],
        video_storage=["stream"],
        offload_state_to_cpu=[False],
        warmup=False,
        progress=False,
    )
    assert (rows["status"] == "ok").all(), rows.get("error")
    assert rows["prompt"].tolist() == ["text", "text"] and rows["text"].tolist() == ["a shape"] * 2
    assert rows["bounded"].tolist() == [False, False]  # concept tracking keeps transformers' state
    assert rows["instances"].tolist() == [1, 3] and rows["frames"].tolist() == [2, 2]
    assert rows["J&F-Mean"].isna().all() and (rows["fps"] > 0).all()
    table = video_benchmark_table(rows)
    assert table["instances"].tolist() == [1, 3]
