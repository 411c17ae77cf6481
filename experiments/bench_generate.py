"""Benchmark: samkit's automatic mask generator against the upstream one, at equal output.

One process, one model, one image; the two generators run interleaved (upstream, samkit,
upstream, samkit, ...) so that both see the same machine state. Each run's records are
compared with `samkit.testing.record_agreement` (one-to-one matching by mask IoU), so the
speed-up is only reported beside the proof that the output is the same.

Random weights give masks the generators' default thresholds drop, so by default the decoder is
given structure with `samkit.testing.disk_masks` (a disk around each point; predicted IoUs
raised so that the default ``pred_iou_thresh`` keeps some and drops others); ``--plain`` runs
the plain random model instead (with ``--open``: every candidate kept, the slowest case).

    python experiments/bench_generate.py                       # MobileSAM, 1024x1024, 32 points a side
    python experiments/bench_generate.py --model sam2.1_hiera_tiny --repeats 1
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import numpy as np

import samkit
from samkit.testing import disk_masks, record_agreement


def _image(size: int) -> np.ndarray:
    """scikit-image's astronaut resized to ``size x size`` (HxWx3 uint8 RGB)."""
    import skimage.data
    import skimage.transform

    resized = skimage.transform.resize(skimage.data.astronaut(), (size, size), preserve_range=True)
    return resized.round().astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="mobile_sam")
    parser.add_argument("--device", default=None)
    parser.add_argument("--size", type=int, default=1024, help="image side in pixels")
    parser.add_argument("--points-per-side", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each generator")
    parser.add_argument("--plain", action="store_true", help="the plain random model, no disk structure")
    parser.add_argument("--open", action="store_true", help="pred_iou_thresh=0, stability_score_thresh=0")
    args = parser.parse_args()

    model = samkit.load(args.model, weights="random", device=args.device)
    image = _image(args.size)
    params = {"points_per_side": args.points_per_side}
    if args.open:
        params.update(pred_iou_thresh=0.0, stability_score_thresh=0.0)
    structure = contextlib.nullcontext() if args.plain else disk_masks(model.model)
    times: dict[str, list[float]] = {"upstream": [], "samkit": []}
    agreements = []
    with structure:
        for engine in ("upstream", "samkit"):  # warm-up: both paths' code, on a small image
            model.generate(image[:128, :128], engine=engine, points_per_side=2)
        for _ in range(args.repeats):
            out = {}
            for engine in ("upstream", "samkit"):
                start = time.perf_counter()
                out[engine] = model.generate(image, engine=engine, **params)
                times[engine].append((time.perf_counter() - start) * 1e3)
            agreements.append(record_agreement(out["samkit"], out["upstream"]))

    up, ours = statistics.median(times["upstream"]), statistics.median(times["samkit"])
    worst = min(agreements, key=lambda a: a["matched_fraction"])
    print(
        f"model {model.name}, {model.weights}, device {model.device}; image {args.size}x{args.size}, "
        f"points_per_side={args.points_per_side}, {'plain random model' if args.plain else 'disk_masks'}"
        f", params {params}; {args.repeats} interleaved run(s) each"
    )
    print(f"upstream generator: median {up:.0f} ms ({', '.join(f'{t:.0f}' for t in times['upstream'])})")
    print(f"samkit generator:   median {ours:.0f} ms ({', '.join(f'{t:.0f}' for t in times['samkit'])})")
    print(f"speed-up: {up / ours:.2f}x")
    print(
        f"agreement (worst run): {worst['n_ours']} vs {worst['n_theirs']} masks "
        f"(count difference {worst['count_diff']:.2%}), {worst['matched_fraction']:.2%} matched one to "
        f"one at mask IoU >= 0.99, mean IoU {worst['mean_iou']:.4f}, "
        f"max predicted-IoU difference {worst['max_score_diff']:.2e}"
    )


if __name__ == "__main__":
    main()
