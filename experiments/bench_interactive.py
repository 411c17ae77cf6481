"""Benchmark: the interactive protocol's cost, clicks per second, and where the time goes.

Each image is embedded once and every object and click reuses the embedding, so a 20-click run of
one object should cost about one encoder pass plus 20 decoder passes; the rest is the protocol's
own work (click simulation, IoU and boundary IoU). This script measures all three on synthetic
images with exact ground truth.

    python experiments/bench_interactive.py --model mobile_sam --clicks 20
"""

from __future__ import annotations

import argparse

import samkit
from samkit.data import SyntheticDataset
from samkit.eval import run_interactive
from samkit.metrics.perf import timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="mobile_sam")
    parser.add_argument("--device", default=None)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--size", type=int, nargs=2, default=(256, 320), metavar=("H", "W"))
    args = parser.parse_args()

    model = samkit.load(args.model, weights="random", device=args.device)
    data = SyntheticDataset(num_images=args.images, size=tuple(args.size), max_shapes=3, seed=0)
    run_interactive(model, [data[0]], max_clicks=1, progress=False)  # warm everything up
    rows, wall_ms = timed(
        lambda: run_interactive(model, data, max_clicks=args.clicks, warmup=False, progress=False), model.device
    )
    ok = rows[rows["status"] == "ok"]
    objects = ok.groupby(["image_id", "object_id"]).ngroups
    encoder = ok.drop_duplicates("image_id")["encoder_ms"]
    decoder_total = ok["decoder_ms"].sum()
    per_object = wall_ms / objects
    expected = encoder.median() + args.clicks * ok["decoder_ms"].median()
    print(
        f"model {model.name}, {model.weights}, device {model.device}; {len(data)} images "
        f"{args.size[0]}x{args.size[1]}, {objects} objects, {args.clicks} clicks each"
    )
    print(f"clicks per second (whole protocol, embeddings included): {len(ok) / wall_ms * 1e3:.1f}")
    print(f"encoder passes: {len(encoder)} (one per image), median {encoder.median():.0f} ms")
    print(f"decoder: median {ok['decoder_ms'].median():.1f} ms per click, {decoder_total:.0f} ms in all")
    print(
        f"protocol's own work (clicks, IoU, boundary IoU): "
        f"{wall_ms - encoder.sum() - decoder_total:.0f} ms in all, "
        f"{(wall_ms - encoder.sum() - decoder_total) / len(ok):.1f} ms per click"
    )
    print(
        f"a {args.clicks}-click run of one object costs {per_object:.0f} ms of wall time on average; "
        f"one encoder pass + {args.clicks} decoder passes = {expected:.0f} ms "
        f"(objects on one image share its encoder pass, so the wall time per object is lower when "
        f"images hold several objects)"
    )


if __name__ == "__main__":
    main()
