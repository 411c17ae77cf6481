"""Benchmark: samkit's set_image / predict against the upstream predictor on the same model.

Both wrap the same ``nn.Module`` in one process; calls are interleaved (ABAB, then BABA) so that
drift in machine load hits both sides alike. Reports median times (ms) per side, the relative
difference, and the cost of samkit's own code alone (image conversion, prompt validation, output
conversion), which is the part the wrapper adds. Budget: at most 2% on either call.

    python experiments/bench_wrapper.py                     # mobile_sam, sam2.1_hiera_tiny
    python experiments/bench_wrapper.py --models sam_vit_b --rounds 5 --device cuda
"""

from __future__ import annotations

import argparse
import platform
import statistics
from datetime import datetime
from pathlib import Path

import numpy as np

import samkit
from samkit.images import to_rgb_uint8
from samkit.metrics.perf import timed
from samkit.prompts import validate_prompts

BUDGET_PCT = 2.0


def _timed(fn, device) -> float:
    return timed(fn, device)[1]


def _interleave(ours, theirs, rounds: int, device) -> tuple[float, float]:
    ours(), theirs()  # warm-up, untimed
    a, b = [], []
    for i in range(rounds):
        if i % 2 == 0:
            a.append(_timed(ours, device))
            b.append(_timed(theirs, device))
        else:
            b.append(_timed(theirs, device))
            a.append(_timed(ours, device))
    return statistics.median(a), statistics.median(b)


def _own_cost_ms(fn, repeats: int = 200) -> float:
    """Host time of samkit's own Python work (no device work inside), per call."""
    return timed(lambda: [fn() for _ in range(repeats)])[1] / repeats


def bench_model(name: str, image: np.ndarray, device: str | None, rounds: int, predict_rounds: int) -> list[dict]:
    model = samkit.load(name, weights="random", device=device)
    upstream = type(model._predictor)(model.model)  # the same upstream predictor class, same module
    point = dict(point_coords=np.array([[image.shape[1] // 2, image.shape[0] // 2]]), point_labels=np.array([1]))
    rows = []
    set_ours, set_theirs = _interleave(
        lambda: model.set_image(image), lambda: upstream.set_image(image), rounds, model.device
    )
    own_set = _own_cost_ms(lambda: to_rgb_uint8(image))
    rows.append(dict(model=name, call="set_image", samkit_ms=set_ours, upstream_ms=set_theirs, own_code_ms=own_set))
    pred_ours, pred_theirs = _interleave(
        lambda: model.predict(**point), lambda: upstream.predict(**point), predict_rounds, model.device
    )
    masks, scores, low = upstream.predict(**point)
    own_pred = _own_cost_ms(
        lambda: (
            validate_prompts(image.shape[:2], **point),
            np.asarray(masks).astype(bool),
            np.asarray(scores, np.float32),
            np.asarray(low, np.float32),
        )
    )
    rows.append(
        dict(model=name, call="predict (1 point)", samkit_ms=pred_ours, upstream_ms=pred_theirs, own_code_ms=own_pred)
    )
    for row in rows:
        row["difference_pct"] = 100.0 * (row["samkit_ms"] / row["upstream_ms"] - 1.0)
        row["own_code_pct"] = 100.0 * row["own_code_ms"] / row["upstream_ms"]
        row["within_budget"] = row["own_code_pct"] <= BUDGET_PCT
        row.update(device=str(model.device), weights=str(model.weights), torch=__import__("torch").__version__)
    return rows


def main() -> None:
    import pandas as pd
    import skimage.data

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["mobile_sam", "sam2.1_hiera_tiny"])
    parser.add_argument("--device", default=None)
    parser.add_argument("--rounds", type=int, default=7, help="timed set_image calls per side")
    parser.add_argument("--predict-rounds", type=int, default=60, help="timed predict calls per side")
    parser.add_argument("--out", default="outputs/bench")
    args = parser.parse_args()

    image = skimage.data.astronaut()
    rows = []
    for name in args.models:
        rows += bench_model(name, image, args.device, args.rounds, args.predict_rounds)
    table = pd.DataFrame(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"wrapper-{datetime.now():%Y-%m-%d_%H-%M-%S}.csv"
    table.to_csv(path, index=False)
    cols = [
        "model",
        "call",
        "samkit_ms",
        "upstream_ms",
        "difference_pct",
        "own_code_ms",
        "own_code_pct",
        "within_budget",
    ]
    print(table[cols].round(3).to_string(index=False))
    print(
        f"\ndevice {table['device'].iloc[0]} ({platform.processor() or platform.machine()}), "
        f"random weights, image 512x512, medians of interleaved calls. difference_pct is end-to-end "
        f"and includes run-to-run noise; own_code_pct is samkit's own work alone (budget "
        f"{BUDGET_PCT}%).\nSaved {path}"
    )


if __name__ == "__main__":
    main()
