"""Benchmark: what a click on a large photo costs in the widget beyond the model's decoder.

For each photo (scikit-image's retina, 1411x1411, and a 2000x3000 tiling of the sample photos) and
model, interleaves, click by click:

- ``decoder_ms``: ``model.predict`` alone for the click (synchronised; the widget's own figure), and
- ``handler_ms``: the widget's whole Python-side handling of the same kind of click, as the browser
  triggers it by setting the ``points`` trait: predict, resizing the masks to the display copy,
  encoding them as 1-bit PNGs, and the trait update serialised onto a stand-in comm (JSON state +
  binary buffers, as ipykernel sends them; the websocket hop and the browser's decode/draw are not
  in it; the end-to-end test prints the browser's click->mask time).

It prints the medians and p95 of both, the overhead (handler - decoder) in ms, the encoding alone,
and the bytes sent per mask against the alternatives: raw bytes (1 per pixel), packed bits (H*W/8)
and a JSON list of lists. Random weights give real timings but texture-like masks that compress
worse than real object masks; a disk mask of the same size is shown as the object-like reference.

    python experiments/bench_widget.py                         # mobile_sam, CPU, random weights
    python experiments/bench_widget.py --models mobile_sam sam2.1_hiera_tiny --clicks 30 --device cuda
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from datetime import datetime
from pathlib import Path

import numpy as np

import samkit
from samkit.masks import encode_png
from samkit.metrics.perf import timed
from samkit.widgets import SegmentWidget
from samkit.widgets._state import DEFAULT_MAX_DISPLAY, resize_nearest


class SerializingComm:
    """A comm that does what ipykernel's does to a message before the socket: JSON + buffer copies."""

    comm_id = "bench"
    kernel = object()

    def __init__(self) -> None:
        self.json_bytes = 0
        self.buffer_bytes = 0
        self.messages = 0

    def send(self, data=None, buffers=None, **_):
        self.json_bytes += len(json.dumps(data, separators=(",", ":")).encode())
        self.buffer_bytes += sum(len(bytes(b)) for b in (buffers or []))
        self.messages += 1

    def on_msg(self, callback):
        pass

    def close(self, *_, **__):
        pass


def photos() -> dict[str, np.ndarray]:
    """retina (1411x1411) and the astronaut tiled to 2000x3000 (HxW)."""
    import skimage.data

    big = np.tile(skimage.data.astronaut(), (4, 6, 1))[:2000, :3000]
    return {
        "retina 1411x1411": np.ascontiguousarray(skimage.data.retina()),
        "tiled 2000x3000": np.ascontiguousarray(big),
    }


def _stats(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def bench(model, label: str, image: np.ndarray, clicks: int, max_display: int | None) -> dict:
    height, width = image.shape[:2]
    widget = SegmentWidget(model, image, max_display=max_display)
    comm = SerializingComm()
    widget.comm = comm
    rng = np.random.default_rng(0)
    points = [
        (float(x), float(y))
        for x, y in zip(rng.uniform(0.1, 0.9, clicks + 2) * width, rng.uniform(0.1, 0.9, clicks + 2) * height)
    ]

    def predict(pt):
        return model.predict(point_coords=[pt], point_labels=[1], multimask_output=True)

    def handle(pt):
        widget.points = [[pt[0], pt[1], 1]]  # what the browser's click does

    predict(points[0]), handle(points[1])  # warm-up, untimed
    decoder, handler, paired = [], [], []
    sent_before = (comm.json_bytes, comm.buffer_bytes, comm.messages)
    for i, pt in enumerate(points[2:]):
        order = ("d", "h") if i % 2 == 0 else ("h", "d")
        for which in order:
            _, ms = timed(lambda: predict(pt) if which == "d" else handle(pt), model.device)
            (decoder if which == "d" else handler).append(ms)
        paired.append(handler[-1] - widget.decoder_ms)  # the same click's own predict time
        assert widget.error == "", widget.error
    json_bytes = (comm.json_bytes - sent_before[0]) / clicks
    buffer_bytes = (comm.buffer_bytes - sent_before[1]) / clicks
    messages = (comm.messages - sent_before[2]) / clicks

    # encoding alone, and the alternatives' sizes, on the last masks
    masks = widget.masks
    dh, dw = widget.display_hw
    pngs, encode_ms = timed(lambda: [encode_png(resize_nearest(m, (dh, dw)), transparent=True) for m in masks])
    yy, xx = np.mgrid[:dh, :dw]
    disk = (xx - dw / 2) ** 2 + (yy - dh / 2) ** 2 < (min(dh, dw) / 4) ** 2
    list_json, list_ms = timed(lambda: json.dumps(resize_nearest(masks[0], (dh, dw)).astype(np.uint8).tolist()))

    d_med, d_p95 = _stats(decoder)
    h_med, h_p95 = _stats(handler)
    o_med, o_p95 = _stats(paired)
    return {
        "photo": label,
        "model": model.name,
        "weights": str(model.weights),
        "device": str(model.device),
        "image_hw": f"{height}x{width}",
        "display_hw": f"{dh}x{dw}",
        "clicks": clicks,
        "decoder_ms": d_med,
        "decoder_p95_ms": d_p95,
        "handler_ms": h_med,
        "handler_p95_ms": h_p95,
        "overhead_ms": o_med,
        "overhead_p95_ms": o_p95,
        "unpaired_difference_ms": h_med - d_med,
        "encode_3_masks_ms": encode_ms,
        "png_bytes_per_mask": float(np.mean([len(p) for p in pngs])),
        "disk_png_bytes": len(encode_png(disk, transparent=True)),
        "packed_bits_bytes": int(np.ceil(dw / 8) * dh),
        "raw_uint8_bytes": dh * dw,
        "json_list_bytes": len(list_json),
        "json_list_encode_ms": list_ms,
        "sent_buffer_bytes_per_click": buffer_bytes,
        "sent_json_bytes_per_click": json_bytes,
        "messages_per_click": messages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["mobile_sam"])
    parser.add_argument("--weights", default="random", choices=["random", "pretrained"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--clicks", type=int, default=20, help="timed clicks per side (interleaved)")
    parser.add_argument(
        "--max-display", type=int, default=DEFAULT_MAX_DISPLAY, help="longest side of the browser's copy; 0 = full size"
    )
    parser.add_argument("--out", default="outputs/bench")
    args = parser.parse_args()

    rows = []
    images = photos()
    for name in args.models:
        model = samkit.load(name, weights=args.weights, device=args.device)
        for label, image in images.items():
            rows.append(bench(model, label, image, args.clicks, args.max_display or None))
            r = rows[-1]
            print(
                f"{r['model']:<18} {label:<17} display {r['display_hw']:<10} "
                f"decoder {r['decoder_ms']:7.1f} ms (p95 {r['decoder_p95_ms']:.1f})  "
                f"widget handler {r['handler_ms']:7.1f} ms (p95 {r['handler_p95_ms']:.1f})  "
                f"overhead {r['overhead_ms']:.1f} ms (p95 {r['overhead_p95_ms']:.1f}; unpaired "
                f"difference of medians {r['unpaired_difference_ms']:+.1f})  "
                f"[encode 3 masks alone {r['encode_3_masks_ms']:.1f} ms]"
            )
            print(
                f"{'':<18} bytes per mask: PNG {r['png_bytes_per_mask']:,.0f} (object-like disk "
                f"{r['disk_png_bytes']:,}) vs packed bits {r['packed_bits_bytes']:,}, raw uint8 "
                f"{r['raw_uint8_bytes']:,}, JSON list of lists {r['json_list_bytes']:,} "
                f"({r['json_list_encode_ms']:.0f} ms to build); sent per click: "
                f"{r['sent_buffer_bytes_per_click']:,.0f} B of buffers + "
                f"{r['sent_json_bytes_per_click']:,.0f} B JSON in {r['messages_per_click']:.0f} message(s)"
            )

    import torch

    device = rows[0]["device"]
    cpu = platform.processor() or platform.machine()
    hardware = (
        torch.cuda.get_device_name(0) if device.startswith("cuda") else f"{cpu}, {torch.get_num_threads()} threads"
    )
    print(
        f"\ndevice {device} ({hardware}), weights {rows[0]['weights']} (random weights: real latency, "
        f"meaningless masks), torch {torch.__version__}; medians of {args.clicks} interleaved clicks "
        "after one warm-up. overhead = a click's widget handler time - that same click's own decoder "
        "time (paired; the unpaired difference of medians carries run-to-run noise). Python side "
        "only: the websocket and the browser's PNG decode + draw come on top (see the e2e test's "
        "click->mask figure)."
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"widget-{datetime.now():%Y-%m-%d_%H-%M-%S}.json"
    path.write_text(json.dumps({"rows": rows, "hardware": hardware, "torch": torch.__version__}, indent=1))
    print(f"Saved {path}")


if __name__ == "__main__":
    main()
