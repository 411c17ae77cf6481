"""Merge any set of runs into one report: tables (markdown, CSV) and figures. Config: conf/report.yaml."""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from schemas import register
from samkit.report import merge_runs, write_report

register()


@hydra.main(config_path="../conf", config_name="report", version_base="1.3")
def main(cfg: DictConfig) -> None:
    runs = OmegaConf.to_object(cfg.runs) if OmegaConf.is_list(cfg.runs) else [cfg.runs]
    frame = merge_runs(runs)
    out = Path(cfg.out) if cfg.out else Path(runs[0]) / "report"
    files = write_report(frame, out, title=cfg.title)
    print(f"[samkit] {len(frame)} rows from {len(runs)} run folder(s) -> {out}")
    for key, path in files.items():
        print(f"  {key}: {path}")


if __name__ == "__main__":
    main()
