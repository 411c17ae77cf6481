"""Latency, peak memory, parameters and FLOPs of one model per job. Config: conf/benchmark.yaml."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from _job import run_job
from schemas import check, register
from samkit.eval import run_benchmark

register()


@hydra.main(config_path="../conf", config_name="benchmark", version_base="1.3")
def main(cfg: DictConfig) -> int:
    check(cfg)

    def work(model, job, run_id):
        return run_benchmark(model, image_size=cfg.image_size, batch=cfg.batch, warmup=cfg.warmup,
                             repeats=cfg.repeats, phases=[p.name for p in cfg.phases],
                             flops=cfg.flops, memory=cfg.memory, generate_params=dict(cfg.generate),
                             run_id=run_id)

    return run_job(cfg, "benchmark", work)


if __name__ == "__main__":
    main()
