"""Structured configs (dataclasses) for the Hydra entry points: typos and bad values fail at compose time.

Registered in Hydra's ConfigStore as ``<experiment>_schema`` and used as the first entry of each root
config's defaults list. Enum fields reject unknown values (model names, dtypes, weights kinds,
protocols, phases) before anything is loaded; `check` adds the range checks enums cannot express.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

import samkit
from samkit.eval.speed import PHASES

ModelName = Enum("ModelName", {name: name for name in samkit.list_models()})
Weights = Enum("Weights", {k: k for k in ("auto", "pretrained", "random")})
Dtype = Enum("Dtype", {k: k for k in ("float32", "bfloat16", "float16")})
Protocol = Enum("Protocol", {k: k for k in ("interactive", "box", "automatic")})
Feedback = Enum("Feedback", {k: k for k in ("none", "logits")})
Phase = Enum("Phase", {k: k for k in PHASES})


@dataclass
class ModelConfig:
    name: ModelName = MISSING


@dataclass
class ProtocolConfig:
    name: Protocol = MISSING
    max_clicks: int = 20          # interactive
    feedback: Feedback = Feedback.none  # interactive: "logits" feeds the previous mask logits back
    generate: dict[str, Any] = field(default_factory=dict)  # automatic: mask generator parameters


@dataclass
class CommonConfig:
    model: ModelConfig = MISSING
    weights: Weights = Weights.auto  # auto: official checkpoint if present and verified, else random
    seed: int = 0
    device: Optional[str] = None      # null: cuda if available, else cpu
    dtype: Dtype = Dtype.float32
    download: bool = False            # download missing official checkpoints (weights=pretrained)
    resume: bool = True               # skip jobs whose results are complete; finish interrupted ones
    progress: bool = True


@dataclass
class BenchmarkConfig(CommonConfig):
    image_size: int = 1024
    batch: int = 8                    # boxes in the batched-box phase
    warmup: int = 2
    repeats: int = 10
    phases: list[Phase] = field(default_factory=lambda: [Phase[p] for p in PHASES])
    flops: bool = True
    memory: bool = True
    generate: dict[str, Any] = field(default_factory=lambda: {"points_per_side": 32})


@dataclass
class EvaluateConfig(CommonConfig):
    dataset: Any = MISSING            # a `_target_` node: any samkit.data loader and its options
    protocol: ProtocolConfig = MISSING


@dataclass
class ReportConfig:
    runs: Any = MISSING               # a folder of runs (searched recursively), a file, or a list
    out: Optional[str] = None         # default: <first run>/report
    title: str = "samkit report"


def register() -> None:
    """Put the schemas into Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(name="benchmark_schema", node=BenchmarkConfig)
    cs.store(name="evaluate_schema", node=EvaluateConfig)
    cs.store(name="report_schema", node=ReportConfig)


def check(cfg: Any) -> None:
    """Range checks that types cannot express, and the device; raises ValueError naming the key."""
    nodes = {"image_size": cfg, "batch": cfg, "repeats": cfg, "max_clicks": cfg.get("protocol")}
    for key, node in nodes.items():
        if node is not None and key in node and int(node[key]) < 1:
            raise ValueError(f"{key} must be >= 1, got {node[key]}")
    if "warmup" in cfg and int(cfg.warmup) < 0:
        raise ValueError(f"warmup must be >= 0, got {cfg.warmup}")
    if cfg.get("device"):
        from samkit.loading import resolve_device

        resolve_device(cfg.device)
