"""What a protocol is, and the registry that lists them (as `samkit.registry` lists models).

A protocol is one module in ``samkit/eval`` that holds one `Protocol` object named ``PROTOCOL``:
its name, the model capability it needs, its parameters (a dataclass, from which the Hydra schema
and ``conf/protocol/<name>.yaml`` are made), ``run(model, dataset, ...) -> rows`` and
``summarize(rows) -> {column: value}``. The registry finds the modules itself, so a new protocol is
one file here plus its generated config (``python experiments/gen_configs.py``).
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import pkgutil
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from samkit.errors import UnknownProtocolError, UnsupportedError, failure_status
from samkit.rows import device_name, new_run_id, rows_to_frame, save_results, weights_columns

__all__ = ["Protocol", "list_protocols", "get_protocol", "row_header", "failure_row",
           "unsupported_error"]


def _dtype_of(model: Any) -> str:
    dtype = getattr(model, "dtype", None)
    if dtype:
        return str(dtype)
    return str(next(model.model.parameters()).dtype).replace("torch.", "")


def row_header(model: Any, run_id: str, protocol: str, dataset: str | None = None,
               image_id: str | None = None) -> dict[str, Any]:
    """The identifying columns of a row: run, model, typed weights, device, dtype, dataset, image."""
    return {
        "run_id": run_id, "model": model.name, "family": model.family,
        **weights_columns(model.weights), "device": str(model.device),
        "device_name": device_name(model.device), "dtype": _dtype_of(model),
        "compile": bool(getattr(model, "compiled", False)), "dataset": dataset,
        "image_id": image_id, "protocol": protocol,
    }


def failure_row(base: dict[str, Any], err: BaseException, **fields: Any) -> dict[str, Any]:
    """A row that records a failure, with `samkit.errors.failure_status` as its ``status``."""
    last = traceback.format_exception_only(type(err), err)[-1].strip()
    return {**base, **fields, "status": failure_status(err), "error": last[:1000]}


def unsupported_error(model_name: str, protocol: str, capability: str) -> UnsupportedError:
    """The error for a model without ``capability``; it names the models that have it."""
    from samkit.registry import list_models

    able = list_models(capability=capability)
    return UnsupportedError(
        f"{model_name} does not support the {protocol} protocol: it needs the {capability!r} "
        f"capability, which these models have: {', '.join(able) or 'none'}")


@dataclass(frozen=True)
class Protocol:
    """One evaluation or measurement protocol.

    name: registry name (``protocol=<name>`` in the Hydra configs).
    description: one line, shown by `list_protocols` and in the generated config.
    capability: the model capability it needs (``samkit.registry.CAPABILITIES``), or None.
    params: a dataclass of its parameters; its fields' ``metadata["choices"]`` list allowed values
        and ``metadata["min"]`` a lower bound, checked by `make_params` (and at compose time in Hydra).
    runner: ``runner(model, dataset, params, *, run_id, out_path, resume, progress) -> rows``.
    summarizer: ``summarizer(ok_rows) -> {column: value}``: this protocol's part of one
        `samkit.results.summarize` row (the rows of one model/weights/device/dtype/dataset group).
    uses_dataset: False for protocols that make their own input (the benchmark).
    capability_of: for a protocol whose need depends on its parameters (text: ``"text"`` with
        ``detector="native"``, else ``"box"``), ``capability_of(params) -> capability``; it then
        decides instead of ``capability`` (see `capability_for`).
    """

    name: str
    description: str
    capability: str | None
    params: type
    runner: Callable[..., pd.DataFrame]
    summarizer: Callable[[pd.DataFrame], dict[str, Any]]
    uses_dataset: bool = True
    capability_of: Callable[[Any], str | None] | None = None

    def capability_for(self, params: Any = None) -> str | None:
        """The capability a run with ``params`` (the parameters dataclass; None: the defaults) needs."""
        if self.capability_of is None:
            return self.capability
        return self.capability_of(params if params is not None else self.params())

    def make_params(self, **values: Any) -> Any:
        """The parameters dataclass from keyword values, checked: unknown names, choices, bounds."""
        fields = {f.name: f for f in dataclasses.fields(self.params)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise TypeError(f"Unknown parameter(s) {unknown} for the {self.name} protocol; "
                            f"parameters: {', '.join(fields) or 'none'}")
        params = self.params(**values)
        for f in fields.values():
            value = getattr(params, f.name)
            choices = f.metadata.get("choices")
            items = value if isinstance(value, (list, tuple)) else [value]
            if choices is not None and any(v not in choices for v in items):
                raise ValueError(f"{self.name} protocol: {f.name} must be one of {list(choices)}, "
                                 f"got {value!r}")
            if "min" in f.metadata and value < f.metadata["min"]:
                raise ValueError(f"{f.name} must be >= {f.metadata['min']}, got {value}")
        return params

    def supports(self, model: Any, params: Any = None) -> bool:
        """True when ``model`` (a Segmenter) has the capability this protocol needs (with ``params``)."""
        needed = self.capability_for(params)
        return needed is None or needed in model.capabilities

    def check_supported(self, model: Any, params: Any = None) -> None:
        """Raise `samkit.errors.UnsupportedError` (naming the models that can) when unsupported."""
        if not self.supports(model, params):
            raise unsupported_error(model.name, self.name, str(self.capability_for(params)))

    def run(self, model: Any, dataset: Iterable[Any] | None = None, *, run_id: str | None = None,
            out_path: Any = None, resume: bool = False, progress: bool = True,
            **params: Any) -> pd.DataFrame:
        """Rows of ``model`` on ``dataset`` under this protocol (see the protocol's module).

        A model without the needed capability gives one row with status ``unsupported`` whose
        error names the models that support it; every protocol words it the same way.
        ``out_path``: save the rows (parquet) as they are made; ``resume``: keep rows already there.
        """
        checked = self.make_params(**params)
        run_id = run_id or new_run_id()
        if self.uses_dataset and dataset is None:
            raise TypeError(f"the {self.name} protocol needs a dataset")
        try:
            self.check_supported(model, checked)
        except UnsupportedError as err:
            frame = rows_to_frame([failure_row(row_header(model, run_id, self.name), err)])
            if out_path is not None:
                save_results(frame, out_path)
            return frame
        return self.runner(model, dataset, checked, run_id=run_id, out_path=out_path,
                           resume=resume, progress=progress)

    def summarize(self, rows: pd.DataFrame) -> dict[str, Any]:
        """This protocol's summary columns for ``rows`` (its ``status == "ok"`` rows of one group)."""
        return self.summarizer(rows)


_PROTOCOLS: dict[str, Protocol] = {}


def _discover() -> dict[str, Protocol]:
    """Import every public module of samkit.eval once and collect their ``PROTOCOL`` objects."""
    if not _PROTOCOLS:
        package = __name__.rpartition(".")[0]  # samkit.eval, found without importing it here
        found: dict[str, Protocol] = {}
        for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
            if info.name.startswith("_") or info.name == "protocol":
                continue
            module = importlib.import_module(f"{package}.{info.name}")
            protocol = getattr(module, "PROTOCOL", None)
            if isinstance(protocol, Protocol):
                if protocol.name in found:
                    raise RuntimeError(f"two protocols are named {protocol.name!r}")
                found[protocol.name] = protocol
        _PROTOCOLS.update(dict(sorted(found.items())))
    return _PROTOCOLS


def list_protocols(capability: str | None = None) -> list[str]:
    """Registered protocol names (sorted); with ``capability``, those that need it."""
    return [name for name, p in _discover().items() if capability is None or p.capability == capability]


def get_protocol(name: str) -> Protocol:
    """The protocol registered as ``name``; an unknown name's error suggests the closest ones."""
    protocols = _discover()
    if name not in protocols:
        close = difflib.get_close_matches(str(name), list(protocols), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownProtocolError(f"Unknown protocol {name!r}.{hint} Protocols: {', '.join(protocols)}")
    return protocols[name]
