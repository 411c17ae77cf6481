"""Write golden outputs of MOSEv2's official evaluator for samkit's scorer test.

The official evaluator is MOSE-api's ``MOSEv2/sam2_rcms/tools/score.py`` (with ``metricsv2.py``
and ``track_progress_rich.py`` beside it), run unchanged. It needs OpenCV, scikit-image, tqdm and
psutil; a throwaway virtual environment keeps them out of samkit's. The golden file in this folder
was made at MOSE-api commit ``241977ae2ceceee054fa2a2c8a2690838c451369`` with::

    # the reference code, outside the repository (fetch github:henghuiding/MOSE-api gives the bare
    # git dir; only the evaluator's folder is extracted, the mirror lacks some large asset blobs)
    mkdir -p /tmp/ref/MOSE-api
    git --git-dir=/work/.mirror/henghuiding+MOSE-api/repo archive 241977ae2ceceee054fa2a2c8a2690838c451369 \\
        MOSEv2/sam2_rcms/tools | tar -x -C /tmp/ref/MOSE-api
    # its packages (the versions used are recorded in the golden file under "environment")
    python -m venv /tmp/mosev2_ref_venv
    /tmp/mosev2_ref_venv/bin/pip install numpy pillow opencv-python-headless scikit-image tqdm psutil
    # the golden outputs
    .venv/bin/python tests/data/mosev2_golden/make_golden.py /tmp/ref/MOSE-api \\
        --python /tmp/mosev2_ref_venv/bin/python --commit 241977ae2ceceee054fa2a2c8a2690838c451369

What it does: ``make_inputs.write_inputs`` writes the inputs into a temporary folder; the official
``score.py`` runs on them (``main()`` under its own command line, ``--meta --ann --pred --output``,
its multiprocessing pool included), through a small driver that only wraps the official
``merge_chunk_results`` to record what it is given (the per-frame chunk results) and returns (the
unrounded per-object values). Then each of ``make_inputs.VARIANTS`` is applied to fresh inputs and
the official tool run again; where it stops, its exception line is recorded. ``golden_mosev2.json``
gets, per run:

- ``summary``: the seven numbers of its ``scores.txt``, in order; ``copy_paste`` its last line;
- ``per_object``: its ``metrics.json`` (rounded percents, null where it writes null);
- ``raw``: per ``<seq>_<obj>`` the unrounded ``[j, f_new, f, disappear_j, disappear_f_new,
  reappear_j, reappear_f_new]``;
- ``frames``: per ``<seq>_<obj>`` the per-frame ``j``, ``f_new``, ``f`` and ``empty_gt`` lists;
- ``sequence_order``: the order it scored the sequences in (``os.listdir``);
- or ``error``: the last line of its traceback.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_inputs import VARIANTS, write_inputs  # noqa: E402

TOOLS = Path("MOSEv2") / "sam2_rcms" / "tools"
OFFICIAL_FILES = ("score.py", "metricsv2.py", "track_progress_rich.py")

# Runs in the reference interpreter: the official main() under its own argv, with the official
# merge_chunk_results wrapped to record its inputs and outputs.
DRIVER = r"""
import json, platform, sys
tools, meta, ann, pred, out, capture = sys.argv[1:7]
sys.path.insert(0, tools)
import score

record = {"chunks": None, "merged": []}
official_merge = score.merge_chunk_results


def recording_merge(chunk_results, vid_name, anno_id):
    record["chunks"] = chunk_results
    result = official_merge(chunk_results, vid_name, anno_id)
    record["merged"].append([vid_name, str(anno_id), [None if v is None else float(v) for v in result]])
    return result


score.merge_chunk_results = recording_merge
sys.argv = ["score.py", "--meta", meta, "--ann", ann, "--pred", pred, "--output", out]
score.main()

import cv2, numpy, PIL, skimage
record["environment"] = {
    "python": platform.python_version(), "numpy": numpy.__version__, "opencv": cv2.__version__,
    "scikit-image": skimage.__version__, "pillow": PIL.__version__, "processes": score.MAX_WORKERS,
}
for chunk in record["chunks"] or []:
    chunk.pop("time", None)
    chunk["anno_id"] = str(chunk["anno_id"])
with open(capture, "w") as fp:
    json.dump(record, fp)
"""


def _run_official(python: str, tools: Path, gt_root: Path, pred_root: Path, work: Path) -> dict:
    """Run the official evaluator once; its outputs (or its error) as a golden entry."""
    out, capture = work / "official_out", work / "capture.json"
    driver = work / "driver.py"
    driver.write_text(DRIVER)
    args = [str(tools), str(gt_root / "meta.json"), str(gt_root / "Annotations"), str(pred_root), str(out)]
    proc = subprocess.run([python, str(driver), *args, str(capture)], capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        return {"error": lines[-1] if lines else f"exit status {proc.returncode}"}
    record = json.loads(capture.read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    metrics.pop("total_time")
    summary, copy_paste = {}, None
    for line in (out / "scores.txt").read_text().splitlines():
        key, _, value = line.partition(": ")
        if key == "Copy-Paste":
            copy_paste = value
        else:
            summary[key] = float(value)
    frames: dict[str, dict[str, list]] = {}
    for chunk in sorted(record["chunks"], key=lambda c: (c["vid_name"], c["anno_id"], c["chunk_start"])):
        if chunk["error"] is not None:
            continue
        entry = frames.setdefault(
            f"{chunk['vid_name']}_{chunk['anno_id']}", {"j": [], "f_new": [], "f": [], "empty_gt": []}
        )
        entry["j"] += chunk["j_list"]
        entry["f_new"] += chunk["f_list"]
        entry["f"] += chunk["f_list_"]
        entry["empty_gt"] += chunk["empty_gt"]
    order = []
    for vid, _, _ in record["merged"]:
        if vid not in order:
            order.append(vid)
    return {
        "summary": summary,
        "copy_paste": copy_paste,
        "per_object": metrics,
        "raw": {f"{vid}_{obj}": values for vid, obj, values in record["merged"]},
        "frames": frames,
        "sequence_order": order,
        "environment": record["environment"],
    }


def main() -> None:
    """Parse the command line, run the official evaluator on every input set, write the golden file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path, help="a checkout of github.com/henghuiding/MOSE-api")
    parser.add_argument("--python", default=sys.executable, help="the interpreter with the official packages")
    parser.add_argument("--commit", default=None, help="the reference's commit, recorded in the golden file")
    parser.add_argument("--out", type=Path, default=HERE / "golden_mosev2.json")
    args = parser.parse_args()

    tools = (args.reference / TOOLS).resolve()
    missing = [name for name in OFFICIAL_FILES if not (tools / name).is_file()]
    if missing:
        parser.error(f"{tools} lacks {', '.join(missing)}: give the root of a MOSE-api checkout")

    runs: dict[str, dict] = {}
    environment = None
    for name in ["main", *VARIANTS]:
        with tempfile.TemporaryDirectory(prefix=f"mosev2_{name}_") as tmp:
            work = Path(tmp)
            gt_root, pred_root = write_inputs(work / "inputs")
            if name != "main":
                VARIANTS[name](gt_root, pred_root)
            runs[name] = _run_official(args.python, tools, gt_root, pred_root, work)
        environment = runs[name].pop("environment", None) or environment
        print(name, runs[name].get("summary") or runs[name].get("error"))

    golden = {
        "about": "MOSEv2 official evaluator outputs on tests/data/mosev2_golden/make_inputs.py inputs (make_golden.py)",
        "reference": {
            "repository": "github.com/henghuiding/MOSE-api",
            "commit": args.commit,
            "files": {
                str(TOOLS / name): hashlib.sha256((tools / name).read_bytes()).hexdigest() for name in OFFICIAL_FILES
            },
        },
        "environment": environment,
        "runs": runs,
    }
    args.out.write_text(json.dumps(golden, indent=1) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
