"""Merge any set of runs into one report: tables (markdown, CSV) and figures. Config: conf/report.yaml."""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from samkit.results import merge_runs, write_report
from schemas import register

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
    if "fast_settings_csv" in files:  # the ratios, as a sweep's last word (tables: fast_settings.md)
        import pandas as pd

        for row in pd.read_csv(files["fast_settings_csv"]).itertuples():
            print(
                f"  {row.model} on {row.device_label}: plain {row.plain_encoder_ms:.1f} ms/image, best "
                f"{row.best_setting} {row.best_encoder_ms:.1f} ms/image ({row.speedup:.2f}x, agreement "
                f"{row.best_agreement_mIoU:.3f}); fastest {row.fastest_setting} ({row.fastest_speedup:.2f}x"
                f"{', ' + row.fastest_flag if isinstance(row.fastest_flag, str) and row.fastest_flag else ''})"
            )


if __name__ == "__main__":
    main()
