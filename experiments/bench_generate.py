"""Benchmark: samkit's automatic mask generator against the upstream one, at equal output.

One process, one model, one image; the two generators run interleaved (upstream, samkit, then
samkit, upstream, ...) so that both see the same machine state. Each run's records are compared
with `samkit.testing.record_agreement` (one-to-one matching by mask IoU), so the speed-up is only
reported beside the proof that the output is the same: the mask count mismatch (samkit minus
upstream), the mean IoU of the matched pairs and the fraction matched at IoU >= 0.99, as torchao
reports its fast AMG server's agreement.

Random weights give masks the generators' default thresholds drop, so by default the decoder is
given structure with `samkit.testing.disk_masks` (a disk around each point; predicted IoUs
raised so that the default ``pred_iou_thresh`` keeps some and drops others); ``--plain`` runs
the plain random model instead (with ``--open``: every candidate kept, the slowest case).

``--sweep`` runs the settings a user picks: ``pred_iou_thresh`` {the generator's default, 0 (no
IoU filter)} (``--sweep-iou``) x box NMS {0.7, off = 1.0} x ``points_per_side``
(``--sweep-points``, default 16 32 64), and writes ``sweep_<model>_<H>x<W>.csv`` and ``.md``
(pass rate x speed-up x agreement, with the machine, torch threads and load average) to
``--out`` (default ``results/bench_generate``). The
pass rate is the fraction of candidates (3 a point) above ``pred_iou_thresh`` in samkit's run.
Wall time is what a user waits; CPU time (``time.process_time``) is also reported, since on a
shared machine it moves less with the other processes' load.

    python experiments/bench_generate.py                       # MobileSAM, 1024x1024, 32 points a side
    python experiments/bench_generate.py --model sam2.1_hiera_tiny --repeats 1
    python experiments/bench_generate.py --sweep --hw 256 320 --threads 1
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import platform
import statistics
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import samkit
from samkit.testing import IOU_OFFSET, disk_masks, record_agreement

#: the sweep's box NMS settings: on (the default 0.7) and off (1.0: no two boxes overlap more)
NMS_SETTINGS = (0.7, 1.0)


def _image(height: int, width: int) -> np.ndarray:
    """scikit-image's astronaut resized to ``height x width`` (HxWx3 uint8 RGB)."""
    import skimage.data
    import skimage.transform

    resized = skimage.transform.resize(skimage.data.astronaut(), (height, width), preserve_range=True)
    return resized.round().astype(np.uint8)


@contextlib.contextmanager
def _recording_iou() -> Iterator[list[Any]]:
    """Records the predicted IoUs of samkit's generator's decoder calls (for the pass rate)."""
    from samkit.models.grid_generator import GridMaskGenerator

    seen: list[Any] = []
    original = GridMaskGenerator._decode

    def decode(self: GridMaskGenerator, worker: Any, points: np.ndarray) -> Any:
        scores, masks = original(self, worker, points)
        seen.append(scores.detach().float().cpu().flatten())
        return scores, masks

    GridMaskGenerator._decode = decode  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        GridMaskGenerator._decode = original  # type: ignore[method-assign]


def _run(model: Any, image: np.ndarray, engine: str, params: dict[str, Any]) -> tuple[list[dict], float, float]:
    """Records, wall ms and CPU ms of one `generate` call."""
    start, cpu = time.perf_counter(), time.process_time()
    records = model.generate(image, engine=engine, **params)
    return records, (time.perf_counter() - start) * 1e3, (time.process_time() - cpu) * 1e3


def measure(
    model: Any, image: np.ndarray, params: dict[str, Any], repeats: int, budget_s: float | None = None
) -> dict[str, Any]:
    """``repeats`` interleaved runs of both generators (the order alternates; fewer, but at least
    one, where the runs so far took more than ``budget_s`` seconds): median wall and CPU ms, the
    worst agreement, and samkit's predicted-IoU pass rate."""
    times: dict[str, list[float]] = {"upstream": [], "samkit": []}
    cpu: dict[str, list[float]] = {"upstream": [], "samkit": []}
    agreements, pass_rates = [], []
    start = time.perf_counter()
    for r in range(repeats):
        if r and budget_s is not None and time.perf_counter() - start > budget_s:
            break
        out = {}
        for engine in ("upstream", "samkit") if r % 2 == 0 else ("samkit", "upstream"):
            with _recording_iou() if engine == "samkit" else contextlib.nullcontext([]) as seen:
                out[engine], wall, cpu_ms = _run(model, image, engine, params)
            times[engine].append(wall)
            cpu[engine].append(cpu_ms)
            if seen:
                import torch

                scores = torch.cat(seen)
                thresh = params.get("pred_iou_thresh", _default_iou(model))
                pass_rates.append(float((scores > thresh).float().mean()) if thresh > 0 else 1.0)
        agreements.append(record_agreement(out["samkit"], out["upstream"]))
    worst = min(agreements, key=lambda a: (a["matched_fraction"], -a["count_diff"]))
    up, ours = statistics.median(times["upstream"]), statistics.median(times["samkit"])
    up_cpu, ours_cpu = statistics.median(cpu["upstream"]), statistics.median(cpu["samkit"])
    return {
        "pass_rate": statistics.median(pass_rates),
        "masks_upstream": worst["n_theirs"],
        "masks_samkit": worst["n_ours"],
        "upstream_ms": round(up, 1),
        "samkit_ms": round(ours, 1),
        "speedup": round(up / ours, 3),
        "upstream_cpu_ms": round(up_cpu, 1),
        "samkit_cpu_ms": round(ours_cpu, 1),
        "speedup_cpu": round(up_cpu / ours_cpu, 3),
        "count_mismatch": worst["n_ours"] - worst["n_theirs"],
        "mean_iou": round(worst["mean_iou"], 6),
        "matched_fraction": round(worst["matched_fraction"], 6),
        "max_score_diff": worst["max_score_diff"],
        "runs": len(agreements),
        "upstream_runs_ms": " ".join(f"{t:.0f}" for t in times["upstream"]),
        "samkit_runs_ms": " ".join(f"{t:.0f}" for t in times["samkit"]),
    }


def _default_iou(model: Any) -> float:
    import inspect

    cls = model._mask_generator_class()
    return float(inspect.signature(cls.__init__).parameters["pred_iou_thresh"].default)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} logical CPUs"


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def sweep(model: Any, image: np.ndarray, args: argparse.Namespace, header: dict[str, Any]) -> list[dict[str, Any]]:
    """The settings grid (see the module docstring); one row per setting, printed and written
    (`write_sweep`, after the rows already in the files with ``--append``) as it ends."""
    default_iou = _default_iou(model)
    rows = _read_rows(args.out / f"{_stem(header)}.csv") if args.append else []
    for row in rows:  # rows from before the option ran at disk_masks' default offset
        row.setdefault("iou_offset", IOU_OFFSET)
    for pps in args.sweep_points:
        for iou in [default_iou if v < 0 else v for v in args.sweep_iou]:
            for nms in args.sweep_nms:
                params = {"points_per_side": pps, "pred_iou_thresh": iou, "box_nms_thresh": nms}
                load_before = _load()
                result = measure(model, image, params, args.repeats, args.setting_budget_s)
                row = {
                    "points_per_side": pps,
                    "candidates": 3 * pps * pps,
                    "pred_iou_thresh": iou,
                    "box_nms_thresh": nms,
                    "iou_offset": args.iou_offset_used,
                    **result,
                    "load_before": load_before,
                    "load_after": _load(),
                    "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                }
                rows.append(row)
                print(
                    f"pps={pps} iou={iou} nms={nms}: pass {row['pass_rate']:.1%}, {row['masks_upstream']} masks, "
                    f"upstream {row['upstream_ms']:.0f} ms, samkit {row['samkit_ms']:.0f} ms, "
                    f"{row['speedup']:.2f}x (cpu {row['speedup_cpu']:.2f}x), count mismatch {row['count_mismatch']}, "
                    f"mean IoU {row['mean_iou']:.4f}, matched {row['matched_fraction']:.2%}, "
                    f"load {load_before}->{row['load_after']}",
                    flush=True,
                )
                write_sweep(rows, header, args.out)
    return rows


def _stem(header: dict[str, Any]) -> str:
    return f"sweep_{header['model']}_{header['image']}"


def _read_rows(path: Path) -> list[dict[str, Any]]:
    """The setting rows of a sweep CSV (numbers parsed back), or none if there is no file."""

    def parse(value: str) -> Any:
        for kind in (int, float):
            with contextlib.suppress(ValueError):
                return kind(value)
        return value

    if not path.exists():
        return []
    with path.open() as f:
        return [{k: parse(v) for k, v in row.items() if k not in HEADER_KEYS} for row in csv.DictReader(f)]


#: the sweep CSV's columns that describe the run, not the setting
HEADER_KEYS = ("model", "weights", "device", "image", "torch", "threads", "machine", "max_repeats")


def write_sweep(rows: list[dict[str, Any]], header: dict[str, Any], out: Path) -> None:
    """``sweep_<model>_<H>x<W>.csv`` (every column) and ``.md`` (the table with its provenance)."""
    out.mkdir(parents=True, exist_ok=True)
    stem = _stem(header)
    loads = [v for r in rows for v in (r["load_before"], r["load_after"])]
    dates = sorted(r["date"] for r in rows)
    with (out / f"{stem}.csv").open("w", newline="") as f:
        fields = list(header)
        for row in rows:
            fields += [k for k in row if k not in fields]
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({**header, **row})
    lines = [
        "# samkit vs upstream automatic masks: settings sweep",
        "",
        f"- model: {header['model']} ({header['weights']}; decoder given structure by "
        f"`samkit.testing.disk_masks`: random weights, the masks are synthetic disks and say nothing of accuracy)",
        f"- image: astronaut {header['image']}; device {header['device']}; torch {header['torch']}, "
        f"{header['threads']} thread(s)",
        f"- machine: {header['machine']}; 1-min load average {min(loads)}-{max(loads)} "
        "during the sweep (other jobs share the CPUs)",
        f"- up to {header['max_repeats']} interleaved run(s) of each generator a setting (order alternating; "
        "column `runs`); medians; agreement of the worst run (`samkit.testing.record_agreement`); "
        "pass rate: candidates (3 a point) above pred_iou_thresh; IoU offset: what `disk_masks` adds to the "
        "random head's predicted IoUs (it sets the pass rate)",
        f"- settings finished {dates[0]} to {dates[-1]}",
        "",
        "| points/side | pred_iou_thresh | IoU offset | box NMS | pass rate | masks | upstream ms | samkit ms "
        "| speed-up | speed-up (CPU time) | count mismatch | mean IoU | matched (IoU>=0.99) | runs |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        nms = "off (1.0)" if r["box_nms_thresh"] >= 1.0 else f"on ({r['box_nms_thresh']})"
        lines.append(
            f"| {r['points_per_side']} | {r['pred_iou_thresh']} | {r.get('iou_offset', '')} | {nms} | "
            f"{r['pass_rate']:.1%} | "
            f"{r['masks_upstream']} | {r['upstream_ms']:.0f} | {r['samkit_ms']:.0f} | {r['speedup']:.2f}x | "
            f"{r['speedup_cpu']:.2f}x | {r['count_mismatch']:+d} | {r['mean_iou']:.4f} | {r['matched_fraction']:.2%} | "
            f"{r['runs']} |"
        )
    worst = min(rows, key=lambda r: r["speedup"])
    lines += [
        "",
        f"Lowest speed-up: {worst['speedup']:.2f}x wall ({worst['speedup_cpu']:.2f}x CPU time) at "
        f"points_per_side={worst['points_per_side']}, pred_iou_thresh={worst['pred_iou_thresh']}, "
        f"box_nms_thresh={worst['box_nms_thresh']}.",
    ]
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="mobile_sam")
    parser.add_argument("--device", default=None)
    parser.add_argument("--size", type=int, default=1024, help="square image side in pixels")
    parser.add_argument("--hw", type=int, nargs=2, default=None, metavar=("H", "W"), help="image size (not square)")
    parser.add_argument("--points-per-side", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each generator (a setting)")
    parser.add_argument("--plain", action="store_true", help="the plain random model, no disk structure")
    parser.add_argument(
        "--iou-offset", type=float, default=None, help="disk_masks' predicted-IoU offset (default: its IOU_OFFSET)"
    )
    parser.add_argument("--open", action="store_true", help="pred_iou_thresh=0, stability_score_thresh=0")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--sweep", action="store_true", help="the settings grid (module docstring)")
    parser.add_argument("--sweep-points", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument(
        "--sweep-iou", type=float, nargs="+", default=[-1.0, 0.0], help="pred_iou_thresh values; -1: the default"
    )
    parser.add_argument("--sweep-nms", type=float, nargs="+", default=list(NMS_SETTINGS), help="box_nms_thresh values")
    parser.add_argument("--append", action="store_true", help="sweep: keep the rows already in the output files")
    parser.add_argument(
        "--setting-budget-s", type=float, default=None, help="sweep: no further repeat of a setting after this"
    )
    parser.add_argument("--out", type=Path, default=Path("results/bench_generate"))
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    model = samkit.load(args.model, weights="random", device=args.device)
    height, width = args.hw or (args.size, args.size)
    image = _image(height, width)
    offset = {} if args.iou_offset is None else {"iou_offset": args.iou_offset}
    structure = contextlib.nullcontext() if args.plain else disk_masks(model.model, **offset)
    with structure:
        for engine in ("upstream", "samkit"):  # warm-up: both paths' code, on a small image
            model.generate(image[:128, :128], engine=engine, points_per_side=2)
        if args.sweep:
            header = {
                "model": model.name,
                "weights": str(model.weights),
                "device": str(model.device),
                "image": f"{height}x{width}",
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "machine": _machine(),
                "max_repeats": args.repeats,
            }
            args.iou_offset_used = "plain model" if args.plain else offset.get("iou_offset", IOU_OFFSET)
            sweep(model, image, args, header)
            print(f"wrote {_stem(header)}.csv and .md in {args.out}")
            return
        params = {"points_per_side": args.points_per_side}
        if args.open:
            params.update(pred_iou_thresh=0.0, stability_score_thresh=0.0)
        result = measure(model, image, params, args.repeats)

    print(
        f"model {model.name}, {model.weights}, device {model.device}; image {height}x{width}, "
        f"points_per_side={args.points_per_side}, {'plain random model' if args.plain else 'disk_masks'}"
        f", params {params}; {args.repeats} interleaved run(s) each; torch threads {torch.get_num_threads()}"
    )
    print(f"upstream generator: median {result['upstream_ms']:.0f} ms ({result['upstream_runs_ms']})")
    print(f"samkit generator:   median {result['samkit_ms']:.0f} ms ({result['samkit_runs_ms']})")
    print(f"speed-up: {result['speedup']:.2f}x (CPU time {result['speedup_cpu']:.2f}x)")
    print(
        f"agreement (worst run): {result['masks_samkit']} vs {result['masks_upstream']} masks "
        f"(count mismatch {result['count_mismatch']:+d}), {result['matched_fraction']:.2%} matched one to "
        f"one at mask IoU >= 0.99, mean IoU {result['mean_iou']:.4f}, "
        f"max predicted-IoU difference {result['max_score_diff']:.2e}; pass rate {result['pass_rate']:.1%}"
    )


if __name__ == "__main__":
    main()
