"""samkit.results (merge, tables, report) and the benchmark / accuracy tables of samkit.eval:
benchmark pivots, accuracy tables, merging, markdown captions and write_report, on hand-made rows
with known answers (two GPUs named differently, a CPU, random and pretrained weights in the typed
weights columns)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from samkit.eval import accuracy_table
from samkit.eval.benchmark import benchmark_table
from samkit.results import merge_runs as report_merge_runs
from samkit.results import write_report
from samkit.results.merge import merge_runs
from samkit.results.tables import PUBLISHED_NOTE, join_published, published_params, to_markdown
from samkit.rows import rows_to_frame, save_results, weights_columns
from samkit.weights import WeightsInfo
from samkit.wording import RANDOM_WEIGHTS_WARNING

H100 = "NVIDIA H100 80GB HBM3"
CPU = "cpu: x86_64 x2"
PRE = "pretrained(sha256=ec2df6273261)"
RND = "random(seed=0)"
PRETRAINED = weights_columns(WeightsInfo(kind="pretrained", sha256="ec2df6273261" + "0" * 52, official=True))
RANDOM = weights_columns(WeightsInfo(kind="random", seed=0))
SAM2_WEIGHTS = weights_columns(WeightsInfo(kind="pretrained", sha256="65b50056e05b" + "0" * 52, official=True))

SAM = dict(model="sam_vit_b", family="sam", **PRETRAINED, device="cuda:0", device_name=H100, dtype="float32")
MOBILE = dict(model="mobile_sam", family="mobile_sam", **RANDOM, device="cpu", device_name=CPU, dtype="float32")


def bench(
    base,
    phase,
    median,
    p95,
    peak,
    *,
    flops=None,
    params=None,
    batch=1,
    image_size=1024,
    status="ok",
    mem_method="cuda_max_memory_allocated",
    run_id="b1",
    **extra,
):
    return dict(
        base,
        run_id=run_id,
        protocol="benchmark",
        dataset=pd.NA,
        phase=phase,
        median_ms=median,
        p95_ms=p95,
        mean_ms=median + 0.5,
        repeats=20,
        peak_mem_mib=peak,
        mem_method=mem_method,
        params=params,
        flops=flops,
        image_size=image_size,
        batch=batch,
        status=status,
        **extra,
    )


def bench_rows():
    cpu = dict(mem_method="cpu_process_peak_rss")
    return [
        bench(SAM, "set_image", 40.0, 44.0, 1500.0, flops=488e9, params=93_735_472),
        bench(SAM, "predict_point", 2.0, 3.0, 1600.0, flops=2e9, params=93_735_472),
        bench(SAM, "end_to_end", 43.0, 48.0, 1650.0, flops=490e9, params=93_735_472),
        bench(SAM, "predict_boxes_batch", 9.0, 11.0, 2100.0, params=93_735_472, batch=16),
        bench(MOBILE, "set_image", 300.0, 330.0, 900.0, flops=38e9, params=10_130_092, **cpu),
        bench(MOBILE, "predict_point", 10.0, 12.0, 950.0, flops=2e9, params=10_130_092, **cpu),
        bench(MOBILE, "end_to_end", 315.0, 340.0, 960.0, params=10_130_092, **cpu),
        dict(
            bench(MOBILE, "generate", np.nan, np.nan, np.nan, status="error", **cpu),
            error="RuntimeError: out of memory",
        ),
    ]


def eval_rows():
    rows = []
    for base, ious, enc in (
        (SAM, [0.9, 0.7], 120.0),
        (MOBILE, [0.1, 0.3], 900.0),
        (dict(SAM, model="sam2_hiera_tiny", family="sam2", **SAM2_WEIGHTS), [0.8, 0.6], 60.0),
    ):
        for obj, iou in enumerate(ious):
            row = {k: v for k, v in base.items() if k != "device_name"}  # runners don't write it
            rows.append(
                dict(
                    row,
                    run_id="e1",
                    dataset="synthetic",
                    image_id="img0",
                    object_id=str(obj),
                    protocol="interactive",
                    prompt="points",
                    clicks=1,
                    iou=iou,
                    encoder_ms=enc,
                    decoder_ms=5.0 + obj,
                    peak_mem_mib=700.0,
                    status="ok",
                    mem_method=base is MOBILE and "cpu_process_peak_rss" or "cuda_max_memory_allocated",
                )
            )
    return rows


def frame(rows):
    return rows_to_frame(rows)


# --------------------------------------------------------------------------------------- labels


def test_typed_weights_columns_and_the_readable_string():
    assert PRETRAINED["weights"] == PRE and RANDOM["weights"] == RND
    table = benchmark_table(frame(bench_rows()))
    assert set(table["weights"]) == {PRE, RND}
    # the kind comes from weights_kind / weights_official, whatever the readable string says
    unofficial = [dict(r, weights_official=False) for r in bench_rows() if r["model"] == "sam_vit_b"]
    assert set(benchmark_table(frame(unofficial))["weights_kind"]) == {"pretrained (unofficial file)"}
    untyped = [dict(r, weights_kind=None) for r in bench_rows() if r["model"] == "mobile_sam"]
    table = benchmark_table(frame(untyped))
    assert set(table["weights_kind"]) == {"unknown"} and set(table["note"]) == {""}


# ---------------------------------------------------------------------------------- benchmark table


def test_benchmark_table_pivots_phases_exactly():
    table = benchmark_table(frame(bench_rows() + eval_rows()))
    assert len(table) == 3  # sam batch 1, sam batch 16, mobile_sam batch 1; eval rows ignored
    phase_cols = [
        c
        for c in table.columns
        if c.endswith("_ms") and not c.endswith("p95_ms") and c not in ("compile_ms", "set_images_per_image_ms")
    ]
    assert phase_cols == [
        "set_image_ms",
        "predict_point_ms",
        "predict_boxes_batch_ms",
        "end_to_end_ms",
        "generate_ms",
    ]  # PHASES order
    sam = table[(table["model"] == "sam_vit_b") & (table["batch"] == 1)].iloc[0]
    assert sam["set_image_ms"] == 40.0 and sam["set_image_p95_ms"] == 44.0
    assert sam["predict_point_ms"] == 2.0 and sam["predict_point_p95_ms"] == 3.0
    assert sam["end_to_end_ms"] == 43.0 and sam["end_to_end_p95_ms"] == 48.0
    assert sam["set_image_peak_mib"] == 1500.0 and sam["end_to_end_peak_mib"] == 1650.0
    assert math.isnan(sam["predict_boxes_batch_ms"])
    assert sam["params_M"] == pytest.approx(93.735472)
    assert sam["GFLOPs"] == pytest.approx(490.0)  # the end_to_end count
    assert sam["set_image_GFLOPs"] == pytest.approx(488.0)
    assert sam["predict_point_GFLOPs"] == pytest.approx(2.0)
    assert sam["device_name"] == H100 and sam["device_label"] == f"{H100} (cuda:0)"
    assert sam["weights_kind"] == "pretrained" and sam["note"] == ""
    assert sam["mem_method"] == "cuda_max_memory_allocated" and sam["repeats"] == 20
    assert sam["errors"] == 0

    batch = table[(table["model"] == "sam_vit_b") & (table["batch"] == 16)].iloc[0]
    assert batch["predict_boxes_batch_ms"] == 9.0 and batch["predict_boxes_batch_peak_mib"] == 2100.0
    assert math.isnan(batch["set_image_ms"]) and math.isnan(batch["GFLOPs"])

    mobile = table[table["model"] == "mobile_sam"].iloc[0]
    assert mobile["set_image_ms"] == 300.0 and mobile["predict_point_ms"] == 10.0
    assert mobile["params_M"] == pytest.approx(10.130092)
    assert mobile["GFLOPs"] == pytest.approx(40.0)  # no end_to_end count: set_image + predict_point
    assert math.isnan(mobile["generate_ms"]) and mobile["errors"] == 1  # the error row gives no number
    assert mobile["weights_kind"] == "random" and mobile["note"] == RANDOM_WEIGHTS_WARNING
    assert mobile["device_label"] == CPU and mobile["mem_method"] == "cpu_process_peak_rss"


def test_benchmark_table_merged_runs_and_distinct_gpus():
    rows = bench_rows()[:3] + [
        bench(SAM, "set_image", 44.0, 50.0, 1550.0, run_id="b2"),  # the same config measured again
        bench(dict(SAM, device_name="NVIDIA H200"), "set_image", 30.0, 31.0, 1500.0, run_id="b3"),
    ]
    table = benchmark_table(frame(rows))
    assert len(table) == 2  # "cuda:0" on an H100 and "cuda:0" on an H200 are different devices
    h100 = table[table["device_name"] == H100].iloc[0]
    assert h100["set_image_ms"] == pytest.approx(42.0)  # median of the two runs' medians
    assert h100["set_image_p95_ms"] == 50.0 and h100["set_image_peak_mib"] == 1550.0
    h200 = table[table["device_name"] == "NVIDIA H200"].iloc[0]
    assert h200["set_image_ms"] == 30.0 and math.isnan(h200["params_M"])
    assert "set_image_GFLOPs" in table.columns and math.isnan(h200["set_image_GFLOPs"])


def test_benchmark_table_without_benchmark_rows_is_empty():
    table = benchmark_table(frame(eval_rows()))
    assert table.empty and {"model", "device_label", "note"} <= set(table.columns)


# ----------------------------------------------------------------------------------- accuracy table


def test_accuracy_table_ignores_benchmark_rows_and_labels():
    table = accuracy_table(frame(bench_rows() + eval_rows())).set_index("model")
    assert list(table.index) == ["sam_vit_b", "mobile_sam", "sam2_hiera_tiny"]
    assert table.loc["sam_vit_b", "mIoU@1"] == pytest.approx(0.8)
    assert table.loc["mobile_sam", "mIoU@1"] == pytest.approx(0.2)
    assert table.loc["sam_vit_b", "encoder_ms"] == 120.0
    assert table.loc["sam_vit_b", "decoder_ms"] == pytest.approx(5.5)
    assert table.loc["sam_vit_b", "peak_mem_mib"] == 700.0  # not the benchmark's 1650
    assert table.loc["mobile_sam", "weights_kind"] == "random"
    assert table.loc["mobile_sam", "note"] == RANDOM_WEIGHTS_WARNING
    assert table.loc["sam_vit_b", "note"] == ""
    assert table.loc["sam_vit_b", "device_label"] == "cuda:0 (GPU model not recorded)"
    assert table.loc["mobile_sam", "mem_method"] == "cpu_process_peak_rss"
    cols = list(table.reset_index().columns)
    assert cols.index("weights_kind") == cols.index("weights") + 1
    assert cols.index("device_name") == cols.index("device") + 1


def test_accuracy_table_warns_from_the_typed_kind():
    table = accuracy_table(frame(eval_rows())).set_index("model")
    assert table.loc["mobile_sam", "note"] == RANDOM_WEIGHTS_WARNING
    assert table.loc["sam2_hiera_tiny", "weights_kind"] == "pretrained"
    assert table.loc["sam2_hiera_tiny", "weights"] == "pretrained(sha256=65b50056e05b)"
    empty = accuracy_table(frame(bench_rows()))
    assert empty.empty and {"model", "weights_kind", "device_label", "note"} <= set(empty.columns)


def test_merge_runs_fills_device_name_from_provenance(tmp_path):
    save_results(frame(eval_rows()), tmp_path / "eval" / "rows.parquet", {"run_id": "e1", "devices": [H100]})
    save_results(frame(bench_rows()), tmp_path / "bench" / "rows.parquet", {"run_id": "b1", "devices": [H100]})
    rows = merge_runs(tmp_path)
    assert report_merge_runs is merge_runs  # experiments/report.py imports it from samkit.results
    assert len(rows) == len(eval_rows()) + len(bench_rows())
    assert set(rows["weights_kind"].dropna()) == {"pretrained", "random"}  # typed columns kept
    names = rows.groupby(["run_id", "device"])["device_name"].agg(lambda s: sorted(s.dropna().unique()))
    assert names[("e1", "cuda:0")] == [H100]  # from the provenance
    assert names[("e1", "cpu")] == []  # that run's provenance names no CPU: left empty
    assert names[("b1", "cpu")] == [CPU]  # rows that carry a name keep it
    table = accuracy_table(rows).set_index("model")
    assert table.loc["sam_vit_b", "device_label"] == f"{H100} (cuda:0)"
    assert table.loc["mobile_sam", "device_label"] == "cpu"


# ---------------------------------------------------------------------------------------- markdown


def test_to_markdown_caption_and_cells():
    table = benchmark_table(frame(bench_rows()))
    md = to_markdown(table, "Benchmark")
    lines = md.splitlines()
    assert lines[0] == "**Benchmark**"
    assert f"- Device(s): {H100} (cuda:0), {CPU}" in lines
    assert "- Weights: pretrained, random" in lines
    assert any(RANDOM_WEIGHTS_WARNING in line and "mobile_sam" in line for line in lines)
    header = next(i for i, line in enumerate(lines) if line.startswith("| model |"))
    assert lines[header + 1].startswith("|---|")
    body = lines[header + 2 :]
    assert len(body) == len(table)
    cells = [c.strip() for c in body[0].strip("|").split("|")]
    row = dict(zip(table.columns, cells))
    assert row["set_image_ms"] == "40.0" and row["predict_point_ms"] == "2.00"
    assert row["params_M"] == "93.7" and row["GFLOPs"] == "490" and row["generate_ms"] == ""
    assert row["device_name"] == H100


def test_to_markdown_pretrained_only_has_no_warning_and_escapes_pipes():
    df = pd.DataFrame(
        {"model": ["a|b"], "weights": [PRE], "weights_kind": ["pretrained"], "device": ["cpu"], "mIoU@1": [0.81234]}
    )
    md = to_markdown(df, "Accuracy")
    assert "RANDOM" not in md and "- Device(s): cpu" in md and "- Weights: pretrained" in md
    assert "| a\\|b | pretrained(sha256=ec2df6273261) | pretrained | cpu | 0.812 |" in md
    bare = to_markdown(pd.DataFrame({"x": [1]}))
    assert "- Device(s): not recorded in this table" in bare
    # the readable string alone is shown, never parsed: without weights_kind the kind is not recorded
    untyped = to_markdown(pd.DataFrame({"model": ["m"], "weights": [RND], "device": ["cpu"]}))
    assert "- Weights: not recorded in this table" in untyped and "WARNING" not in untyped


# -------------------------------------------------------------------------------------- published


def test_join_published_adds_labelled_columns_and_never_replaces():
    table = benchmark_table(frame(bench_rows()))
    published = pd.DataFrame({"model": ["sam_vit_b"], "params_M": [91.0], "source": ["SAM paper"]})
    joined = join_published(table, published)
    assert len(joined) == len(table) and list(joined["model"]) == list(table["model"])
    assert list(joined.columns[-2:]) == ["published_params_M", "published_source"]
    pd.testing.assert_series_equal(joined["params_M"], table["params_M"])  # ours untouched
    sam = joined[joined["model"] == "sam_vit_b"]
    assert (sam["published_params_M"] == 91.0).all() and (sam["published_source"] == "SAM paper").all()
    assert joined.loc[joined["model"] == "mobile_sam", "published_params_M"].isna().all()
    assert PUBLISHED_NOTE in to_markdown(joined, "t")
    with pytest.raises(ValueError, match="one row per"):
        join_published(table, pd.concat([published, published]))
    with pytest.raises(ValueError, match="join key"):
        join_published(table, published.drop(columns="model"))


def test_published_params_come_from_the_registry():
    pub = published_params().set_index("model")
    assert pub.loc["sam_vit_b", "params_M"] == 91.0
    assert pub.loc["mobile_sam", "params_M"] == 9.66
    assert pub["source"].map(bool).all()


# ---------------------------------------------------------------------------------------- report


def test_write_report_writes_tables_figures_and_index(tmp_path):
    rows = frame(bench_rows() + eval_rows())
    published = pd.DataFrame({"model": ["sam_vit_b"], "params_M": [91.0], "source": ["SAM paper"]})
    files = write_report(rows, tmp_path / "report", published=published, title="Test report")
    assert set(files) == {
        "accuracy_md",
        "accuracy_csv",
        "benchmark_md",
        "benchmark_csv",
        "pareto_png",
        "latency_png",
        "memory_png",
        "index_md",
    }
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == sorted(
        [
            "accuracy.md",
            "accuracy.csv",
            "benchmark.md",
            "benchmark.csv",
            "pareto.png",
            "latency.png",
            "memory.png",
            "index.md",
        ]
    )
    for key in ("pareto_png", "latency_png", "memory_png"):
        assert files[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bench_md = files["benchmark_md"].read_text()
    assert RANDOM_WEIGHTS_WARNING in bench_md and H100 in bench_md and CPU in bench_md
    assert f"- Device(s): {H100} (cuda:0), {CPU}" in bench_md  # the caption, not only the cells
    assert "| 1024 | 16 |" in bench_md  # image_size and batch stay whole numbers
    assert "published_params_M" in bench_md and PUBLISHED_NOTE in bench_md
    assert RANDOM_WEIGHTS_WARNING in files["accuracy_md"].read_text()
    csv = pd.read_csv(files["benchmark_csv"])
    assert {"weights", "weights_kind", "device", "device_name", "note"} <= set(csv.columns)
    assert csv.loc[csv["model"] == "mobile_sam", "note"].iloc[0] == RANDOM_WEIGHTS_WARNING
    sam = csv[(csv["model"] == "sam_vit_b") & (csv["batch"] == 1)].iloc[0]
    assert sam["set_image_ms"] == 40.0 and sam["published_params_M"] == 91.0
    index = files["index_md"].read_text()
    assert index.startswith("# Test report")
    for name in (
        "accuracy.md",
        "accuracy.csv",
        "benchmark.md",
        "benchmark.csv",
        "pareto.png",
        "latency.png",
        "memory.png",
    ):
        assert f"]({name})" in index
    assert RANDOM_WEIGHTS_WARNING in index and H100 in index


def test_write_report_only_what_the_rows_have(tmp_path):
    pretrained_gpu = [r for r in bench_rows() if r["model"] == "sam_vit_b"]
    files = write_report(frame(pretrained_gpu), tmp_path)
    assert set(files) == {"benchmark_md", "benchmark_csv", "latency_png", "memory_png", "index_md"}
    assert "RANDOM" not in files["benchmark_md"].read_text()
    assert "RANDOM" not in files["index_md"].read_text()


def test_write_report_says_why_a_figure_is_missing(tmp_path):
    two_sizes = bench_rows() + [bench(SAM, "end_to_end", 12.0, 13.0, 700.0, image_size=512)]
    files = write_report(frame(two_sizes + eval_rows()), tmp_path)
    assert "pareto_png" not in files and "latency_png" in files
    assert "Pareto figure not drawn: several benchmark configurations" in files["index_md"].read_text()


def test_published_performance_names_registered_models_device_and_source():
    import samkit
    from samkit.results.tables import published_performance

    table = published_performance()
    assert set(table["model"]) <= set(samkit.list_models())
    assert (table["value"] > 0).all()
    assert table[["device", "conditions", "source"]].notna().all().all()
    assert not table.duplicated(["model", "metric"]).any()  # one value per column when pivoted
    mobile = table[table["model"] == "mobile_sam"].set_index("metric")["value"]
    assert mobile["encoder_ms (GPU; MobileSAM README)"] == 8


def test_table_files_captions_name_the_weights(tmp_path):
    """The per-table markdown files read the weights kind from the full table, though the view
    leaves the ``weights_kind`` column out."""
    from samkit.results import write_report
    from samkit.rows import rows_to_frame, weights_columns
    from samkit.weights import WeightsInfo

    row = {
        "run_id": "r",
        "model": "mobile_sam",
        "family": "mobile_sam",
        **weights_columns(WeightsInfo("random", seed=0)),
        "device": "cpu",
        "dtype": "float32",
        "dataset": "synthetic",
        "image_id": "0",
        "object_id": "1",
        "protocol": "box",
        "prompt": "box",
        "iou": 0.5,
        "status": "ok",
    }
    written = write_report(rows_to_frame([row]), tmp_path)
    md = written["accuracy_md"].read_text()
    assert "- Weights: random" in md and "- Weights: not recorded" not in md


def test_a_protocols_table_and_figure_reach_the_report_through_the_registry(tmp_path, monkeypatch):
    """A new protocol's ``report_sections`` is all the report needs (samkit.results names no
    protocol): its table after the generic ones, its figure after the generic figures; with
    ``accuracy=False`` its rows stay out of the accuracy table."""
    from dataclasses import dataclass

    from matplotlib.figure import Figure

    from samkit.eval import Protocol, Section
    from samkit.eval import protocol as registry

    @dataclass
    class NoParams:
        pass

    def toy_table(rows):
        mine = rows[rows["protocol"].astype("string") == "toy"]
        return mine.groupby(["model", "weights", "weights_kind", "device"], as_index=False, sort=False)["iou"].mean()

    def sections(rows, published):
        table = toy_table(rows)
        if not len(table):
            return []

        def draw():
            fig = Figure()
            fig.add_subplot().bar(table["model"], table["iou"])
            return fig

        return [
            Section("toy", "Toy: mean IoU", table=table, order=45),
            Section("toy_bars", "Toy: mean IoU bars", figure=draw),
        ]

    toy = Protocol(
        name="toy",
        description="a toy",
        capability=None,
        params=NoParams,
        runner=lambda *args, **kwargs: None,
        summarizer=lambda rows: {"toy_mIoU": 1.0},
        accuracy=False,
        report_sections=sections,
    )
    monkeypatch.setitem(registry._discover(), "toy", toy)
    toy_rows = [dict(SAM, run_id="t", protocol="toy", dataset="d", image_id="0", object_id="1", iou=0.25, status="ok")]
    rows = frame(eval_rows() + toy_rows)
    files = write_report(rows, tmp_path)
    names = list(files)
    assert names[:4] == ["accuracy_md", "accuracy_csv", "toy_md", "toy_csv"]
    assert names[-2:] == ["toy_bars_png", "index_md"] and "pareto_png" in names
    assert "Toy: mean IoU" in files["toy_md"].read_text() and "[toy.md](toy.md)" in files["index_md"].read_text()
    assert pd.read_csv(files["toy_csv"])["iou"].tolist() == [0.25]
    assert "toy_mIoU" not in accuracy_table(rows).columns  # accuracy=False: not in the accuracy table
    clash = Protocol(
        name="toy",
        description="a toy",
        capability=None,
        params=NoParams,
        runner=toy.runner,
        summarizer=toy.summarizer,
        report_sections=lambda rows, published: [Section("accuracy", "x", table=rows)],
    )
    monkeypatch.setitem(registry._discover(), "toy", clash)
    with pytest.raises(ValueError, match="accuracy"):
        write_report(rows, tmp_path / "clash")
