"""Write the official SA-Co/Gold and Silver image scores of the toy inputs to ``golden_saco_image.json``.

The official evaluator is sam3's ``sam3/eval/cgf1_eval.py`` (``CGF1Evaluator``), run by
``scripts/eval/standalone_cgf1.py``. It pins ``numpy<2``, so it runs in a throwaway environment,
never in samkit's venv; nothing of it is copied into samkit. Commands used (reference commit
``99d02f28c8d34610ab35559b72642b01f10fdb1e`` of github.com/facebookresearch/sam3)::

    G=<bare git dir of facebookresearch/sam3>      # e.g. the `fetch github:facebookresearch/sam3` mirror
    mkdir -p /tmp/ref && git --git-dir=$G archive HEAD sam3/eval scripts/eval | tar -x -C /tmp/ref
    python3 -m venv /tmp/sam3ref
    /tmp/sam3ref/bin/pip install 'numpy<2' 'pycocotools==2.0.11' scipy tqdm
    /tmp/sam3ref/bin/python tests/data/saco_golden/make_golden.py /tmp/ref --commit $(git --git-dir=$G rev-parse HEAD)

(tested with numpy 1.26.4, pycocotools 2.0.11, scipy 1.17.1, tqdm 4.70.1, Python 3.11).

``sam3/__init__.py`` imports the model (torch); the evaluator needs only numpy, scipy, pycocotools
and tqdm. So the script builds a stub ``sam3`` package in a temporary folder whose ``eval`` is a
link to the reference's ``sam3/eval`` and puts it first on ``PYTHONPATH``. For every case of
``make_inputs.write_cases`` (written to a temporary folder) it then

1. calls ``CGF1Evaluator(gt_path=[...], iou_type=..., verbose=True).evaluate(pred_file)`` (the
   class the standalone script and the gold/silver training configs use, for ``"segm"`` and
   ``"bbox"``);
2. for the ``"segm"`` cases, also runs ``scripts/eval/standalone_cgf1.py --pred_file ... --gt_files
   ...`` itself as a subprocess and checks that the dict it prints is the same;

and writes ``{"reference": {...}, "inputs_sha256": {file: sha256}, "cases": {case: {"gt", "pred",
"iou_type", "result"}}}`` where ``result`` holds every key and value the official evaluator
returns, in its order (the test checks that ``make_inputs`` still writes the same input bytes).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import importlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_inputs  # noqa: E402


def stub_package(ref: Path, folder: Path) -> Path:
    """``folder/sam3`` with an empty ``__init__`` and ``eval`` -> ``ref/sam3/eval``; returns ``folder``."""
    (folder / "sam3").mkdir(parents=True)
    (folder / "sam3" / "__init__.py").write_text("")
    (folder / "sam3" / "eval").symlink_to(ref / "sam3" / "eval", target_is_directory=True)
    return folder


def run_standalone(ref: Path, stub: Path, gt: list[str], pred: str) -> dict[str, float]:
    """The dict ``scripts/eval/standalone_cgf1.py`` prints last (its ``print(results)``)."""
    env = dict(os.environ, PYTHONPATH=str(stub))
    script = ref / "scripts" / "eval" / "standalone_cgf1.py"
    command = [sys.executable, str(script), "--pred_file", pred, "--gt_files", *gt]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path, help="folder holding sam3/eval and scripts/eval of the reference")
    parser.add_argument("--commit", required=True, help="the reference commit (40 hex digits)")
    parser.add_argument("--out", type=Path, default=HERE / "golden_saco_image.json")
    args = parser.parse_args()
    ref = args.reference.resolve()

    import numpy
    import scipy
    import tqdm

    with tempfile.TemporaryDirectory() as tmp:
        stub = stub_package(ref, Path(tmp) / "stub")
        sys.path.insert(0, str(stub))
        cgf1_eval = importlib.import_module("sam3.eval.cgf1_eval")
        cases = make_inputs.write_cases(Path(tmp) / "inputs")
        inputs = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted((Path(tmp) / "inputs").iterdir())}
        out = {}
        for name, case in cases.items():
            with contextlib.redirect_stdout(sys.stderr):
                evaluator = cgf1_eval.CGF1Evaluator(gt_path=list(case["gt"]), iou_type=case["iou_type"], verbose=True)
                result = evaluator.evaluate(case["pred"])
            if case["iou_type"] == "segm":
                printed = run_standalone(ref, stub, case["gt"], case["pred"])
                assert printed == result, (name, printed, result)
            out[name] = {
                "gt": [Path(p).name for p in case["gt"]],
                "pred": Path(case["pred"]).name,
                "iou_type": case["iou_type"],
                "result": result,
            }
            print(name, {k.rsplit("_", 1)[-1]: round(v, 4) for k, v in result.items() if k.endswith("cgF1")})

    golden = {
        "reference": {
            "repository": "https://github.com/facebookresearch/sam3",
            "commit": args.commit,
            "evaluator": "sam3/eval/cgf1_eval.py CGF1Evaluator (scripts/eval/standalone_cgf1.py for segm)",
            "python": platform.python_version(),
            "numpy": numpy.__version__,
            "pycocotools": importlib.metadata.version("pycocotools"),
            "scipy": scipy.__version__,
            "tqdm": tqdm.__version__,
        },
        "inputs_sha256": inputs,
        "cases": out,
    }
    args.out.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
