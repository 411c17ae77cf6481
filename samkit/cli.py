"""The ``samkit`` command: ``samkit models``, ``samkit detectors``, ``samkit taggers``,
``samkit weights download NAME|all``, ``samkit weights verify``, ``samkit serve --model NAME``,
``samkit score vos --benchmark B --gt DIR --pred DIR``, ``samkit score saco --gt G --pred P [--video]``."""

from __future__ import annotations

import argparse
import sys

from samkit.errors import SamkitError
from samkit.registry import REGISTRY, get_spec, list_models

__all__ = ["main"]


def _names(args: list[str]) -> list[str]:
    """Model (or detector, or tagger) names of the arguments: names, wildcards, or ``all`` (all models)."""
    from samkit.detectors.registry import DETECTORS, list_detectors
    from samkit.taggers.registry import TAGGERS, list_taggers

    if not args or args == ["all"]:
        return list_models()
    names: list[str] = []
    for arg in args:
        if any(c in arg for c in "*?["):
            matched = list_models(arg) + list_detectors(arg) + list_taggers(arg)
        else:
            matched = [arg if arg in DETECTORS or arg in TAGGERS else get_spec(arg).name]
        if not matched:
            raise SamkitError(f"No registered model, detector or tagger matches {arg!r}.")
        names.extend(n for n in matched if n not in names)
    return names


def _bounded(kind: type, low: float | None = None, high: float | None = None, low_open: bool = False):
    """An argparse ``type``: the text parsed as ``kind`` (int or float) and checked against its range
    (`samkit.params`); argparse prints ``argument --port: must be an integer in [1, 65535], got '0'``."""
    from samkit.errors import ParameterError
    from samkit.params import check_int, check_number

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = text  # refused below, with the range in the message
        try:
            if kind is int:
                return check_int("value", value, low=low, high=high)
            return check_number("value", value, low=low, high=high, low_open=low_open)
        except ParameterError as err:
            raise argparse.ArgumentTypeError(str(err).removeprefix("value ")) from None

    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse


def _spec(name: str):
    """The model spec, or the detector or tagger spec, of a registered name."""
    from samkit.detectors.registry import DETECTORS
    from samkit.taggers.registry import TAGGERS

    if name in TAGGERS:
        return TAGGERS[name]
    return DETECTORS[name] if name in DETECTORS else REGISTRY[name]


def _cmd_detectors(ns: argparse.Namespace) -> int:
    from samkit.detectors.registry import get_detector_spec, list_detectors
    from samkit.weights import checkpoint_dir, verify

    names = list_detectors(ns.pattern)
    rows = [(n, get_detector_spec(n)) for n in names]
    width = max([len(n) for n in names] + [4])
    print(f"{'name':<{width}}  {'kind':<10}  {'family':<14}  {'license':<10}  {'checkpoint':<11}  weights")
    for n, s in rows:
        print(
            f"{n:<{width}}  {s.kind:<10}  {s.family:<14}  {s.license:<10}  "
            f"{verify(s).status:<11}  {s.hub_repo or s.url}"
        )
    print(f"\ncheckpoint folder: {checkpoint_dir()}  (download with `samkit weights download NAME`)")
    return 0


def _cmd_taggers(ns: argparse.Namespace) -> int:
    from samkit.taggers.registry import get_tagger_spec, list_taggers
    from samkit.weights import checkpoint_dir, verify

    names = list_taggers(ns.pattern)
    width = max([len(n) for n in names] + [4])
    print(f"{'name':<{width}}  {'family':<8}  {'license':<10}  {'checkpoint':<11}  weights")
    for n in names:
        s = get_tagger_spec(n)
        print(f"{n:<{width}}  {s.family:<8}  {s.license:<10}  {verify(s).status:<11}  {s.hub_repo or s.url}")
    print(f"\ncheckpoint folder: {checkpoint_dir()}  (download with `samkit weights download NAME`)")
    return 0


def _cmd_models(ns: argparse.Namespace) -> int:
    import pandas as pd

    from samkit.catalog import model_table
    from samkit.weights import checkpoint_dir

    table = model_table(ns.pattern, count=ns.count)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string())
    print(f"\ncheckpoint folder: {checkpoint_dir()}  (set SAMKIT_CHECKPOINTS to change it)")
    return 0


def _fetch_parts(spec, path, progress: bool) -> None:
    """A detector's files besides its checkpoint (YOLOE's text encoder), downloaded too."""
    from samkit.detectors.registry import DetectorSpec

    if isinstance(spec, DetectorSpec):
        from samkit.detectors.base import detector_class

        detector_class(spec).fetch_parts(spec, str(path), download=True, progress=progress)


def _cmd_download(ns: argparse.Namespace) -> int:
    from samkit.weights import default_path, download, verify

    failed = 0
    for name in _names(ns.names):
        spec = _spec(name)
        if verify(spec).status in ("ok", "unpublished"):  # a file, or a complete hub folder
            print(f"{name}: already present at {default_path(spec)}")
            continue
        try:
            path = download(spec, progress=not ns.quiet)
            _fetch_parts(spec, path, progress=not ns.quiet)
            print(f"{name}: downloaded and verified -> {path}")
        except SamkitError as err:
            print(f"{name}: FAILED: {err}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _cmd_verify(ns: argparse.Namespace) -> int:
    from samkit.weights import verify

    names = _names(ns.names)
    results = [verify(_spec(n)) for n in names]
    width = max(len(n) for n in names)
    for r in results:
        print(f"{r.name:<{width}}  {r.status:<11}  {r.path}")
    bad = [r for r in results if r.status == "mismatch"]
    if bad:
        print(
            f"\n{len(bad)} checkpoint(s) do not match the published SHA-256: delete them and run "
            "`samkit weights download NAME`.",
            file=sys.stderr,
        )
    if ns.strict and any(r.status == "missing" for r in results):
        return 1
    return 1 if bad else 0


def _cmd_serve(ns: argparse.Namespace) -> int:
    from samkit.loading import load
    from samkit.serve import run

    if ns.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"samkit serve: listening on {ns.host}, not loopback: anyone who can reach it can use "
            "the model (there is no authentication).",
            file=sys.stderr,
        )
    model = load(ns.model, weights=ns.weights, device=ns.device, dtype=ns.dtype, seed=ns.seed)
    print(f"samkit serve: {model!r} on http://{ns.host}:{ns.port} (API docs at /docs)", flush=True)
    run(
        model,
        host=ns.host,
        port=ns.port,
        cache_mib=ns.cache_mib,
        max_upload_mib=ns.max_upload_mib,
        log_level=ns.log_level,
    )
    return 0


def _option(text: str) -> tuple[str, object]:
    """An argparse ``type`` for ``--option KEY=VALUE``: VALUE read as JSON (``4``, ``true``,
    ``["a", "b"]``), else kept as text."""
    import json

    key, sep, value = text.partition("=")
    if not sep or not key.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"must be KEY=VALUE with KEY an option name, got {text!r}")
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    return key.strip(), parsed


def _jsonable(value):
    """``value`` with numpy scalars as Python numbers, NaN/inf as None and tuples as lists."""
    import math

    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_score(path: str, record: dict, per_object=None) -> None:
    """``record`` as JSON at ``path`` and, when given, the per-object table as ``<stem>_per_object.csv``
    beside it; both written atomically."""
    import json
    from pathlib import Path

    from samkit.atomic import atomic_write_text

    out = Path(path)
    atomic_write_text(out, json.dumps(_jsonable(record), indent=2, allow_nan=False) + "\n")
    print(f"wrote {out}")
    if per_object is not None:
        csv = out.with_name(f"{out.stem}_per_object.csv")
        atomic_write_text(csv, per_object.to_csv(index=False))
        print(f"wrote {csv}")


def _write_rows_csv(path, rows: list[dict]) -> None:
    """``rows`` (dicts) as CSV at ``path``, columns in order of first appearance; NaN as empty."""
    import csv
    import io

    from samkit.atomic import atomic_write_text

    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in _jsonable(row).items()} for row in rows)
    atomic_write_text(path, buffer.getvalue())
    print(f"wrote {path}")


def _print_summary(summary: dict, notes: dict | None = None) -> None:
    """The summary as ``key  value`` lines (6 significant digits), then the notes."""
    import json

    width = max([len(str(k)) for k in summary] + [1])
    for key, value in summary.items():
        shown = f"{value:.6g}" if isinstance(value, int | float) else json.dumps(_jsonable(value))
        print(f"{key:<{width}}  {shown}")
    for key, value in (notes or {}).items():
        print(f"  note {key}: {value if isinstance(value, str) else json.dumps(_jsonable(value))}")


def _vos_scorer(benchmark: str):
    """The scorer function of a VOS benchmark (`samkit.metrics.scoring.VOS_BENCHMARKS`)."""
    import importlib

    from samkit.errors import ParameterError
    from samkit.metrics.scoring import VOS_BENCHMARKS

    if benchmark not in VOS_BENCHMARKS:
        raise ParameterError(f"--benchmark must be one of {', '.join(VOS_BENCHMARKS)}; got {benchmark!r}")
    module, _, function = VOS_BENCHMARKS[benchmark].partition(":")
    try:
        return getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError) as err:
        raise SamkitError(f"the {benchmark} scorer ({VOS_BENCHMARKS[benchmark]}) cannot be loaded: {err}") from None


def _cmd_score_vos(ns: argparse.Namespace) -> int:
    import inspect

    from samkit.errors import ParameterError
    from samkit.metrics.scoring import score_vos

    params = inspect.signature(_vos_scorer(ns.benchmark)).parameters
    options = dict(ns.option or [])
    if ns.num_processes is not None:
        options["num_processes"] = ns.num_processes
    allowed = [n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY and n != "progress"]
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = [k for k in options if k not in allowed]
        if unknown:
            raise ParameterError(
                f"{ns.benchmark} takes no option {', '.join(map(repr, unknown))}; its options: "
                f"{', '.join(allowed) or 'none'}"
            )
    if "progress" in params:
        options["progress"] = not ns.quiet
    try:
        score = score_vos(ns.gt, ns.pred, ns.benchmark, **options)
    except OSError as err:  # a file or folder the scorer needs (e.g. MOSEv2's meta.json)
        raise SamkitError(str(err)) from None
    print(f"{score.benchmark}: {len(score.per_object)} objects scored")
    _print_summary(score.summary, score.notes)
    if ns.json:
        _write_score(ns.json, score.to_json(), score.per_object)
    return 0


def _cmd_score_saco(ns: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from samkit.errors import ParameterError

    for flag, paths in (("--gt", ns.gt), ("--pred", [ns.pred])):
        for path in paths:
            if not Path(path).is_file():
                what = "is a folder, not a file" if Path(path).exists() else "does not exist"
                raise ParameterError(f"{flag} {path!r} {what}")
    try:
        from samkit.metrics.scoring.saco import score_saco
    except ImportError as err:
        raise SamkitError(f"SA-Co scoring (samkit.metrics.scoring.saco) cannot be loaded: {err}") from None
    kind = "video" if ns.video else "image"
    try:
        result = score_saco(ns.gt[0] if len(ns.gt) == 1 else list(ns.gt), ns.pred, kind=kind)
    except (OSError, json.JSONDecodeError) as err:  # unreadable files
        raise SamkitError(f"{type(err).__name__}: {err}") from None
    if kind == "video":
        rows = result["video_np_results"]
        print(f"saco_video: {len(rows)} video-phrase pairs scored")
        _print_summary(dict(result["dataset_results"]))
        if ns.json:
            record = {"benchmark": "saco_video", "summary": result["dataset_results"], "video_np_results": rows}
            _write_score(ns.json, record)
            _write_rows_csv(Path(ns.json).with_name(f"{Path(ns.json).stem}_per_video_phrase.csv"), rows)
        return 0
    per_object = getattr(result, "per_object", None)
    if hasattr(result, "summary"):  # a VOSScore-like result
        _print_summary(dict(result.summary), dict(getattr(result, "notes", {}) or {}))
        record = result.to_json() if hasattr(result, "to_json") else {"summary": dict(result.summary)}
    else:
        _print_summary(dict(result))
        record = {"summary": dict(result)}
    if ns.json:
        _write_score(ns.json, {"benchmark": f"saco_{kind}", **record}, per_object)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="samkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("models", help="table of registered models and their checkpoint status")
    p.add_argument("pattern", nargs="?", default=None, help="wildcard on names, e.g. 'sam2*'")
    p.add_argument("--count", action="store_true", help="also count parameters by building each model")
    p.set_defaults(func=_cmd_models)
    p = sub.add_parser("detectors", help="table of registered detectors and their checkpoint status")
    p.add_argument("pattern", nargs="?", default=None, help="wildcard on names, e.g. 'yolo11*'")
    p.set_defaults(func=_cmd_detectors)
    p = sub.add_parser("taggers", help="table of registered image taggers and their checkpoint status")
    p.add_argument("pattern", nargs="?", default=None, help="wildcard on names, e.g. 'clip_*'")
    p.set_defaults(func=_cmd_taggers)
    weights = sub.add_parser("weights", help="download or verify checkpoints")
    wsub = weights.add_subparsers(dest="weights_command", required=True)
    d = wsub.add_parser("download", help="download official checkpoints (NAME, wildcard or 'all')")
    d.add_argument("names", nargs="+")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=_cmd_download)
    v = wsub.add_parser("verify", help="check present checkpoints against their published SHA-256")
    v.add_argument("names", nargs="*", help="models to check (default: all)")
    v.add_argument("--strict", action="store_true", help="also fail when a checkpoint is missing")
    v.set_defaults(func=_cmd_verify)
    s = sub.add_parser("serve", help="serve a model over HTTP (FastAPI + uvicorn; see samkit.serve)")
    s.add_argument("--model", required=True, help="registered model name, e.g. mobile_sam")
    s.add_argument(
        "--weights",
        choices=("auto", "pretrained", "random"),
        default="auto",
        help="auto: the checkpoint when present, else seeded random weights (see samkit.wording)",
    )
    s.add_argument("--seed", type=_bounded(int, low=0), default=0, help="seed of random weights")
    s.add_argument("--device", default=None, help="cpu, cuda, cuda:1... (default: CUDA if available)")
    s.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    s.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: loopback)")
    s.add_argument("--port", type=_bounded(int, low=1, high=65535), default=8000)
    positive = _bounded(float, low=0, low_open=True)
    s.add_argument("--cache-mib", type=positive, default=2048, help="embedding cache budget (MiB)")
    s.add_argument("--max-upload-mib", type=positive, default=32, help="largest image file accepted (MiB)")
    s.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    s.set_defaults(func=_cmd_serve)
    score = sub.add_parser("score", help="official benchmark scores of predictions on disk")
    ssub = score.add_subparsers(dest="score_command", required=True)
    v = ssub.add_parser(
        "vos",
        help="semi-supervised VOS J and F as the benchmark's official tool computes them",
        description="Score VOS predictions (PNG folders) as the benchmark's official evaluator does "
        "(samkit.metrics.scoring.score_vos; docs: Metrics, official scorers).",
    )
    v.add_argument("--benchmark", required=True, help="davis2017, mosev1, sav, mosev2, lvos (VOS_BENCHMARKS)")
    v.add_argument("--gt", required=True, help="the ground truth: the benchmark's root or annotation folder")
    v.add_argument("--pred", required=True, help="the predictions' folder, in the benchmark's layout")
    v.add_argument("--json", help="write {benchmark, summary, notes} here and <stem>_per_object.csv beside it")
    v.add_argument(
        "--num-processes", type=_bounded(int, low=1), default=None, help="worker processes (default: the scorer's)"
    )
    v.add_argument(
        "-o",
        "--option",
        type=_option,
        action="append",
        metavar="KEY=VALUE",
        help="another option of the scorer, VALUE as JSON: split=train, strict=true, sequences='[\"bike\"]'",
    )
    v.add_argument("--quiet", action="store_true", help="no progress bar")
    v.set_defaults(func=_cmd_score_vos)
    c = ssub.add_parser(
        "saco",
        help="SA-Co image (cgF1) or video scores as the official evaluator computes them",
        description="Score SA-Co predictions (samkit.metrics.scoring.saco.score_saco).",
    )
    c.add_argument("--gt", nargs="+", required=True, help="the ground-truth annotation file(s)")
    c.add_argument("--pred", required=True, help="the predictions' JSON file")
    c.add_argument("--video", action="store_true", help="SA-Co video (VEval) instead of image: one --gt file")
    c.add_argument(
        "--json",
        help="write {benchmark, summary, ...} here (--video: summary = the official dataset_results, plus "
        "video_np_results, and <stem>_per_video_phrase.csv beside it)",
    )
    c.set_defaults(func=_cmd_score_saco)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``samkit`` command (``samkit --help``); returns the exit status (2 on a samkit error)."""
    ns = build_parser().parse_args(argv)
    try:
        return ns.func(ns)
    except SamkitError as err:
        print(f"samkit: error: {err}", file=sys.stderr)
        return 2
    except KeyError as err:  # UnknownModelError
        print(f"samkit: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
