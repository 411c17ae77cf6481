"""samkit.wording: weights and device labels read from the typed columns only, and the one wording of
the random-weights warning (no other module of samkit words it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd

from samkit.rows import rows_to_frame, weights_columns
from samkit.weights import WeightsInfo
from samkit.wording import (
    RANDOM_WEIGHTS_WARNING,
    device_label,
    devices_in,
    distinct,
    has_random_weights,
    joined,
    present,
    random_models,
    weights_kinds_in,
    weights_label,
    weights_labels,
)

H100 = "NVIDIA H100 80GB HBM3"
CPU = "cpu: x86_64 x2"
PRETRAINED = weights_columns(WeightsInfo(kind="pretrained", sha256="ec2df6273261" + "0" * 52, official=True))
UNOFFICIAL = weights_columns(WeightsInfo(kind="pretrained", sha256="abcdef123456" + "0" * 52, official=False))
RANDOM = weights_columns(WeightsInfo(kind="random", seed=0))
SAMKIT = Path(__file__).resolve().parents[1] / "samkit"


def test_weights_label_from_typed_columns():
    assert weights_label("random") == "random"
    assert weights_label("pretrained", True) == "pretrained"
    assert weights_label("pretrained", False) == "pretrained (unofficial file)"
    assert weights_label("pretrained", pd.NA) == "pretrained"  # official not recorded: no claim
    assert weights_label(pd.NA) == "unknown" and weights_label(None) == "unknown"
    assert weights_label("") == "unknown"


def test_device_label():
    assert device_label("cuda:0", H100) == f"{H100} (cuda:0)"
    assert device_label("cpu", CPU) == CPU
    assert device_label("cpu", pd.NA) == "cpu"
    assert device_label("cuda:1", None) == "cuda:1 (GPU model not recorded)"
    assert device_label(None, None) == "device not recorded"
    assert device_label(pd.NA, H100) == H100


def test_kinds_come_from_weights_kind_never_from_the_weights_string():
    rows = rows_to_frame(
        [
            dict(model="a", **PRETRAINED),
            dict(model="b", **RANDOM),
            dict(model="c", **UNOFFICIAL),
            dict(model="d", **RANDOM),
            # a readable string that says "random" but a typed kind that says otherwise: the kind wins
            dict(model="e", weights="random-looking name", weights_kind="pretrained", weights_official=True),
        ]
    )
    assert weights_labels(rows) == ["pretrained", "random", "pretrained (unofficial file)", "random", "pretrained"]
    assert weights_kinds_in(rows) == ["pretrained", "random", "pretrained (unofficial file)"]
    assert has_random_weights(rows)
    assert random_models(rows) == ["b", "d"]
    untyped = pd.DataFrame({"model": ["x"], "weights": ["random(seed=0)"]})  # no typed column
    assert weights_kinds_in(untyped) == [] and not has_random_weights(untyped)
    assert random_models(untyped) == []
    pretrained_only = rows_to_frame([dict(model="a", **PRETRAINED)])
    assert not has_random_weights(pretrained_only) and random_models(pretrained_only) == []


def test_a_table_of_labels_reads_the_same():
    """Tables carry the label (e.g. "pretrained (unofficial file)") in weights_kind, without
    weights_official; reading it again gives the same label."""
    table = pd.DataFrame({"model": ["a", "b"], "weights_kind": ["pretrained (unofficial file)", "random"]})
    assert weights_kinds_in(table) == ["pretrained (unofficial file)", "random"]
    assert random_models(table) == ["b"]


def test_devices_in_rows_and_tables():
    rows = rows_to_frame(
        [
            dict(model="a", device="cuda:0", device_name=H100),
            dict(model="b", device="cpu", device_name=CPU),
            dict(model="c", device="cuda:0", device_name=H100),
            dict(model="d", device="cuda:1"),
        ]
    )
    assert devices_in(rows) == [f"{H100} (cuda:0)", CPU, "cuda:1 (GPU model not recorded)"]
    table = pd.DataFrame({"device_label": ["x (cuda:0)", "x (cuda:0)", "cpu"]})
    assert devices_in(table) == ["x (cuda:0)", "cpu"]
    assert devices_in(pd.DataFrame({"model": ["a"]})) == []
    assert devices_in(rows.iloc[0:0]) == [] and weights_kinds_in(rows.iloc[0:0]) == []


def test_present_distinct_joined():
    assert not present(None) and not present(pd.NA) and not present(float("nan")) and not present("")
    assert present(0) and present("x") and present(False)
    assert distinct(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]
    assert joined(["x", pd.NA, "y", "x", ""]) == "x; y"
    assert joined([pd.NA, None]) is pd.NA


def test_the_warning_says_what_is_meaningless_and_what_is_real():
    assert RANDOM_WEIGHTS_WARNING.startswith("RANDOM WEIGHTS")
    for word in ("accuracy", "masks", "meaningless", "latency", "memory", "FLOPs", "parameter"):
        assert word in RANDOM_WEIGHTS_WARNING


def _string_constants(tree: ast.AST) -> list[str]:
    """String constants of a module that are not docstrings."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


def test_only_wording_words_the_random_weights_warning():
    """Every other module uses RANDOM_WEIGHTS_WARNING instead of a wording of its own."""
    offenders = []
    for path in sorted(SAMKIT.rglob("*.py")):
        if path.name == "wording.py" and path.parent == SAMKIT:
            continue
        for text in _string_constants(ast.parse(path.read_text(), filename=str(path))):
            if "meaningless" in text.lower() or "random weights:" in text.lower():
                offenders.append(f"{path.relative_to(SAMKIT.parent)}: {text!r}")
    assert offenders == []


def test_the_results_stack_never_parses_the_weights_string():
    """wording, plotting, the results package, the protocols' tables and figures and the overlays
    read the typed columns: no ``startswith("random")`` / ``"pretrained"`` on any string, and
    report's old ``weights_kind()`` parser is gone."""
    import samkit.results.figures
    import samkit.results.report
    import samkit.results.tables

    for module in (samkit.results.report, samkit.results.tables, samkit.results.figures):
        assert not hasattr(module, "weights_kind")
    names = ["wording.py", "plotting.py", "overlays.py"] + [
        str(p.relative_to(SAMKIT))
        for p in sorted((SAMKIT / "results").glob("*.py")) + sorted((SAMKIT / "eval").glob("*.py"))
    ]
    for name in names:
        tree = ast.parse((SAMKIT / name).read_text())
        calls = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "startswith"
            and any(isinstance(a, ast.Constant) and a.value in ("random", "pretrained") for a in n.args)
        ]
        assert calls == [], name
