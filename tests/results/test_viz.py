"""samkit.results.figures (and the figure tables of samkit.results.tables): the Pareto front on a hand-made case, and
that every figure names its device(s) and weights kind(s), with the one random-weights banner where
it applies; figures take tables, never rows; hand-made rows with typed weights columns, Agg backend."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from samkit.eval import accuracy_table  # noqa: E402
from samkit.eval.benchmark import benchmark_table  # noqa: E402
from samkit.eval.interactive import click_curves  # noqa: E402
from samkit.plotting import figure_text  # noqa: E402
from samkit.results import figures as viz  # noqa: E402
from samkit.results.tables import latency_table, memory_table, pareto_mask, pareto_table  # noqa: E402
from samkit.rows import rows_to_frame, weights_columns  # noqa: E402
from samkit.weights import WeightsInfo  # noqa: E402
from samkit.wording import RANDOM_WEIGHTS_WARNING  # noqa: E402

H100 = "NVIDIA H100 80GB HBM3"
CPU = "cpu: x86_64 x2"
PRE = "pretrained(sha256=ec2df6273261)"
RND = "random(seed=0)"


def _weights(kind, sha=None, seed=None):
    return weights_columns(
        WeightsInfo(
            kind=kind, sha256=sha and sha + "0" * 52, official=True if kind == "pretrained" else None, seed=seed
        )
    )


SAM = dict(
    model="sam_vit_b",
    family="sam",
    **_weights("pretrained", "ec2df6273261"),
    device="cuda:0",
    device_name=H100,
    dtype="float32",
)
SAM2 = dict(
    model="sam2_hiera_tiny",
    family="sam2",
    **_weights("pretrained", "65b50056e05b"),
    device="cuda:0",
    device_name=H100,
    dtype="float32",
)
MOBILE = dict(
    model="mobile_sam",
    family="mobile_sam",
    **_weights("random", seed=0),
    device="cpu",
    device_name=CPU,
    dtype="float32",
)


def banners(fig):
    return [t for t in fig.texts if t.get_text() == RANDOM_WEIGHTS_WARNING]


def bench(base, phase, median, peak, mem_method="cuda_max_memory_allocated"):
    return dict(
        base,
        run_id="b",
        protocol="benchmark",
        phase=phase,
        median_ms=median,
        p95_ms=median * 1.1,
        mean_ms=median,
        repeats=10,
        peak_mem_mib=peak,
        mem_method=mem_method,
        params=1e7,
        image_size=1024,
        batch=1,
        status="ok",
    )


def evaluation(base, ious, encoder_ms):
    return [
        dict(
            {k: v for k, v in base.items() if k != "device_name"},
            run_id="e",
            dataset="synthetic",
            image_id="img",
            object_id=str(i),
            protocol="interactive",
            prompt="points",
            clicks=1,
            iou=iou,
            encoder_ms=encoder_ms,
            decoder_ms=4.0,
            peak_mem_mib=500.0,
            status="ok",
        )
        for i, iou in enumerate(ious)
    ]


@pytest.fixture
def rows():
    cpu = "cpu_process_peak_rss"
    return rows_to_frame(
        [
            bench(SAM, "set_image", 40.0, 1500.0),
            bench(SAM, "predict_point", 2.0, 1600.0),
            bench(SAM, "end_to_end", 43.0, 1650.0),
            bench(SAM2, "set_image", 20.0, 800.0),
            bench(SAM2, "predict_point", 3.0, 850.0),
            bench(SAM2, "end_to_end", 24.0, 860.0),
            bench(MOBILE, "set_image", 300.0, 900.0, cpu),
            bench(MOBILE, "predict_point", 10.0, 950.0, cpu),
            bench(MOBILE, "end_to_end", 315.0, 960.0, cpu),
            *evaluation(SAM, [0.9, 0.7], 120.0),
            *evaluation(SAM2, [0.8, 0.6], 60.0),
            *evaluation(MOBILE, [0.1, 0.3], 900.0),
        ]
    )


@pytest.fixture
def tables(rows):
    return accuracy_table(rows), benchmark_table(rows)


def pretrained_gpu(rows):
    return rows[rows["model"] != "mobile_sam"].reset_index(drop=True)


def cpu_only(rows):
    return rows[rows["model"] == "mobile_sam"].reset_index(drop=True)


# ----------------------------------------------------------------------------------------- pareto


def test_pareto_mask_hand_made_case():
    #        D     A     B     C     E(=B)  F(NaN)  G
    x = [5.0, 10.0, 20.0, 30.0, 20.0, np.nan, 10.0]
    y = [0.5, 0.7, 0.8, 0.75, 0.8, 0.99, 0.6]
    # C is dominated by B (faster, better); G by A (same speed, worse); B and E tie: both stay
    assert pareto_mask(x, y).tolist() == [True, True, True, False, True, False, False]
    assert pareto_mask([], []).tolist() == []
    assert pareto_mask([1.0], [0.1]).tolist() == [True]
    with pytest.raises(ValueError, match="shape"):
        pareto_mask([1.0, 2.0], [0.1])


def test_pareto_table_joins_benchmark_latency_and_front_per_device(rows, tables):
    points = pareto_table(rows, x="end_to_end_ms", y="mIoU@1").set_index("model")
    assert points.loc["sam_vit_b", "end_to_end_ms"] == 43.0
    assert points.loc["sam_vit_b", "mIoU@1"] == pytest.approx(0.8)
    assert points.loc["sam2_hiera_tiny", "end_to_end_ms"] == 24.0
    assert points.loc["sam_vit_b", "device_label"] == f"{H100} (cuda:0)"  # the latency's device
    assert points.loc["mobile_sam", "weights_kind"] == "random"
    # on the H100, sam2 (24 ms, 0.7) and sam_vit_b (43 ms, 0.8) both make the front;
    # mobile_sam is alone on the CPU, so it is that device's front, not dominated by GPU points
    assert points["pareto"].to_dict() == {"sam_vit_b": True, "sam2_hiera_tiny": True, "mobile_sam": True}
    from_pair = pareto_table(tables, x="end_to_end_ms", y="mIoU@1").set_index("model")
    pd.testing.assert_frame_equal(from_pair, points)  # rows or the (accuracy, benchmark) pair
    enc = pareto_table(pretrained_gpu(rows), x="encoder_ms", y="mIoU@1").set_index("model")
    assert enc.loc["sam2_hiera_tiny", "encoder_ms"] == 60.0  # from the evaluation rows
    with pytest.raises(ValueError, match="no 'nope'"):
        pareto_table(rows, x="nope")


def test_pareto_table_from_a_table_marks_dominated_points():
    table = pd.DataFrame(
        {
            "model": ["a", "b", "c"],
            "weights": [PRE] * 3,
            "weights_kind": ["pretrained"] * 3,
            "device": ["cpu"] * 3,
            "lat": [10.0, 20.0, 30.0],
            "acc": [0.5, 0.9, 0.8],
        }
    )
    points = pareto_table(table, x="lat", y="acc")
    assert points["pareto"].tolist() == [True, True, False]
    again = pareto_table(points, x="lat", y="acc")  # a pareto table gives itself back
    pd.testing.assert_frame_equal(again, points)


def test_pareto_plot_names_devices_weights_and_random_banner(rows):
    published = pd.DataFrame(
        {"model": ["sam_vit_h"], "end_to_end_ms": [450.0], "mIoU@1": [0.85], "source": ["SAM paper"]}
    )
    table = pareto_table(rows, x="end_to_end_ms", y="mIoU@1")
    fig = viz.pareto_plot(table, x="end_to_end_ms", y="mIoU@1", logx=True, published=published)
    assert isinstance(fig, Figure)
    text = figure_text(fig)
    assert f"{H100} (cuda:0)" in text and CPU in text
    assert "weights: pretrained, random" in text
    banner = banners(fig)
    assert len(banner) == 1 and banner[0].get_bbox_patch().get_facecolor()[:3] == (1.0, 0.0, 0.0)
    assert "sam_vit_h (published: SAM paper)" in text and "published (not measured here)" in text
    assert "family: sam" in text and "family: mobile_sam" in text and "hollow: random weights" in text
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "lower is better" in ax.get_xlabel()
    # the random-weight point is hollow, the pretrained ones filled
    faces = {c.get_offsets()[0][0]: c.get_facecolors() for c in ax.collections if len(c.get_offsets()) == 1}
    assert len(faces[315.0]) == 0 and len(faces[43.0]) == 1


def test_pareto_plot_pretrained_only_has_no_banner(rows):
    fig = viz.pareto_plot(
        pareto_table(pretrained_gpu(rows), x="end_to_end_ms", y="mIoU@1"), x="end_to_end_ms", y="mIoU@1"
    )
    text = figure_text(fig)
    assert "RANDOM" not in text.upper() and "weights: pretrained" in text
    assert f"device: {H100} (cuda:0)" in text
    assert banners(fig) == []


# ------------------------------------------------------------------------------------ bars


def test_latency_bars_from_benchmark_rows(rows, tables):
    table = latency_table(rows)
    assert list(table["encoder_ms"]) == [40.0, 20.0, 300.0]
    assert list(table["decoder_ms"]) == [2.0, 3.0, 10.0]
    assert set(table["encoder_part"]) == {"image encoder (set_image)"}
    pd.testing.assert_frame_equal(latency_table(tables), table)
    fig = viz.latency_bars(table)
    text = figure_text(fig)
    assert f"{H100} (cuda:0)" in text and CPU in text
    assert len(banners(fig)) == 1  # the one wording, on performance figures too
    assert "image encoder (set_image)" in text and "decoder (predict_point)" in text
    ax = fig.axes[0]
    widths = [round(p.get_width(), 6) for p in ax.patches]
    assert widths == [40.0, 20.0, 300.0, 2.0, 3.0, 10.0]  # encoders, then decoders stacked on them
    lefts = [p.get_x() for p in ax.patches[3:]]
    assert lefts == [40.0, 20.0, 300.0]
    assert "43.0 ms" not in text and "42.0 ms" in text and "310.0 ms" in text
    by_height = dict(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels())))
    assert [by_height[k] for k in sorted(by_height, reverse=True)] == [  # table order, top down
        f"sam_vit_b [pretrained, {H100} (cuda:0)]",
        f"sam2_hiera_tiny [pretrained, {H100} (cuda:0)]",
        f"mobile_sam [random, {CPU}]",
    ]
    # a benchmark table is prepared the same way
    assert figure_text(viz.latency_bars(tables[1])) == text


def test_latency_bars_from_evaluation_summary(rows):
    evaluation_only = rows[rows["protocol"] != "benchmark"]
    table = latency_table(evaluation_only)
    assert list(table["encoder_ms"]) == [120.0, 60.0, 900.0]
    fig = viz.latency_bars(table)
    ax = fig.axes[0]
    assert [round(p.get_width(), 6) for p in ax.patches][:3] == [120.0, 60.0, 900.0]
    text = figure_text(fig)
    assert "cuda:0 (GPU model not recorded)" in text  # never passed off as a named GPU
    assert "decoder (predict, per prompt)" in text


def test_memory_bars_per_phase_with_method(rows):
    table = memory_table(rows)
    assert list(dict.fromkeys(table["phase"])) == ["set_image", "predict_point", "end_to_end"]
    assert len(table) == 9 and list(table["config"].unique()) == [0, 1, 2]
    sam = table[table["model"] == "sam_vit_b"].set_index("phase")
    assert sam.loc["end_to_end", "peak_mib"] == 1650.0
    assert sam.loc["set_image", "mem_method"] == "cuda_max_memory_allocated"
    fig = viz.memory_bars(table)
    text = figure_text(fig)
    assert "cuda_max_memory_allocated" in text and "cpu_process_peak_rss" in text
    assert RANDOM_WEIGHTS_WARNING in text and f"{H100} (cuda:0)" in text and CPU in text
    ax = fig.axes[0]
    assert sorted(round(p.get_width(), 6) for p in ax.patches) == sorted(
        [1500.0, 1600.0, 1650.0, 800.0, 850.0, 860.0, 900.0, 950.0, 960.0]
    )
    assert {"set_image", "predict_point", "end_to_end"} <= set(text.splitlines())


def test_memory_table_from_evaluation_rows(rows):
    table = memory_table(rows[rows["protocol"] != "benchmark"])
    assert set(table["phase"]) == {"evaluation (max over phases)"}
    assert list(table["peak_mib"]) == [500.0, 500.0, 500.0]


def test_cpu_figures_never_mention_a_gpu(rows):
    cpu = cpu_only(rows)
    for fig in (
        viz.latency_bars(latency_table(cpu)),
        viz.memory_bars(memory_table(cpu)),
        viz.pareto_plot(pareto_table(cpu, x="end_to_end_ms", y="mIoU@1"), x="end_to_end_ms", y="mIoU@1"),
    ):
        text = figure_text(fig)
        assert CPU in text
        assert "cuda" not in text.lower() and "nvidia" not in text.lower() and "gpu" not in text.lower()


def test_figures_stay_out_of_pyplot_and_save(rows):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    figs = [
        viz.pareto_plot(pareto_table(rows, x="end_to_end_ms"), x="end_to_end_ms"),
        viz.latency_bars(latency_table(rows)),
        viz.memory_bars(memory_table(rows)),
    ]
    assert plt.get_fignums() == before
    for fig in figs:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=50)
        assert buf.getvalue()[:4] == b"\x89PNG"
    assert viz.has_latency(latency_table(rows)) and viz.has_memory(memory_table(rows))
    empty = rows_to_frame([{"model": "m", "protocol": "box", "status": "ok"}])
    assert not viz.has_memory(memory_table(empty.assign(peak_mem_mib=np.nan)))
    assert not viz.has_latency(latency_table(empty))
    with pytest.raises(ValueError):
        viz.latency_bars(latency_table(empty))


def test_figures_refuse_result_rows_and_name_the_table_to_make(rows):
    calls = [
        (viz.pareto_plot, "samkit.results.tables.pareto_table"),
        (viz.latency_bars, "samkit.results.tables.latency_table"),
        (viz.memory_bars, "samkit.results.tables.memory_table"),
        (click_curves, "samkit.eval.interactive.click_curve_table"),
        (viz.has_latency, "samkit.results.tables.latency_table"),
        (viz.has_memory, "samkit.results.tables.memory_table"),
    ]
    for fn, maker in calls:
        with pytest.raises(TypeError, match=maker):
            fn(rows)


def test_pareto_plot_says_which_configurations_it_cannot_place(rows):
    no_sam2_bench = rows[~((rows["model"] == "sam2_hiera_tiny") & (rows["protocol"] == "benchmark"))]
    table = pareto_table(no_sam2_bench, x="end_to_end_ms", y="mIoU@1")
    fig = viz.pareto_plot(table, x="end_to_end_ms", y="mIoU@1")
    assert "not shown (no end_to_end_ms): sam2_hiera_tiny (pretrained, cuda:0)" in figure_text(fig)
    assert table["end_to_end_ms"].notna().sum() == 2 and len(table) == 3
    assert not table.set_index("model").loc["sam2_hiera_tiny", "pareto"]
    two_sizes = pd.concat(
        [rows, rows_to_frame([dict(bench(SAM, "end_to_end", 12.0, 700.0), image_size=512)])], ignore_index=True
    )
    with pytest.raises(ValueError, match="filter the rows by image_size / batch"):
        pareto_table(two_sizes, x="end_to_end_ms", y="mIoU@1")
