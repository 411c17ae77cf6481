"""Benchmark: process memory of video tracking against video length, bounded vs unbounded state.

For each mode (``model.video(frames, bounded=True)`` and ``bounded=False``), a fresh Python process
loads the model (random weights; SAM 2.1 tiny at the tests' 256-pixel input by default), opens one
synthetic moving-shapes video of ``max(--lengths)`` frames that is drawn one frame at a time when
the tracker reads it (`samkit.data.streamed_shapes`: no video is held), prompts its object on
frame 0 with the true mask and propagates forward, letting each frame's masks go. After
``--every`` frames (and at each of ``--lengths``) it reads the process's RSS (``VmRSS``) and peak
RSS (``VmHWM``) from ``/proc/self/status`` and how many frames of tracking state upstream holds.
A sample after ``n`` frames is the memory of tracking an ``n``-frame video (the state depends on
the frames tracked so far, not on the video's length).

Outputs under ``--out`` (default ``results/video_memory``): ``samples_<mode>.csv`` (written as the
run goes, so a stopped run keeps its samples), ``rss.csv`` (both modes), ``video_memory.md`` (RSS
at each length, growth per 1,000 frames past the first 100 frames: the slope of a least-squares
line through the samples from frame 100 on, as a percentage of the RSS at frame 100) and
``video_memory.png`` (the peak RSS curves through `samkit.eval.video_benchmark.memory_vs_length`,
the video benchmark's own figure, and the RSS curves beside it).

    python experiments/bench_video_memory.py                            # 100 -> 3,000 frames
    python experiments/bench_video_memory.py --lengths 100 300 1000     # shorter
    python experiments/bench_video_memory.py --report-only              # redraw from samples_*.csv

Random weights: memory and speed are real, the masks are meaningless.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = {"bounded": True, "unbounded": False}
GROWTH_FROM = 100  # frames: growth is measured past the first 100 frames


def _proc_status_mib() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB."""
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def _held_frames(tracker) -> int:
    """Frames with tracking state held upstream (conditioning and non-conditioning), max over objects."""
    outputs = tracker.state["output_dict_per_obj"] if hasattr(tracker, "state") else tracker.session.output_dict_per_obj
    return max((len(o["cond_frame_outputs"]) + len(o["non_cond_frame_outputs"]) for o in outputs.values()), default=0)


def _state_mib(tracker) -> float:
    """MiB of the tensors upstream holds in its per-frame outputs (each storage counted once)."""
    import torch

    outputs = tracker.state["output_dict_per_obj"] if hasattr(tracker, "state") else tracker.session.output_dict_per_obj
    seen: dict[int, int] = {}

    def add(value) -> None:
        if torch.is_tensor(value):
            storage = value.untyped_storage()
            seen[storage.data_ptr()] = storage.nbytes()
        elif isinstance(value, (list, tuple)):
            for v in value:
                add(v)
        elif isinstance(value, dict):
            for v in value.values():
                add(v)

    for per_obj in outputs.values():
        add(per_obj)
    return sum(seen.values()) / 2**20


def _load(name: str, side: int):
    import samkit

    if name.startswith("sam2") and side != 1024:  # the tests' small variant: the same model at a smaller input
        import samkit.models.sam2 as sam2_adapter

        original = sam2_adapter.model_config

        def config(spec):
            cfg = original(spec)
            cfg.image_size = side
            return cfg

        sam2_adapter.model_config = config
    return samkit.load(name, weights="random", seed=0, device="cpu")


def worker(args: argparse.Namespace) -> None:
    """One mode in this process: track and write samples to ``args.samples`` as they are taken."""
    import torch

    from samkit.data.streamed_shapes import streamed_shapes
    from samkit.eval.protocol import row_header

    torch.set_num_threads(args.threads)
    bounded = MODES[args.mode]
    model = _load(args.model, args.side)
    length = max(args.lengths)
    video = streamed_shapes(length, tuple(args.size), 1, args.seed)
    marks = {1, 25, 50, *range(args.every, length + 1, args.every), *args.lengths}
    header = row_header(model, f"bench_video_memory-{args.mode}", "video_benchmark", "moving_shapes_streamed")
    fields = {
        **header,
        "video_storage": "stream",
        "offload_state_to_cpu": False,
        "bounded": bounded,
        "height": args.size[0],
        "width": args.size[1],
        "objects": 1,
        "model_input": args.side,
        "torch_threads": args.threads,
        "mem_method": "cpu_process_peak_rss",
        "status": "ok",
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    with torch.inference_mode():
        tracker = model.video(video.frames, bounded=bounded)
        tracker.add_prompt(0, 1, mask=video.masks(0)[0])
    columns = None
    with open(args.samples, "w", newline="") as out:
        start = time.perf_counter()
        for t, masks in tracker.propagate(start_frame=0):
            n = int(t) + 1
            area = int(masks[1].sum())
            del masks
            if n not in marks:
                continue
            rss, hwm = _proc_status_mib()
            seconds = time.perf_counter() - start
            row = {
                **fields,
                "length": n,
                "frames": n,
                "rss_mib": round(rss, 2),
                "peak_mem_mib": round(hwm, 2),
                "state_frames": _held_frames(tracker),
                "state_mib": round(_state_mib(tracker), 3),
                "propagate_ms": round(seconds * 1000, 1),
                "fps": round(n / seconds, 3),
                "mask_area": area,
            }
            if columns is None:
                columns = list(row)
                writer = csv.DictWriter(out, columns)
                writer.writeheader()
            writer.writerow(row)
            out.flush()
            print(
                f"{args.mode}: {n} frames, RSS {rss:.1f} MiB, peak {hwm:.1f} MiB, state {row['state_frames']} "
                f"frames / {row['state_mib']:.2f} MiB, {row['fps']:.2f} fps",
                flush=True,
            )


def growth_per_1000(frames, values) -> float:
    """Least-squares slope of ``values`` (MiB) against ``frames`` from frame `GROWTH_FROM` on, per
    1,000 frames, as a percentage of the value at the first such frame."""
    import numpy as np

    frames, values = np.asarray(frames, float), np.asarray(values, float)
    keep = frames >= GROWTH_FROM
    if keep.sum() < 2:
        return float("nan")
    slope = np.polyfit(frames[keep], values[keep], 1)[0]
    return float(slope * 1000 / values[keep][np.argmin(frames[keep])] * 100)


def report(args: argparse.Namespace) -> None:
    """rss.csv, video_memory.md and video_memory.png from the modes' samples."""
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from samkit.eval.video_benchmark import memory_vs_length, video_benchmark_table
    from samkit.wording import RANDOM_WEIGHTS_WARNING

    out = Path(args.out)
    parts = [pd.read_csv(out / f"samples_{m}.csv") for m in args.modes if (out / f"samples_{m}.csv").is_file()]
    parts = [p for p in parts if len(p)]
    if not parts:
        raise SystemExit(f"no samples under {out}")
    samples = pd.concat(parts, ignore_index=True)
    samples["bounded"] = samples["bounded"].astype(bool)
    samples.to_csv(out / "rss.csv", index=False)

    first = samples.iloc[0]
    lines = [
        "# Video tracking memory vs video length: bounded vs unbounded tracking state",
        "",
        f"Model: {first['model']} ({RANDOM_WEIGHTS_WARNING}), model input {int(first['model_input'])} px "
        f"(the tests' small variant; 1024 released), one object prompted on frame 0 with its true mask, "
        f"forward propagation over a streamed synthetic video of {int(first['height'])}x{int(first['width'])} "
        f"frames (drawn when read, none held). Device: CPU ({first['cpu']}, {int(first['cpu_count'])} cores "
        f"shared with other processes, so the fps are contended, and the modes, run one after the other, "
        f"are not comparable in fps), {int(first['torch_threads'])} torch thread(s), "
        f"a fresh process per mode. RSS = VmRSS, peak = VmHWM of the whole process (weights, Python and "
        f"libraries included), read after n frames; state = frames with tracking state held upstream and "
        f"the MiB of their tensors.",
        "",
        "| frames | bounded RSS MiB | unbounded RSS MiB | bounded peak MiB | unbounded peak MiB "
        "| bounded state frames / MiB | unbounded state frames / MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by = {b: g.set_index("frames") for b, g in samples.groupby("bounded")}

    def cell(bounded: bool, frames: int, col: str) -> str:
        g = by.get(bounded)
        if g is None or frames not in g.index:
            return "not run"
        value = g.loc[frames, col]
        if col == "state_frames":
            return f"{int(value)} / {g.loc[frames, 'state_mib']:.2f}"
        return f"{value:.1f}"

    for n in sorted(set(args.lengths)):
        lines.append(
            f"| {n} | {cell(True, n, 'rss_mib')} | {cell(False, n, 'rss_mib')} | {cell(True, n, 'peak_mem_mib')} "
            f"| {cell(False, n, 'peak_mem_mib')} | {cell(True, n, 'state_frames')} | {cell(False, n, 'state_frames')} |"
        )
    lines += [
        "",
        f"Growth past the first {GROWTH_FROM} frames (least-squares slope per 1,000 frames, % of the value "
        f"at frame {GROWTH_FROM}; target for bounded: under 5%):",
        "",
    ]
    for b, g in sorted(by.items(), reverse=True):
        g = g.reset_index()
        span = f"frames {GROWTH_FROM}-{int(g['frames'].max())}"
        lines.append(
            f"- {'bounded' if b else 'unbounded'} ({span}): RSS {growth_per_1000(g['frames'], g['rss_mib']):+.3f}% "
            f"per 1,000 frames, peak RSS {growth_per_1000(g['frames'], g['peak_mem_mib']):+.3f}% per 1,000 frames; "
            f"{float(g['fps'].iloc[-1]):.2f} fps overall"
        )
    (out / "video_memory.md").write_text("\n".join(lines) + "\n")

    table = video_benchmark_table(samples)
    fig = memory_vs_length(table, title="Process peak RSS vs frames tracked (bounded vs unbounded tracking state)")
    ax = fig.axes[0]
    for b, g in sorted(by.items(), reverse=True):
        g = g.reset_index().sort_values("frames")
        ax.plot(
            g["frames"],
            g["rss_mib"],
            linestyle="-." if b else (0, (1, 3)),
            color="0.45" if b else "0.7",
            label=f"RSS now, {'bounded' if b else 'unbounded'}",
        )
    ax.set_ylabel("process RSS (peak and now), MiB")
    ax.set_xlabel("frames tracked (= video length), frames")
    ax.set_xticks(sorted(set(args.lengths)), [str(n) for n in sorted(set(args.lengths))])
    ax.legend(fontsize=7, loc="best", framealpha=0.85)
    fig.savefig(out / "video_memory.png", dpi=130)
    print((out / "video_memory.md").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="sam2.1_hiera_tiny")
    parser.add_argument("--side", type=int, default=256, help="SAM 2 model input, pixels (1024 released)")
    parser.add_argument("--size", type=int, nargs=2, default=(192, 256), metavar=("H", "W"))
    parser.add_argument("--lengths", type=int, nargs="+", default=[100, 300, 1000, 2000, 3000])
    parser.add_argument("--every", type=int, default=100, help="sample every this many frames")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "results" / "video_memory"))
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=list(MODES), help=argparse.SUPPRESS)
    parser.add_argument("--samples", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        for mode in args.modes:  # one after the other, each in a fresh process
            cmd = [sys.executable, __file__, "--worker", "--mode", mode, "--samples", str(out / f"samples_{mode}.csv")]
            cmd += ["--model", args.model, "--side", str(args.side), "--size", *map(str, args.size)]
            cmd += ["--lengths", *map(str, args.lengths), "--every", str(args.every)]
            cmd += ["--threads", str(args.threads), "--seed", str(args.seed)]
            subprocess.run(cmd, check=True, cwd=ROOT)
    report(args)


if __name__ == "__main__":
    main()
