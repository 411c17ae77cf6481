"""Accuracy of one model on one dataset with one protocol per job. Config: conf/evaluate.yaml.

The protocol comes from the registry (`samkit.eval.get_protocol`): ``protocol=<name>`` picks
conf/protocol/<name>.yaml, and its parameters are checked before the dataset or the model loads.
"""

from __future__ import annotations

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from samkit.data.shard import parse_shard
from samkit.devices import job_device
from samkit.eval import get_protocol
from samkit.jobs import run_job
from schemas import check, job_number, plain, register

register()


def run(cfg: DictConfig, output_dir: str) -> int:
    """One job: ``cfg`` composed from conf/evaluate.yaml, its files in ``output_dir``."""
    params = check(cfg)
    protocol = get_protocol(plain(cfg.protocol)["name"])
    # typos, missing files and a bad shard fail here, before any model loads
    dataset = instantiate(cfg.dataset) if protocol.uses_dataset else None
    part = parse_shard(cfg.shard)
    if part is not None and dataset is None:
        raise ValueError(f"shard={cfg.shard!r}: the {protocol.name} protocol has no dataset to shard")
    config = plain(cfg)
    config["device"] = job_device(cfg.device, part.index if part else None, job_number())

    def work(model, job, run_id):
        return protocol.run(
            model,
            dataset,
            run_id=run_id,
            out_path=job.rows_path,
            resume=cfg.resume,
            progress=cfg.progress,
            shard=cfg.shard,
            **params,
        )

    return run_job(
        output_dir, config, protocol.name, work, capability=protocol.capability_for(protocol.make_params(**params))
    )


@hydra.main(config_path="../conf", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> int:
    return run(cfg, HydraConfig.get().runtime.output_dir)


if __name__ == "__main__":
    main()
