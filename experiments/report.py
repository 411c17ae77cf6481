"""Merge any set of runs into one report: tables (markdown, CSV) and figures. Config: conf/report.yaml."""

from __future__ import annotations

from pathlib import Path

import hydra
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from samkit.results import merge_runs, write_report
from samkit.results.published import published_beside
from schemas import register

register()


def published_table(spec: str | None) -> pd.DataFrame | None:
    """The ``published`` option as the table `write_report` joins beside every table: None; a CSV
    file (columns ``model``, ``source`` and the numbers); or ``"<benchmark>[:<split>]"`` of
    ``samkit/published_accuracy.csv`` (`samkit.results.published.published_beside`)."""
    if not spec:
        return None
    if str(spec).endswith(".csv"):
        path = Path(spec)
        if not path.is_file():
            raise FileNotFoundError(f"published={spec!r}: no such CSV file")
        table = pd.read_csv(path)
        if "model" not in table.columns:
            raise ValueError(f"published={spec!r}: the CSV needs a 'model' column; it has {list(table.columns)}")
        return table
    benchmark, _, split = str(spec).partition(":")
    return published_beside(benchmark, split or None)


@hydra.main(config_path="../conf", config_name="report", version_base="1.3")
def main(cfg: DictConfig) -> None:
    runs = OmegaConf.to_object(cfg.runs) if OmegaConf.is_list(cfg.runs) else [cfg.runs]
    frame = merge_runs(runs)
    out = Path(cfg.out) if cfg.out else Path(runs[0]) / "report"
    files = write_report(frame, out, title=cfg.title, published=published_table(cfg.published))
    print(f"[samkit] {len(frame)} rows from {len(runs)} run folder(s) -> {out}")
    for key, path in files.items():
        print(f"  {key}: {path}")
    if "fast_settings_csv" in files:  # the ratios, as a sweep's last word (tables: fast_settings.md)
        for row in pd.read_csv(files["fast_settings_csv"]).itertuples():
            print(
                f"  {row.model} on {row.device_label}: plain {row.plain_encoder_ms:.1f} ms/image, best "
                f"{row.best_setting} {row.best_encoder_ms:.1f} ms/image ({row.speedup:.2f}x, agreement "
                f"{row.best_agreement_mIoU:.3f}); fastest {row.fastest_setting} ({row.fastest_speedup:.2f}x"
                f"{', ' + row.fastest_flag if isinstance(row.fastest_flag, str) and row.fastest_flag else ''})"
            )


if __name__ == "__main__":
    main()
