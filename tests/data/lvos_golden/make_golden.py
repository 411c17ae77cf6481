"""Write golden outputs of LVOS's official evaluator for samkit's scorer test.

The official evaluator is lvos-evaluation's ``evaluation_method.py`` (with its ``lvos`` package and
``unseen_videos.txt``), run unchanged. It needs OpenCV, scikit-image, SciPy, pandas and tqdm; a
throwaway virtual environment keeps them out of samkit's. The golden file in this folder was made
at lvos-evaluation commit ``25cb02d1455b5d0c964a9836ff5242fb51df55ee`` with::

    # the reference code, outside the repository (fetch github:LingyiHongfd/lvos-evaluation gives
    # the bare git dir)
    mkdir -p /tmp/ref/lvos-evaluation
    git --git-dir=/work/.mirror/LingyiHongfd+lvos-evaluation/repo archive \\
        25cb02d1455b5d0c964a9836ff5242fb51df55ee | tar -x -C /tmp/ref/lvos-evaluation
    # its packages (the versions used are recorded in the golden file under "environment")
    python3.11 -m venv /tmp/lvos_ref_venv
    /tmp/lvos_ref_venv/bin/pip install "numpy<2" pillow opencv-python-headless scikit-image scipy pandas tqdm
    # optional: a second copy with the toolkit's Cython extension built (README: "python setup.py
    # build_ext --inplace" in lvos/metric_ops/_get_binary_c), for the "main_cython" run
    cp -r /tmp/ref/lvos-evaluation /tmp/ref/lvos-evaluation-cython
    /tmp/lvos_ref_venv/bin/pip install cython setuptools
    (cd /tmp/ref/lvos-evaluation-cython/lvos/metric_ops/_get_binary_c && \\
        /tmp/lvos_ref_venv/bin/python setup.py build_ext --inplace)
    # the golden outputs
    .venv/bin/python tests/data/lvos_golden/make_golden.py /tmp/ref/lvos-evaluation \\
        --python /tmp/lvos_ref_venv/bin/python --commit 25cb02d1455b5d0c964a9836ff5242fb51df55ee \\
        --cython-reference /tmp/ref/lvos-evaluation-cython

What it does: ``make_inputs.write_inputs`` writes the inputs into a temporary folder, and the
official ``evaluation_method.py`` runs on them as its README says (``--task semi-supervised
--lvos_path <root>/val --set valid --results_path <pred> --mp_nums 1``), from the toolkit's own
folder (it reads ``./unseen_videos.txt`` from the working directory), through a small driver that
runs the script with ``runpy`` and only wraps ``LVOSEvaluation._evaluate_semisupervised`` to record
what it returns (the per-frame J and F). Then:

- ``main_mp``: the same with ``--mp_nums 2`` (its process pool, ``imap_unordered``);
- ``main_cython``: the same with the Cython extension built (only with ``--cython-reference``);
- each of ``make_inputs.VARIANTS`` on fresh inputs; a variant in ``make_inputs.UNSEEN`` runs from a
  folder holding that ``unseen_videos.txt`` instead (and the toolkit's ``unsupervised_videos.txt``,
  which the evaluator also opens). Where the evaluator stops, what stopped it is recorded.

``golden_lvos.json`` gets, per run:

- ``summary``: ``g_measures`` -> ``g_res`` of ``evaluation_method.py`` (unrounded; null for NaN);
- ``per_object``: its per-sequence table (``Sequence``, ``J-Mean``, ``F-Mean``, ``V-Mean``,
  unrounded), in its order;
- ``csv``: the text of the two CSV files it writes (``%.3f``);
- ``frames``: per video and meta object key, the per-frame ``j`` and ``f`` arrays (serial runs);
- or ``error``: the exception (``SystemExit(None)`` where the evaluator calls ``sys.exit()``) and the
  last lines it printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_inputs import UNSEEN, VARIANTS, write_inputs  # noqa: E402

OFFICIAL_FILES = (
    "evaluation_method.py",
    "lvos/evaluation.py",
    "lvos/evaluation_mp.py",
    "lvos/lvos_seperate.py",
    "lvos/metrics.py",
    "lvos/results.py",
    "lvos/utils.py",
    "unseen_videos.txt",
)

# Runs in the reference interpreter: the official evaluation_method.py under its own argv (runpy),
# with LVOSEvaluation._evaluate_semisupervised wrapped to record what it returns.
DRIVER = r"""
import json, math, os, platform, runpy, sys, traceback
ref, lvos_path, results, workdir, mp, capture = sys.argv[1:7]
sys.path.insert(0, ref)
os.chdir(workdir)
import lvos.evaluation as evaluation
import lvos.metrics as metrics

frames = {}
official = evaluation.LVOSEvaluation._evaluate_semisupervised


def recording(self, seq, results, all_void_masks, metric):
    j, f = official(self, seq, results, all_void_masks, metric)
    video = list(seq.keys())[0]
    frames[video] = {obj: {"j": j[obj][0].tolist(), "f": f[obj][0].tolist()} for obj in j}
    return j, f


evaluation.LVOSEvaluation._evaluate_semisupervised = recording


def num(x):
    x = float(x)
    return None if math.isnan(x) else x


sys.argv = ["evaluation_method.py", "--task", "semi-supervised", "--lvos_path", lvos_path, "--set", "valid",
            "--results_path", results, "--mp_nums", mp]
record = {}
try:
    g = runpy.run_path(os.path.join(ref, "evaluation_method.py"), run_name="__main__")
except BaseException as exc:
    sys.stdout.flush()
    record["error"] = f"SystemExit({exc.code!r})" if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}"
else:
    record["summary"] = {k: num(v) for k, v in zip(g["g_measures"], g["g_res"][0])}
    record["per_object"] = [
        {"Sequence": r[0], "J-Mean": num(r[1]), "F-Mean": num(r[2]), "V-Mean": num(r[3])}
        for r in g["table_seq"].itertuples(index=False)
    ]
    record["csv"] = {name: open(os.path.join(results, name)).read()
                     for name in ("global_results-valid.csv", "per-sequence_results-valid.csv")}
    if int(mp) <= 1:
        record["frames"] = frames
import cv2, numpy, pandas, PIL, scipy, skimage
record["environment"] = {
    "python": platform.python_version(), "numpy": numpy.__version__, "opencv": cv2.__version__,
    "scikit-image": skimage.__version__, "scipy": scipy.__version__, "pandas": pandas.__version__,
    "pillow": PIL.__version__, "cython_extension": metrics.use_cython,
}
with open(capture, "w") as fp:
    json.dump(record, fp)
"""


def _run_official(python: str, reference: Path, name: str, mp: int = 1) -> dict:
    """Run the official evaluator once on fresh inputs (``name``: "main" or a variant)."""
    with tempfile.TemporaryDirectory(prefix=f"lvos_{name}_") as tmp:
        work = Path(tmp)
        gt_root, pred_root = write_inputs(work / "inputs")
        if name in VARIANTS:
            VARIANTS[name](gt_root, pred_root)
        workdir = reference
        if name in UNSEEN:
            workdir = work / "cwd"
            workdir.mkdir()
            (workdir / "unseen_videos.txt").write_text("".join(f"{v}\n" for v in UNSEEN[name]))
            shutil.copy(reference / "unsupervised_videos.txt", workdir / "unsupervised_videos.txt")
        driver, capture = work / "driver.py", work / "capture.json"
        driver.write_text(DRIVER)
        args = [str(reference), str(gt_root / "val"), str(pred_root), str(workdir), str(mp), str(capture)]
        proc = subprocess.run([python, str(driver), *args], capture_output=True, text=True)
        if proc.returncode != 0 or not capture.is_file():
            raise RuntimeError(f"the driver failed on {name}:\n{proc.stdout}\n{proc.stderr}")
        record = json.loads(capture.read_text())
        if "error" in record:
            record["error"] = record["error"].replace(str(work), "<tmp>")
            if record["error"].startswith("SystemExit"):  # what the evaluator printed before sys.exit()
                record["printed"] = [line for line in proc.stdout.splitlines() if line.strip()][-3:]
        return record


def main() -> None:
    """Parse the command line, run the official evaluator on every input set, write the golden file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path, help="a checkout of github.com/LingyiHongfd/lvos-evaluation")
    parser.add_argument("--python", default=sys.executable, help="the interpreter with the official packages")
    parser.add_argument("--commit", default=None, help="the reference's commit, recorded in the golden file")
    parser.add_argument("--cython-reference", type=Path, default=None, help="a copy with the Cython extension built")
    parser.add_argument("--out", type=Path, default=HERE / "golden_lvos.json")
    args = parser.parse_args()

    reference = args.reference.resolve()
    missing = [name for name in OFFICIAL_FILES if not (reference / name).is_file()]
    if missing:
        parser.error(f"{reference} lacks {', '.join(missing)}: give the root of an lvos-evaluation checkout")

    runs: dict[str, dict] = {}
    runs["main"] = _run_official(args.python, reference, "main")
    environment = runs["main"].pop("environment")
    if environment["cython_extension"]:
        parser.error(f"{reference} has the Cython extension built: give a plain checkout")
    runs["main_mp"] = _run_official(args.python, reference, "main", mp=2)
    runs["main_mp"].pop("environment")
    if args.cython_reference is not None:
        runs["main_cython"] = _run_official(args.python, args.cython_reference.resolve(), "main")
        if not runs["main_cython"].pop("environment")["cython_extension"]:
            parser.error(f"{args.cython_reference} does not load the Cython extension")
    for name in VARIANTS:
        runs[name] = _run_official(args.python, reference, name)
        runs[name].pop("environment")
    for name, run in runs.items():
        print(name, run.get("summary") or run.get("error"))

    golden = {
        "about": "LVOS official evaluator outputs on tests/data/lvos_golden/make_inputs.py inputs (make_golden.py)",
        "reference": {
            "repository": "github.com/LingyiHongfd/lvos-evaluation",
            "commit": args.commit,
            "files": {name: hashlib.sha256((reference / name).read_bytes()).hexdigest() for name in OFFICIAL_FILES},
        },
        "environment": environment,
        "runs": runs,
    }
    args.out.write_text(json.dumps(golden, indent=1) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
