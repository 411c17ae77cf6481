"""The two paper experiments end to end (issue 24): `conf/experiment/sam2_paper_vos.yaml` and
`conf/experiment/sam3_paper_saco.yaml` composed and run as `experiments/evaluate.py` jobs with
random weights on small sets written in the official layouts (SA-V, MOSE, DAVIS 2017, LVOS v2,
YouTube-VOS: ``tests/data/vos_layouts.py`` and ``tests/data/vos_golden/make_inputs.py``; SA-Co/Gold:
``tests/data/saco_layout.py``), then one report: a ``vos_<benchmark>`` table per benchmark with
the measured J&F in percent beside the published figure (labelled, with its split and source,
never in its place), the SA-Co table with SAM 3's published Gold figures joined beside it, and
the random-weights warning on every table.

To keep the CPU time small, SAM 2.1 tiny is built with a 256-pixel input (as in
``tests/test_experiments.py``) and SAM 3 with its tiny config (``samkit.load(..., config="tiny")``;
the Hydra configs have no model options, so the test passes it to the loader)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "data"))  # vos_layouts.py, saco_layout.py
sys.path.insert(0, str(ROOT / "tests" / "data" / "vos_golden"))  # make_inputs.py (DAVIS)

import make_inputs  # noqa: E402
import saco_layout  # noqa: E402
import vos_layouts  # noqa: E402

from samkit.results import merge_runs, write_report  # noqa: E402
from samkit.results.published import published_accuracy, published_beside  # noqa: E402
from samkit.wording import RANDOM_WEIGHTS_WARNING  # noqa: E402
from test_experiments import _compose, evaluate, schemas  # noqa: E402

VOS_MODEL = "sam2.1_hiera_tiny"
COMMON = ["weights=random", "device=cpu", "progress=false"]


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict[str, list[str]]:
    """The generated official-layout sets, as each job's dataset overrides."""
    root = tmp_path_factory.mktemp("sets")
    vos_layouts.write_sav(root / "sav_val")
    vos_layouts.write_mose(root / "mose")
    vos_layouts.write_youtube_vos(root / "youtube_vos")
    vos_layouts.write_lvos(root / "lvos")
    davis, _ = make_inputs.write_davis(root / "davis")
    gold = saco_layout.write_saco(root / "saco")
    return {
        "sav": ["dataset=sav", f"dataset.root={root / 'sav_val'}"],
        "mose": ["dataset=mose", f"dataset.root={root / 'mose'}"],  # train: densely annotated
        "davis": ["dataset=davis", f"dataset.root={davis}", "dataset.split=train"],  # one sequence
        "lvos": ["dataset=lvos", f"dataset.root={root / 'lvos'}"],
        "youtube_vos": ["dataset=youtube_vos", f"dataset.root={root / 'youtube_vos'}", "dataset.split=train"],
        "saco": [
            "dataset=saco",
            f"dataset.gt_json=[{','.join(str(p) for p in gold.gold_gt)}]",
            f"dataset.images_dir={gold.gold_images}",
            "dataset.max_images=2",
        ],
    }


@pytest.fixture
def small_models(monkeypatch):
    """SAM 2 at a 256-pixel input, SAM 3 at its tiny config, while the test's jobs run."""
    import samkit.loading
    import samkit.models.sam2 as sam2_adapter

    model_config, load = sam2_adapter.model_config, samkit.loading.load

    def small(spec):
        cfg = model_config(spec)
        cfg.image_size = 256
        return cfg

    def tiny_sam3(name, *args, **kwargs):
        return load(name, *args, **({**kwargs, "config": "tiny"} if name == "sam3" else kwargs))

    monkeypatch.setattr(sam2_adapter, "model_config", small)
    monkeypatch.setattr(samkit.loading, "load", tiny_sam3)


def _job(out: Path, experiment: str, *overrides: str) -> pd.DataFrame:
    cfg = _compose("evaluate", [f"+experiment={experiment}", *overrides, *COMMON])
    assert evaluate.run(cfg, str(out)) == 0
    return pd.read_parquet(out / "rows.parquet")


def _sweep(experiment: str) -> dict[str, str]:
    return {
        k: str(v)
        for k, v in OmegaConf.load(ROOT / "conf/experiment" / f"{experiment}.yaml").hydra.sweeper.params.items()
    }


def test_paper_experiments_compose_as_documented():
    from samkit.detectors import list_detectors

    cfg = _compose("evaluate", ["+experiment=sam2_paper_vos"])
    protocol = schemas.plain(cfg.protocol)
    assert protocol["name"] == "video" and protocol["prompt"] == "mask" and protocol["predictions_dir"]
    sweep = _sweep("sam2_paper_vos")
    assert sweep["model"] == "glob([sam2*,edgetam,sam3])"
    assert sweep["dataset"].split(",") == ["sav", "mose", "davis", "lvos", "youtube_vos"]
    for name in sweep["dataset"].split(","):
        assert (ROOT / "conf/dataset" / f"{name}.yaml").is_file()
    cfg = _compose("evaluate", ["+experiment=sam3_paper_saco"])
    assert schemas.plain(cfg.protocol)["name"] == "saco" and cfg.dataset._target_.endswith("SacoDataset")
    sweep = _sweep("sam3_paper_saco")
    detectors = sweep["protocol.detector"].split(",")
    assert detectors[0] == "native" and sorted(detectors[1:]) == sorted(list_detectors(kind="open_vocab"))
    assert "sam3" in sweep["model"].split(",")


def test_published_accuracy_file_is_complete_and_sourced():
    import samkit

    table = published_accuracy()
    assert list(table.columns) == ["model", "benchmark", "metric", "value", "unit", "split", "conditions", "source"]
    assert set(table["model"]) <= set(samkit.list_models())
    assert table["value"].notna().all() and table["source"].str.len().gt(0).all()
    assert table["unit"].isin(["percent", "fraction"]).all() and table["conditions"].str.len().gt(0).all()
    assert not table.duplicated(["model", "benchmark", "metric", "split", "source"]).any()
    video_models = [m for m in samkit.list_models() if m.startswith("sam2") or m == "edgetam"]
    assert set(table.loc[table["benchmark"] == "SA-V", "model"]) == set(video_models)
    one = table[(table["model"] == "sam2.1_hiera_large") & (table["benchmark"] == "SA-V")].iloc[0]
    assert (one["value"], one["split"]) == (79.5, "test") and "facebookresearch/sam2 README.md" in one["source"]
    gold = published_beside("SA-Co/Gold", split="average")
    assert gold["model"].tolist() == ["sam3"] and gold["cgF1 (SA-Co/Gold average, %)"].iloc[0] == 54.06
    with pytest.raises(ValueError, match="known: "):
        published_accuracy("DAVIS 2016")


@pytest.mark.parametrize(
    "full", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["one_video_per_set", "whole_sets"]
)
def test_paper_experiments_on_generated_sets_then_report(full, sets, small_models, tmp_path):
    """One small video model over the five VOS layouts (one video of each; every video under
    ``slow``), SAM 3 (tiny) natively and through a tiny detector's boxes over SA-Co/Gold (and
    MobileSAM through the detector under ``slow``), all with random weights, then the report."""
    runs = tmp_path / "multirun"
    one = {
        "sav": ["dataset.sequences=[sav_000001]"],  # the other has 2 annotated frames: J&F NaN
        "mose": ["dataset.max_images=1"],
        "davis": [],  # split=train: one sequence
        "lvos": ["dataset.max_images=1"],
        "youtube_vos": [],  # train: one video
    }
    for name, subset in one.items():
        rows = _job(
            runs / f"vos_{name}", "sam2_paper_vos", f"model={VOS_MODEL}", *sets[name], *([] if full else subset)
        )
        ok = rows[rows["status"] == "ok"]
        assert len(ok) and (rows["status"].isin(["ok", "skipped"])).all(), rows["error"].dropna().tolist()
        scored = ok["J&F-Mean"].dropna()  # NaN: an object with fewer than 3 annotated frames
        assert len(scored) and scored.between(0, 1).all()
        assert all(Path(p).exists() for p in ok["predictions"])  # written for the scorers and servers
        assert all(Path(p).is_relative_to(runs / f"vos_{name}" / "predictions") for p in ok["predictions"])
    gold = sets["saco"] + ([] if full else ["dataset.max_images=1"])
    native = _job(runs / "saco_sam3", "sam3_paper_saco", "model=sam3", "protocol.detector=native", *gold)
    assert native["status"].isin(["ok", "skipped"]).all(), native["error"].dropna().tolist()
    assert native["weights"].str.contains("config=tiny").all()
    pipelines = ["sam3"] + (["mobile_sam"] if full else [])
    for model in pipelines:  # a detector's boxes -> the segmenter
        rows = _job(
            runs / f"saco_{model}_gdino",
            "sam3_paper_saco",
            f"model={model}",
            "protocol.detector=grounding_dino_tiny",
            "protocol.detector_config=tiny",
            *gold,
        )
        assert rows["status"].isin(["ok", "skipped"]).all(), rows["error"].dropna().tolist()
        assert (rows["detector"] == "grounding_dino_tiny").all()
    unsupported = _job(runs / "saco_native_sam2", "sam3_paper_saco", f"model={VOS_MODEL}", *gold)
    assert unsupported["status"].tolist() == ["unsupported"]  # no native text path: one row, not loaded

    frame = merge_runs(runs)
    out = tmp_path / "report"
    written = write_report(frame, out)
    accuracy = pd.read_csv(written["accuracy_csv"])
    published = published_accuracy()

    expected = {  # benchmark: (published column, value beside sam2.1_hiera_tiny, where it was published)
        "sav": ("J&F", 76.5, "SA-V test"),
        "mose": ("J&F", 71.8, "MOSE val"),
        "lvos": ("J&F", 77.3, "LVOS v2 not stated"),
        "davis": ("J&F", None, None),  # the READMEs give DAVIS only for B+ checkpoints and EdgeTAM
        "youtube_vos": ("G", None, None),  # published as YouTube-VOS's G, for B+ and EdgeTAM only
    }
    for name, (metric, value, on) in expected.items():
        md, csv = written[f"vos_{name}_md"].read_text(), pd.read_csv(written[f"vos_{name}_csv"])
        assert len(csv) == 1 and csv["model"].tolist() == [VOS_MODEL]
        row = csv.iloc[0]
        assert row["weights_kind"] == "random" and RANDOM_WEIGHTS_WARNING in row["note"]
        assert f"WARNING: {RANDOM_WEIGHTS_WARNING}" in md and "| J&F (%) | J (%) | F (%) |" in md
        assert "percent (x100, one decimal, as the papers print)" in md
        # measured: the accuracy table's J&F of the same rows, in percent; never the published one
        measured = accuracy.loc[accuracy["dataset"] == row["dataset"], "J&F"].iloc[0]
        assert row["J&F (%)"] == round(100 * measured, 1)
        assert f"published_{metric}_source" in md
        if value is None:
            assert pd.isna(row[f"published_{metric} (%)"])
            assert row[f"published_{metric}_source"].startswith("none published for this model")
        else:
            assert row[f"published_{metric} (%)"] == value and row[f"published_{metric}_on"] == on
            assert f"| published_{metric} (%) | published_{metric}_on | published_{metric}_source |" in md
            source = published.loc[(published["model"] == VOS_MODEL) & (published["value"] == value), "source"]
            assert row[f"published_{metric}_source"].startswith(source.iloc[0])
    assert "G, not J&F" in written["vos_youtube_vos_md"].read_text()

    saco = pd.read_csv(written["saco_csv"]).set_index("detector")  # sam3: native and through boxes
    cgf1, il_mcc = "published_cgF1 (%)", "published_IL_MCC"
    native, boxes = saco.loc["native"], saco.loc["grounding_dino_tiny"]
    if full:
        boxes = boxes[boxes["model"] == "sam3"].iloc[0]
    assert native["model"] == "sam3" and (native[cgf1], native[il_mcc]) == (47.26, 0.81)  # Gold metaclip
    assert 0 <= native["saco_cgF1"] <= 1 and native["saco_cgF1"] != native[cgf1]  # ours, a fraction, beside
    assert "facebookresearch/sam3 scripts/eval/gold/README.md" in native["published_saco_source"]
    # SAM 3 through a detector's boxes is not what was published (SAM 3's own text path): no figure
    assert pd.isna(boxes[cgf1]) and "grounding_dino_tiny boxes" in boxes["published_saco_source"]
    others = pd.read_csv(written["saco_csv"]).query("model != 'sam3'")
    assert len(others) and others[cgf1].isna().all()  # no published figure: empty, never borrowed
    md = written["saco_md"].read_text()
    assert f"WARNING: {RANDOM_WEIGHTS_WARNING}" in md and "published_* columns are quoted" in md
    index = written["index_md"].read_text()
    for name in expected:
        assert f"(vos_{name}.md)" in index


def test_vos_tables_put_the_published_figure_of_the_measured_split_beside():
    """`vos_benchmark_tables` on hand-made video rows: percent of the rows' fractions, the published
    figure of the measured split where listed (else the model authors' own), G for YouTube-VOS,
    empty published cells for a model or benchmark without one, failures counted."""
    from samkit.eval.video import vos_benchmark_tables

    def rows(model, dataset, kind="pretrained", status="ok", j=0.7, f=0.8):
        return {
            "protocol": "video",
            "status": status,
            "model": model,
            "weights": kind,
            "weights_kind": kind,
            "device": "cuda:0",
            "device_name": "NVIDIA H100",
            "dtype": "float32",
            "dataset": dataset,
            "image_id": "v1",
            "object_id": "1",
            "J-Mean": j if status == "ok" else None,
            "F-Mean": f if status == "ok" else None,
            "J&F-Mean": (j + f) / 2 if status == "ok" and j is not None else None,
            "fps": 30.0,
        }

    frame = pd.DataFrame(
        [
            rows("sam2.1_hiera_base_plus", "sav:val"),
            rows("sam2.1_hiera_base_plus", "sav:test", j=0.5, f=0.6),
            rows("sam2.1_hiera_base_plus", "youtube_vos:valid", j=None, f=None),
            rows("mobile_sam", "davis:480p", kind="random", status="error"),
            rows("edgetam", "my_set:val"),
        ]
    )
    tables = vos_benchmark_tables(frame)
    assert list(tables) == ["davis", "sav", "youtube_vos", "my_set"]
    sav = tables["sav"].set_index("dataset")
    assert sav.loc["sav:val", "J&F (%)"] == 75.0 and sav.loc["sav:test", "J&F (%)"] == 55.0
    assert (sav.loc["sav:val", "published_J&F (%)"], sav.loc["sav:val", "published_J&F_on"]) == (76.8, "SA-V val")
    assert "facebookresearch/EdgeTAM README.md" in sav.loc["sav:val", "published_J&F_source"]
    assert (sav.loc["sav:test", "published_J&F (%)"], sav.loc["sav:test", "published_J&F_on"]) == (78.2, "SA-V test")
    assert "facebookresearch/sam2 README.md" in sav.loc["sav:test", "published_J&F_source"]
    assert (sav["note"] == "").all() and (sav["device_label"] == "NVIDIA H100 (cuda:0)").all()
    yt = tables["youtube_vos"].iloc[0]
    assert pd.isna(yt["J&F (%)"]) and yt["scored"] == 0 and "score on its server" in yt["note"]
    assert (yt["published_G (%)"], yt["published_G_on"]) == (88.6, "YouTube-VOS 2019 val")
    davis = tables["davis"].iloc[0]
    assert davis["failed"] == 1 and davis["objects"] == 0 and RANDOM_WEIGHTS_WARNING in davis["note"]
    assert pd.isna(davis["published_J&F (%)"]) and davis["published_J&F_source"].startswith("none published")
    assert tables["my_set"].iloc[0]["published_J&F_source"].startswith("none published")
    assert vos_benchmark_tables(frame.assign(protocol="box")) == {}
