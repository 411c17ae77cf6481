"""Load test of the segmentation service (`samkit serve`): concurrent clients clicking on images.

Starts ``samkit serve`` on 127.0.0.1 (or targets a running loopback server with ``--url``), then
``--clients`` threads each upload one of ``--images`` synthetic images (several clients share an
image, so the encode-once path is exercised) and click ``--clicks`` times on it like an
interactive labeller: each click adds a point (foreground or background, seeded) to the last
ones and feeds back the previous mask's ``logits_id``; a session restarts every ``--session``
clicks. Click latency is the client's wall time of one ``POST /images/{id}/predict`` over HTTP
(ms, loopback; JSON and RLE included), reported as p50 / p95 with the server's decoder time and
its cache counters.

The clicks run twice: alone, then while another client keeps a ``POST /images/{id}/generate``
in flight on its own image (``--generate-params``), so the table shows what a running generate
costs a click (the service's generate lane hands the model to waiting clicks between its
chunks; see docs/serving.md). ``--compare-whole-lock`` adds a third run on a second server whose
generate holds the model for its whole call (``create_app(generate_handoff=False)``), the
behaviour before the lane. A click "overlaps" a generate when their client-side intervals
intersect. ``--no-generate``: the clicks-alone run only.

Afterwards every returned mask is checked against a direct ``predict`` in this process (the same
model, weights and seed; the same prompt chain, its own previous low-res logits as mask_input):
masks must be equal pixel for pixel, scores within 1e-4; every generate's masks must equal a
direct ``generate`` of its image with the same parameters (RLE for RLE). Exit status 1 on any mismatch.

    python experiments/load_serve.py                                  # 8 clients x 50 clicks, 4 images
    python experiments/load_serve.py --clients 4 --clicks 10          # a small run
    python experiments/load_serve.py --clients 2 --clicks 10 --compare-whole-lock
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
    t0: float = math.nan  # client-side start and end (time.perf_counter, s)
    t1: float = math.nan


@dataclass
class Generate:
    """One ``/generate`` of the background client and what came back."""

    t0: float
    t1: float
    masks: list[dict]
    generate_ms: float

    @property
    def latency_ms(self) -> float:
        return (self.t1 - self.t0) * 1e3


#: a server whose generate holds the model for the whole call (``generate_handoff=False``)
WHOLE_LOCK_SERVER = """
import json, sys
import samkit
from samkit.serve import run
a = json.loads(sys.argv[1])
model = samkit.load(a["model"], weights=a["weights"], seed=a["seed"], device=a["device"])
run(model, host="127.0.0.1", port=a["port"], cache_mib=a["cache_mib"], log_level="warning", generate_handoff=False)
"""


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


def start_server(args: argparse.Namespace, whole_lock: bool = False) -> tuple[subprocess.Popen, str]:
    """``samkit serve`` on 127.0.0.1; ``whole_lock``: a server whose generate holds the model for
    the whole call instead (started with `WHOLE_LOCK_SERVER`, not the CLI, which has no such option)."""
    port = (args.port or free_port()) if not whole_lock else free_port()
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
    if whole_lock:
        options = {"model": args.model, "weights": args.weights, "seed": args.seed, "device": args.device}
        cmd = [
            sys.executable,
            "-c",
            WHOLE_LOCK_SERVER,
            json.dumps({**options, "port": port, "cache_mib": args.cache_mib}),
        ]
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
    run: int = 0,
) -> list[Click]:
    """Client ``c``: upload its image, then ``args.clicks`` clicks in sessions of ``args.session``
    (``run``: which run of the benchmark, so that each run clicks elsewhere)."""
    image = c % len(files)
    rng = np.random.default_rng(args.seed * 1000 + c + 100_000 * run)
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
        click.t0 = time.perf_counter()
        r = http.post(f"/images/{ids[image]}/predict", json=body)
        click.t1 = time.perf_counter()
        click.latency_ms = (click.t1 - click.t0) * 1e3
        if r.status_code != 200:
            raise RuntimeError(f"client {c} click {n}: HTTP {r.status_code}: {r.text}")
        out = r.json()
        click.masks, click.scores, click.decoder_ms = out["masks"], out["scores"], out["decoder_ms"]
        logits_id, prev = out["logits_id"], len(clicks)
        clicks.append(click)
    return clicks


def run_generates(http, image_id: str, params: dict, stop: threading.Event, started: threading.Event) -> list[Generate]:
    """Keep one ``/generate`` of ``image_id`` in flight until ``stop`` (the one in flight then finishes)."""
    out: list[Generate] = []
    while True:
        t0 = time.perf_counter()
        started.set()
        r = http.post(f"/images/{image_id}/generate", json={"params": params})
        if r.status_code != 200:
            raise RuntimeError(f"generate: HTTP {r.status_code}: {r.text}")
        body = r.json()
        out.append(Generate(t0, time.perf_counter(), body["masks"], body["generate_ms"]))
        if stop.is_set():
            return out


def click_run(
    http,
    args: argparse.Namespace,
    ids: list[str],
    files: list[bytes],
    size: tuple[int, int],
    run: int,
    gen_id: str | None,
) -> tuple[list[list[Click]], list[Generate], float]:
    """All clients' clicks, with a generate kept in flight meanwhile when ``gen_id`` is given."""
    gens: list[Generate] = []
    stop, started = threading.Event(), threading.Event()
    with ThreadPoolExecutor(args.clients + 1) as pool:
        gen_future = None
        if gen_id is not None:
            gen_future = pool.submit(run_generates, http, gen_id, args.generate_params, stop, started)
            started.wait()
        barrier = threading.Barrier(args.clients)
        t0 = time.perf_counter()
        futures = [
            pool.submit(run_client, http, c, ids, files, [size] * args.images, args, barrier, run)
            for c in range(args.clients)
        ]
        try:
            all_clicks = [f.result() for f in futures]
        finally:
            stop.set()
        wall_s = time.perf_counter() - t0
        if gen_future is not None:
            gens = gen_future.result()
    return all_clicks, gens, wall_s


def row(name: str, all_clicks: list[list[Click]], gens: list[Generate], handoffs: int | None) -> dict:
    """One line of the table: click latency (all clicks, and those that overlapped a generate)."""
    clicks = [c for cs in all_clicks for c in cs]
    latencies = [c.latency_ms for c in clicks]
    overlapped = [c.latency_ms for c in clicks if any(c.t0 < g.t1 and g.t0 < c.t1 for g in gens)]
    out = {
        "run": name,
        "clicks": len(clicks),
        "overlapping_a_generate": len(overlapped),
        "click_p50_ms": round(statistics.median(latencies), 1),
        "click_p95_ms": round(percentile(latencies, 95), 1),
        "overlapping_p95_ms": round(percentile(overlapped, 95), 1) if overlapped else None,
        "decoder_p50_ms": round(statistics.median(c.decoder_ms for c in clicks), 1),
        "generates": len(gens),
        "generate_p50_ms": round(statistics.median(g.latency_ms for g in gens), 1) if gens else None,
        "handoffs": handoffs,
    }
    return out


def print_table(rows: list[dict], label: str) -> None:
    columns = [
        ("run", "run"),
        ("clicks", "clicks"),
        ("overlapping_a_generate", "overlap gen."),
        ("click_p50_ms", "click p50 ms"),
        ("click_p95_ms", "click p95 ms"),
        ("overlapping_p95_ms", "overlap. p95 ms"),
        ("decoder_p50_ms", "decoder p50 ms"),
        ("generates", "generates"),
        ("generate_p50_ms", "generate p50 ms"),
        ("handoffs", "handoffs"),
    ]
    cells = [[h for _, h in columns]] + [["-" if r[k] is None else str(r[k]) for k, _ in columns] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    print(f"\n{label}")
    for n, line in enumerate(cells):
        print(
            "| " + " | ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(line, widths))) + " |"
        )
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def load_direct(args: argparse.Namespace, served: dict):
    import samkit

    return samkit.load(args.model, weights=served["weights"], seed=args.seed, device=args.device or served["device"])


def verify_generates(gens: list[Generate], image: np.ndarray, model, params: dict) -> tuple[int, int]:
    """Compare every generate's masks with one direct ``generate``; ``(mismatches, checked)``."""
    from samkit.serve.service import _record

    expected = [_record(r) for r in model.generate(image, **params)]
    mismatches = 0
    for n, gen in enumerate(gens):
        same = len(gen.masks) == len(expected) and all(
            g["segmentation"] == e["segmentation"]
            and g["bbox"] == e["bbox"]
            and math.isclose(g["predicted_iou"], e["predicted_iou"], abs_tol=1e-4)
            for g, e in zip(gen.masks, expected)
        )
        if not same:
            mismatches += 1
            print(f"MISMATCH generate {n}: {len(gen.masks)} masks vs {len(expected)} direct", file=sys.stderr)
    return mismatches, len(gens)


def verify(
    all_clicks: list[list[Click]], images: list[np.ndarray], args: argparse.Namespace, served: dict, model=None
) -> tuple[int, int]:
    """Replay every client's clicks on a direct predictor of its image; ``(mismatches, checked)``."""
    from samkit.serve.codecs import rle_to_mask

    model = model if model is not None else load_direct(args, served)
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
    p.add_argument(
        "--generate-params",
        type=json.loads,
        default={"points_per_side": 16, "points_per_batch": 32, "pred_iou_thresh": 0.0},
        help="JSON generator parameters of the concurrent generate",
    )
    p.add_argument("--no-generate", dest="generate", action="store_false", help="only the clicks-alone run")
    p.add_argument(
        "--compare-whole-lock",
        action="store_true",
        help="also run clicks + generate on a server whose generate holds the model for the whole call",
    )
    p.add_argument("--label", default=None, help="the table's caption (default: device and weights)")
    p.add_argument("--no-verify", dest="verify", action="store_false")
    p.add_argument("--json", default=None, help="also write the summary to this JSON file")
    args = p.parse_args(argv)
    if min(args.clients, args.clicks, args.images, args.session) < 1:
        p.error("--clients, --clicks, --images and --session must be >= 1")
    if args.compare_whole_lock and (args.url is not None or not args.generate):
        p.error("--compare-whole-lock starts its own servers and needs the generate runs")
    height, width = (int(v) for v in args.size.lower().split("x"))

    import hashlib

    import httpx

    if args.url is not None and urlparse(args.url).hostname not in LOOPBACK:
        p.error("--url must be a loopback address (127.0.0.1, localhost, ::1)")
    # the clicked images, and one more for the generate (its encoder passes are its own)
    images = make_images(args.images + 1, height, width, args.seed)
    gen_image, images = images[-1], images[:-1]
    files = [png(im) for im in images]
    gen_file = png(gen_image)
    ids = [hashlib.sha256(d).hexdigest() for d in files]
    servers = [("lane", False)] + ([("whole", True)] if args.compare_whole_lock else [])
    rows, runs, served, gens_all = [], [], None, []
    run = 0
    for kind, whole_lock in servers:
        server = None
        if args.url is None:
            server, url = start_server(args, whole_lock)
        else:
            url = args.url.rstrip("/")
        try:
            limits = httpx.Limits(max_connections=args.clients + 4)
            with httpx.Client(base_url=url, timeout=600, limits=limits) as http:
                wait_healthy(http, server)
                served = http.get("/models").json()[0]
                if served["name"] != args.model:
                    raise SystemExit(f"the server runs {served['name']}, not {args.model}")
                before = http.get("/metrics").json()
                gen_id = None
                if args.generate:
                    r = http.post("/images", files={"file": ("generate.png", gen_file, "image/png")})
                    r.raise_for_status()
                    gen_id = r.json()["image_id"]
                plan = [("clicks alone", None)] if kind == "lane" else []
                if args.generate:
                    name = "clicks + generate (lane)" if kind == "lane" else "clicks + generate (whole-call lock)"
                    plan.append((name, gen_id))
                for name, gid in plan:
                    m0 = http.get("/metrics").json()
                    all_clicks, gens, wall_s = click_run(http, args, ids, files, (height, width), run, gid)
                    m1 = http.get("/metrics").json()
                    handoffs = m1.get("generate_handoffs", 0) - m0.get("generate_handoffs", 0) if gid else None
                    rows.append({**row(name, all_clicks, gens, handoffs), "wall_s": round(wall_s, 2)})
                    runs.append(all_clicks)
                    gens_all.extend(gens)
                    run += 1
                after = http.get("/metrics").json()
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
        if kind == "lane":
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
        "generate_params": args.generate_params if args.generate else None,
        **delta,
        "cpu_count": os.cpu_count(),
        "omp_threads": os.environ.get("OMP_NUM_THREADS"),
        "runs": rows,
    }
    status = 0
    if args.verify:
        model = load_direct(args, served)
        mismatches = checked = 0
        for all_clicks in runs:
            bad, n = verify(all_clicks, images, args, served, model)
            mismatches, checked = mismatches + bad, checked + n
        summary.update(verified=checked, mismatches=mismatches)
        if gens_all:
            bad, n = verify_generates(gens_all, gen_image, model, args.generate_params)
            summary.update(generates_verified=n, generate_mismatches=bad)
            mismatches += bad
        status = 1 if mismatches else 0
    for key, value in summary.items():
        if key != "runs":
            print(f"{key:>18}: {value}")
    label = args.label or f"{served['device']}, {served['weights']} weights"
    print_table(rows, f"{label}: {args.clients} clients x {args.clicks} clicks, {height}x{width} images")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    if status:
        print(
            f"FAILED: {summary.get('mismatches', 0)} click(s) and {summary.get('generate_mismatches', 0)} "
            "generate(s) differ from a direct call on their image",
            file=sys.stderr,
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
