"""Every name in the ``__all__`` of every public samkit module must be documented.

A public module is any ``samkit/**.py`` none of whose path parts starts with an underscore (a
package's ``__init__.py`` stands for the package). For each name in its ``__all__``:

- a class or function must have a docstring of its own;
- a constant (an assignment) must have a docstring right after it (a string statement) or a
  ``#:`` comment, on the lines just above it or at the end of its line;
- a name imported from another samkit module is checked where it is defined (names imported from
  outside samkit, e.g. a re-exported third-party class, are not samkit's to document);
- a name the module does not define or import at all is an error too (``__all__`` lies).

`stale_references` checks the other direction: every ``samkit.x.y`` name and every ``samkit/...``
path that README.md and the docs pages mention still exists, so a module that moves cannot leave
the prose pointing at its old place.

The checks read the source only (``ast``): nothing is imported, so they take well under a second
and need none of the optional dependencies. ``make docs`` runs them through ``docs/hooks.py`` (so
``mkdocs build`` fails on its own) and they run alone too::

    python docs/check_docstrings.py          # exit 1 and a list of the undocumented names
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "samkit"


@dataclass
class Module:
    """One parsed samkit module: its dotted name, file, syntax tree and source lines."""

    name: str
    path: Path
    tree: ast.Module
    lines: list[str]


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """``samkit/data/coco.py`` -> ``samkit.data.coco``; ``samkit/data/__init__.py`` -> ``samkit.data``."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_public(name: str) -> bool:
    """True when no part of the dotted module name starts with an underscore."""
    return not any(part.startswith("_") for part in name.split("."))


def load_modules(root: Path = PACKAGE) -> dict[str, Module]:
    """Every module of the package (private ones too: public names may be defined there)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        modules[module_name(path, root)] = Module(
            module_name(path, root), path, ast.parse(source, str(path)), source.splitlines()
        )
    return modules


def _top_level(body: list[ast.stmt]):
    """Statements at module level, descending into ``if`` / ``try`` / ``with`` blocks."""
    for i, node in enumerate(body):
        yield node, body, i
        if isinstance(node, ast.If):
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _top_level(block)
        elif isinstance(node, ast.With):
            yield from _top_level(node.body)


def exported(module: Module) -> list[str] | None:
    """The module's ``__all__`` (a literal list or tuple of strings), or None when it has none."""
    names = None
    for node, _, _ in _top_level(module.tree.body):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            value = ast.literal_eval(node.value)
            names = list(value) if not isinstance(node, ast.AugAssign) else (names or []) + list(value)
    return names


def _assigned_names(node: ast.stmt) -> list[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    names = []
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name):
                names.append(sub.id)
    return names


def _comment_doc(module: Module, node: ast.stmt) -> bool:
    """A ``#:`` comment on the lines right above ``node`` or at the end of its first line."""
    if "#:" in module.lines[node.lineno - 1]:
        return True
    line = node.lineno - 2
    while line >= 0 and module.lines[line].strip().startswith("#"):
        if module.lines[line].strip().startswith("#:"):
            return True
        line -= 1
    return False


def _resolve_from(module: Module, node: ast.ImportFrom) -> str | None:
    """The absolute module name an ``from X import ...`` statement reads from."""
    if node.level == 0:
        return node.module
    package = module.name.split(".")
    if not module.path.name == "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def check_name(
    modules: dict[str, Module], module: Module, name: str, seen: frozenset[tuple[str, str]] = frozenset()
) -> str | None:
    """None when ``module.name`` documents ``name``, else the reason it does not."""
    if (module.name, name) in seen:
        return f"import cycle through {module.name}"
    seen = seen | {(module.name, name)}
    found = None
    for node, body, i in _top_level(module.tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            found = (
                None
                if ast.get_docstring(node)
                else (
                    f"{'class' if isinstance(node, ast.ClassDef) else 'function'} without a docstring "
                    f"({module.path.relative_to(REPO)}:{node.lineno})"
                )
            )
            if found is None:
                return None
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and name in _assigned_names(node):
            after = body[i + 1] if i + 1 < len(body) else None
            if (
                isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ) or _comment_doc(module, node):
                return None
            found = f"constant without a docstring or '#:' comment ({module.path.relative_to(REPO)}:{node.lineno})"
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    source = _resolve_from(module, node)
                    if source is None or not (source == "samkit" or source.startswith("samkit.")):
                        return None  # not samkit's: documented (or not) upstream
                    if source in modules:
                        reason = check_name(modules, modules[source], alias.name, seen)
                        if reason is None:
                            return None
                        found = reason
                    elif f"{source}.{alias.name}" in modules:
                        return None  # a submodule: documented by its own page
                    else:
                        found = f"imported from {source}, which does not exist"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if (alias.asname or alias.name.split(".")[0]) == name:
                    return None
    if found is None and f"{module.name}.{name}" in modules:
        return None  # a submodule listed in __all__
    return found or f"in __all__ but not defined in {module.path.relative_to(REPO)}"


def undocumented(root: Path = PACKAGE) -> list[str]:
    """``"module.name: reason"`` for every undocumented name in a public module's ``__all__``."""
    modules = load_modules(root)
    problems = []
    for name, module in modules.items():
        if not is_public(name):
            continue
        if ast.get_docstring(module.tree) is None:
            problems.append(f"{name}: module without a docstring ({module.path.relative_to(REPO)})")
        for export in exported(module) or []:
            reason = check_name(modules, module, export)
            if reason is not None:
                problems.append(f"{name}.{export}: {reason}")
    return problems


def defined_names(module: Module) -> set[str]:
    """Names a module defines or imports at top level, and those its ``__all__`` lists (a module
    with a lazy ``__getattr__`` lists what it provides there)."""
    names: set[str] = set(exported(module) or [])
    for node, _, _ in _top_level(module.tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            names.update(_assigned_names(node))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name.split(".")[0]) for a in node.names)
    return names


DOTTED = re.compile(r"\bsamkit(?:\.[A-Za-z_]\w*)+")
FROM_IMPORT = re.compile(r"\bfrom[ \t]+(samkit(?:\.\w+)*)[ \t]+import[ \t]+\(?([\w \t,]+)")
PATH = re.compile(r"(?<![\w./-])samkit/[\w./*-]*[\w*/]")


def resolve(modules: dict[str, Module], dotted: str) -> str | None:
    """None when ``dotted`` (``samkit.x.y[.attr]``) names a module or a name a module has, else why not."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        if name in modules:
            if cut == len(parts):
                return None
            if parts[cut] in defined_names(modules[name]) or f"{name}.{parts[cut]}" in modules:
                return None
            return f"{name} has no {parts[cut]!r}"
    return "no such module"


def stale_references(files: list[Path], root: Path = PACKAGE) -> list[str]:
    """``"file: reference: reason"`` for every ``samkit.x`` name or ``samkit/...`` path in ``files``
    that does not exist (any more)."""
    modules = load_modules(root)
    problems = []
    for file in files:
        text = file.read_text(encoding="utf-8")
        where = file.relative_to(REPO).as_posix() if file.is_relative_to(REPO) else str(file)
        seen: set[str] = set()
        refs = set(DOTTED.findall(text))
        for module, imported in FROM_IMPORT.findall(text):
            refs.update(f"{module}.{n.strip()}" for n in imported.split(",") if n.strip())
        for ref in sorted(refs):
            reason = resolve(modules, ref)
            if reason and ref not in seen:
                seen.add(ref)
                problems.append(f"{where}: {ref}: {reason}")
        for ref in sorted(set(PATH.findall(text))):
            if not (any(root.parent.glob(ref.rstrip("/"))) or (root.parent / ref).exists()):
                problems.append(f"{where}: {ref}: no such file or folder")
    return problems


def doc_files() -> list[Path]:
    """README.md and every markdown page under docs/."""
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def main() -> int:
    """Print the undocumented public names and stale references; exit status 1 when there is any."""
    stale = stale_references(doc_files())
    for line in stale:
        print(line)
    if stale:
        print(
            f"\n{len(stale)} reference(s) in README.md / docs/ to samkit names or paths that do not "
            "exist: update the pages",
            file=sys.stderr,
        )
    problems = undocumented()
    for line in problems:
        print(line)
    if problems:
        print(
            f"\n{len(problems)} undocumented public name(s): give each a docstring "
            "(constants: a '#:' comment above or a docstring below the assignment)",
            file=sys.stderr,
        )
    if stale or problems:
        return 1
    print(
        "every public samkit module and every name in its __all__ is documented; every samkit "
        "name and path the pages mention exists"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
