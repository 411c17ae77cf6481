"""Accuracy of one model on one dataset with one protocol per job. Config: conf/evaluate.yaml."""

from __future__ import annotations

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig

from _job import run_job
from schemas import check, register
from samkit.eval import run_automatic, run_box, run_interactive

register()

CAPABILITY = {"interactive": "points", "box": "box", "automatic": "automatic"}


@hydra.main(config_path="../conf", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> int:
    check(cfg)
    dataset = instantiate(cfg.dataset)  # typos and missing files fail here, before any model loads
    protocol = cfg.protocol.name.name

    def work(model, job, run_id):
        if not model.spec.supports(CAPABILITY[protocol]):
            raise NotImplementedError(f"{model.name} does not support the {protocol} protocol")
        common = dict(run_id=run_id, out_path=job.rows_path, resume=cfg.resume, progress=cfg.progress)
        if protocol == "interactive":
            return run_interactive(model, dataset, max_clicks=cfg.protocol.max_clicks,
                                   feedback=cfg.protocol.feedback.name, **common)
        if protocol == "box":
            return run_box(model, dataset, **common)
        return run_automatic(model, dataset, **common, **dict(cfg.protocol.generate))

    return run_job(cfg, protocol, work)


if __name__ == "__main__":
    main()
