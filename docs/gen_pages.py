"""Pages made at build time (mkdocs-gen-files): the API reference and the rendered notebooks.

API reference: one page per public module of the package, found by walking ``samkit/`` (a module
none of whose dotted parts starts with an underscore; a package is its ``__init__.py``), each page
a mkdocstrings ``::: samkit.x.y`` directive, and ``reference/SUMMARY.md`` for literate-nav. A
module that moves, appears or goes away is documented where it now is without editing anything
here or in mkdocs.yml.

Notebooks: the executed copies that ``docs/execute_notebooks.py`` wrote to
``build/docs/notebooks/`` become ``notebooks/NAME.ipynb`` (rendered by mkdocs-jupyter), beside
``docs/notebooks/index.md``. A notebook that has no executed copy, an outdated one, or one without
the "random weights, CPU" label stops the build with the command that makes it.
``SAMKIT_DOCS_SKIP_NOTEBOOKS=1`` leaves the notebooks out (a quick ``mkdocs serve`` while writing
pages; ``make docs`` never sets it).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import mkdocs_gen_files

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "samkit"
NOTEBOOKS = REPO / "notebooks"
EXECUTED = REPO / "build" / "docs" / "notebooks"
LABEL = "random weights, CPU"


def public_modules(root: Path = PACKAGE) -> list[tuple[str, ...]]:
    """Dotted parts of every public module under ``root``, sorted (packages before their modules).

    Public: no part starts with an underscore, and every folder on the way is a package (has an
    ``__init__.py``).
    """
    found = []
    for path in sorted(root.rglob("*.py")):
        folders = path.relative_to(root.parent).parent.parts
        if not all(root.parent.joinpath(*folders[: i + 1], "__init__.py").exists() for i in range(len(folders))):
            continue  # inside a folder that is not a package (or __pycache__)
        parts = tuple(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(part.startswith("_") for part in parts):
            continue
        found.append(parts)
    return sorted(found)


def notebook_title(path: Path) -> str:
    """The notebook's first level-1 heading, else its file name."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def write_reference() -> None:
    """``reference/<module path>.md`` (a package: ``.../index.md``) and ``reference/SUMMARY.md``."""
    nav = mkdocs_gen_files.Nav()
    for parts in public_modules():
        is_package = (REPO.joinpath(*parts) / "__init__.py").exists()
        doc = Path("reference", *parts, "index.md") if is_package else Path("reference", *parts).with_suffix(".md")
        nav[parts] = doc.relative_to("reference").as_posix()
        with mkdocs_gen_files.open(doc, "w") as f:
            f.write(f"::: {'.'.join(parts)}\n")
        source = REPO.joinpath(*parts, "__init__.py") if is_package else REPO.joinpath(*parts).with_suffix(".py")
        mkdocs_gen_files.set_edit_path(doc, source.relative_to(REPO))
    with mkdocs_gen_files.open("reference/SUMMARY.md", "w") as f:
        f.writelines(nav.build_literate_nav())


def write_notebooks() -> None:
    """The executed notebooks as ``notebooks/*.ipynb`` and ``notebooks/SUMMARY.md``."""
    lines = ["* [Notebooks](index.md)\n"]
    skip = os.environ.get("SAMKIT_DOCS_SKIP_NOTEBOOKS") == "1"
    for source in [] if skip else sorted(NOTEBOOKS.glob("*.ipynb")):
        executed = EXECUTED / source.name
        if not executed.exists():
            raise SystemExit(
                f"docs: {source.name} has not been executed for the docs; run "
                f"`python docs/execute_notebooks.py` (make docs does)"
            )
        nb = json.loads(executed.read_text(encoding="utf-8"))
        meta = nb.get("metadata", {}).get("samkit_docs", {})
        if meta.get("source_sha256") != hashlib.sha256(source.read_bytes()).hexdigest():
            raise SystemExit(
                f"docs: the executed copy of {source.name} is older than the notebook; "
                f"run `python docs/execute_notebooks.py` (make docs does)"
            )
        head = "".join("".join(cell["source"]) for cell in nb.get("cells", [])[:2])
        if LABEL not in head or meta.get("label") != LABEL:
            raise SystemExit(f"docs: the executed copy of {source.name} does not start with the {LABEL!r} label")
        with mkdocs_gen_files.open(f"notebooks/{source.name}", "w") as f:
            f.write(executed.read_text(encoding="utf-8"))
        mkdocs_gen_files.set_edit_path(f"notebooks/{source.name}", f"notebooks/{source.name}")
        lines.append(f"* [{notebook_title(source)}]({source.name})\n")
    with mkdocs_gen_files.open("notebooks/SUMMARY.md", "w") as f:
        f.writelines(lines)


write_reference()
write_notebooks()
