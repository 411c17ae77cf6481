"""Write the official VOS scorers' numbers on the inputs of ``make_inputs.py`` (golden outputs for
``tests/metrics/test_scoring_vos.py``).

The official code runs unchanged, from checkouts given on the command line; none of it is copied
here. It needs OpenCV, scikit-image, SciPy, pandas and tqdm, so run it in a throwaway venv::

    python3 -m venv /tmp/vos-ref-venv
    /tmp/vos-ref-venv/bin/pip install numpy opencv-python-headless scikit-image scipy pillow tqdm pandas
    git clone https://github.com/davisvideochallenge/davis2017-evaluation /tmp/ref/davis2017-evaluation
    git -C /tmp/ref/davis2017-evaluation checkout ac7c43fca936f9722837b7fbd337d284ba37004b
    git clone https://github.com/facebookresearch/sam2 /tmp/ref/sam2
    git -C /tmp/ref/sam2 checkout 2b90b9f5ceec907a1c18123530e92e794ad901a4
    /tmp/vos-ref-venv/bin/python tests/data/vos_golden/make_golden.py \
        --davis /tmp/ref/davis2017-evaluation --sam2 /tmp/ref/sam2

(From ``git archive`` extracts instead of checkouts, add ``--davis-commit SHA --sam2-commit SHA``.)

(The committed files were made so, with numpy 2.4.6, opencv-python-headless 5.1.0,
scikit-image 0.26.0, Pillow 13.0.0, pandas 3.1.1 on Python 3.11.) It writes, beside this script:

- ``golden_davis2017.json``: davis2017-evaluation's semi-supervised evaluation
  (``DAVISEvaluation(root, "semi-supervised", "val").evaluate(pred)``, the global table computed
  as its ``evaluation_method.py`` does) on the DAVIS layout;
- ``golden_mosev1.json``: the same toolkit on the MOSE v1 layout, seen through a DAVIS-shaped
  folder of symlinks (``Annotations/480p`` -> ``Annotations``, ``ImageSets/2017/val.txt`` listing
  every sequence folder): MOSE v1's own CodaLab scoring program is not published (MOSE-api holds
  no v1 evaluator), and MOSE v1 follows the DAVIS 2017 protocol;
- ``golden_sav.json``: sam2's ``sav_dataset/utils/sav_benchmark.py`` ``benchmark`` as
  ``sav_evaluator.py`` calls it by default (not strict, first and last annotated frames skipped)
  on the SA-V layout; ``"noskip"`` with ``--do_not_skip_first_and_last_frame``; ``"davis_layout"``
  on the DAVIS layout (``Annotations/480p`` against the DAVIS predictions), the evaluator's second
  accepted structure.

Each file holds ``reference`` (repository, commit, the call), ``summary`` (the official keys and
unrounded values) and ``per_object`` (one record per scored object, in the official order).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_inputs  # noqa: E402

DAVIS_KEYS = ["J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"]


def commit_of(path: Path) -> str | None:
    """The checkout's HEAD commit, or None when ``path`` is not a git checkout."""
    try:
        out = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def environment() -> dict[str, str]:
    """Versions of the libraries the official code ran with."""
    import cv2
    import numpy
    import PIL
    import skimage

    return {
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "opencv": cv2.__version__,
        "scikit-image": skimage.__version__,
        "pillow": PIL.__version__,
    }


def run_davis_toolkit(davis_root: Path, pred_root: Path) -> dict:
    """The toolkit's semi-supervised evaluation: global table (as evaluation_method.py) and per object."""
    import numpy as np
    from davis2017.evaluation import DAVISEvaluation

    with contextlib.redirect_stderr(io.StringIO()):  # its tqdm bar
        metrics = DAVISEvaluation(str(davis_root), "semi-supervised", "val").evaluate(str(pred_root))
    J, F = metrics["J"], metrics["F"]
    final_mean = (np.mean(J["M"]) + np.mean(F["M"])) / 2.0
    g_res = [final_mean, np.mean(J["M"]), np.mean(J["R"]), np.mean(J["D"]), np.mean(F["M"])]
    g_res += [np.mean(F["R"]), np.mean(F["D"])]
    names = list(J["M_per_object"])
    per_object = [
        {
            "name": name,
            "J-Mean": float(J["M"][i]),
            "J-Recall": float(J["R"][i]),
            "J-Decay": float(J["D"][i]),
            "F-Mean": float(F["M"][i]),
            "F-Recall": float(F["R"][i]),
            "F-Decay": float(F["D"][i]),
        }
        for i, name in enumerate(names)
    ]
    for record in per_object:  # M_per_object is keyed like M, R, D are ordered: check they agree
        assert J["M_per_object"][record["name"]] == record["J-Mean"]
        assert F["M_per_object"][record["name"]] == record["F-Mean"]
    return {"summary": {k: float(v) for k, v in zip(DAVIS_KEYS, g_res)}, "per_object": per_object}


def davis_view_of_mose(mose_root: Path, view: Path) -> Path:
    """A DAVIS-shaped folder of symlinks onto a MOSE root (every sequence folder in ``val.txt``)."""
    for kind in ("Annotations", "JPEGImages"):
        (view / kind).mkdir(parents=True)
        (view / kind / "480p").symlink_to(mose_root / kind, target_is_directory=True)
    sets = view / "ImageSets" / "2017"
    sets.mkdir(parents=True)
    names = sorted(p.name for p in (mose_root / "Annotations").iterdir() if p.is_dir())
    (sets / "val.txt").write_text("".join(f"{n}\n" for n in names))
    return view


def run_sav(gt_root: Path, pred_root: Path, skip_first_and_last: bool) -> dict:
    """sam2's benchmark() as sav_evaluator.py calls it by default (strict=False), one process."""
    from utils.sav_benchmark import benchmark  # sam2/sav_dataset on sys.path

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        jf, j, f, objects = benchmark(
            [str(gt_root)], [str(pred_root)], False, 1, verbose=True, skip_first_and_last=skip_first_and_last
        )
    per_object = []
    for video, (iou, boundary) in objects[0].items():
        for obj in iou:
            per_object.append({"sequence": video, "object": str(obj), "J": float(iou[obj]), "F": float(boundary[obj])})
    printed = [line for line in out.getvalue().splitlines() if line.startswith("Global score: ")]
    return {
        "summary": {"J&F": float(jf[0]), "J": float(j[0]), "F": float(f[0])},
        "per_object": per_object,
        "printed": printed[0] if printed else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--davis", required=True, type=Path, help="a davis2017-evaluation checkout")
    parser.add_argument("--sam2", required=True, type=Path, help="a facebookresearch/sam2 checkout")
    parser.add_argument("--davis-commit", help="its commit, when --davis is not a git checkout (an archive)")
    parser.add_argument("--sam2-commit", help="its commit, when --sam2 is not a git checkout (an archive)")
    parser.add_argument("--out", type=Path, default=HERE, help="where the golden JSON files go (default: here)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.davis.resolve()))
    sys.path.insert(0, str((args.sam2 / "sav_dataset").resolve()))
    env = environment()
    davis_ref = {
        "repository": "davisvideochallenge/davis2017-evaluation",
        "commit": args.davis_commit or commit_of(args.davis),
    }
    sam2_ref = {"repository": "facebookresearch/sam2", "commit": args.sam2_commit or commit_of(args.sam2)}

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        davis_root, davis_pred = make_inputs.write_davis(tmp / "davis")
        golden = run_davis_toolkit(davis_root, davis_pred)
        call = 'DAVISEvaluation(davis_root, "semi-supervised", "val").evaluate(pred_root)'
        write(
            args.out / "golden_davis2017.json", {"reference": {**davis_ref, "call": call}, "environment": env, **golden}
        )

        mose_root, mose_pred = make_inputs.write_mose(tmp / "mose")
        view = davis_view_of_mose(mose_root, tmp / "mose_as_davis")
        golden = run_davis_toolkit(view, mose_pred)
        call += " on a DAVIS-shaped symlink view of the MOSE root (every sequence folder in val.txt)"
        record = {"reference": {**davis_ref, "call": call}, "environment": env, **golden}
        write(args.out / "golden_mosev1.json", record)

        sav = {}
        for variant, skip in (("default", True), ("noskip", False)):
            gt_root, pred_root = make_inputs.write_sav(tmp / f"sav_{variant}")
            sav[variant] = run_sav(gt_root, pred_root, skip)
        davis_root, davis_pred = make_inputs.write_davis(tmp / "sav_davis_layout")
        sav["davis_layout"] = run_sav(davis_root / "Annotations" / "480p", davis_pred, True)
        call = "benchmark([gt_root], [pred_root], strict=False, num_processes=1, skip_first_and_last=True)"
        record = {"reference": {**sam2_ref, "call": call}, "environment": env, **sav.pop("default")}
        record["noskip"] = sav["noskip"]
        record["davis_layout"] = sav["davis_layout"]
        write(args.out / "golden_sav.json", record)
    return 0


def write(path: Path, record: dict) -> None:
    """``record`` as indented JSON, floats written in full (shortest round-trip repr)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
