"""The ``samkit`` command: ``samkit models``, ``samkit detectors``, ``samkit taggers``,
``samkit weights download NAME|all``, ``samkit weights verify``, ``samkit serve --model NAME``."""

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
