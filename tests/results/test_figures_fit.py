"""Every figure samkit draws keeps its texts inside its frame: the overlays, the demo's figure, every
results figure, every protocol figure (those of ``Protocol.report_sections`` and `click_curves`),
drawn with the longest header (random weights, CPU and GPU devices, the memory methods, configurations
not shown or not drawn) and long model names, on the Agg canvas at three dpi. Each drawn text's
window extent (and its box, where it has one) lies inside ``fig.bbox`` (1 px tolerance); the
figure-wide texts (titles, header lines, the warning) overlap neither one another, nor any axes,
nor the texts drawn in the axes. Hand-made rows (test_viz's builders), no model runs."""

from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from test_viz import CPU, H100, _weights, bench, evaluation  # noqa: E402  (tests/results/test_viz.py)

from samkit.data.photos import SamplePhoto  # noqa: E402
from samkit.data.synthetic_video import moving_shapes  # noqa: E402
from samkit.demo import overlay_figure  # noqa: E402
from samkit.eval import get_protocol, list_protocols  # noqa: E402
from samkit.eval.interactive import click_curve_table, click_curves  # noqa: E402
from samkit.instances import PipelineResult, SegmentedObject  # noqa: E402
from samkit.overlays import show_generated, show_instances, show_prediction, show_video_masks  # noqa: E402
from samkit.plotting import fit_text, wrap_lines  # noqa: E402
from samkit.results import figures as viz  # noqa: E402
from samkit.results.tables import latency_table, memory_table, pareto_table  # noqa: E402
from samkit.rows import rows_to_frame  # noqa: E402
from samkit.weights import WeightsInfo  # noqa: E402
from samkit.wording import RANDOM_WEIGHTS_WARNING  # noqa: E402

LONG = "sam2.1_hiera_base_plus_finetuned_on_a_rather_long_dataset_name_v2"
LONGER = "efficientvit_sam_xl1_distilled_from_sam_vit_h_with_a_longer_recipe_name"
RANDOM = WeightsInfo(kind="random", seed=0)
PRETRAINED = WeightsInfo(kind="pretrained", sha256="ec2df6273261" + "0" * 52, official=True)

GPU_LONG = dict(
    model=LONG,
    family="sam2",
    **_weights("pretrained", "ec2df6273261"),
    device="cuda:0",
    device_name=H100,
    dtype="float32",
)
CPU_LONG = dict(
    model=LONGER,
    family="efficientvit_sam",
    **_weights("random", seed=0),
    device="cpu",
    device_name=CPU,
    dtype="float32",
)
CPU_SHORT = dict(CPU_LONG, model="mobile_sam", family="mobile_sam")


# ------------------------------------------------------------------------------------------ check


@pytest.fixture
def drawn(monkeypatch):
    """``drawn(fig)``: draw ``fig`` on an Agg canvas; returns (renderer, the texts drawn)."""
    texts: list[Text] = []
    draw = Text.draw

    @functools.wraps(draw)  # keeps matplotlib's rasterization mark, so subclasses made now inherit it
    def recording(self, renderer):
        if self.get_visible() and self.get_text():
            texts.append(self)
        return draw(self, renderer)

    monkeypatch.setattr(Text, "draw", recording)

    def run(fig):
        texts.clear()
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return canvas.get_renderer(), list(dict.fromkeys(texts))

    return run


def _inside(box, frame) -> bool:
    return box.x0 >= frame.x0 - 1 and box.y0 >= frame.y0 - 1 and box.x1 <= frame.x1 + 1 and box.y1 <= frame.y1 + 1


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 - 1 and b.x0 < a.x1 - 1 and a.y0 < b.y1 - 1 and b.y0 < a.y1 - 1


def assert_fits(fig, drawn, dpis=(120, 80, 72)):  # the report's, the demo's and a low one
    """Every drawn text (and its box) inside the frame; the figure-wide texts overlap nothing."""
    for dpi in dpis:
        fig.set_dpi(dpi)
        renderer, texts = drawn(fig)
        assert texts, "nothing drawn"
        frame = fig.bbox
        for text in texts:
            box = text.get_window_extent(renderer)
            assert _inside(box, frame), f"at {dpi} dpi, {text.get_text()!r} at {box} is outside {frame}"
            patch = text.get_bbox_patch()
            if patch is not None:
                outline = patch.get_window_extent(renderer)
                assert _inside(outline, frame), f"at {dpi} dpi, the box of {text.get_text()!r} is outside the frame"
        header = [t for t in texts if t in fig.texts]
        in_axes = [t for t in texts if t not in fig.texts and any(t in ax.texts or t is ax.title for ax in fig.axes)]
        panels = [ax.get_window_extent(renderer) for ax in fig.axes if ax.get_visible() and (ax.images or ax.lines)]
        for i, text in enumerate(header):
            box = text.get_window_extent(renderer)
            for other in header[i + 1 :] + in_axes:
                assert not _overlap(box, other.get_window_extent(renderer)), (
                    f"{text.get_text()!r} overlaps {other.get_text()!r}"
                )
            for panel in panels:
                assert not _overlap(box, panel), f"{text.get_text()!r} overlaps an axes"


# ------------------------------------------------------------------------------------------- rows


def _rows() -> pd.DataFrame:
    """Benchmark and interactive rows of a GPU, a CPU and a random-weights model with long names
    (the one without a benchmark is 'not shown' on the Pareto figure), and video benchmark rows
    with a failed combination ('not drawn')."""
    rows = [
        bench(GPU_LONG, "set_image", 40.0, 1500.0),
        bench(GPU_LONG, "predict_point", 2.0, 1600.0),
        bench(GPU_LONG, "end_to_end", 43.0, 1650.0),
        bench(CPU_LONG, "set_image", 300.0, 900.0, "cpu_process_peak_rss"),
        bench(CPU_LONG, "predict_point", 10.0, 950.0, "cpu_process_peak_rss"),
        bench(CPU_LONG, "end_to_end", 315.0, 960.0, "cpu_process_peak_rss"),
        *evaluation(GPU_LONG, [0.9, 0.7], 120.0),
        *evaluation(CPU_LONG, [0.1, 0.3], 900.0),
        *evaluation(CPU_SHORT, [0.2, 0.4], 700.0),
    ]
    for base in (GPU_LONG, CPU_LONG):  # clicks 2 and 3 for the click curves
        for clicks in (2, 3):
            for row in evaluation(base, [0.5 + 0.1 * clicks, 0.4 + 0.1 * clicks], 100.0):
                rows.append(dict(row, clicks=clicks))
    for length in (2, 4, 8):
        for storage in ("stream", "device"):
            for offload in (False, True):
                failed = length == 8 and storage == "device"
                rows.append(
                    dict(
                        CPU_LONG,
                        run_id="v",
                        protocol="video_benchmark",
                        dataset="moving_shapes",
                        video_storage=storage,
                        offload_state_to_cpu=offload,
                        length=length,
                        height=32,
                        width=48,
                        objects=2,
                        frames=None if failed else length,
                        fps=None if failed else 10.0 * length,
                        propagate_ms=None if failed else 100.0,
                        init_ms=None if failed else 5.0,
                        prompt_ms=None if failed else 2.0,
                        peak_mem_mib=None if failed else 100.0 * length + (50 if offload else 0),
                        mem_method=None if failed else "cpu_process_peak_rss",
                        status="oom" if failed else "ok",
                    )
                )
    return rows_to_frame(rows)


@pytest.fixture(scope="module")
def rows():
    return _rows()


# --------------------------------------------------------------------------------------- helpers


def test_wrap_lines_keeps_words_and_fits_the_width():
    lines = wrap_lines(RANDOM_WEIGHTS_WARNING, 3.0, 9)
    assert len(lines) > 1 and " ".join(lines) == RANDOM_WEIGHTS_WARNING
    assert wrap_lines("a\nb", 3.0, 9) == ["a", "b"]  # its own newlines are kept
    cut = wrap_lines(LONG, 1.0, 8)
    assert len(cut) > 1 and "".join(cut) == LONG  # a word wider than the line is cut
    assert all(part.endswith("_") for part in cut[:-1])  # after its underscores


def test_fit_text_draws_lines_but_keeps_the_whole_text(drawn):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    text = fig.text(0.5, 0.5, RANDOM_WEIGHTS_WARNING, ha="center", fontsize=10)
    renderer, _ = drawn(fig)
    wide = text.get_window_extent(renderer).width
    assert fit_text(text, 2.6) > 1
    assert text.get_text() == RANDOM_WEIGHTS_WARNING
    renderer, _ = drawn(fig)
    assert text.get_window_extent(renderer).width < min(wide, 2.6 * fig.dpi)
    text.set_text("short")  # a new text is drawn as it is
    assert text.get_text() == "short"


# ---------------------------------------------------------------------------------------- figures


IMAGE = np.zeros((60, 90, 3), np.uint8)
MASKS = np.zeros((3, 60, 90), bool)
MASKS[:, 10:30, 20:50] = True


@pytest.mark.parametrize("n", [1, 3])
def test_show_prediction_fits(drawn, n):
    fig = show_prediction(IMAGE, MASKS[:n], [0.9, 0.5, 0.1][:n], points=[[30, 20]], box=[5, 5, 60, 40], title=LONG)
    assert_fits(fig, drawn)
    fig = show_prediction(IMAGE, MASKS[:n], [0.9, 0.5, 0.1][:n], title=LONG, weights=RANDOM)
    assert RANDOM_WEIGHTS_WARNING in fig._suptitle.get_text()  # whole, though drawn in lines
    assert_fits(fig, drawn)


def test_show_instances_fits(drawn):
    objects = [
        SegmentedObject("a dog sitting on a very long wooden bench in the park", 0.9, [60, 0, 90, 20], MASKS[0], 0.8),
        SegmentedObject("a cat sleeping in the bottom left corner of the image", 0.4, [0, 40, 10, 60], MASKS[1], 0.7),
        SegmentedObject("a bird", 0.3, [40, 25, 50, 35], MASKS[2], 0.7),
    ]
    fig = show_instances(IMAGE, PipelineResult(objects, (60, 90), 1.0, 2.0, 3.0), title=LONG, weights=RANDOM)
    assert [t.get_text() for t in fig.axes[0].texts][0] == "a dog sitting on a very long wooden bench in the park 0.90"
    assert_fits(fig, drawn)
    empty = show_instances(IMAGE, PipelineResult([], (60, 90), 1.0, float("nan"), float("nan")), title=LONG)
    assert_fits(empty, drawn)


def test_show_generated_fits(drawn):
    records = [{"segmentation": m, "area": int(m.sum())} for m in MASKS]
    assert_fits(show_generated(IMAGE, records, title=LONG, weights=RANDOM), drawn)
    assert_fits(show_generated(IMAGE[:, :20], records[:0], title=LONG, weights=PRETRAINED), drawn)


@pytest.mark.parametrize("count", [1, 3])
def test_show_video_masks_fits(drawn, count):
    video = moving_shapes(num_frames=4, size=(24, 32), num_objects=8)
    masks = {t: {k + 1: video.masks[k, t] for k in range(8)} for t in range(4)}
    fig = show_video_masks(video.frames, masks, max_frames=count, title=LONG, weights=RANDOM)
    assert_fits(fig, drawn)


def test_demo_overlay_figure_fits(drawn):
    shot = SamplePhoto("chelsea", IMAGE, "left eye", (30, 20), (10, 5, 60, 40))
    masks = {"point": (MASKS[0], 0.91), "box": (MASKS[1], 0.42)}
    panels = [(LONG, RANDOM, masks), (LONGER, PRETRAINED, masks), ("mobile_sam", RANDOM, masks)]
    fig = overlay_figure(shot, panels)
    assert RANDOM_WEIGHTS_WARNING in fig._suptitle.get_text()
    assert LONG in figure_titles(fig) and str(PRETRAINED) in figure_titles(fig)
    assert_fits(fig, drawn)
    assert_fits(overlay_figure(shot, panels[1:2]), drawn)  # one row, pretrained: no warning


def figure_titles(fig) -> str:
    return "\n".join(ax.get_title() for ax in fig.axes)


def test_results_figures_fit(drawn, rows):
    published = pd.DataFrame({"model": [LONGER], "end_to_end_ms": [450.0], "mIoU@1": [0.85], "source": ["SAM paper"]})
    for logx in (False, True):
        fig = viz.pareto_plot(
            pareto_table(rows, x="end_to_end_ms", y="mIoU@1"),
            x="end_to_end_ms",
            y="mIoU@1",
            logx=logx,
            published=published,
        )
        assert sum(t.get_text() == RANDOM_WEIGHTS_WARNING for t in fig.texts) == 1
        assert any("not shown (no end_to_end_ms): mobile_sam" in t.get_text() for t in fig.texts)
        assert_fits(fig, drawn)
        assert_fits(viz.latency_bars(latency_table(rows), logx=logx), drawn)
    fig = viz.memory_bars(memory_table(rows))
    assert any("cpu_process_peak_rss" in t.get_text() for t in fig.texts)
    assert_fits(fig, drawn)
    fig = viz.latency_bars(latency_table(rows[rows["protocol"] != "benchmark"]))  # parts not measured
    assert_fits(fig, drawn)


def test_protocol_figures_fit(drawn, rows):
    sections = [s for name in list_protocols() for s in get_protocol(name).sections(rows) if s.figure is not None]
    assert "video_memory" in [s.name for s in sections]
    for section in sections:
        fig = section.figure()
        assert RANDOM_WEIGHTS_WARNING in [t.get_text() for t in fig.texts], section.name
        assert_fits(fig, drawn)
    assert_fits(click_curves(click_curve_table(rows)), drawn)
