"""Video protocol: semi-supervised video object segmentation as the papers run it -> J&F, and the
predictions in the benchmark's own layout.

Datasets: DAVIS 2017, SA-V, MOSE v1 / v2, YouTube-VOS and LVOS (`samkit.data`'s VOS loaders). Per
sequence: ``model.video(frames)``; each object is prompted on the frame where it is first annotated
(``meta["objects"][k]["first_frame"]``) with its ground-truth mask (``prompt="mask"``, the
semi-supervised setting), its box (``"box"``) or ``clicks`` simulated clicks (``"points"``: SAM's
first click farthest from the boundary, then RITM's clicks against the model's own mask on that
frame). Tracking is one forward pass over the video from the earliest prompt frame, in segments:
the objects first annotated on a later frame join the tracker on that frame (a prompt there, then
propagation from there on), so no object is tracked before its own prompt frame, as sam2's
``tools/vos_inference.py --track_object_appearing_later_in_video`` runs YouTube-VOS and LVOS (it
propagates each such object from its own first frame). With every object on frame 0 (DAVIS) this
is one propagation, as before.

Each object is scored with the DAVIS 2017 toolkit's statistics (`samkit.metrics.j_and_f`: first and
last scored frames dropped, void pixels ignored) on its own annotated frames from its prompt frame
on (`scored_frames`: ``meta["objects"][k]["annotated_frames"]`` where the loader gives them, e.g.
first-appearance splits such as YouTube-VOS valid, else ``sample.annotated``). Per-frame J and F
are computed as the frames are tracked; no predicted mask of the whole video is kept.

The tracker runs with ``bounded=True`` by default (`samkit.video.tracker`): after each frame it
drops the per-frame tracking state that no later frame reads, so memory stays flat however long
the sequence (LVOS, SA-V); the masks are those of the unbounded tracker, bit for bit.
``bounded=False`` keeps every frame's state (upstream's own behaviour).

With ``predictions_dir``, each tracked frame is written as it is produced in the benchmark's layout
(`samkit.eval._vos_writer`): ``"davis"`` label PNGs ``<seq>/<frame>.png`` (DAVIS palette; where
predicted objects overlap, the smallest object id wins, as sam2's ``put_per_obj_mask``) or
``"sav"`` binary PNGs ``<video>/<obj:03d>/<frame>.png``; frames before the first prompt are
written empty; `samkit.metrics.scoring.score_vos` reads them, and `write_submission` zips them for
an evaluation server (YouTube-VOS, MOSE v1 / v2, LVOS, DAVIS test-dev, SA-V).

One row per (sequence, object): ``J-Mean``, ``J-Recall``, ``J-Decay``, ``F-Mean``, ``F-Recall``,
``F-Decay``, ``J&F-Mean`` (NaN where fewer than 3 of its frames are annotated, e.g. YouTube-VOS
valid: score those with the server), ``prompt_frame``, ``scored_frames``, ``predictions`` (the
folder its predictions are in) and ``predictions_layout``, and the sequence's ``init_ms`` (frames
opened, first frame embedded), ``prompt_ms`` (all prompts), ``propagate_ms``, ``frames``, ``fps``
(propagated frames per second; prompting, loading, writing and scoring apart) and
``peak_mem_mib`` of the propagation (later objects' prompts included). The summary is DAVIS's:
``J&F`` = mean over all objects of (J-Mean + F-Mean) / 2, ``J``, ``F`` (means over objects), and
``video_fps`` (median over sequences). Its tables: one per benchmark (`vos_benchmark_tables`: the
report's ``vos_<benchmark>.md``, measured J&F in percent beside the published figures of
``samkit/published_accuracy.csv``) and `sequence_table` (J&F per sequence, ``video_sequences.md``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from samkit.eval._runner import RowSink, resolve_run_id
from samkit.eval._vos_writer import SUBMISSIONS, PredictionWriter, write_submission
from samkit.eval.protocol import Protocol, Section, failure_row, row_header
from samkit.metrics.perf import measure_peak_memory, timed
from samkit.params import check_bool
from samkit.wording import device_label, joined, present, weights_labels, with_random_warning

__all__ = [
    "run_video",
    "VideoParams",
    "PROTOCOL",
    "summarize_video",
    "prompt_of",
    "scored_frames",
    "predictions_layout_of",
    "write_submission",
    "SUBMISSIONS",
    "PREDICTION_LAYOUTS",
    "SEQUENCE_KEYS",
    "sequence_table",
    "VOS_REPORT_BENCHMARKS",
    "vos_benchmark_of",
    "vos_benchmark_tables",
]

PROMPTS = ("mask", "box", "points")
#: ``predictions_layout`` values: the dataset's own (``auto``), label PNGs (``davis``), per-object PNGs (``sav``)
PREDICTION_LAYOUTS = ("auto", "davis", "sav")
J_AND_F_KEYS = ("J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay", "J&F-Mean")


def _obj_int(object_id: str, index: int) -> int:
    """A tracker object id (an int) for a dataset object id: itself if it is an int, else its index."""
    try:
        return int(object_id)
    except ValueError:
        return index + 1


def prompt_of(gt: np.ndarray, kind: str) -> dict[str, Any]:
    """The first prompt of an object from its ground-truth mask on its first frame (HxW bool):
    ``mask`` (the mask), ``box`` (its tight XYXY box, covering whole pixels) or ``points``
    (SAM's first click, the mask pixel farthest from its boundary)."""
    from samkit.masks import mask_box
    from samkit.metrics import next_click

    if kind == "mask":
        return {"mask": gt}
    if kind == "box":
        return {"box": mask_box(gt)}
    x, y, _ = next_click(gt, np.zeros_like(gt))
    return {"point_coords": [[x, y]], "point_labels": [1]}


def _prompt_object(tracker: Any, frame: int, oid: int, gt: np.ndarray, kind: str, clicks: int) -> list:
    """Prompt one object; with ``points``, ``clicks`` RITM clicks against the tracker's own mask."""
    from samkit.metrics import next_click

    prompt = prompt_of(gt, kind)
    out = tracker.add_prompt(frame, oid, **prompt)
    given = [prompt.get("point_coords", [[None, None]])[0] + [True]] if kind == "points" else []
    for _ in range(1, clicks if kind == "points" else 1):
        x, y, positive = next_click(gt, out[oid], [c[:2] for c in given])
        given.append([x, y, positive])
        out = tracker.add_prompt(
            frame, oid, point_coords=[c[:2] for c in given], point_labels=[int(c[2]) for c in given]
        )
    return given


def run_video(
    model: Any,
    dataset: Iterable[Any],
    *,
    prompt: str = "mask",
    clicks: int = 1,
    video_storage: str = "stream",
    offload_state_to_cpu: bool = False,
    bounded: bool = True,
    predictions_dir: str | os.PathLike | None = None,
    predictions_layout: str = "auto",
    run_id: str | None = None,
    out_path: Any = None,
    resume: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per (sequence, object) of a VOS dataset (`samkit.data.DavisDataset`, `SavDataset`,
    `MoseDataset`, `Mosev2Dataset`, `YouTubeVOSDataset`, `LvosDataset`; see the module docstring).

    Args:
        prompt: ``"mask"``, ``"box"`` or ``"points"`` (from the object's first annotated frame's mask).
        clicks: simulated clicks per object with ``prompt="points"`` (>= 1).
        video_storage, offload_state_to_cpu, bounded: the tracker's memory options
            (`Segmenter.video`; ``bounded`` True: per-frame state dropped once unreadable, the same masks).
        predictions_dir: write the predictions there, frame by frame as they are tracked, in
            ``predictions_layout`` (None: not written). A relative path is taken from the folder of
            ``out_path`` when it is given (the Hydra run folder in the experiments), else from the
            current folder. Files are overwritten, never deleted; a folder of the dataset's own
            annotations is refused.
        predictions_layout: ``"davis"`` (``<seq>/<frame>.png`` label PNGs: DAVIS, MOSE, YouTube-VOS,
            LVOS), ``"sav"`` (``<video>/<obj:03d>/<frame>.png`` binary PNGs) or ``"auto"`` (``sav``
            for a `samkit.data.SavDataset`, else ``davis``). See `samkit.eval._vos_writer`.

    Objects the loader skipped and objects without any annotated pixel are rows with status
    ``skipped``; a sequence that fails (e.g. out of memory) is one failure row and the run goes on.
    """
    if prompt not in PROMPTS:
        raise ValueError(f"prompt must be one of {PROMPTS}, got {prompt!r}")
    if not isinstance(clicks, int) or clicks < 1:
        raise ValueError(f"clicks must be an int >= 1, got {clicks!r}")
    bounded = check_bool("bounded", bounded)
    layout = predictions_layout_of(dataset, predictions_layout)
    root = _predictions_root(predictions_dir, out_path)
    if root is not None:
        _refuse_ground_truth(root, getattr(dataset, "annotations_dir", None))

    run_id = resolve_run_id(run_id)
    sink = RowSink(out_path, resume)
    for sample in tqdm(dataset, desc=f"video {model.name}", unit="sequence", disable=not progress):
        if sink.done(sample.sequence):
            continue
        base = {**row_header(model, run_id, "video", sample.dataset, sample.sequence), "prompt": prompt}
        sink.extend(
            [
                {**base, "object_id": str(s.get("object_id")), "status": "skipped", "error": str(s.get("reason"))}
                for s in sample.skipped
            ]
        )
        rows: list[dict[str, Any]] = []
        try:
            _run_sequence(
                model,
                sample,
                base,
                rows,
                prompt=prompt,
                clicks=clicks,
                video_storage=video_storage,
                offload_state_to_cpu=offload_state_to_cpu,
                bounded=bounded,
                root=root,
                layout=layout,
            )
        except Exception as err:  # noqa: BLE001 - recorded; the run goes on
            rows.append(failure_row(base, err))
        sink.extend(rows)
        sink.flush()
    return sink.frame()


def predictions_layout_of(dataset: Any, predictions_layout: str = "auto") -> str:
    """The predictions layout of a run: ``predictions_layout`` itself, or for ``"auto"`` the
    dataset's own: ``"sav"`` for a `samkit.data.SavDataset`, else ``"davis"``."""
    if predictions_layout not in PREDICTION_LAYOUTS:
        raise ValueError(f"predictions_layout must be one of {PREDICTION_LAYOUTS}, got {predictions_layout!r}")
    if predictions_layout != "auto":
        return predictions_layout
    from samkit.data.sav import SavDataset

    return "sav" if isinstance(dataset, SavDataset) else "davis"


def _predictions_root(predictions_dir: Any, out_path: Any) -> Path | None:
    """``predictions_dir`` as a Path (a relative one beside ``out_path`` when given), or None."""
    if predictions_dir is None:
        return None
    if not isinstance(predictions_dir, str | os.PathLike) or not str(predictions_dir):
        raise ValueError(f"predictions_dir must be a folder path or None, got {predictions_dir!r}")
    root = Path(predictions_dir).expanduser()
    if not root.is_absolute() and out_path is not None:
        root = Path(out_path).parent / root
    return root


def _refuse_ground_truth(root: Path, annotations: Any) -> None:
    """ValueError when ``root`` is (inside) ``annotations``, the dataset's ground-truth folder."""
    if annotations is None:
        return
    gt, pred = Path(annotations).resolve(), root.resolve()
    if pred == gt or gt in pred.parents:
        raise ValueError(f"predictions_dir {str(root)!r} is the dataset's own annotations folder {str(gt)!r}")


def _first_frame(sample: Any, k: int) -> int | None:
    """The frame object ``k`` is first annotated on (with pixels): ``meta["objects"][k]["first_frame"]``
    where the loader gives it, else the first annotated frame holding it; None without any pixel."""
    present = np.flatnonzero(sample.masks[k].any(axis=(1, 2)) & sample.annotated)
    if not len(present):
        return None
    objects = sample.meta.get("objects")
    first = objects[k].get("first_frame") if objects else None
    return int(present[0]) if first is None else int(first)


def scored_frames(sample: Any, k: int, first: int) -> list[int]:
    """The frames object ``k`` is scored on, prompt frame included (`samkit.metrics.j_and_f` then
    drops the first and the last, as the DAVIS toolkit does): its own annotated frames
    (``meta["objects"][k]["annotated_frames"]``, the loaders of first-appearance splits give them;
    else ``sample.annotated``) from ``first``, its prompt frame, on; with an LVOS ``frame_range``,
    only the frames whose names lie in it."""
    objects = sample.meta.get("objects")
    entry = objects[k] if objects else {}
    frames = entry.get("annotated_frames")
    if frames is None:
        frames = np.flatnonzero(sample.annotated).tolist()
    frames = sorted(int(t) for t in frames if int(t) >= first)
    span = entry.get("frame_range")
    if span and all(sample.frame_names[t].isdigit() for t in frames):
        frames = [t for t in frames if span["start"] <= int(sample.frame_names[t]) <= span["end"]]
    return frames


class _ObjectScores:
    """One object's per-frame J and F on its scored frames, accumulated as the frames are tracked
    (no predicted mask is kept); `result` gives `samkit.metrics.j_and_f`'s statistics."""

    def __init__(self, frames: list[int]) -> None:
        self.frames = frames
        self.scored = frames[1:-1]  # j_and_f's skip_first_last
        self.wanted = set(self.scored)
        self.j: dict[int, float] = {}
        self.f: dict[int, float] = {}

    def add(self, t: int, gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None) -> None:
        from samkit.metrics import boundary_f, jaccard

        if t in self.wanted and t not in self.j:
            self.j[t], self.f[t] = jaccard(gt, pred, void), boundary_f(gt, pred, void)

    def result(self, sample: Any, k: int) -> dict[str, float]:
        """The statistics; frames never tracked count as an empty prediction."""
        from samkit.metrics.video import davis_statistics

        empty = np.zeros((sample.height, sample.width), dtype=bool)
        for t in self.scored:
            if t not in self.j:
                self.add(t, sample.masks[k, t], empty, None if sample.void is None else sample.void[t])
        jm, jr, jd = davis_statistics(np.array([self.j[t] for t in self.scored], dtype=np.float64))
        fm, fr, fd = davis_statistics(np.array([self.f[t] for t in self.scored], dtype=np.float64))
        return {
            "J-Mean": jm,
            "J-Recall": jr,
            "J-Decay": jd,
            "F-Mean": fm,
            "F-Recall": fr,
            "F-Decay": fd,
            "J&F-Mean": (jm + fm) / 2,
        }


def _run_sequence(
    model: Any,
    sample: Any,
    base: dict[str, Any],
    rows: list[dict[str, Any]],
    *,
    prompt: str,
    clicks: int,
    video_storage: str,
    offload_state_to_cpu: bool,
    bounded: bool,
    root: Path | None,
    layout: str,
) -> None:
    """One sequence: its tracker, the objects prompted on their first frames, the segmented
    propagation with predictions written and scored frame by frame; its rows appended to ``rows``
    as they are made (those made before a failure are kept)."""
    folder = sample.frame_paths[0].parent
    tracker, init_ms = timed(
        lambda: model.video(
            [np.asarray(_read(p)) for p in sample.frame_paths] if _mixed(sample) else folder,
            video_storage=video_storage,
            offload_state_to_cpu=offload_state_to_cpu,
            bounded=bounded,
        ),
        model.device,
    )
    objects: list[tuple[int, str, int, int]] = []  # (index, object id, tracker id, prompt frame)
    for k, object_id in enumerate(sample.object_ids):
        first = _first_frame(sample, k)
        if first is None:
            rows.append({**base, "object_id": object_id, "status": "skipped", "error": "empty"})
        else:
            objects.append((k, object_id, _obj_int(object_id, k), first))
    if not objects:
        return
    num_frames = sample.num_frames
    writer = None
    if root is not None:
        writer = PredictionWriter(
            root,
            sample.sequence,
            layout,
            frame_names=sample.frame_names,
            objects={oid: object_id for _, object_id, oid, _ in objects},
            size=(sample.height, sample.width),
            frames=sample.meta.get("meta_frames"),
        )
        _refuse_ground_truth(writer.folder, sample.meta.get("annotations_dir"))
    scores = {oid: _ObjectScores(scored_frames(sample, k, first)) for k, _, oid, first in objects}
    by_oid = {oid: k for k, _, oid, _ in objects}
    void = sample.void
    prompts: dict[str, dict[str, Any]] = {}
    state = {"prompt_ms": 0.0, "propagate_ms": 0.0, "frames": 0}

    def prompt_on(frame: int) -> None:
        for k, object_id, oid, first in objects:
            if first == frame:
                given, ms = timed(
                    lambda: _prompt_object(tracker, first, oid, sample.masks[k, first], prompt, clicks), model.device
                )
                state["prompt_ms"] += ms
                prompts[object_id] = {"frame": first, "clicks": given}

    def use(t: int, masks: dict[int, np.ndarray]) -> None:
        if writer is not None:
            writer.write(t, masks)
        for oid, k in by_oid.items():
            if t in scores[oid].wanted and oid in masks:
                scores[oid].add(t, sample.masks[k, t], masks[oid], None if void is None else void[t])

    starts = sorted({first for *_, first in objects})

    def propagate() -> None:
        # one forward pass over the video in segments: objects join at their own first frame
        for i, start in enumerate(starts):
            if i:
                prompt_on(start)
            end = starts[i + 1] if i + 1 < len(starts) else num_frames
            steps = tracker.propagate(start_frame=start, max_frames=end - start - 1 if end < num_frames else None)
            while True:
                item, ms = timed(lambda: next(steps, None), model.device)
                if item is not None and not start <= int(item[0]) < end:
                    break  # a tracker that ran past the segment (the next objects join there)
                state["propagate_ms"] += ms
                if item is None:
                    break
                state["frames"] += 1
                use(int(item[0]), item[1])
            close = getattr(steps, "close", None)
            if close is not None:
                close()

    prompt_on(starts[0])
    memory = measure_peak_memory(propagate, model.device)
    if writer is not None:
        writer.finish()
    propagate_ms, frames = state["propagate_ms"], state["frames"]
    seq = {
        "init_ms": init_ms,
        "prompt_ms": state["prompt_ms"],
        "propagate_ms": propagate_ms,
        "frames": frames,
        "fps": frames / (propagate_ms / 1000.0) if propagate_ms else np.nan,
        "peak_mem_mib": memory.peak_mib,
        "mem_method": memory.method,
        "video_storage": video_storage,
        "offload_state_to_cpu": offload_state_to_cpu,
        "bounded": bounded,
    }
    for k, object_id, oid, first in objects:
        rows.append(
            {
                **base,
                **seq,
                "object_id": object_id,
                "status": "ok",
                "prompt_frame": first,
                "clicks": len(prompts[object_id]["clicks"]) or None,
                "prompt_detail": json.dumps(prompts[object_id], default=int),
                "scored_frames": len(scores[oid].scored),
                "predictions": None if writer is None else str(writer.path_of(oid)),
                "predictions_layout": None if writer is None else layout,
                **scores[oid].result(sample, k),
            }
        )


def _read(path: Any) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def _mixed(sample: Any) -> bool:
    """True when the sequence's frames are not a folder of integer-named JPEGs alone (then read
    them here, in the dataset's order, rather than by the folder's)."""
    names = [p.stem for p in sample.frame_paths]
    folder = sample.frame_paths[0].parent
    in_folder = [p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    return (
        len(in_folder) != len(names)
        or not all(n.isdigit() for n in names)
        or [int(n) for n in names] != sorted(int(n) for n in names)
    )


@dataclass
class VideoParams:
    """Parameters of the video protocol (see `run_video`)."""

    prompt: str = field(default="mask", metadata={"choices": PROMPTS})
    clicks: int = field(default=1, metadata={"min": 1})
    video_storage: str = field(default="stream", metadata={"choices": ("stream", "cpu", "device")})
    offload_state_to_cpu: bool = False
    #: drop the per-frame tracking state no later frame reads (flat memory, the same masks)
    bounded: bool = True
    #: write the predictions there (relative: beside the rows, i.e. in the run folder); null: not written
    predictions_dir: str | None = None
    predictions_layout: str = field(default="auto", metadata={"choices": PREDICTION_LAYOUTS})


def summarize_video(rows: pd.DataFrame) -> dict[str, Any]:
    """DAVIS's global numbers: ``J&F``, ``J``, ``F`` (means over objects) and ``video_fps``
    (median over sequences)."""
    if "J-Mean" not in rows.columns:
        return {}
    j, f = rows["J-Mean"].astype(float), rows["F-Mean"].astype(float)
    out = {"J": j.mean(), "F": f.mean(), "J&F": (j.mean() + f.mean()) / 2}
    if "fps" in rows.columns:
        out["video_fps"] = rows.drop_duplicates(["dataset", "image_id"])["fps"].astype(float).median()
    return out


# ------------------------------------------------------------------------------------------- table

SEQUENCE_KEYS = ["model", "weights", "device", "dtype", "dataset", "image_id"]
"""One `sequence_table` row per video sequence of one configuration."""


def sequence_table(frame: pd.DataFrame) -> pd.DataFrame:
    """J&F per sequence of the video protocol's rows: one row per (model, weights, device, dtype,
    dataset, sequence) with ``sequence``, ``objects``, ``J&F`` (mean over its objects of
    ``J&F-Mean``), ``J``, ``F``, ``frames``, ``fps`` and ``peak_mem_mib``, plus ``weights_kind``,
    ``device_label`` and a ``note`` that carries the random-weights warning; empty without such rows.
    The per-model numbers (DAVIS's global J&F over all objects) are in the accuracy table
    (`samkit.eval.summary.accuracy_table`)."""
    if "protocol" not in frame.columns or "J-Mean" not in frame.columns:
        return pd.DataFrame()
    rows = frame[(frame["protocol"].astype("string") == "video") & (frame["status"] == "ok")].copy()
    if not len(rows):
        return pd.DataFrame()
    rows["weights_kind"] = weights_labels(rows)
    for col in ("device_name", "frames", "fps", "peak_mem_mib"):
        if col not in rows.columns:
            rows[col] = np.nan
    keyed = rows.assign(**{k: rows[k].astype("string").fillna("") for k in SEQUENCE_KEYS})
    out = (
        keyed.groupby(SEQUENCE_KEYS, sort=False)
        .agg(
            weights_kind=("weights_kind", joined),
            device_name=("device_name", joined),
            objects=("object_id", "nunique"),
            J=("J-Mean", "mean"),
            F=("F-Mean", "mean"),
            jf=("J&F-Mean", "mean"),
            frames=("frames", "max"),
            fps=("fps", "median"),
            peak_mem_mib=("peak_mem_mib", "max"),
        )
        .reset_index()
        .rename(columns={"image_id": "sequence", "jf": "J&F"})
    )
    out.insert(
        out.columns.get_loc("device") + 1,
        "device_label",
        [device_label(d, n) for d, n in zip(out["device"], out["device_name"])],
    )
    out["note"] = [with_random_warning("", k == "random") for k in out["weights_kind"]]
    first = [
        "model",
        "weights",
        "weights_kind",
        "device",
        "device_label",
        "dtype",
        "dataset",
        "sequence",
        "objects",
        "J&F",
        "J",
        "F",
        "frames",
        "fps",
        "peak_mem_mib",
        "note",
    ]
    return out[first]


# ------------------------------------------------------------------------------- benchmark tables

#: the VOS benchmarks of the report's per-benchmark tables (`vos_benchmark_tables`): the prefix of
#: a loader's dataset name (before ``":"``) -> (title, the ``benchmark`` of its published figures
#: in ``samkit/published_accuracy.csv``, the `samkit.metrics.scoring.score_vos` benchmark that
#: scores its written predictions, or None: its server, through `write_submission`)
VOS_REPORT_BENCHMARKS: dict[str, tuple[str, str, str | None]] = {
    "davis": ("DAVIS 2017", "DAVIS 2017", "davis2017"),
    "sav": ("SA-V", "SA-V", "sav"),
    "mose": ("MOSE", "MOSE", "mosev1"),
    "mosev2": ("MOSEv2", "MOSEv2", "mosev2"),
    "youtube_vos": ("YouTube-VOS", "YouTube-VOS 2019", None),
    "lvos": ("LVOS", "LVOS v2", "lvos"),
}

_SPLIT_ALIASES = {"valid": "val", "valid_all_frames": "val"}
_NO_PUBLISHED = "none published for this model (samkit/published_accuracy.csv)"


def vos_benchmark_of(dataset: Any) -> tuple[str, str]:
    """``(benchmark, split)`` of a VOS loader's dataset name: ``"sav:val"`` -> ``("sav", "val")``,
    ``"youtube_vos2019:valid"`` -> ``("youtube_vos", "valid")``, ``"davis:480p"`` -> ``("davis",
    "480p")`` (DAVIS names its resolution there). The benchmark is the `VOS_REPORT_BENCHMARKS` key
    the prefix is or starts with (the longest), else the prefix itself."""
    prefix, _, split = str(dataset).partition(":")
    if prefix in VOS_REPORT_BENCHMARKS:
        return prefix, split
    keys = sorted((k for k in VOS_REPORT_BENCHMARKS if prefix.startswith(k)), key=len, reverse=True)
    return (keys[0] if keys else prefix), split


def _published_vos() -> pd.DataFrame:
    """The VOS rows of ``samkit/published_accuracy.csv`` (`samkit.registry.accuracy.published_accuracy`)."""
    from samkit.registry.accuracy import published_accuracy

    table = published_accuracy()
    names = {entry[1] for entry in VOS_REPORT_BENCHMARKS.values()}
    return table[table["benchmark"].isin(names)].reset_index(drop=True)


def _published_metric(published: pd.DataFrame, benchmark: str) -> str:
    """The metric a benchmark's figures are published in (``J&F``; ``G`` for YouTube-VOS)."""
    metrics = list(dict.fromkeys(published.loc[published["benchmark"] == benchmark, "metric"]))
    return metrics[0] if len(metrics) == 1 else "J&F"


def _published_for(published: pd.DataFrame, model: str, benchmark: str, split: str) -> dict[str, Any] | None:
    """The published figure shown beside a measured one: the model's figure on the benchmark in
    the measured split where there is one, else the first listed (its own authors' first)."""
    mine = published[(published["model"] == model) & (published["benchmark"] == benchmark)]
    if not len(mine):
        return None
    same = mine[mine["split"] == _SPLIT_ALIASES.get(split, split)]
    return (same if len(same) else mine).iloc[0].to_dict()


def vos_benchmark_tables(frame: pd.DataFrame, published: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """One table per VOS benchmark of the video protocol's rows, ``{benchmark: table}`` in
    `VOS_REPORT_BENCHMARKS` order (others after, by their dataset-name prefix, `vos_benchmark_of`).

    One row per (model, weights, device, dtype, dataset): ``weights_kind``, ``device_label``,
    ``sequences``, ``objects`` (ok rows), ``scored`` (objects with a J&F: none on first-frame-only
    splits such as YouTube-VOS valid or MOSE valid, scored by their servers), ``J&F (%)``, ``J (%)``,
    ``F (%)`` (`summarize_video`'s DAVIS numbers, mean over objects, x100 and rounded to one decimal
    as the papers print them; samkit's rows hold fractions), ``fps`` (median over sequences),
    ``failed`` (rows of a failed sequence or job), a ``note`` (the random-weights warning where the
    weights are random), then the published figure beside it, never in its place:
    ``published_<metric> (%)`` (``J&F``; ``G`` for YouTube-VOS, its overall score), as printed,
    ``published_<metric>_on`` (the benchmark and split it was published on, which may differ
    from the measured split) and ``published_<metric>_source`` (source and conditions, or that
    none is published for the model). The figure is the model's on that benchmark in the measured
    split where one is listed, else the first listed (its own authors').

    ``published``: the long table of published figures (`samkit.results.published.published_accuracy`'s
    columns); default ``samkit/published_accuracy.csv``. Empty (``{}``) without video rows.
    """
    if "protocol" not in frame.columns or "dataset" not in frame.columns:
        return {}
    has_dataset = np.array([present(v) for v in frame["dataset"].tolist()], dtype=bool)  # any string dtype
    rows = frame[
        (frame["protocol"].astype("string") == "video").fillna(False).to_numpy(dtype=bool) & has_dataset
    ].copy()
    if not len(rows):
        return {}
    published = _published_vos() if published is None else published
    rows["weights_kind"] = weights_labels(rows)
    for col in ("device_name", "fps", "J-Mean", "F-Mean", "J&F-Mean"):
        if col not in rows.columns:
            rows[col] = np.nan
    keys = ["model", "weights", "device", "dtype", "dataset"]
    keyed = rows.assign(**{k: rows[k].astype("string").fillna("") for k in keys})
    order = list(VOS_REPORT_BENCHMARKS)
    tables: dict[str, list[dict[str, Any]]] = {}
    for values, group in keyed.groupby(keys, sort=False):
        config = dict(zip(keys, values))
        key, split = vos_benchmark_of(config["dataset"])
        ok = group[group["status"] == "ok"]
        summary = summarize_video(ok) if len(ok) else {}
        kind = joined(group["weights_kind"])
        scored = int(ok["J&F-Mean"].notna().sum()) if len(ok) else 0
        record: dict[str, Any] = {
            **config,
            "weights_kind": kind,
            "device_name": joined(group["device_name"]),
            "sequences": int(ok["image_id"].nunique()),
            "objects": len(ok),
            "scored": scored,
        }
        for name, col in (("J&F (%)", "J&F"), ("J (%)", "J"), ("F (%)", "F")):
            value = summary.get(col, np.nan)
            record[name] = round(100.0 * float(value), 1) if present(value) else np.nan
        record["fps"] = summary.get("video_fps", np.nan)
        record["failed"] = int((~group["status"].isin(["ok", "skipped"])).sum())
        note = (
            "" if scored or not len(ok) else "no object scored here (first-frame annotations only): score on its server"
        )
        record["note"] = with_random_warning(note, kind == "random")
        _, benchmark, _ = VOS_REPORT_BENCHMARKS.get(key, (key, key, None))
        metric = _published_metric(published, benchmark)
        figure = _published_for(published, config["model"], benchmark, split)
        record[f"published_{metric} (%)"] = np.nan if figure is None else float(figure["value"])
        record[f"published_{metric}_on"] = "" if figure is None else f"{figure['benchmark']} {figure['split']}"
        record[f"published_{metric}_source"] = (
            _NO_PUBLISHED if figure is None else f"{figure['source']} ({figure['conditions']})"
        )
        tables.setdefault(key, []).append(record)
        if key not in order:
            order.append(key)
    out = {}
    for key in (k for k in order if k in tables):
        table = pd.DataFrame(tables[key])
        table.insert(
            table.columns.get_loc("device") + 1,
            "device_label",
            [device_label(d, n) for d, n in zip(table["device"], table["device_name"])],
        )
        out[key] = table.drop(columns=["device_name"])
    return out


def _vos_caption(key: str, table: pd.DataFrame) -> str:
    title, _, scorer = VOS_REPORT_BENCHMARKS.get(key, (key, key, None))
    metric = next(c for c in table.columns if str(c).startswith("published_") and str(c).endswith(" (%)"))
    metric = metric[len("published_") : -len(" (%)")]
    what = "YouTube-VOS's overall score G, not J&F" if metric == "G" else metric
    official = f"samkit score vos --benchmark {scorer}" if scorer else "its server (write_submission)"
    return (
        f"VOS benchmark {title}: measured J&F, J, F in percent (x100, one decimal, as the papers print), "
        f"beside the published {what} (quoted from its source, not measured here); "
        f"the official score of the written predictions: {official}"
    )


def report_sections(rows: pd.DataFrame, published: pd.DataFrame | None = None) -> list[Section]:
    """``video_sequences``: `sequence_table`; ``vos_<benchmark>`` (``vos_davis``, ``vos_sav``,
    ``vos_mose``, ``vos_mosev2``, ``vos_youtube_vos``, ``vos_lvos``, ...): `vos_benchmark_tables`,
    one per benchmark the rows have, each with the published figure beside the measured ones
    (from ``samkit/published_accuracy.csv``; the report's own ``published`` table, which
    `samkit.results.write_report` joins beside every table itself, is not used here). ``[]``
    without video rows."""
    sections = []
    for key, table in vos_benchmark_tables(rows).items():
        name = "vos_" + "".join(c if c.isalnum() or c == "_" else "_" for c in key)
        sections.append(Section(name, _vos_caption(key, table), table=table, order=47))
    sequences = sequence_table(rows)
    if len(sequences):
        sections.append(
            Section("video_sequences", "Video: J&F per sequence (semi-supervised VOS)", table=sequences, order=50)
        )
    return sections


#: the registered ``video`` protocol (`samkit.eval.get_protocol("video")`)
PROTOCOL = Protocol(
    name="video",
    description="semi-supervised video object segmentation (DAVIS, SA-V, MOSE, YouTube-VOS, LVOS) -> J&F",
    capability="video",
    params=VideoParams,
    runner=lambda model, dataset, p, **common: run_video(
        model,
        dataset,
        prompt=p.prompt,
        clicks=p.clicks,
        video_storage=p.video_storage,
        offload_state_to_cpu=p.offload_state_to_cpu,
        bounded=p.bounded,
        predictions_dir=p.predictions_dir,
        predictions_layout=p.predictions_layout,
        **common,
    ),
    summarizer=summarize_video,
    report_sections=report_sections,
)
