"""samkit's import graph: no cycles anywhere, and the results package never names a protocol (it
finds the protocols' tables and figures through the registry of samkit.eval). Read from the source
with `ast`, so imports inside functions count as much as those at the top of a module. The order of
the layers is checked in test_layers.py."""

from __future__ import annotations

import ast
from pathlib import Path

SAMKIT = Path(__file__).resolve().parents[1] / "samkit"
RESULTS_MAY_IMPORT = {"samkit.eval", "samkit.eval.protocol"}
"""The only modules of samkit.eval that samkit.results may name: the registry and what a protocol is."""


def module_files(root: Path = SAMKIT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (a package is its __init__)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_statements(name: str, path: Path, modules: set[str]) -> list[tuple[str, int, bool]]:
    """``(imported samkit module, line, under TYPE_CHECKING)`` for every import in module ``name``
    (file ``path``), anywhere in its source (inside functions too).

    ``from samkit.pkg import x`` is ``samkit.pkg.x`` where that is a module, else ``samkit.pkg``;
    relative imports are resolved against the module's package.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    typing_only = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in node.body
        for sub in ast.walk(child)
    }
    found: list[tuple[str, int, bool]] = []
    for node in ast.walk(tree):
        hint = id(node) in typing_only
        if isinstance(node, ast.Import):
            found += [
                (_nearest(a.name, modules), node.lineno, hint) for a in node.names if a.name.split(".")[0] == "samkit"
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "samkit":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub if sub in modules else _nearest(target, modules), node.lineno, hint))
    return [item for item in found if item[0] != name]


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """The samkit modules that module ``name`` (file ``path``) imports, anywhere in its source."""
    return {target for target, _, _ in import_statements(name, path, modules)}


def _nearest(dotted: str, modules: set[str]) -> str:
    """The longest prefix of ``dotted`` that is a module (``samkit.a.b`` -> ``samkit.a`` if needed)."""
    parts = dotted.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts) or dotted


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    names = set(files)
    return {name: imports_of(name, path, names) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The elementary cycles found by a depth-first search (each once, as a closed path)."""
    found: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    found.append(cycle)
            elif state.get(nxt) is None:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def tangles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or not (strongly connected
    components of more than one module, Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(out)


def test_the_walk_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "samkit"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from samkit.b import thing\n")
    (pkg / "b.py").write_text("import samkit.sub.c\nthing = 1\n")
    (pkg / "sub" / "__init__.py").write_text("from . import c\n")
    (pkg / "sub" / "c.py").write_text("from .. import a\nfrom samkit.sub import nothing_here\n")
    files = module_files(pkg)
    names = set(files)
    graph = {n: imports_of(n, p, names) for n, p in files.items()}
    assert graph["samkit.a"] == {"samkit.b"}
    assert graph["samkit.b"] == {"samkit.sub.c"}
    assert graph["samkit.sub"] == {"samkit.sub.c"}
    assert graph["samkit.sub.c"] == {"samkit.a", "samkit.sub"}
    found = cycles(graph)
    assert ["samkit.a", "samkit.b", "samkit.sub.c", "samkit.a"] in found
    assert cycles({"x": {"y"}, "y": set()}) == []
    assert tangles(graph) == [["samkit.a", "samkit.b", "samkit.sub", "samkit.sub.c"]]
    assert tangles({"x": {"y"}, "y": set()}) == []


def test_samkit_has_no_import_cycle():
    graph = import_graph()
    found = cycles(graph)
    assert not found, (
        "import cycles:\n"
        + "\n".join(" -> ".join(c) for c in found)
        + "\nmodules that import each other:\n"
        + "\n".join(", ".join(group) for group in tangles(graph))
    )


def protocol_imports(graph: dict[str, set[str]]) -> list[str]:
    """``"<module> imports <target>"`` for every import by a samkit.results module of a samkit.eval
    module other than `RESULTS_MAY_IMPORT` (a protocol module, or one named beside them)."""
    return sorted(
        f"{name} imports {target}"
        for name, targets in graph.items()
        if name == "samkit.results" or name.startswith("samkit.results.")
        for target in targets
        if target.startswith("samkit.eval.") and target not in RESULTS_MAY_IMPORT
    )


def test_the_protocol_check_sees_a_protocol_named_by_results(tmp_path):
    pkg = tmp_path / "samkit"
    (pkg / "eval").mkdir(parents=True)
    (pkg / "results").mkdir()
    for init in (pkg, pkg / "eval", pkg / "results"):
        (init / "__init__.py").write_text("")
    (pkg / "eval" / "protocol.py").write_text("")
    (pkg / "eval" / "box.py").write_text("")
    (pkg / "results" / "report.py").write_text(
        "from samkit.eval import get_protocol\nfrom samkit.eval.protocol import Section\n"
        "def f():\n    from samkit.eval.box import PROTOCOL\n"
    )
    files = module_files(pkg)
    graph = {n: imports_of(n, p, set(files)) for n, p in files.items()}
    assert protocol_imports(graph) == ["samkit.results.report imports samkit.eval.box"]


def test_results_never_imports_a_protocol_module_by_name():
    graph = import_graph()
    named = protocol_imports(graph)
    assert not named, "samkit.results must find protocols through samkit.eval's registry, not by name:\n" + "\n".join(
        named
    )
    results = [name for name in graph if name == "samkit.results" or name.startswith("samkit.results.")]
    assert any("samkit.eval" in graph[name] for name in results)  # it does use the registry
