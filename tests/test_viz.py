"""samkit.viz: the Pareto front on a hand-made case, and that every figure names its device(s) and
weights kind(s), with the random-weights banner where it applies; hand-made rows, Agg backend."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from samkit import viz  # noqa: E402
from samkit.results import rows_to_frame  # noqa: E402

H100 = "NVIDIA H100 80GB HBM3"
CPU = "cpu: x86_64 x2"
PRE = "pretrained(sha256=ec2df6273261)"
RND = "random(seed=0)"

SAM = dict(model="sam_vit_b", family="sam", weights=PRE, device="cuda:0", device_name=H100,
           dtype="float32")
SAM2 = dict(model="sam2_hiera_tiny", family="sam2", weights="pretrained(sha256=65b50056e05b)",
            device="cuda:0", device_name=H100, dtype="float32")
MOBILE = dict(model="mobile_sam", family="mobile_sam", weights=RND, device="cpu", device_name=CPU,
              dtype="float32")


def bench(base, phase, median, peak, mem_method="cuda_max_memory_allocated"):
    return dict(base, run_id="b", protocol="benchmark", phase=phase, median_ms=median,
                p95_ms=median * 1.1, mean_ms=median, repeats=10, peak_mem_mib=peak,
                mem_method=mem_method, params=1e7, image_size=1024, batch=1, status="ok")


def evaluation(base, ious, encoder_ms):
    return [dict({k: v for k, v in base.items() if k != "device_name"}, run_id="e",
                 dataset="synthetic", image_id="img", object_id=str(i), protocol="interactive",
                 prompt="points", clicks=1, iou=iou, encoder_ms=encoder_ms, decoder_ms=4.0,
                 peak_mem_mib=500.0, status="ok") for i, iou in enumerate(ious)]


@pytest.fixture
def rows():
    cpu = "cpu_process_peak_rss"
    return rows_to_frame([
        bench(SAM, "set_image", 40.0, 1500.0), bench(SAM, "predict_point", 2.0, 1600.0),
        bench(SAM, "end_to_end", 43.0, 1650.0),
        bench(SAM2, "set_image", 20.0, 800.0), bench(SAM2, "predict_point", 3.0, 850.0),
        bench(SAM2, "end_to_end", 24.0, 860.0),
        bench(MOBILE, "set_image", 300.0, 900.0, cpu), bench(MOBILE, "predict_point", 10.0, 950.0, cpu),
        bench(MOBILE, "end_to_end", 315.0, 960.0, cpu),
        *evaluation(SAM, [0.9, 0.7], 120.0), *evaluation(SAM2, [0.8, 0.6], 60.0),
        *evaluation(MOBILE, [0.1, 0.3], 900.0),
    ])


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
    assert viz.pareto_mask(x, y).tolist() == [True, True, True, False, True, False, False]
    assert viz.pareto_mask([], []).tolist() == []
    assert viz.pareto_mask([1.0], [0.1]).tolist() == [True]
    with pytest.raises(ValueError, match="shape"):
        viz.pareto_mask([1.0, 2.0], [0.1])


def test_pareto_points_join_benchmark_latency_and_front_per_device(rows):
    points = viz.pareto_points(rows, x="end_to_end_ms", y="mIoU@1").set_index("model")
    assert points.loc["sam_vit_b", "end_to_end_ms"] == 43.0
    assert points.loc["sam_vit_b", "mIoU@1"] == pytest.approx(0.8)
    assert points.loc["sam2_hiera_tiny", "end_to_end_ms"] == 24.0
    assert points.loc["sam_vit_b", "device_label"] == f"{H100} (cuda:0)"  # the latency's device
    # on the H100, sam2 (24 ms, 0.7) and sam_vit_b (43 ms, 0.8) both make the front;
    # mobile_sam is alone on the CPU, so it is that device's front, not dominated by GPU points
    assert points["pareto"].to_dict() == {"sam_vit_b": True, "sam2_hiera_tiny": True,
                                          "mobile_sam": True}
    enc = viz.pareto_points(pretrained_gpu(rows), x="encoder_ms", y="mIoU@1").set_index("model")
    assert enc.loc["sam2_hiera_tiny", "encoder_ms"] == 60.0  # from the evaluation rows
    with pytest.raises(ValueError, match="no 'nope'"):
        viz.pareto_points(rows, x="nope")


def test_pareto_points_from_a_table_marks_dominated_points():
    table = pd.DataFrame({"model": ["a", "b", "c"], "weights": [PRE] * 3, "device": ["cpu"] * 3,
                          "lat": [10.0, 20.0, 30.0], "acc": [0.5, 0.9, 0.8]})
    points = viz.pareto_points(table, x="lat", y="acc")
    assert points["pareto"].tolist() == [True, True, False]


def test_pareto_plot_names_devices_weights_and_random_banner(rows):
    published = pd.DataFrame({"model": ["sam_vit_h"], "end_to_end_ms": [450.0], "mIoU@1": [0.85],
                              "source": ["SAM paper"]})
    fig = viz.pareto_plot(rows, x="end_to_end_ms", y="mIoU@1", logx=True, published=published)
    assert isinstance(fig, Figure)
    text = viz.figure_text(fig)
    assert f"{H100} (cuda:0)" in text and CPU in text
    assert "weights: pretrained, random" in text
    banner = [t for t in fig.texts if t.get_text() == viz.RANDOM_ACCURACY_BANNER]
    assert len(banner) == 1 and banner[0].get_bbox_patch().get_facecolor()[:3] == (1.0, 0.0, 0.0)
    assert "sam_vit_h (published: SAM paper)" in text and "published (not measured here)" in text
    assert "family: sam" in text and "family: mobile_sam" in text and "hollow: random weights" in text
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "lower is better" in ax.get_xlabel()
    # the random-weight point is hollow, the pretrained ones filled
    faces = {c.get_offsets()[0][0]: c.get_facecolors() for c in ax.collections
             if len(c.get_offsets()) == 1}
    assert len(faces[315.0]) == 0 and len(faces[43.0]) == 1


def test_pareto_plot_pretrained_only_has_no_banner(rows):
    fig = viz.pareto_plot(pretrained_gpu(rows), x="end_to_end_ms", y="mIoU@1")
    text = viz.figure_text(fig)
    assert "RANDOM" not in text.upper() and "weights: pretrained" in text
    assert f"device: {H100} (cuda:0)" in text


# ------------------------------------------------------------------------------------ bars


def test_latency_bars_from_benchmark_rows(rows):
    fig = viz.latency_bars(rows)
    text = viz.figure_text(fig)
    assert f"{H100} (cuda:0)" in text and CPU in text
    assert viz.RANDOM_PERF_BANNER in text and viz.RANDOM_ACCURACY_BANNER not in text
    ax = fig.axes[0]
    widths = [round(p.get_width(), 6) for p in ax.patches]
    assert widths == [40.0, 20.0, 300.0, 2.0, 3.0, 10.0]  # encoders, then decoders stacked on them
    lefts = [p.get_x() for p in ax.patches[3:]]
    assert lefts == [40.0, 20.0, 300.0]
    assert "43.0 ms" not in text and "42.0 ms" in text and "310.0 ms" in text
    by_height = dict(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels())))
    assert [by_height[k] for k in sorted(by_height, reverse=True)] == [  # table order, top down
        f"sam_vit_b [pretrained, {H100} (cuda:0)]", f"sam2_hiera_tiny [pretrained, {H100} (cuda:0)]",
        f"mobile_sam [random, {CPU}]"]


def test_latency_bars_from_evaluation_summary(rows):
    evaluation_only = rows[rows["protocol"] != "benchmark"]
    fig = viz.latency_bars(evaluation_only)
    ax = fig.axes[0]
    assert [round(p.get_width(), 6) for p in ax.patches][:3] == [120.0, 60.0, 900.0]
    text = viz.figure_text(fig)
    assert "cuda:0 (GPU model not recorded)" in text  # never passed off as a named GPU
    assert "decoder (predict, per prompt)" in text


def test_memory_bars_per_phase_with_method(rows):
    fig = viz.memory_bars(rows)
    text = viz.figure_text(fig)
    assert "cuda_max_memory_allocated" in text and "cpu_process_peak_rss" in text
    assert viz.RANDOM_PERF_BANNER in text and f"{H100} (cuda:0)" in text and CPU in text
    ax = fig.axes[0]
    assert sorted(round(p.get_width(), 6) for p in ax.patches) == sorted(
        [1500.0, 1600.0, 1650.0, 800.0, 850.0, 860.0, 900.0, 950.0, 960.0])
    assert {"set_image", "predict_point", "end_to_end"} <= set(text.splitlines())


def test_cpu_figures_never_mention_a_gpu(rows):
    for fig in (viz.latency_bars(cpu_only(rows)), viz.memory_bars(cpu_only(rows)),
                viz.pareto_plot(cpu_only(rows), x="end_to_end_ms", y="mIoU@1")):
        text = viz.figure_text(fig)
        assert CPU in text
        assert "cuda" not in text.lower() and "nvidia" not in text.lower() and "gpu" not in text.lower()


def test_figures_stay_out_of_pyplot_and_save(rows):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    figs = [viz.pareto_plot(rows, x="end_to_end_ms"), viz.latency_bars(rows), viz.memory_bars(rows)]
    assert plt.get_fignums() == before
    for fig in figs:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=50)
        assert buf.getvalue()[:4] == b"\x89PNG"
    assert viz.has_latency(rows) and viz.has_memory(rows)
    empty = rows_to_frame([{"model": "m", "protocol": "box", "status": "ok"}])
    assert not viz.has_memory(empty.assign(peak_mem_mib=np.nan))
    with pytest.raises(ValueError):
        viz.latency_bars(empty)


def test_pareto_plot_says_which_configurations_it_cannot_place(rows):
    no_sam2_bench = rows[~((rows["model"] == "sam2_hiera_tiny") & (rows["protocol"] == "benchmark"))]
    fig = viz.pareto_plot(no_sam2_bench, x="end_to_end_ms", y="mIoU@1")
    assert "not shown (no end_to_end_ms): sam2_hiera_tiny (pretrained, cuda:0)" in viz.figure_text(fig)
    assert len(viz.pareto_points(no_sam2_bench, x="end_to_end_ms", y="mIoU@1")) == 2
    two_sizes = pd.concat([rows, rows_to_frame([dict(bench(SAM, "end_to_end", 12.0, 700.0),
                                                     image_size=512)])], ignore_index=True)
    with pytest.raises(ValueError, match="filter the rows by image_size / batch"):
        viz.pareto_points(two_sizes, x="end_to_end_ms", y="mIoU@1")
