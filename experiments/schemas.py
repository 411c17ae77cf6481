"""Structured configs (dataclasses) for the Hydra entry points: typos and bad values fail at compose time.

Built from the registries: model names from `samkit.registry`, and one protocol schema per protocol
in `samkit.eval` (group ``protocol``, name ``<protocol>_schema``), made from the protocol's
parameters dataclass; a field with ``metadata["choices"]`` becomes an Enum, so an unknown value
fails at compose time. `check` adds the type and range checks (`Protocol.make_params`) and the
device, before anything is loaded. No ``from __future__ import annotations`` here: the dataclasses
travel by value to launcher workers, where string annotations could not be resolved.
"""

import dataclasses
import sys
import typing
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

import samkit
from samkit.eval import get_protocol, list_protocols

ModelName = Enum("ModelName", {name: name for name in samkit.list_models()})
Weights = Enum("Weights", {k: k for k in ("auto", "pretrained", "random")})
Dtype = Enum("Dtype", {k: k for k in ("float32", "bfloat16", "float16")})


def _schema_fields(params: type) -> list[tuple[str, Any, Any]]:
    """(name, type, default field) of a parameters dataclass; fields with choices become Enums."""
    out = []
    hints = typing.get_type_hints(params)
    for f in dataclasses.fields(params):
        kind, default = hints[f.name], f
        choices = f.metadata.get("choices")
        if choices is not None:
            enum = Enum(f"{params.__name__}_{f.name}", {c: c for c in choices})
            if f.default_factory is not dataclasses.MISSING:  # a list of choices
                kind = list[enum]
                values = f.default_factory()
                default = field(default_factory=lambda e=enum, v=values: [e[x] for x in v])
            else:
                kind = enum
                default = field(default=enum[f.default])
        elif f.default_factory is not dataclasses.MISSING:
            default = field(default_factory=f.default_factory)
        else:
            default = field(default=f.default)
        out.append((f.name, kind, default))
    return out


def protocol_schema(name: str) -> type:
    """The structured config of protocol ``name``: ``name`` plus its parameters."""
    protocol = get_protocol(name)
    return dataclasses.make_dataclass(
        f"{name.capitalize()}ProtocolConfig", [("name", str, field(default=name))] + _schema_fields(protocol.params)
    )


@dataclass
class ModelConfig:
    name: ModelName = MISSING


@dataclass
class CommonConfig:
    model: ModelConfig = MISSING
    weights: Weights = Weights.auto  # auto: official checkpoint if present and verified, else random
    seed: int = 0
    device: str | None = None  # null: cuda if available, else cpu; cuda:auto: one GPU per job (shard index)
    dtype: Dtype = Dtype.float32
    compile: bool = False  # torch.compile the image encoder (compile time: compile_ms)
    download: bool = False  # download missing official checkpoints (weights=pretrained)
    resume: bool = True  # skip jobs whose results are complete; finish interrupted ones
    progress: bool = True
    shard: str | None = None  # "i/n": the i-th of n deterministic parts of the dataset (one job per GPU/node)


# the benchmark entry point takes the benchmark protocol's parameters at the top level
BenchmarkConfig = dataclasses.make_dataclass(
    "BenchmarkConfig", _schema_fields(get_protocol("benchmark").params), bases=(CommonConfig,)
)


@dataclass
class EvaluateConfig(CommonConfig):
    dataset: Any = MISSING  # a `_target_` node: any samkit.data loader and its options
    protocol: Any = MISSING  # conf/protocol/<name>.yaml, typed by its <name>_schema


@dataclass
class ReportConfig:
    runs: Any = MISSING  # a folder of runs (searched recursively), a file, or a list
    out: str | None = None  # default: <first run>/report
    title: str = "samkit report"
    # published figures joined beside every table: a CSV (columns model, source, numbers) or
    # "<benchmark>[:<split>]" of samkit/published_accuracy.csv, e.g. "SA-Co/Gold:metaclip"
    published: str | None = None


def register() -> None:
    """Put the schemas into Hydra's ConfigStore (idempotent).

    This module is not importable where a launcher runs the job (a submitit job on this machine or
    on SLURM starts a fresh Python without experiments/ on its path), so cloudpickle is told to
    send it by value with the job.
    """
    try:
        import cloudpickle

        cloudpickle.register_pickle_by_value(sys.modules[__name__])
    except ImportError:  # only the submitit launchers pickle jobs; they bring cloudpickle
        pass
    cs = ConfigStore.instance()
    cs.store(name="benchmark_schema", node=BenchmarkConfig)
    cs.store(name="evaluate_schema", node=EvaluateConfig)
    cs.store(name="report_schema", node=ReportConfig)
    for name in list_protocols():
        cs.store(group="protocol", name=f"{name}_schema", node=protocol_schema(name))


def job_number() -> int | None:
    """This job's number in a Hydra sweep (None outside one)."""
    from hydra.core.hydra_config import HydraConfig

    try:
        return int(HydraConfig.get().job.num)
    except (ValueError, TypeError, AttributeError):
        return None


def plain(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as plain data (enums as their names)."""
    return OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)


def protocol_params(cfg: DictConfig, name: str) -> dict[str, Any]:
    """The parameters of protocol ``name`` in ``cfg``, checked by the protocol (`make_params`).

    The benchmark entry point has them at the top level, evaluate under ``protocol``.
    """
    protocol = get_protocol(name)
    node = plain(cfg if name == "benchmark" and "protocol" not in cfg else cfg.protocol)
    names = [f.name for f in dataclasses.fields(protocol.params)]
    params = {k: node[k] for k in names if k in node}
    protocol.make_params(**params)  # raises ValueError naming the key
    return params


def check(cfg: DictConfig) -> dict[str, Any]:
    """Range checks that types cannot express, and the device; returns the protocol's parameters.

    Raises ValueError naming the key, before any model or dataset is loaded.
    """
    name = plain(cfg.protocol)["name"] if "protocol" in cfg else "benchmark"
    params = protocol_params(cfg, name)
    if cfg.get("device"):
        from samkit.loading import resolve_device

        resolve_device(cfg.device)
    return params
