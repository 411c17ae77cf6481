"""samkit's layers (the one place their order is written): each module imports only from its own
layer and the layers below, and a private module (``_name``) only from inside its own package.

Every import counts, including those inside functions (read from the source with `ast`); imports
under ``if TYPE_CHECKING:`` are type hints only and are skipped. A module that no layer names fails,
so a new module is placed on purpose. CONTRIBUTING.md and docs/architecture.md describe the layers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_imports import SAMKIT, import_statements, module_files

#: bottom to top: (layer, the modules and packages in it). A package entry covers its submodules.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundations",
        (
            "samkit.version",
            "samkit.errors",
            "samkit.wording",
            "samkit.plotting",
            "samkit.devices",
            "samkit.atomic",
            "samkit.params",
            "samkit.masks",
            "samkit.images",
            "samkit.video_io",
            "samkit.prompts",
            "samkit.instances",
        ),
    ),
    ("metrics", ("samkit.metrics", "samkit.testing")),
    ("backends", ("samkit.backends",)),
    ("registry and weights", ("samkit.registry", "samkit.weights", "samkit.components")),
    ("models", ("samkit.models", "samkit.loading", "samkit.fast_settings", "samkit.catalog")),
    ("video, detectors, taggers", ("samkit.video", "samkit.detectors", "samkit.taggers")),
    ("pipelines", ("samkit.pipelines",)),
    ("data and rows", ("samkit.data", "samkit.rows")),
    ("eval", ("samkit.eval", "samkit.jobs")),
    ("results", ("samkit.results", "samkit.overlays")),
    ("apps", ("samkit.widgets", "samkit.serve", "samkit.cli", "samkit.demo")),
    ("api", ("samkit",)),  # the package's __init__: samkit.load, list_models, model_table
]


def layer_of(module: str) -> int | None:
    """Index in `LAYERS` of the longest entry that is ``module`` or a package above it."""
    best: tuple[int, int] | None = None
    for index, (_, entries) in enumerate(LAYERS):
        for entry in entries:
            if (module == entry or module.startswith(entry + ".")) and (best is None or len(entry) > best[1]):
                best = (index, len(entry))
    return None if best is None else best[0]


def runtime_imports(name: str, path: Path, modules: set[str]) -> list[tuple[str, int]]:
    """``(imported samkit module, line)`` for every import of module ``name`` outside TYPE_CHECKING."""
    return [(target, line) for target, line, hint in import_statements(name, path, modules) if not hint]


def violations(files: dict[str, Path]) -> tuple[list[str], list[str], list[str]]:
    """(modules in no layer, imports that point up, imports of another package's private module)."""
    names = set(files)
    unplaced = sorted(n for n in names if layer_of(n) is None)
    upward, private = [], []
    for name, path in sorted(files.items()):
        here = layer_of(name)
        for target, line in runtime_imports(name, path, names):
            there = layer_of(target)
            where = f"{path.name}:{line}"
            if here is not None and there is not None and there > here:
                upward.append(f"{where}: {name} ({LAYERS[here][0]}) imports {target} ({LAYERS[there][0]})")
            parts = target.split(".")
            for depth in range(1, len(parts)):
                if parts[depth].startswith("_"):
                    owner = ".".join(parts[:depth])
                    if not (name == owner or name.startswith(owner + ".")):
                        private.append(f"{where}: {name} imports {target}, private to {owner}")
                    break
    return unplaced, upward, private


def test_the_layer_check_sees_upward_private_and_function_level_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "samkit"
    (pkg / "models").mkdir(parents=True)
    (pkg / "pipelines").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "models" / "__init__.py").write_text("")
    (pkg / "models" / "_private.py").write_text("")
    (pkg / "models" / "base.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from samkit.pipelines import x\n"
        "def f():\n    from samkit.pipelines.text import y\n"
    )
    (pkg / "pipelines" / "__init__.py").write_text("")
    (pkg / "pipelines" / "text.py").write_text("from samkit.models._private import z\nfrom samkit.models import base\n")
    (pkg / "stray.py").write_text("")
    files = module_files(pkg)
    unplaced, upward, private = violations(files)
    assert unplaced == []  # "samkit" (the api layer) covers samkit.stray: the longest entry wins
    assert layer_of("samkit.stray") == len(LAYERS) - 1
    assert len(upward) == 1 and "samkit.models.base (models) imports samkit.pipelines.text" in upward[0]
    assert len(private) == 1 and "samkit.pipelines.text imports samkit.models._private" in private[0]


def test_every_module_is_in_a_layer():
    files = module_files(SAMKIT)
    stray = [n for n in files if n != "samkit" and layer_of(n) == len(LAYERS) - 1]
    assert not stray, f"modules in no layer (add them to LAYERS in {Path(__file__).name}): {stray}"


def test_no_import_points_up_or_into_another_package_private_module():
    _, upward, private = violations(module_files(SAMKIT))
    assert not upward, "imports of a higher layer:\n" + "\n".join(upward)
    assert not private, "imports of another package's private module:\n" + "\n".join(private)


@pytest.mark.parametrize("index", range(len(LAYERS)))
def test_each_layer_names_existing_modules(index):
    files = module_files(SAMKIT)
    missing = [e for e in LAYERS[index][1] if e not in files]
    assert not missing, f"layer {LAYERS[index][0]!r} names modules that do not exist: {missing}"
