"""The GPU run's outputs (`run_gpu.py`): tables, figure, summary and bundle from its saved rows.

`finalize` writes into OUT (the device tool returns at most 8 files; run.sh adds ``run.log``):

- ``summary.md``: device and versions, each part's state and time, the CUDA tests' result, the
  float32 table, each model's best setting, video fps and automatic-mask timings (random-weights
  warning on every table);
- ``perf.csv``: one row per model and setting (`perf_table`), ``video.csv``
  (`samkit.eval.video_benchmark.video_benchmark_table`), ``generate.csv`` (the generate rows);
- ``latency.png``: the report's encoder / decoder latency figure;
- ``bundle.tar.gz``: the full report (`samkit.results.write_report`: every protocol's tables and
  figures, the authors' published speed figures beside ours, labelled), every part's rows as CSV,
  ``env.json``, ``parts.json``, ``pytest.log`` and ``cuda_tests.xml``.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: columns of `perf_table`, after the setting keys
PERF_COLUMNS = [
    "model",
    "family",
    "setting",
    "dtype",
    "compile",
    "image_batch",
    "params_M",
    "encoder_ms",
    "encoder_p95_ms",
    "decoder_ms",
    "decoder_p95_ms",
    "box_ms",
    "boxes_batch_ms",
    "encoder_peak_mib",
    "decoder_peak_mib",
    "compile_ms",
    "agreement_mIoU",
    "agreement_flag",
    "errors",
    "device_label",
    "weights_kind",
    "note",
]


def _col(table: pd.DataFrame, name: str) -> pd.Series:
    return table[name] if name in table.columns else pd.Series(np.nan, index=table.index)


def perf_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per model and setting (dtype, compile, image batch) of the benchmark rows, with the
    agreement of the setting: ``encoder_ms`` is ``set_image`` (one image) or ``set_images`` per
    image (a batch), ``decoder_ms`` ``predict_point`` (one point, 3 masks), ``box_ms`` one box,
    ``boxes_batch_ms`` a batch of boxes in one call, peaks are ``max_memory_allocated`` MiB."""
    from samkit.eval.agreement import agreement_table, flag_agreement
    from samkit.eval.benchmark import benchmark_table
    from samkit.fast_settings import setting_label

    if not len(rows) or "protocol" not in rows.columns:
        return pd.DataFrame(columns=PERF_COLUMNS)
    bench = benchmark_table(rows)
    if not len(bench):
        return pd.DataFrame(columns=PERF_COLUMNS)
    bench = flag_agreement(bench, agreement_table(rows))
    batched = pd.to_numeric(bench["image_batch"], errors="coerce").fillna(1) > 1
    out = pd.DataFrame(
        {
            "model": bench["model"],
            "family": bench["family"],
            "setting": [
                setting_label(d, bool(c), int(b))
                for d, c, b in zip(bench["dtype"], bench["compile"], bench["image_batch"])
            ],
            "dtype": bench["dtype"],
            "compile": bench["compile"],
            "image_batch": bench["image_batch"],
            "params_M": bench["params_M"],
            "encoder_ms": np.where(batched, _col(bench, "set_images_per_image_ms"), _col(bench, "set_image_ms")),
            "encoder_p95_ms": np.where(batched, np.nan, _col(bench, "set_image_p95_ms")),
            "decoder_ms": _col(bench, "predict_point_ms"),
            "decoder_p95_ms": _col(bench, "predict_point_p95_ms"),
            "box_ms": _col(bench, "predict_box_ms"),
            "boxes_batch_ms": _col(bench, "predict_boxes_batch_ms"),
            "encoder_peak_mib": np.where(
                batched, _col(bench, "set_images_peak_mib"), _col(bench, "set_image_peak_mib")
            ),
            "decoder_peak_mib": _col(bench, "predict_point_peak_mib"),
            "compile_ms": _col(bench, "compile_ms"),
            "agreement_mIoU": _col(bench, "agreement_mIoU"),
            "agreement_flag": _col(bench, "agreement_flag"),
            "errors": bench["errors"],
            "device_label": bench["device_label"],
            "weights_kind": bench["weights_kind"],
            "note": bench["note"],
        }
    )
    order = {name: i for i, name in enumerate(dict.fromkeys(out["model"]))}
    out["_m"] = out["model"].map(order)
    out = out.sort_values(["_m", "compile", "image_batch", "dtype"], ascending=[True, True, True, False], kind="stable")
    return out.drop(columns="_m").reset_index(drop=True)


def published_wide() -> pd.DataFrame | None:
    """The authors' published speed figures, one row per model (``model``, one column per
    metric, ``source``), for `samkit.results.write_report`'s ``published=`` (labelled there)."""
    from samkit.results.tables import published_performance

    pub = published_performance()
    if not len(pub):
        return None
    wide = pub.pivot_table(index="model", columns="metric", values="value", aggfunc="first")
    wide["source"] = pub.groupby("model")["source"].agg(lambda s: "; ".join(dict.fromkeys(map(str, s))))
    return wide.reset_index()


#: columns shown as whole numbers in the summary
_COUNTS = {"masks", "generate_points_per_side", "length", "height", "width", "errors", "image_batch", "repeats"}


def _md(table: pd.DataFrame, columns: list[str], caption: str) -> str:
    from samkit.results.tables import to_markdown

    if not len(table):
        return f"**{caption}**\n\nNo rows.\n"
    shown = table[[c for c in columns if c in table.columns]].copy()
    for col in shown.columns:  # counts stay whole numbers (NaN made them float)
        values = pd.to_numeric(shown[col], errors="coerce") if shown[col].dtype.kind in "fiu" else None
        if values is not None and values.notna().any() and (values.dropna() % 1 == 0).all() and col in _COUNTS:
            shown[col] = values.astype("Int64")
    return to_markdown(shown, caption, about=table)


def _parts_md(store: Any, elapsed: float) -> str:
    lines = [
        "| part | state | seconds | done | failed | unsupported | skipped (budget) | note |",
        "|---|---|---:|---:|---|---|---|---|",
    ]
    for name, rec in store.parts.items():
        failed = "; ".join(f"{k}: {v}" for k, v in rec.get("failed", {}).items())
        unsupported = ", ".join(rec.get("unsupported", {}))
        skipped = ", ".join(rec.get("skipped", []))
        lines.append(
            f"| {name} | {rec['state']} | {rec['seconds']:.0f} | {len(rec.get('done', []))} | {failed} "
            f"| {unsupported} | {skipped} | {rec.get('note', '')} |"
        )
    return "\n".join(lines) + f"\n\nTotal: {elapsed:.0f} s of wall-clock time.\n"


def _env_md(env: dict[str, Any]) -> str:
    prov = env.get("provenance", {})
    if not prov:
        return "The env part did not run: no provenance recorded.\n"
    lines = [
        f"- Devices: {', '.join(prov.get('devices') or [])}; driver {prov.get('driver')}; CUDA {prov.get('cuda')}; "
        f"cuDNN {prov.get('cudnn')}",
        f"- Python {prov.get('python')}, torch {prov.get('torch')}, samkit {prov.get('samkit')} "
        f"(git {prov.get('git_commit')}), platform {prov.get('platform')}",
        f"- torch settings: {env.get('torch_settings')}",
        "- Modules: " + "; ".join(f"{k} {v}" for k, v in env.get("modules", {}).items()),
    ]
    differ = [c for c in env.get("kit", []) if c["installed"] != c["kit"]]
    if env.get("kit"):
        lines.append(
            f"- Kit: {len(env['kit'])} wheels; "
            + ("all installed at the kit's versions" if not differ else f"DIFFERENT: {differ}")
        )
    unmet = env.get("kit_requirements", {}).get("unmet")
    if unmet:
        lines.append("- Unmet requirements: " + "; ".join(unmet))
    return "\n".join(lines) + "\n"


def summary_markdown(
    store: Any,
    plan: Any,
    elapsed: float,
    perf: pd.DataFrame,
    best: pd.DataFrame,
    video: pd.DataFrame,
    gen: pd.DataFrame,
) -> str:
    """The run's ``summary.md``."""
    from samkit.wording import RANDOM_WEIGHTS_WARNING

    device = ", ".join((store.env.get("provenance") or {}).get("devices") or [plan.device])
    kind = "DRY RUN (CPU, tiny configs, one repeat: checks the driver, measures nothing)" if plan.dry_run else "GPU run"
    out = [
        f"# samkit {kind}: {device}",
        "",
        f"**{RANDOM_WEIGHTS_WARNING}.** Every model has random weights (seed 0"
        + (", initialised on the GPU" if plan.init_on_device and str(plan.device).startswith("cuda") else "")
        + f"); image {plan.image_size}x{plan.image_size} (scikit-image's astronaut), warm-up {plan.warmup}, "
        f"{plan.repeats} timed repeats (median; CUDA events); peak memory is `torch.cuda.max_memory_allocated` "
        "(weights included) on CUDA, the process's peak RSS on a CPU.",
        "",
        "## Environment",
        "",
        _env_md(store.env),
        "## Parts",
        "",
        _parts_md(store, elapsed),
        "## CUDA tests",
        "",
    ]
    tests = store.parts.get("tests", {})
    out.append(
        f"{len(tests.get('tests', []))} test(s) ({', '.join(tests.get('tests', []))}): {tests.get('note', 'not run')}\n"
        if tests
        else "Not run.\n"
    )
    plain = perf[(perf["dtype"] == "float32") & ~perf["compile"].astype(bool) & (perf["image_batch"] == 1)]
    out += [
        "## float32, eager, one image a call",
        "",
        _md(
            plain,
            [
                "model",
                "family",
                "params_M",
                "encoder_ms",
                "encoder_p95_ms",
                "decoder_ms",
                "box_ms",
                "boxes_batch_ms",
                "encoder_peak_mib",
                "decoder_peak_mib",
                "errors",
            ],
            "Encoder (set_image) and decoder (one point, 3 masks; one box; a batch of boxes) ms, peak MiB",
        ),
        "## Best setting per model",
        "",
        "Best: the fastest setting (encoder ms per image) whose masks agree with float32 eager "
        "(mean IoU >= 0.99 on the agreement protocol's inputs; with random weights the agreement is not "
        "representative); fastest: the fastest of all, flagged when its agreement is below or not measured. "
        "Every setting is in perf.csv.",
        "",
        _md(
            best,
            [
                "model",
                "plain_encoder_ms",
                "plain_predict_point_ms",
                "best_setting",
                "best_encoder_ms",
                "speedup",
                "best_agreement_mIoU",
                "best_compile_ms",
                "fastest_setting",
                "fastest_speedup",
                "fastest_flag",
            ],
            "Each model's plain setting beside its best and fastest one",
        ),
        "## Video tracking",
        "",
        _md(
            video,
            [
                "model",
                "length",
                "height",
                "width",
                "video_storage",
                "offload_state_to_cpu",
                "fps",
                "propagate_ms",
                "init_ms",
                "peak_mem_mib",
                "status",
            ],
            f"Frames per second of one forward propagation (video benchmark protocol; {plan.video})",
        ),
        "## Automatic masks (generate)",
        "",
        _md(
            gen,
            [
                "model",
                "engine",
                "structure",
                "generate_points_per_side",
                "median_ms",
                "masks",
                "peak_mem_mib",
                "speedup_vs_upstream",
                "matched_fraction",
                "status",
                "error",
            ],
            "samkit's generator against the upstream one on the same model and image",
        ),
        "## Files",
        "",
        "perf.csv (every model and setting), video.csv, generate.csv, latency.png, bundle.tar.gz (the full "
        "report: every protocol's tables and figures with the authors' published speed figures beside ours; "
        "each part's rows as CSV; env.json; parts.json; pytest.log; cuda_tests.xml).",
        "",
    ]
    return "\n".join(out)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    with warnings.catch_warnings():  # all-NA columns of some frames are kept (the row schema has them)
        warnings.simplefilter("ignore", FutureWarning)
        return pd.concat(frames, ignore_index=True)


def finalize(store: Any, out: Path, plan: Any, elapsed: float, log: Any) -> list[Path]:
    """Write `OUTPUT_FILES` into ``out`` from ``store`` (see the module docstring); their paths."""
    from samkit.eval.benchmark import fast_settings_table
    from samkit.eval.video_benchmark import video_benchmark_table
    from samkit.results import write_report

    out.mkdir(parents=True, exist_ok=True)
    work = store.work
    rows = {part: store.rows(part) for part in ("perf", "fast", "compile", "video", "generate")}
    for part, frame in rows.items():
        if len(frame):
            frame.to_csv(work / f"rows_{part}.csv", index=False)
    bench = _concat([rows["perf"], rows["fast"], rows["compile"]])
    everything = _concat([bench, rows["video"]])
    report_files: dict[str, Path] = {}
    if len(everything):
        try:
            report_files = write_report(
                everything, work / "report", title=f"samkit GPU run ({plan.device})", published=published_wide()
            )
        except Exception as err:  # noqa: BLE001 - the other outputs still come
            log(f"report: FAILED {type(err).__name__}: {err}")
    perf = perf_table(bench)
    best = fast_settings_table(bench, bench) if len(bench) else pd.DataFrame()
    video = video_benchmark_table(rows["video"]) if len(rows["video"]) else pd.DataFrame()
    gen = rows["generate"]
    written = []
    for name, table in (("perf.csv", perf), ("video.csv", video), ("generate.csv", gen)):
        table.to_csv(out / name, index=False)
        written.append(out / name)
    if len(best):
        best.to_csv(work / "fast_settings.csv", index=False)
    if "latency_png" in report_files:
        shutil.copy2(report_files["latency_png"], out / "latency.png")
        written.append(out / "latency.png")
    (work / "env.json").write_text(json.dumps(store.env, indent=2, default=str))
    (work / "parts.json").write_text(json.dumps(store.parts, indent=2, default=str))
    summary = out / "summary.md"
    summary.write_text(summary_markdown(store, plan, elapsed, perf, best, video, gen))
    written.insert(0, summary)
    bundle = out / "bundle.tar.gz"
    with tarfile.open(bundle, "w:gz") as tar:
        for path in sorted(work.iterdir()):
            if path.name not in ("state.pkl", "state.pkl.tmp"):
                tar.add(path, arcname=f"bundle/{path.name}")
    written.append(bundle)
    log(f"outputs: {', '.join(p.name for p in written)} in {out}")
    return written
