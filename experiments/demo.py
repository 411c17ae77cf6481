"""Main job: sample photos x models -> overlays + timing table. Config: conf/demo.yaml."""

from __future__ import annotations

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from samkit.demo import run_demo, summarize_timings


@hydra.main(config_path="../conf", config_name="demo", version_base="1.3")
def main(cfg: DictConfig) -> None:
    out_dir = HydraConfig.get().runtime.output_dir
    models = OmegaConf.to_object(cfg.models) if OmegaConf.is_list(cfg.models) else cfg.models
    photos = OmegaConf.to_object(cfg.photos) if cfg.photos is not None else None
    table = run_demo(
        out_dir,
        models,
        photos,
        weights=cfg.weights,
        device=cfg.device,
        seed=cfg.seed,
        repeats=cfg.repeats,
        progress=cfg.progress,
    )
    print(summarize_timings(table))
    print(f"\nOverlays, timings.csv and summary.txt in {out_dir}")


if __name__ == "__main__":
    main()
