"""The GPU run (issue 26): everything samkit can measure on a lent GPU in one short, budgeted call.

    bash experiments/gpu/run.sh                          # on the GPU machine: installs .whl/, then this
    python experiments/gpu/run_gpu.py OUT                # the driver alone (CUDA; the kit on PYTHONPATH)
    python experiments/gpu/run_gpu.py OUT --dry-run      # CPU, tiny configs, seconds (tests/test_gpu_kit.py)

Parts, in order (``--parts``), each stopped at its share of ``--budget-s`` (`SHARES`, scaled; the
time a part leaves goes to the next), so that partial results always come back:

1. ``env``: provenance (`samkit.rows.provenance`), the kit's wheels against what is installed, and
   an import of every model package;
2. ``tests``: the CUDA tests (functions under ``skipif(not torch.cuda.is_available())``, found in
   ``tests/``) through pytest, junit XML kept;
3. ``perf``: every registered model, random weights, float32 eager: the benchmark protocol
   (`samkit.eval.benchmark.run_benchmark`): encoder (``set_image``) and decoder (``predict_point``,
   ``predict_box``, ``predict_boxes_batch``) median / p95 ms and peak ``max_memory_allocated`` MiB;
4. ``fast``: bfloat16 (one image and ``image_batch`` images per ``set_images`` call) and float32
   batched, with the agreement protocol against float32 eager (`samkit.eval.agreement`);
5. ``compile``: bfloat16 + the compiled encoder (`samkit.fast_settings.compile_encoder`; the
   compilation is ``compile_ms``, never timed), fastest fp32 encoders first, with agreement;
6. ``video``: the video benchmark protocol (`samkit.eval.video_benchmark`) per video model at its
   released input size (1024, or 512 for the ``*_512x512`` builds): fps, peak memory (mask
   prompts; SAM 3 also text rows at 1 and 8 instances, fps and memory vs instances);
7. ``generate``: automatic masks, samkit's generator against the upstream one, as
   ``experiments/bench_generate.py`` (decoder given structure by `samkit.testing.disk_masks` where
   the family allows it; the rows say which).

Models are taken round-robin over families (one of each family first), so a budget that runs out
still leaves every family measured. On CUDA the random weights are initialised on the GPU
(``torch.device`` context while loading: the same architecture and seed, other random values
than a CPU build, seconds instead of minutes for the large models); ``--no-init-on-device`` turns
that off. Every number comes from random weights and says so.

Outputs in OUT (at most 7 files: the device tool returns 8, run.sh adds run.log): ``summary.md``,
``perf.csv`` (every model and setting), ``video.csv``, ``generate.csv``, ``latency.png`` and
``bundle.tar.gz`` (the full report of `samkit.results.write_report`, every row as CSV, the
provenance, the kit check, the pytest log and junit XML). Progress goes to stdout as it happens.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import gc
import os
import pickle
import re
import signal
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(HERE) not in sys.path:  # run as `python -P run_gpu.py`: the script's folder is not on sys.path
    sys.path.insert(0, str(HERE))

PARTS = ("env", "tests", "perf", "fast", "compile", "video", "generate")
#: seconds of each timed part at the default 420 s budget, scaled to ``--budget-s``
SHARES = {"tests": 40, "perf": 110, "fast": 100, "compile": 60, "video": 60, "generate": 35}
#: seconds kept back from the parts for the tables, figures and bundle at the end
RESERVE_S = 15
#: the benchmark phases of one image (encoder, then the decoder's prompts)
IMAGE_PHASES = ["set_image", "predict_point", "predict_box", "predict_boxes_batch"]
#: the modules the kit brings (import names), checked by the ``env`` part
KIT_MODULES = (
    "samkit",
    "segment_anything",
    "mobile_sam",
    "segment_anything_hq",
    "efficientsam",
    "sam2",
    "hydra",
    "omegaconf",
    "pycocotools",
    "transformers",
    "ultralytics",
)
#: the files the driver writes into OUT (run.sh adds run.log: 7 + 1 <= the device tool's 8)
OUTPUT_FILES = ("summary.md", "perf.csv", "video.csv", "generate.csv", "latency.png", "bundle.tar.gz")


@dataclass
class Plan:
    """What each part runs. `gpu_plan`: the real run; `dry_plan`: the CPU smoke run."""

    device: str
    names: list[str]
    video_names: list[str]
    generate_names: list[str]
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-name samkit.load options
    image_size: int = 1024
    batch: int = 8
    warmup: int = 3
    repeats: int = 10
    image_batch: int = 8
    batch_warmup: int = 1  # set_images calls (image_batch images each) before / while timing
    batch_repeats: int = 5
    fast_dtype: str = "bfloat16"
    compile_options: dict[str, Any] | None = None
    agreement: dict[str, Any] = field(
        default_factory=lambda: {
            "synthetic_images": 2,
            "synthetic_size": (240, 320),
            "photos": ["astronaut", "chelsea"],
            "max_objects": 2,
        }
    )
    video: dict[str, Any] = field(
        default_factory=lambda: {
            "lengths": [32],
            "size": [480, 640],
            "video_storage": ["device"],
            "offload_state_to_cpu": [False],
            "warmup": True,
        }
    )
    #: instances of the text rows of models that track text concepts (SAM 3): fps vs instances
    video_text_objects: list[int] = field(default_factory=lambda: [1, 8])
    generate_points: int = 32
    generate_repeats: int = 2
    compile_names: list[str] | None = None  # None: plan.names, fastest float32 encoders first
    memory: bool = True  # peak memory per phase (on a CPU: peak RSS, slow to reset)
    run_tests: bool = True  # False: find the CUDA tests and show the pytest command, start nothing
    init_on_device: bool = True
    dry_run: bool = False


def round_robin(names: Sequence[str]) -> list[str]:
    """``names`` reordered one family at a time: the first of every family (registry order), then
    the second of every family, and so on."""
    import samkit

    by_family: dict[str, list[str]] = {}
    for name in names:
        by_family.setdefault(samkit.get_spec(name).family, []).append(name)
    out: list[str] = []
    while any(by_family.values()):
        for queue in by_family.values():
            if queue:
                out.append(queue.pop(0))
    return out


def gpu_plan(device: str = "cuda", pattern: str | None = None) -> Plan:
    """Every registered model (``pattern``: a regex on names), video and automatic-mask models."""
    import samkit

    names = [n for n in samkit.list_models() if pattern is None or re.search(pattern, n)]
    ordered = round_robin(names)
    caps = {n: samkit.get_spec(n).capabilities for n in names}
    return Plan(
        device=device,
        names=ordered,
        video_names=[n for n in ordered if "video" in caps[n]],
        generate_names=[n for n in ordered if "automatic" in caps[n]],
    )


def dry_plan() -> Plan:
    """A CPU smoke run of every part in seconds: SAM 3's tiny transformers config, tiny inputs, one
    repeat, no memory probe, the CUDA tests found but not started, compile through the ``eager``
    backend (dynamo traces, no code is generated)."""
    return Plan(
        device="cpu",
        names=["sam3"],
        video_names=["sam3"],
        generate_names=["sam3"],
        options={"sam3": {"config": "tiny"}},
        image_size=64,
        batch=2,
        warmup=0,
        repeats=1,
        image_batch=2,
        batch_warmup=0,
        batch_repeats=1,
        compile_options={"backend": "eager"},
        agreement={"synthetic_images": 1, "synthetic_size": (48, 64), "photos": [], "max_objects": 1},
        video={
            "lengths": [2],
            "size": [48, 64],
            "video_storage": ["device"],
            "offload_state_to_cpu": [False],
            "warmup": False,
        },
        video_text_objects=[1],
        generate_points=2,
        generate_repeats=1,
        memory=False,
        run_tests=False,
        dry_run=True,
    )


# ------------------------------------------------------------------------------ time and state


class Clock:
    """Wall-clock budget: part ``p`` ends at ``t0 + sum of the scaled shares up to p``."""

    def __init__(self, budget_s: float, parts: Sequence[str]) -> None:
        self.t0 = time.monotonic()
        self.budget_s = float(budget_s)
        timed_parts = [p for p in parts if p in SHARES]
        scale = max(self.budget_s - RESERVE_S, 1.0) / max(sum(SHARES[p] for p in timed_parts), 1)
        self.deadlines: dict[str, float] = {}
        total = 0.0
        for part in timed_parts:
            total += SHARES[part] * scale
            self.deadlines[part] = self.t0 + total

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def left(self, part: str) -> float:
        """Seconds until ``part``'s deadline (negative: past it)."""
        return self.deadlines.get(part, self.t0 + self.budget_s) - time.monotonic()


class Store:
    """Rows and part records of one run, saved to ``work`` after every model (a killed run keeps them)."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.frames: dict[str, list[Any]] = {}
        self.parts: dict[str, dict[str, Any]] = {}
        self.env: dict[str, Any] = {}

    def part(self, name: str) -> dict[str, Any]:
        return self.parts.setdefault(
            name, {"state": "not run", "seconds": 0.0, "done": [], "failed": {}, "skipped": [], "note": ""}
        )

    def add(self, part: str, frame: Any) -> None:
        if frame is not None and len(frame):
            self.frames.setdefault(part, []).append(frame)

    def rows(self, part: str) -> Any:
        import pandas as pd

        frames = self.frames.get(part, [])
        if not frames:
            return pd.DataFrame()
        with warnings.catch_warnings():  # all-NA columns of some frames: kept, as the row schema has them
            warnings.simplefilter("ignore", FutureWarning)
            return pd.concat(frames, ignore_index=True)

    def save(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        tmp = self.work / "state.pkl.tmp"
        with open(tmp, "wb") as f:
            pickle.dump({"frames": self.frames, "parts": self.parts, "env": self.env}, f)
        tmp.replace(self.work / "state.pkl")

    @classmethod
    def load(cls, work: Path) -> Store:
        store = cls(work)
        path = work / "state.pkl"
        if path.is_file():
            with open(path, "rb") as f:
                state = pickle.load(f)
            store.frames, store.parts, store.env = state["frames"], state["parts"], state["env"]
        return store


class Log:
    """Progress lines on stdout, ``[gpu <elapsed>s] ...``, flushed at once."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def __call__(self, message: str) -> None:
        print(f"[gpu {self.clock.elapsed():6.1f}s] {message}", flush=True)


def short_error(err: BaseException) -> str:
    lines = [line for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[0][:300] if lines else ''}"


def free_memory(device: str) -> None:
    import torch

    gc.collect()
    if torch.device(device).type == "cuda":
        torch.cuda.empty_cache()


def load_model(name: str, plan: Plan, log: Log, **kwargs: Any) -> Any:
    """``samkit.load(name, weights="random", seed=0, ...)`` on ``plan.device``; on CUDA built
    under ``torch.device(plan.device)`` (random init on the GPU) unless ``plan.init_on_device`` is
    off, falling back to a CPU build if that fails for a reason other than samkit's own errors."""
    import torch

    import samkit
    from samkit.errors import SamkitError

    options = {**plan.options.get(name, {}), **kwargs}
    common = {"weights": "random", "seed": 0, "device": plan.device, "download": False, "progress": False}
    if plan.init_on_device and torch.device(plan.device).type == "cuda":
        try:
            with torch.device(plan.device):
                model = samkit.load(name, **common, **options)
            smoke_test(model)  # a model built under the context that then fails is built again
            return model
        except SamkitError:
            raise
        except Exception as err:  # noqa: BLE001 - retried the ordinary way, said in the log
            log(f"  {name}: building on the GPU failed ({short_error(err)}); building on the CPU")
            model = None
            free_memory(plan.device)
    return samkit.load(name, **common, **options)


def smoke_test(model: Any) -> None:
    """One small `set_image` and one-point `predict` (64x64 grey image), then `reset_image`."""
    import numpy as np

    model.set_image(np.full((64, 64, 3), 128, np.uint8))
    model.predict(point_coords=np.array([[32, 32]]), point_labels=np.array([1]))
    model.reset_image()


def failure_frame(name: str, plan: Plan, protocol: str, err: BaseException, **fields: Any) -> Any:
    """One row recording that ``name`` could not be loaded or run for ``protocol``."""
    import samkit
    from samkit.eval.protocol import failure_row
    from samkit.rows import rows_to_frame

    base = {
        "model": name,
        "family": samkit.get_spec(name).family,
        "weights_kind": "random",
        "device": plan.device,
        "protocol": protocol,
        **fields,
    }
    return rows_to_frame([failure_row(base, err)])


def each_model(
    part: str, names: Sequence[str], clock: Clock, store: Store, log: Log, work: Callable[[str], str]
) -> None:
    """Run ``work(name) -> summary line`` for each name until ``part``'s deadline; record done /
    failed / skipped (budget) names and save the store after each."""
    from samkit.errors import failure_status

    rec = store.part(part)
    rec["state"] = "running"
    start = time.monotonic()
    for i, name in enumerate(names):
        if clock.left(part) <= 0:
            rec["skipped"] = list(names[i:])
            rec["note"] = f"budget spent: {len(names) - i} model(s) skipped"
            log(f"{part}: budget spent, skipping {', '.join(names[i:])}")
            break
        t = time.monotonic()
        try:
            line = work(name)
            rec["done"].append(name)
            log(f"{part} {name}: {line} ({time.monotonic() - t:.1f} s)")
        except KeyboardInterrupt:
            rec["failed"][name] = "interrupted"
            raise
        except Exception as err:  # noqa: BLE001 - recorded; the other models still run
            if failure_status(err) == "unsupported":  # e.g. FastSAM's encoder is not compiled
                rec.setdefault("unsupported", {})[name] = short_error(err)
                log(f"{part} {name}: unsupported: {short_error(err)}")
            else:
                rec["failed"][name] = short_error(err)
                log(f"{part} {name}: FAILED {short_error(err)} ({time.monotonic() - t:.1f} s)")
                traceback.print_exc(limit=3)
        finally:
            rec["seconds"] = time.monotonic() - start
            store.save()
    rec["state"] = "done"
    store.save()


# ------------------------------------------------------------------------------------- parts


def part_env(plan: Plan, clock: Clock, store: Store, log: Log) -> None:
    """Provenance, kit check (installed versions against .whl/MANIFEST.txt and the wheels'
    requirements against what is installed), and an import of every kit module."""
    import importlib
    import importlib.metadata as md

    import torch

    from samkit.rows import provenance

    start = time.monotonic()
    env: dict[str, Any] = {"provenance": provenance(), "plan": asdict(plan)}
    env["torch_settings"] = {
        "cuda_matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
    }
    kit = ROOT / ".whl"
    checks: list[dict[str, Any]] = []
    if (kit / "MANIFEST.txt").is_file():
        import make_kit

        for row in make_kit.read_manifest(kit):
            try:
                installed = md.version(str(row["name"]))
            except md.PackageNotFoundError:
                installed = None
            checks.append({"name": row["name"], "kit": row["version"], "installed": installed})
        try:
            versions = {make_kit.canonical(d.metadata["Name"]): d.version for d in md.distributions()}
            missing, left_out, unverified = make_kit.unmet_requirements(make_kit.read_kit(kit), versions)
            env["kit_requirements"] = {"unmet": missing, "left_out": left_out}
        except Exception as err:  # noqa: BLE001 - a check, not a requirement
            env["kit_requirements"] = {"error": short_error(err)}
    env["kit"] = checks
    modules: dict[str, str] = {}
    for module in KIT_MODULES:
        if plan.dry_run and module in ("ultralytics", "mobile_sam", "segment_anything_hq"):
            continue  # their imports take seconds on a small CPU; the GPU run checks them
        try:
            if module == "ultralytics":
                from samkit.backends.ultralytics import import_ultralytics

                mod = import_ultralytics()
            else:
                mod = importlib.import_module(module)
            modules[module] = f"{getattr(mod, '__version__', '?')} {Path(mod.__file__ or '?').parent}"
        except Exception as err:  # noqa: BLE001 - recorded and shown in the summary
            modules[module] = f"IMPORT FAILED: {short_error(err)}"
    env["modules"] = modules
    store.env.update(env)
    rec = store.part("env")
    rec.update(state="done", seconds=time.monotonic() - start)
    bad = [c["name"] for c in checks if c["installed"] != c["kit"]]
    failed = [m for m, v in modules.items() if v.startswith("IMPORT FAILED")]
    rec["note"] = (f"kit versions differ: {', '.join(bad)}; " if bad else "") + (
        f"imports failed: {', '.join(failed)}" if failed else ""
    )
    prov = env["provenance"]
    log(f"env: {prov['devices']}, torch {prov['torch']}, CUDA {prov['cuda']}, driver {prov['driver']}")
    for module, text in modules.items():
        log(f"  {module}: {text}")
    for check in checks:
        flag = "" if check["installed"] == check["kit"] else "   <-- differs"
        log(f"  kit {check['name']} {check['kit']}: installed {check['installed']}{flag}")
    for line in env.get("kit_requirements", {}).get("unmet", []):
        log(f"  unmet requirement: {line}")
    store.save()


def discover_cuda_tests(tests_dir: Path = ROOT / "tests") -> list[str]:
    """Node ids (``tests/x.py::test_y``, ``...::Class::test_y``, or a whole file) of the tests
    skipped without CUDA: ``skipif(not ...cuda.is_available(), ...)`` on the function, its class
    or the module's ``pytestmark``."""
    pattern = re.compile(r"skipif\(\s*not\s+[\w.]*cuda\.is_available\(\)")

    def needs_cuda(decorators: list[ast.expr]) -> bool:
        return any(pattern.search(ast.unparse(d)) for d in decorators)

    ids: list[str] = []
    for path in sorted(tests_dir.rglob("test_*.py")):
        rel = path.relative_to(tests_dir.parent).as_posix()
        tree = ast.parse(path.read_text(), filename=str(path))
        marks = [
            node.value
            for node in tree.body
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets)
        ]
        if any(pattern.search(ast.unparse(m)) for m in marks):
            ids.append(rel)
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                if needs_cuda(node.decorator_list):
                    ids.append(f"{rel}::{node.name}")
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                whole = needs_cuda(node.decorator_list)
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name.startswith("test"):
                        if whole or needs_cuda(item.decorator_list):
                            ids.append(f"{rel}::{node.name}::{item.name}")
    return ids


def pytest_command(ids: Sequence[str], junit: Path) -> list[str]:
    """The pytest command of the CUDA tests: the project's ``addopts`` dropped (no nbval on the GPU
    image, and the ``slow`` ones run too), no cache folder, junit XML into ``junit``."""
    cmd = [sys.executable, *(["-P"] if sys.flags.safe_path else []), "-m", "pytest", "-o", "addopts="]
    return [*cmd, "-p", "no:cacheprovider", "-q", "-rA", f"--junitxml={junit}", *ids]


def part_tests(plan: Plan, clock: Clock, store: Store, log: Log) -> None:
    """The CUDA tests (`discover_cuda_tests`) through pytest, stopped at the part's deadline."""
    rec = store.part("tests")
    start = time.monotonic()
    ids = discover_cuda_tests()
    rec["tests"] = ids
    cmd = pytest_command(ids, store.work / "cuda_tests.xml")
    log(f"tests: {len(ids)} CUDA test(s): {' '.join(cmd)}")
    if not plan.run_tests:
        rec.update(state="done", seconds=time.monotonic() - start, note="dry run: found, not started")
        store.save()
        return
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
    try:
        done = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=max(clock.left("tests"), 10.0), env=env
        )
        output, rc = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as err:
        output = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        rc = "timeout"
    (store.work / "pytest.log").write_text(output)
    print(output[-4000:], flush=True)
    last = [line for line in output.splitlines() if line.strip()][-1:] or [""]
    rec.update(state="done", seconds=time.monotonic() - start, returncode=rc, result=last[0].strip("= "))
    rec["note"] = f"pytest exit {rc}: {rec['result']}"
    log(f"tests: {rec['note']}")
    store.save()


def part_perf(plan: Plan, clock: Clock, store: Store, log: Log) -> None:
    """float32 eager, one image a call: the benchmark protocol's image phases per model."""
    from samkit.eval.benchmark import run_benchmark

    def work(name: str) -> str:
        try:
            model = load_model(name, plan, log)
        except Exception as err:
            store.add("perf", failure_frame(name, plan, "benchmark", err, phase="set_image", dtype="float32"))
            raise
        try:
            frame = run_benchmark(
                model,
                image_size=plan.image_size,
                batch=plan.batch,
                warmup=plan.warmup,
                repeats=plan.repeats,
                phases=IMAGE_PHASES,
                flops=False,
                memory=plan.memory,
            )
        finally:
            del model
            free_memory(plan.device)
        store.add("perf", frame)
        return _phase_line(frame)

    each_model("perf", plan.names, clock, store, log, work)


def _phase_line(frame: Any) -> str:
    """``encoder 12.3 ms, decoder 1.2 ms, peak 456 MiB`` (or the failures) of one benchmark frame."""
    by = {r["phase"]: r for r in frame.to_dict("records")}
    parts = []
    for phase, label in (("set_image", "encoder"), ("set_images", "per image"), ("predict_point", "decoder")):
        row = by.get(phase)
        if row is not None:
            ok = row.get("status") == "ok"
            parts.append(f"{label} {row['median_ms']:.2f} ms" if ok else f"{label} {row.get('status')}")
    peaks = [r.get("peak_mem_mib") for r in by.values() if r.get("status") == "ok"]
    peaks = [p for p in peaks if p is not None and p == p]
    if peaks:
        parts.append(f"peak {max(peaks):.0f} MiB")
    return ", ".join(parts)


def part_fast(plan: Plan, clock: Clock, store: Store, log: Log) -> None:
    """bfloat16 at one image and at ``image_batch`` images a call, float32 at ``image_batch``, and
    the agreement of bfloat16 with float32 eager. One model on the device while it is timed."""
    from samkit.eval.agreement import run_agreement
    from samkit.eval.benchmark import run_benchmark

    bench = {"image_size": plan.image_size, "batch": plan.batch, "flops": False, "memory": plan.memory}
    one_image = {**bench, "warmup": plan.warmup, "repeats": plan.repeats, "phases": IMAGE_PHASES}
    batched = {**bench, "warmup": plan.batch_warmup, "repeats": plan.batch_repeats, "phases": ["set_images"]}

    def work(name: str) -> str:
        lines = []
        held: dict[str, Any] = {}  # the loaded models; cleared (freed) before the next is timed
        try:
            held["fast"] = load_model(name, plan, log, dtype=plan.fast_dtype)
            one = run_benchmark(held["fast"], **one_image)
            many = run_benchmark(held["fast"], image_batch=plan.image_batch, **batched)
            store.add("fast", one)
            store.add("fast", many)
            lines.append(f"{plan.fast_dtype}: {_phase_line(one)}; batch {plan.image_batch}: {_phase_line(many)}")
            held["ref"] = load_model(name, plan, log)
            agreement = run_agreement(held["fast"], reference=held["ref"], **plan.agreement)
            store.add("fast", agreement)
            if len(agreement):
                lines.append(f"agreement mIoU {agreement['iou'].mean():.4f}")
            del held["fast"]
            free_memory(plan.device)
            ref_many = run_benchmark(held["ref"], image_batch=plan.image_batch, **batched)
            store.add("fast", ref_many)
            lines.append(f"float32 batch {plan.image_batch}: {_phase_line(ref_many)}")
        finally:
            held.clear()
            free_memory(plan.device)
        return "; ".join(lines)

    each_model("fast", plan.names, clock, store, log, work)


def compile_order(plan: Plan, store: Store) -> list[str]:
    """``plan.names`` by float32 encoder ms (the perf part's), fastest first (their compilation
    is the quickest); names without a measurement keep their order after them."""
    perf = store.rows("perf")
    speed: dict[str, float] = {}
    if len(perf) and "phase" in perf.columns:
        ok = perf[(perf["phase"] == "set_image") & (perf["status"] == "ok")]
        speed = dict(zip(ok["model"], ok["median_ms"].astype(float)))
    measured = sorted((n for n in plan.names if n in speed), key=lambda n: speed[n])
    return measured + [n for n in plan.names if n not in speed]


def part_compile(plan: Plan, clock: Clock, store: Store, log: Log) -> None:
    """``plan.fast_dtype`` + compiled encoder, one image a call, with its agreement. The model is
    built (on the GPU) first and compiled after, outside the ``torch.device`` context, as
    ``samkit.load(..., compile=True)`` does (`samkit.fast_settings.compile_encoder`)."""
    from samkit.errors import UnsupportedError
    from samkit.eval.agreement import run_agreement
    from samkit.eval.benchmark import run_benchmark
    from samkit.fast_settings import compile_encoder, encoder_module
    from samkit.loading import adapter_class
    from samkit.registry import get_spec

    def work(name: str) -> str:
        if adapter_class(get_spec(name)).encoder_path is None:  # before building it
            raise UnsupportedError(f"{name}: samkit cannot compile the {get_spec(name).family} family's encoder")
        model = load_model(name, plan, log, dtype=plan.fast_dtype)
        try:
            encoder_module(model)
            model.compile_ms = compile_encoder(model, plan.compile_options)
            model.compiled = True
            frame = run_benchmark(
                model,
                image_size=plan.image_size,
                batch=plan.batch,
                warmup=plan.warmup,
                repeats=plan.repeats,
                phases=["set_image", "predict_point"],
                flops=False,
                memory=plan.memory,
            )
            store.add("compile", frame)
            line = f"compiled in {model.compile_ms / 1e3:.1f} s; {_phase_line(frame)}"
            if clock.left("compile") > 0:
                ref = load_model(name, plan, log)
                try:
                    agreement = run_agreement(model, reference=ref, **plan.agreement)
                    store.add("compile", agreement)
                    if len(agreement):
                        line += f"; agreement mIoU {agreement['iou'].mean():.4f}"
                finally:
                    del ref
            return line
        finally:
            torch_reset()
            model = None
            free_memory(plan.device)

    names = plan.compile_names if plan.compile_names is not None else compile_order(plan, store)
    each_model("compile", names, clock, store, log, work)


def torch_reset() -> None:
    """Drop dynamo's caches of the last compiled model (each model compiles anew)."""
    import torch

    with contextlib.suppress(Exception):
        torch._dynamo.reset()


def part_video(plan: Plan, clock: Clock, store: Store, log: Log) -> None:
    """The video benchmark protocol per video model: fps and peak memory at float32 (mask prompts;
    models that track text concepts also text rows at ``plan.video_text_objects`` instances)."""
    import pandas as pd

    from samkit.eval.video_benchmark import run_video_benchmark

    def work(name: str) -> str:
        model = load_model(name, plan, log)
        try:
            frames = [run_video_benchmark(model, num_objects=1, progress=False, **plan.video)]
            if "text_video" in model.capabilities:
                frames.append(
                    run_video_benchmark(
                        model, num_objects=plan.video_text_objects, prompt=["text"], progress=False, **plan.video
                    )
                )
            frame = pd.concat(frames, ignore_index=True)
        finally:
            model = None
            free_memory(plan.device)
        store.add("video", frame)
        ok = frame[frame["status"] == "ok"] if "status" in frame.columns else frame.iloc[0:0]
        if not len(ok):
            errors = frame["error"].dropna().astype(str).tolist() if "error" in frame.columns else []
            return "no ok rows: " + "; ".join(errors[:2])
        return ", ".join(
            f"{r['prompt']} x{int(r['objects'])} {int(r['length'])} frames {r['video_storage']}: "
            f"{r['fps']:.1f} fps, peak {r['peak_mem_mib']:.0f} MiB"
            for r in ok.to_dict("records")
        )

    each_model("video", plan.video_names, clock, store, log, work)


def part_generate(plan: Plan, clock: Clock, store: Store, log: Log) -> None:
    """Automatic masks at ``points_per_side``: samkit's generator and the upstream one (where the
    family has one), timed by `samkit.metrics.perf.time_call` and measured by
    `measure_peak_memory`, their outputs compared by `samkit.testing.record_agreement`."""
    import numpy as np
    import pandas as pd

    from samkit.errors import ParameterError, UnsupportedError
    from samkit.eval.benchmark import benchmark_image
    from samkit.eval.protocol import failure_row, row_header
    from samkit.metrics.perf import measure_peak_memory, time_call
    from samkit.rows import new_run_id
    from samkit.testing import disk_masks, record_agreement
    from samkit.wording import RANDOM_WEIGHTS_WARNING

    image = benchmark_image(plan.image_size)
    run_id = new_run_id()

    def work(name: str) -> str:
        model = load_model(name, plan, log)
        rows, outputs, lines = [], {}, []
        try:
            with contextlib.ExitStack() as stack:
                try:
                    stack.enter_context(disk_masks(model.model))
                    structure = "disk_masks"
                except Exception:  # noqa: BLE001 - a family disk_masks cannot drive
                    structure = "plain random model"
                for engine in ("samkit", "upstream"):
                    base = {
                        **row_header(model, run_id, "generate", "benchmark", f"astronaut@{plan.image_size}"),
                        "engine": engine,
                        "structure": structure,
                        "image_size": plan.image_size,
                        "note": RANDOM_WEIGHTS_WARNING,
                    }
                    try:
                        params: dict[str, Any] = {"points_per_side": plan.generate_points}
                        try:
                            model.check_generate_params(engine, **params)
                        except ParameterError as err:  # (a TypeError too) e.g. FastSAM: no upstream generator
                            if "engine" not in str(err):
                                raise
                            raise UnsupportedError(f"{name}: no {engine} automatic mask generator") from err
                        except TypeError:  # a family without a point grid (FastSAM): its defaults
                            params = {}
                        model.check_generate_params(engine, **params)
                        model.generate(image[:128, :128], engine=engine, **({"points_per_side": 2} if params else {}))
                        out: dict[str, Any] = {}

                        def call(engine: str = engine, params: dict = params, out: dict = out) -> None:
                            out["records"] = model.generate(image, engine=engine, **params)

                        stats = time_call(call, model.device, warmup=0, repeats=plan.generate_repeats)
                        memory = measure_peak_memory(call if plan.memory else lambda: None, model.device)
                        outputs[engine] = out["records"]
                        rows.append(
                            {
                                **base,
                                **{f"generate_{k}": v for k, v in params.items()},
                                "median_ms": stats.median_ms,
                                "p95_ms": stats.p95_ms,
                                "repeats": stats.repeats,
                                "peak_mem_mib": memory.peak_mib if plan.memory else np.nan,
                                "mem_method": memory.method if plan.memory else "not measured",
                                "masks": len(out["records"]),
                                "status": "ok",
                            }
                        )
                        lines.append(f"{engine} {stats.median_ms:.0f} ms, {len(out['records'])} masks")
                    except Exception as err:  # noqa: BLE001 - recorded; the other engine still runs
                        rows.append(failure_row(base, err))
                        lines.append(f"{engine} {failure_row(base, err)['status']}")
                        free_memory(plan.device)
            if len(outputs) == 2 and rows[0]["status"] == rows[1]["status"] == "ok":
                agree = record_agreement(outputs["samkit"], outputs["upstream"])
                rows[0].update(
                    speedup_vs_upstream=rows[1]["median_ms"] / rows[0]["median_ms"],
                    matched_fraction=agree["matched_fraction"],
                    mean_iou_vs_upstream=agree["mean_iou"],
                )
                lines.append(f"speed-up {rows[0]['speedup_vs_upstream']:.2f}x")
        finally:
            model = None
            free_memory(plan.device)
        store.add("generate", pd.DataFrame(rows))
        return f"{structure}: " + ", ".join(lines)

    each_model("generate", plan.generate_names, clock, store, log, work)


PART_FUNCTIONS: dict[str, Callable[[Plan, Clock, Store, Log], None]] = {
    "env": part_env,
    "tests": part_tests,
    "perf": part_perf,
    "fast": part_fast,
    "compile": part_compile,
    "video": part_video,
    "generate": part_generate,
}


# --------------------------------------------------------------------------------------- main


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(out: Path, plan: Plan, parts: Sequence[str], budget_s: float, work: Path, log: Log | None = None) -> list[Path]:
    """Run ``parts`` of ``plan`` within ``budget_s``; write the outputs into ``out``; their paths."""
    from gpu_outputs import finalize

    clock = Clock(budget_s, parts)
    log = log or Log(clock)
    store = Store(work)
    store.env["plan"] = asdict(plan)
    store.save()
    try:
        for part in parts:
            log(f"== {part} (until {max(clock.left(part), 0) + clock.elapsed():.0f} s)")
            try:
                PART_FUNCTIONS[part](plan, clock, store, log)
            except KeyboardInterrupt:
                raise
            except Exception as err:  # noqa: BLE001 - one part failing never loses the others
                store.part(part).update(state="failed", note=short_error(err))
                log(f"{part}: FAILED {short_error(err)}")
                traceback.print_exc()
                store.save()
    except KeyboardInterrupt as err:
        log(f"interrupted ({err}); writing what there is")
        for rec in store.parts.values():
            if rec["state"] == "running":
                rec["state"] = "interrupted"
        store.save()
    return finalize(store, out, plan, clock.elapsed(), log)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", default=os.environ.get("OUT"), help="output folder (default: $OUT)")
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny configs, one repeat: a smoke run")
    parser.add_argument("--budget-s", type=float, default=420.0, help="wall-clock seconds for all parts")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--models", default=None, help="regex: only the registered names it matches")
    parser.add_argument("--device", default="cuda", help="torch device of the real run (default cuda)")
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a temp folder)")
    parser.add_argument("--no-init-on-device", action="store_true", help="build random weights on the CPU")
    parser.add_argument("--finalize-only", action="store_true", help="write OUT from --work's saved state")
    parser.add_argument("--warmup", type=int, default=None, help="untimed calls before timing (default 3)")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per phase (default 10)")
    parser.add_argument("--points-per-side", type=int, default=None, help="generate's grid (default 32)")
    args = parser.parse_args(argv)
    if not args.out:
        parser.error("give an output folder (or set $OUT)")
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {unknown}; parts: {', '.join(PARTS)}")
    out = Path(args.out)
    import tempfile

    work = args.work or Path(tempfile.mkdtemp(prefix="samkit-gpu-"))
    if args.finalize_only:
        from gpu_outputs import finalize

        clock = Clock(args.budget_s, parts)
        store = Store.load(work)
        plan = Plan(**store.env["plan"]) if store.env.get("plan") else dry_plan()
        finalize(store, out, plan, 0.0, Log(clock))
        return 0
    import torch

    if args.dry_run:
        plan = dry_plan()
        torch.set_num_threads(min(torch.get_num_threads(), 2))
    else:
        if torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
            print("[gpu] no CUDA device here: run with --dry-run, or --device cpu", file=sys.stderr)
            return 2
        plan = gpu_plan(args.device, args.models)
        plan.init_on_device = not args.no_init_on_device
    for key, value in (("warmup", args.warmup), ("repeats", args.repeats), ("generate_points", args.points_per_side)):
        if value is not None:
            setattr(plan, key, value)
    files = run(out, plan, parts, args.budget_s, work)
    print(f"[gpu] wrote {len(files)} file(s) into {out}: {', '.join(p.name for p in files)}", flush=True)
    print(f"[gpu] working folder (rows, report, logs): {work}", flush=True)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)  # `timeout` and the like: write what there is, then stop
    sys.exit(main())
