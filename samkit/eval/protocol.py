"""What a protocol is, and the registry that lists them (as `samkit.registry` lists models).

A protocol is one module in ``samkit/eval`` that holds one `Protocol` object named ``PROTOCOL``:
its name, the model capability it needs, its parameters (a dataclass, from which the Hydra schema
and ``conf/protocol/<name>.yaml`` are made), ``run(model, dataset, ...) -> rows``,
``summarize(rows) -> {column: value}`` and, optionally, its part of a report
(``report_sections(rows, published) -> [Section]``: its tables and figures, with their file names
and captions, which `samkit.results.report.write_report` writes). The registry finds the modules
itself, so a new protocol with its table and figure is one file here plus its generated config
(``python experiments/gen_configs.py``).
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import pkgutil
import traceback
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from samkit.data.shard import Shard, apply_shard, parse_shard
from samkit.errors import ParameterError, UnknownProtocolError, UnsupportedError, failure_status
from samkit.params import check_bool, check_choice, check_int, check_number
from samkit.registry.core import Registry
from samkit.rows import device_name, new_run_id, rows_to_frame, save_results, weights_columns

__all__ = [
    "Protocol",
    "Section",
    "list_protocols",
    "get_protocol",
    "row_header",
    "failure_row",
    "unsupported_error",
    "check_typed",
]


def _dtype_of(model: Any) -> str:
    dtype = getattr(model, "dtype", None)
    if dtype:
        return str(dtype)
    return str(next(model.model.parameters()).dtype).replace("torch.", "")


def row_header(
    model: Any, run_id: str, protocol: str, dataset: str | None = None, image_id: str | None = None
) -> dict[str, Any]:
    """The identifying columns of a row: run, model, typed weights, device, dtype, dataset, image."""
    return {
        "run_id": run_id,
        "model": model.name,
        "family": model.family,
        **weights_columns(model.weights),
        "device": str(model.device),
        "device_name": device_name(model.device),
        "dtype": _dtype_of(model),
        "compile": bool(getattr(model, "compiled", False)),
        "dataset": dataset,
        "image_id": image_id,
        "protocol": protocol,
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
        f"capability, which these models have: {', '.join(able) or 'none'}"
    )


def check_typed(name: str, value: Any, annotation: Any, metadata: Any = None) -> Any:
    """``value`` checked against a parameter's type ``annotation`` and its field ``metadata``
    (``choices``, ``min``, ``max``; for a list they apply to each item), in its canonical type."""
    metadata = metadata or {}
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        if value is None:
            return None
        rest = [a for a in args if a is not type(None)]
        return check_typed(name, value, rest[0] if len(rest) == 1 else Any, metadata)
    if origin is list:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise ParameterError(f"{name} must be a list, got {value!r} (a {type(value).__name__})")
        item = args[0] if args else Any
        return [check_typed(f"{name}[{i}]", v, item, metadata) for i, v in enumerate(value)]
    if origin is dict or annotation is dict:
        if not isinstance(value, Mapping):
            raise ParameterError(f"{name} must be a mapping of names to values, got {value!r}")
        return dict(value)
    low, high = metadata.get("min"), metadata.get("max")
    if annotation is bool:
        value = check_bool(name, value)
    elif annotation is int:
        value = check_int(name, value, low=low, high=high)
    elif annotation is float:
        value = check_number(name, value, low=low, high=high)
    elif annotation is str and not isinstance(value, str):
        raise ParameterError(f"{name} must be a string, got {value!r} (a {type(value).__name__})")
    if metadata.get("choices") is not None:
        value = check_choice(name, value, metadata["choices"])
    return value


@dataclass(frozen=True, eq=False)
class Section:
    """One file of a report, given by a protocol's ``report_sections`` (see `Protocol`).

    name: the file's stem: ``<name>.md`` and ``<name>.csv`` for a table, ``<name>.png`` for a
        figure (and ``<name>_md`` / ``<name>_csv`` / ``<name>_png`` in `write_report`'s answer).
    caption: the table's caption (its markdown file and the index) or the figure's title in the index.
    table: a table section's table (one row per configuration, labelled: ``weights`` /
        ``weights_kind``, ``device`` / ``device_name`` / ``device_label``, ``note``).
    figure: a figure section's drawing, called when the file is written: ``figure() -> Figure``.
    order: where the file goes among the report's tables (after the accuracy table) or figures
        (after the accuracy / latency / memory figures): lower first.
    in_index: the index's caption (devices, weights kinds, warnings) covers this table, as it
        covers the accuracy table: for a per-configuration table of rows that are not in it.
    """

    name: str
    caption: str
    table: pd.DataFrame | None = None
    figure: Callable[[], Any] | None = None
    order: int = 100
    in_index: bool = False

    def __post_init__(self) -> None:
        if (self.table is None) == (self.figure is None):
            raise ValueError(f"report section {self.name!r}: give a table or a figure (one of them)")


@dataclass(frozen=True)
class Protocol:
    """One evaluation or measurement protocol.

    name: registry name (``protocol=<name>`` in the Hydra configs).
    description: one line, shown by `list_protocols` and in the generated config.
    capability: the model capability it needs (``samkit.registry.CAPABILITIES``), or None.
    params: a dataclass of its parameters; their annotations give their types, their fields'
        ``metadata["choices"]`` list allowed values and ``metadata["min"]`` / ``["max"]`` bound
        them, all checked by `make_params` (and at compose time in Hydra).
    runner: ``runner(model, dataset, params, *, run_id, out_path, resume, progress) -> rows``.
    summarizer: ``summarizer(ok_rows) -> {column: value}``: this protocol's part of one
        `samkit.eval.summary.summarize` row (the rows of one model/weights/device/dtype/dataset group).
    uses_dataset: False for protocols that make their own input (the benchmark).
    capability_of: for a protocol whose need depends on its parameters (text: ``"text"`` with
        ``detector="native"``, else ``"box"``), ``capability_of(params) -> capability``; it then
        decides instead of ``capability`` (see `capability_for`).
    accuracy: its rows are summarised in the accuracy table (`samkit.eval.summary.accuracy_table`);
        False for a pure measurement whose rows have a table of their own (benchmark, video_benchmark).
    performance_table: ``performance_table(rows) -> table``: its rows as one row per configuration
        with ``<phase>_ms`` and ``<phase>_peak_mib`` columns, which the generic latency, memory and
        Pareto figures draw beside the accuracy table (`samkit.eval.summary.performance_table`).
    report_sections: ``report_sections(rows, published) -> [Section]``: this protocol's tables
        and figures for a report of ``rows`` (rows of any protocols: it picks its own; none: ``[]``).
        ``published`` is the report's table of published numbers or None; `write_report` joins
        it beside every table itself.
    """

    name: str
    description: str
    capability: str | None
    params: type
    runner: Callable[..., pd.DataFrame]
    summarizer: Callable[[pd.DataFrame], dict[str, Any]]
    uses_dataset: bool = True
    capability_of: Callable[[Any], str | None] | None = None
    accuracy: bool = True
    performance_table: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    report_sections: Callable[[pd.DataFrame, pd.DataFrame | None], list[Section]] | None = None

    def capability_for(self, params: Any = None) -> str | None:
        """The capability a run with ``params`` (the parameters dataclass; None: the defaults) needs."""
        if self.capability_of is None:
            return self.capability
        return self.capability_of(params if params is not None else self.params())

    def make_params(self, **values: Any) -> Any:
        """The parameters dataclass from keyword values, checked where they enter: unknown names,
        then each value's type (its annotation: ``int``, ``float``, ``bool``, ``str``, ``X | None``,
        ``list[X]``, ``dict``), ``metadata["choices"]`` and the bounds ``metadata["min"]`` /
        ``metadata["max"]`` (a `samkit.errors.ParameterError` naming the protocol, the parameter,
        the value and what is allowed). Values come back in their canonical types (``8.0`` -> ``8``
        for an ``int``; a tuple or Hydra list -> ``list``)."""
        fields = {f.name: f for f in dataclasses.fields(self.params)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise TypeError(
                f"Unknown parameter(s) {unknown} for the {self.name} protocol; "
                f"parameters: {', '.join(fields) or 'none'}"
            )
        hints = typing.get_type_hints(self.params)
        params = self.params(**values)
        checked = {
            f.name: check_typed(f"{self.name} protocol: {f.name}", getattr(params, f.name), hints[f.name], f.metadata)
            for f in fields.values()
        }
        return dataclasses.replace(params, **checked)

    def supports(self, model: Any, params: Any = None) -> bool:
        """True when ``model`` (a Segmenter) has the capability this protocol needs (with ``params``)."""
        needed = self.capability_for(params)
        return needed is None or needed in model.capabilities

    def check_supported(self, model: Any, params: Any = None) -> None:
        """Raise `samkit.errors.UnsupportedError` (naming the models that can) when unsupported."""
        if not self.supports(model, params):
            raise unsupported_error(model.name, self.name, str(self.capability_for(params)))

    def run(
        self,
        model: Any,
        dataset: Iterable[Any] | None = None,
        *,
        run_id: str | None = None,
        out_path: Any = None,
        resume: bool = False,
        progress: bool = True,
        shard: Any = None,
        **params: Any,
    ) -> pd.DataFrame:
        """Rows of ``model`` on ``dataset`` under this protocol (see the protocol's module).

        A model without the needed capability gives one row with status ``unsupported`` whose
        error names the models that support it; every protocol words it the same way.
        ``out_path``: save the rows (parquet) as they are made; ``resume``: keep rows already there.
        ``shard``: ``"i/n"`` runs only the i-th of n deterministic parts of ``dataset``
        (`samkit.data.shard`; the caller's dataset is not changed) and records it in every row's
        ``shard`` column; `samkit.results.merge_runs` joins the shards and refuses a missing or
        duplicated one.
        """
        checked = self.make_params(**params)
        part = parse_shard(shard)
        run_id = run_id or new_run_id()
        if self.uses_dataset and dataset is None:
            raise TypeError(f"the {self.name} protocol needs a dataset")
        if part is not None and not self.uses_dataset:
            raise ParameterError(
                f"shard={shard!r}: the {self.name} protocol makes its own input, there is no dataset to shard "
                "(split a sweep over models instead)"
            )
        if part is not None:
            dataset = apply_shard(copy.copy(dataset), part)
        try:
            self.check_supported(model, checked)
        except UnsupportedError as err:
            frame = _with_shard(rows_to_frame([failure_row(row_header(model, run_id, self.name), err)]), part)
            if out_path is not None:
                save_results(frame, out_path)
            return frame
        frame = self.runner(model, dataset, checked, run_id=run_id, out_path=out_path, resume=resume, progress=progress)
        if part is not None:
            frame = _with_shard(frame, part)
            if out_path is not None:
                save_results(frame, out_path)
        return frame

    def summarize(self, rows: pd.DataFrame) -> dict[str, Any]:
        """This protocol's summary columns for ``rows`` (its ``status == "ok"`` rows of one group)."""
        return self.summarizer(rows)

    def sections(self, rows: pd.DataFrame, published: pd.DataFrame | None = None) -> list[Section]:
        """This protocol's report sections for ``rows`` (`report_sections`; none: ``[]``)."""
        return [] if self.report_sections is None else list(self.report_sections(rows, published))


def _with_shard(frame: pd.DataFrame, part: Shard | None) -> pd.DataFrame:
    """``frame`` with a ``shard`` column (``"i/n"``) when it is one shard of a run."""
    if part is None:
        return frame
    return frame.assign(shard=pd.array([str(part)] * len(frame), dtype="string"))


#: the protocol registry (a `samkit.registry.Registry`), filled from samkit.eval's modules on first use
_PROTOCOLS: Registry[Protocol] = Registry("protocol", UnknownProtocolError, "samkit.eval.list_protocols()", Protocol)


def _discover() -> Registry[Protocol]:
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
    return _discover().names(where=lambda p: capability is None or p.capability == capability)


def get_protocol(name: str) -> Protocol:
    """The protocol registered as ``name``; an unknown name's error suggests the closest ones."""
    return _discover().lookup(name)
