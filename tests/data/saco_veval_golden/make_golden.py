"""Write the official SA-Co/VEval scores of the toy inputs to ``golden_saco_veval.json``.

The official evaluator is sam3's ``sam3/eval/saco_veval_eval.py`` (``VEvalEvaluator``), which runs
the five evaluators of ``sam3/eval/saco_veval_evaluators.py``: YT-VIS video mAP, phrase AP, TETA,
phrase HOTA and video cgF1. It pins ``numpy<2`` and imports torch, so it runs in a throwaway
environment, never in samkit's venv; nothing of it is copied into samkit. Commands used (reference
commit ``99d02f28c8d34610ab35559b72642b01f10fdb1e`` of github.com/facebookresearch/sam3)::

    G=<bare git dir of facebookresearch/sam3>      # e.g. the `fetch github:facebookresearch/sam3` mirror
    mkdir -p /tmp/sam3src && git --git-dir=$G archive HEAD sam3/eval sam3/model/box_ops.py \\
        sam3/train/masks_ops.py sam3/train/nms_helper.py sam3/train/utils/distributed.py \\
        assets/veval | tar -x -C /tmp/sam3src
    python3 -m venv /tmp/sam3vref
    /tmp/sam3vref/bin/pip install 'numpy<2' 'pycocotools==2.0.11' scipy tqdm torch==2.14.1 typing_extensions iopath
    /tmp/sam3vref/bin/python tests/data/saco_veval_golden/make_golden.py /tmp/sam3src \\
        --commit $(git --git-dir=$G rev-parse HEAD)

(tested with numpy 1.26.4, pycocotools 2.0.11, scipy 1.17.1, torch 2.14.1, tqdm 4.70.1,
iopath 0.1.10, typing_extensions 4.16.0, Python 3.11; CPU only).

``sam3/__init__.py`` imports the whole model; the evaluators need only ``sam3/eval`` and four
helper modules (``sam3/model/box_ops.py`` for the box IoU of tracklets, ``sam3/train/masks_ops.py``,
``sam3/train/nms_helper.py`` and ``sam3/train/utils/distributed.py``). So the script builds a stub
``sam3`` package in a temporary folder with empty ``__init__`` files and links to those, and puts
it first on ``sys.path``. For every case of ``make_inputs.write_cases`` (written to a temporary
folder) it calls ``VEvalEvaluator(gt, eval_res_file).run_eval(pred)`` and checks that the
``eval_res_file`` the evaluator writes holds the same dict. It writes ``{"reference": {...},
"inputs_sha256": {file: sha256}, "cases": {case: {"gt", "pred", "result"}}}`` where ``result`` is
the dict ``run_eval`` returns, unchanged (``dataset_results`` then ``video_np_results``, keys in
the official order); the test checks that ``make_inputs`` still writes the same input bytes.

It also scores the toy example sam3 ships (``assets/veval/toy_gt_and_pred``) and prints whether the
result equals the shipped ``toy_saco_veval_sav_test_eval_res.json`` (those files are not copied into
samkit).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import importlib.metadata
import json
import platform
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_inputs  # noqa: E402

#: reference files the evaluators import besides sam3/eval
HELPERS = (
    "sam3/model/box_ops.py",
    "sam3/train/masks_ops.py",
    "sam3/train/nms_helper.py",
    "sam3/train/utils/distributed.py",
)


def stub_package(ref: Path, folder: Path) -> Path:
    """``folder/sam3`` with empty ``__init__`` files, ``eval`` -> ``ref/sam3/eval`` and links to
    `HELPERS`; returns ``folder``."""
    (folder / "sam3").mkdir(parents=True)
    (folder / "sam3" / "__init__.py").write_text("")
    (folder / "sam3" / "eval").symlink_to(ref / "sam3" / "eval", target_is_directory=True)
    for helper in HELPERS:
        target = folder / helper
        package = target.parent
        while package != folder:
            package.mkdir(parents=True, exist_ok=True)
            (package / "__init__.py").touch()
            package = package.parent
        target.symlink_to(ref / helper)
    return folder


def run_official(veval, gt: Path, pred: Path, out: Path) -> dict:
    """``VEvalEvaluator(gt, out).run_eval(pred)`` (its prints go to stderr), checked against the
    file it writes; returned as json would store it."""
    with contextlib.redirect_stdout(sys.stderr):
        result = veval.VEvalEvaluator(gt_annot_file=str(gt), eval_res_file=str(out)).run_eval(pred_file=str(pred))
    result = json.loads(json.dumps(result))
    written = json.loads(out.read_text())
    assert written == result or json.dumps(written) == json.dumps(result), "eval_res_file differs from run_eval"
    return result


def compare(ours: dict, shipped: dict) -> str:
    """A line comparing two run_eval dicts: values in both, how many differ, keys in one only."""
    pairs = [
        (ours["dataset_results"][k], v) for k, v in shipped["dataset_results"].items() if k in ours["dataset_results"]
    ]
    ours_np = {(r["video_id"], r["category_id"]): r for r in ours["video_np_results"]}
    np_missing = 0
    for row in shipped["video_np_results"]:
        mine = ours_np.get((row["video_id"], row["category_id"]), {})
        pairs += [(mine[k], v) for k, v in row.items() if k in mine]
        np_missing += len(set(row) ^ set(mine))
    differ = sum(a != b and not (a != a and b != b) for a, b in pairs)
    shipped_only = [k for k in shipped["dataset_results"] if k not in ours["dataset_results"]]
    ours_only = [k for k in ours["dataset_results"] if k not in shipped["dataset_results"]]
    common = [k for k in ours["dataset_results"] if k in shipped["dataset_results"]]
    same_order = common == [k for k in shipped["dataset_results"] if k in ours["dataset_results"]]
    return (
        f"{len(pairs)} values in both, {differ} differ; dataset keys only in the shipped file: "
        f"{len(shipped_only)} {shipped_only}; only in ours: {ours_only}; shared keys in the same order: "
        f"{same_order}; video-phrase keys in one only: {np_missing}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path, help="folder holding sam3/eval, the helpers and assets/veval")
    parser.add_argument("--commit", required=True, help="the reference commit (40 hex digits)")
    parser.add_argument("--out", type=Path, default=HERE / "golden_saco_veval.json")
    parser.add_argument("--skip-toy", action="store_true", help="do not score sam3's shipped toy example")
    parser.add_argument("--toy-out", type=Path, help="also write the toy example's result here")
    args = parser.parse_args()
    ref = args.reference.resolve()

    import numpy
    import scipy
    import torch
    import tqdm

    with tempfile.TemporaryDirectory() as tmp:
        stub = stub_package(ref, Path(tmp) / "stub")
        sys.path.insert(0, str(stub))
        veval = importlib.import_module("sam3.eval.saco_veval_eval")
        inputs_dir = Path(tmp) / "inputs"
        cases = make_inputs.write_cases(inputs_dir)
        inputs = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(inputs_dir.iterdir())}
        out = {}
        for name, (gt, pred) in cases.items():
            result = run_official(veval, gt, pred, Path(tmp) / f"{name}_eval_res.json")
            out[name] = {"gt": Path(gt).name, "pred": Path(pred).name, "result": result}
            d = result["dataset_results"]
            print(name, {k: round(v, 4) for k, v in d.items() if k.endswith(("mAP_50_95", "phrase_ap_50_95"))})

        golden = {
            "reference": {
                "repository": "https://github.com/facebookresearch/sam3",
                "commit": args.commit,
                "evaluator": "sam3/eval/saco_veval_eval.py VEvalEvaluator(gt, eval_res_file).run_eval(pred)",
                "python": platform.python_version(),
                "numpy": numpy.__version__,
                "pycocotools": importlib.metadata.version("pycocotools"),
                "scipy": scipy.__version__,
                "torch": torch.__version__,
                "tqdm": tqdm.__version__,
                "iopath": importlib.metadata.version("iopath"),
            },
            "inputs_sha256": inputs,
            "cases": out,
        }
        args.out.write_text(json.dumps(golden, indent=1) + "\n")
        print(f"wrote {args.out}")

        if not args.skip_toy:
            toy = ref / "assets" / "veval" / "toy_gt_and_pred"
            shipped = json.loads((toy / "toy_saco_veval_sav_test_eval_res.json").read_text())
            result = run_official(
                veval,
                toy / "toy_saco_veval_sav_test_gt.json",
                toy / "toy_saco_veval_sav_test_pred.json",
                Path(tmp) / "toy_eval_res.json",
            )
            print("toy check:", compare(result, shipped))
            if args.toy_out:
                args.toy_out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
