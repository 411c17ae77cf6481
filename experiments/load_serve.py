"""Load test of the segmentation service (`samkit serve`): concurrent clients clicking on images.

Starts ``samkit serve`` on 127.0.0.1 (or targets a running loopback server with ``--url``), then
``--clients`` threads each upload one of ``--images`` synthetic images (several clients share an
image, so the encode-once path is exercised) and click ``--clicks`` times on it like an
interactive labeller: each click adds a point (foreground or background, seeded) to the last
ones and feeds back the previous mask's ``logits_id``; a session restarts every ``--session``
clicks. Click latency is the client's wall time of one ``POST /images/{id}/predict`` over HTTP
(ms, loopback; JSON and RLE included), reported as p50 / p95 with the server's decoder time and
its cache counters.

Afterwards every returned mask is checked against a direct ``predict`` in this process (the same
model, weights and seed; the same prompt chain, its own previous low-res logits as mask_input):
masks must be equal pixel for pixel, scores within 1e-4. Exit status 1 on any mismatch.

    python experiments/load_serve.py                                  # 8 clients x 50 clicks, 4 images
    python experiments/load_serve.py --clients 4 --clicks 10          # a small run
    python experiments/load_serve.py --url http://127.0.0.1:8000 --weights pretrained

Loopback only. With random weights the masks are meaningless, but latency and the cross-talk
check are real.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Click:
    """One request of a client and what came back."""

    image: int
    points: list[list[float]]
    labels: list[int]
    prev: int | None  # index (in the client's list) of the click whose logits were fed back
    latency_ms: float = math.nan
    masks: list[dict] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    decoder_ms: float = math.nan


def make_images(n: int, height: int, width: int, seed: int) -> list[np.ndarray]:
    """``n`` seeded noise images with a few bright rectangles each (HxWx3 uint8)."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(n):
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        for _ in range(3):
            h, w = rng.integers(height // 6, height // 2), rng.integers(width // 6, width // 2)
            y, x = rng.integers(0, height - h), rng.integers(0, width - w)
            image[y : y + h, x : x + w] = rng.integers(0, 256, 3)
        images.append(image)
    return images


def png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100])."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    port = args.port or free_port()
    cmd = [
        sys.executable,
        "-m",
        "samkit.cli",
        "serve",
        "--model",
        args.model,
        "--weights",
        args.weights,
        "--seed",
        str(args.seed),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--cache-mib",
        str(args.cache_mib),
        "--log-level",
        "warning",
    ]
    if args.device:
        cmd += ["--device", args.device]
    import torch

    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(torch.get_num_threads()))}
    root = Path(__file__).resolve().parents[1]
    server = subprocess.Popen(cmd, env=env, cwd=root)
    return server, f"http://127.0.0.1:{port}"


def wait_healthy(http, server: subprocess.Popen | None, timeout_s: float = 300) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}")
        try:
            if http.get("/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not become healthy")


def run_client(
    http,
    c: int,
    ids: list[str],
    files: list[bytes],
    sizes: list[tuple[int, int]],
    args: argparse.Namespace,
    start: threading.Barrier,
) -> list[Click]:
    """Client ``c``: upload its image, then ``args.clicks`` clicks in sessions of ``args.session``."""
    image = c % len(files)
    rng = np.random.default_rng(args.seed * 1000 + c)
    height, width = sizes[image]
    start.wait()
    r = http.post("/images", files={"file": (f"image{image}.png", files[image], "image/png")})
    r.raise_for_status()
    assert r.json()["image_id"] == ids[image]
    clicks: list[Click] = []
    points: list[list[float]] = []
    labels: list[int] = []
    logits_id, prev = None, None
    for n in range(args.clicks):
        if n % args.session == 0:
            points, labels, logits_id, prev = [], [], None, None
        points = points + [[float(rng.integers(0, width)), float(rng.integers(0, height))]]
        labels = labels + [1 if len(labels) == 0 else int(rng.integers(0, 2))]
        click = Click(image, points, labels, prev)
        body = {"points": points, "labels": labels, "multimask": args.multimask}
        if logits_id is not None:
            body["logits_id"] = logits_id
        t0 = time.perf_counter()
        r = http.post(f"/images/{ids[image]}/predict", json=body)
        click.latency_ms = (time.perf_counter() - t0) * 1e3
        if r.status_code != 200:
            raise RuntimeError(f"client {c} click {n}: HTTP {r.status_code}: {r.text}")
        out = r.json()
        click.masks, click.scores, click.decoder_ms = out["masks"], out["scores"], out["decoder_ms"]
        logits_id, prev = out["logits_id"], len(clicks)
        clicks.append(click)
    return clicks


def verify(
    all_clicks: list[list[Click]], images: list[np.ndarray], args: argparse.Namespace, served: dict
) -> tuple[int, int]:
    """Replay every client's clicks on a direct predictor of its image; ``(mismatches, checked)``."""
    import samkit
    from samkit.serve.codecs import rle_to_mask

    weights = served["weights"]
    model = samkit.load(args.model, weights=weights, seed=args.seed, device=args.device or served["device"])
    direct = []
    for image in images:
        sibling = model._sibling()
        sibling.set_image(image)
        direct.append(sibling)
    mismatches = checked = 0
    for c, clicks in enumerate(all_clicks):
        low_res: list[np.ndarray] = []
        for n, click in enumerate(clicks):
            mask_input = None
            if click.prev is not None:
                prev_scores = clicks[click.prev].scores
                mask_input = low_res[click.prev][int(np.argmax(prev_scores))][None]
            masks, scores, logits = direct[click.image].predict(
                point_coords=click.points,
                point_labels=click.labels,
                mask_input=mask_input,
                multimask_output=args.multimask,
            )
            low_res.append(logits)
            got = np.stack([rle_to_mask(m) for m in click.masks])
            checked += 1
            same = (
                got.shape == masks.shape
                and np.array_equal(got, masks)
                and np.allclose(click.scores, scores, rtol=0, atol=1e-4)
            )
            if not same:
                mismatches += 1
                diff = int((got != masks).sum()) if got.shape == masks.shape else -1
                print(
                    f"MISMATCH client {c} click {n} image {click.image}: {diff} pixels differ, "
                    f"scores {click.scores} vs {scores.tolist()}",
                    file=sys.stderr,
                )
    return mismatches, checked


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default=None, help="a running loopback server (default: start one)")
    p.add_argument("--model", default="mobile_sam")
    p.add_argument("--weights", default="random", choices=("random", "pretrained", "auto"))
    p.add_argument("--seed", type=int, default=0, help="weights seed (random) and click seed")
    p.add_argument("--device", default=None)
    p.add_argument("--port", type=int, default=0, help="port of a started server (default: a free one)")
    p.add_argument("--cache-mib", type=float, default=2048)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--clicks", type=int, default=50, help="clicks per client")
    p.add_argument("--images", type=int, default=4)
    p.add_argument("--size", default="480x640", help="image HxW, e.g. 480x640")
    p.add_argument("--session", type=int, default=5, help="clicks per object before starting over")
    p.add_argument("--multimask", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--no-verify", dest="verify", action="store_false")
    p.add_argument("--json", default=None, help="also write the summary to this JSON file")
    args = p.parse_args(argv)
    if min(args.clients, args.clicks, args.images, args.session) < 1:
        p.error("--clients, --clicks, --images and --session must be >= 1")
    height, width = (int(v) for v in args.size.lower().split("x"))

    import httpx

    server = None
    if args.url is None:
        server, url = start_server(args)
    else:
        url = args.url.rstrip("/")
        if urlparse(url).hostname not in LOOPBACK:
            p.error("--url must be a loopback address (127.0.0.1, localhost, ::1)")
    images = make_images(args.images, height, width, args.seed)
    files = [png(im) for im in images]
    import hashlib

    ids = [hashlib.sha256(d).hexdigest() for d in files]
    try:
        with httpx.Client(base_url=url, timeout=600, limits=httpx.Limits(max_connections=args.clients + 4)) as http:
            wait_healthy(http, server)
            served = http.get("/models").json()[0]
            if served["name"] != args.model:
                raise SystemExit(f"the server runs {served['name']}, not {args.model}")
            before = http.get("/metrics").json()
            barrier = threading.Barrier(args.clients)
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                futures = [
                    pool.submit(run_client, http, c, ids, files, [(height, width)] * args.images, args, barrier)
                    for c in range(args.clients)
                ]
                all_clicks = [f.result() for f in futures]
            wall_s = time.perf_counter() - t0
            after = http.get("/metrics").json()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    latencies = [c.latency_ms for clicks in all_clicks for c in clicks]
    decoder = [c.decoder_ms for clicks in all_clicks for c in clicks]
    delta = {
        k: after[k] - before[k]
        for k in ("cache_hits", "cache_misses", "encoder_calls", "decoder_calls", "encoder_ms_total")
    }
    summary = {
        "model": args.model,
        "weights": served["weights"],
        "device": served["device"],
        "clients": args.clients,
        "clicks_per_client": args.clicks,
        "images": args.images,
        "image_hw": [height, width],
        "clicks": len(latencies),
        "wall_s": round(wall_s, 2),
        "clicks_per_s": round(len(latencies) / wall_s, 2),
        "click_p50_ms": round(statistics.median(latencies), 1),
        "click_p95_ms": round(percentile(latencies, 95), 1),
        "decoder_p50_ms": round(statistics.median(decoder), 1),
        "decoder_p95_ms": round(percentile(decoder, 95), 1),
        **delta,
        "cpu_count": os.cpu_count(),
        "omp_threads": os.environ.get("OMP_NUM_THREADS"),
    }
    status = 0
    if args.verify:
        mismatches, checked = verify(all_clicks, images, args, served)
        summary.update(verified=checked, mismatches=mismatches)
        status = 1 if mismatches else 0
    for key, value in summary.items():
        print(f"{key:>18}: {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    if status:
        print(
            f"FAILED: {summary['mismatches']} of {summary['verified']} masks differ from a direct "
            "predict on their image",
            file=sys.stderr,
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
