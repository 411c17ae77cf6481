"""mkdocs hooks (mkdocs.yml ``hooks:``): checks that make ``mkdocs build`` fail on its own.

- Before the build: every name in the ``__all__`` of every public samkit module has a docstring
  (``docs/check_docstrings.py``); the error lists the undocumented names.
- Before the build: every ``samkit.x.y`` name and ``samkit/...`` path that README.md and the pages
  mention exists (``docs/check_docstrings.py``), so a module that moves cannot leave them stale.
- Before the build: the generated model tables in README.md and docs/ match the registry
  (``docs/gen_model_table.py --check``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError

DOCS = Path(__file__).resolve().parent


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"samkit_docs_{name}", DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def on_pre_build(config, **kwargs) -> None:
    """Fail the build on a stale reference, an undocumented public name or a stale generated table."""
    checks = _load("check_docstrings")
    stale = checks.stale_references(checks.doc_files())
    if stale:
        raise PluginError(
            f"{len(stale)} reference(s) in README.md / docs/ to samkit names or paths that do not "
            "exist (update the pages):\n  " + "\n  ".join(stale)
        )
    problems = checks.undocumented()
    if problems:
        raise PluginError(
            f"{len(problems)} undocumented public name(s) in samkit (give each a docstring; "
            "constants: a '#:' comment above or a docstring below the assignment):\n  " + "\n  ".join(problems)
        )
    tables = _load("gen_model_table")
    stale = []
    for path in tables.targets():
        old, new = tables.update(path)
        if old != new:
            stale.append(path.relative_to(tables.REPO).as_posix())
    if stale:
        raise PluginError(
            "stale generated model tables in " + ", ".join(stale) + ": run `.venv/bin/python docs/gen_model_table.py`"
        )
