"""Latency, peak memory, parameters and FLOPs of one model per job. Config: conf/benchmark.yaml.

The benchmark protocol of `samkit.eval` with its parameters at the top level of the config.
"""

from __future__ import annotations

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from samkit.devices import job_device
from samkit.eval import get_protocol
from samkit.jobs import run_job
from schemas import check, job_number, plain, register

register()


def run(cfg: DictConfig, output_dir: str) -> int:
    """One job: ``cfg`` composed from conf/benchmark.yaml, its files in ``output_dir``."""
    params = check(cfg)
    protocol = get_protocol("benchmark")
    if cfg.shard is not None:
        raise ValueError(
            f"shard={cfg.shard!r}: the benchmark makes its own input, there is no dataset to shard; "
            "split the sweep over models instead (one job per model, device=cuda:auto)"
        )
    config = plain(cfg)
    config["device"] = job_device(cfg.device, None, job_number())

    def work(model, job, run_id):
        return protocol.run(model, run_id=run_id, progress=cfg.progress, **params)

    return run_job(output_dir, config, protocol.name, work)


@hydra.main(config_path="../conf", config_name="benchmark", version_base="1.3")
def main(cfg: DictConfig) -> int:
    return run(cfg, HydraConfig.get().runtime.output_dir)


if __name__ == "__main__":
    main()
