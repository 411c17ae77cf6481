"""Execute ``notebooks/*.ipynb`` as CI runs them, for the docs site.

Each notebook runs as committed (``QUICK = True`` in its first code cell: tiny inputs, the small or
tiny models) with an empty checkpoint folder and no GPU visible, so every model is built with
random weights on the CPU, whatever this machine holds. The executed copies, each with a cell
under its title that says so ("random weights, CPU"), go to the git-ignored
``build/docs/notebooks/``; the docs build (``docs/gen_pages.py``) renders them from there with
mkdocs-jupyter.

    python docs/execute_notebooks.py              # every notebook
    python docs/execute_notebooks.py 01_quickstart  # some (stem or file name)

A notebook is not run again while neither it nor the package (``samkit/``) nor this script has
changed since its executed copy was made, unless ``--force`` is given: the copy records the
SHA-256 of the notebook and of those inputs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
OUT = REPO / "build" / "docs" / "notebooks"
CELL_TIMEOUT_S = 900

#: the label under every rendered notebook's title (docs/gen_pages.py checks it is there)
LABEL = "random weights, CPU"
# HTML, not markdown: mkdocs-jupyter renders notebook markdown with nbconvert, which has no
# admonitions; the classes are Material's
BANNER = (
    '<div class="admonition warning">\n'
    '<p class="admonition-title">Rendered from a CI-sized run: {label}</p>\n'
    "<p>This page is <code>notebooks/{name}</code> executed by <code>make docs</code> exactly as CI "
    "runs it: <code>QUICK = True</code>, an empty checkpoint folder (<code>SAMKIT_CHECKPOINTS</code>) "
    "and no GPU visible, so <strong>every model has random weights and runs on the CPU</strong>. "
    "Masks, scores and accuracy figures on this page are meaningless; times and memory are those "
    "of the machine that built the docs. Run the notebook yourself (<code>make lab</code>) with "
    "<code>QUICK = False</code> and the official checkpoints for real results.</p>\n"
    "</div>\n"
)


def source_digest(path: Path) -> str:
    """SHA-256 of a notebook file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inputs_digest() -> str:
    """SHA-256 over the package's files (``samkit/``, caches left out) and this script."""
    digest = hashlib.sha256()
    files = [p for p in sorted((REPO / "samkit").rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    for path in [*files, Path(__file__).resolve()]:
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def check_quick(nb, name: str) -> None:
    """Refuse a notebook whose first code cell does not set ``QUICK = True`` (the CI-sized run)."""
    first = next((c for c in nb.cells if c.cell_type == "code"), None)
    lines = [] if first is None else [line.split("#")[0].replace(" ", "") for line in first.source.splitlines()]
    if "QUICK=True" not in lines:
        raise SystemExit(
            f"{name}: the first code cell must set QUICK = True (the CI-sized run the docs render); it does not"
        )


def execute(path: Path, force: bool = False) -> tuple[Path, float | None]:
    """Execute one notebook into `OUT`; returns the copy and the seconds taken (None: up to date)."""
    import nbformat
    from nbconvert.preprocessors import ExecutePreprocessor

    target = OUT / path.name
    digest, inputs = source_digest(path), inputs_digest()
    if target.exists() and not force:
        old = nbformat.read(target, as_version=4).metadata.get("samkit_docs", {})
        if old.get("source_sha256") == digest and old.get("inputs_sha256") == inputs:
            return target, None
    nb = nbformat.read(path, as_version=4)
    check_quick(nb, path.name)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="samkit-docs-ckpt-") as empty:
        env = {
            "SAMKIT_CHECKPOINTS": empty,  # no checkpoint: weights="auto" means random weights
            "CUDA_VISIBLE_DEVICES": "",  # no GPU: every model on the CPU
            "MPLBACKEND": "Agg",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)  # the kernel inherits this process's environment
        try:
            ExecutePreprocessor(timeout=CELL_TIMEOUT_S, kernel_name="python3").preprocess(
                nb, {"metadata": {"path": str(NOTEBOOKS)}}
            )
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    seconds = time.perf_counter() - started
    # the banner goes right under the notebook's title (the "# " line that opens its first cell)
    banner = nbformat.v4.new_markdown_cell(BANNER.format(label=LABEL, name=path.name))
    first = nb.cells[0] if nb.cells else None
    if first is not None and first.cell_type == "markdown" and first.source.startswith("# "):
        title, _, rest = first.source.partition("\n")
        first.source = title
        nb.cells[1:1] = [banner] + ([nbformat.v4.new_markdown_cell(rest.strip("\n"))] if rest.strip() else [])
    else:
        nb.cells.insert(0, banner)
    nb.metadata["samkit_docs"] = {
        "source_sha256": digest,
        "inputs_sha256": inputs,
        "label": LABEL,
        "seconds": round(seconds, 1),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".ipynb.partial")
    nbformat.write(nb, partial)
    partial.replace(target)
    return target, seconds


def main(argv: list[str] | None = None) -> int:
    """Command line: execute the named notebooks (default: all) into `OUT`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook stems or file names (default: all)")
    parser.add_argument("--force", action="store_true", help="execute even when up to date")
    args = parser.parse_args(argv)
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.names:
        wanted = {Path(n).stem for n in args.names}
        paths = [p for p in paths if p.stem in wanted]
        missing = wanted - {p.stem for p in paths}
        if missing:
            raise SystemExit(f"no such notebook(s) in notebooks/: {', '.join(sorted(missing))}")
    total = time.perf_counter()
    for path in paths:
        target, seconds = execute(path, force=args.force)
        state = "up to date" if seconds is None else f"executed in {seconds:.0f} s"
        print(f"{path.name}: {state} -> {target.relative_to(REPO)}", flush=True)
    print(f"notebooks: {time.perf_counter() - total:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
