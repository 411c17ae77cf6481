"""Checking a parameter where it enters: type and range, with one message shape for all of samkit.

Each checker returns the value in its canonical type (``int``, ``float``, ``bool``) or raises
`samkit.errors.ParameterError` naming the parameter, the value given and what is allowed::

    pred_iou_thresh must be a number in [0, 1], got 88
    points_per_side must be an integer >= 1 (or None), got '8.5' (a str)

Strings are never parsed (``"8"`` is refused; the CLI and configs parse before they check), bools
are not numbers, and numpy scalars count as the Python numbers they hold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from samkit.errors import ParameterError

__all__ = ["check_number", "check_int", "check_fraction", "check_bool", "check_choice", "ParameterSpec"]


def _shown(value: Any) -> str:
    """``repr(value)``, with its type where the repr alone could mislead (``'8'`` vs ``8``)."""
    if isinstance(value, (bool, int, float, np.integer, np.floating)) or value is None:
        return repr(value)
    return f"{value!r} (a {type(value).__name__})"


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return "(finite)"


def _is_number(value: Any) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
) -> float | None:
    """``value`` as a finite float in the interval (``low``/``high`` inclusive unless ``*_open``)."""
    if value is None and allow_none:
        return None
    ok = _is_number(value) and math.isfinite(float(value))
    if ok:
        x = float(value)
        ok = (low is None or (x > low if low_open else x >= low)) and (
            high is None or (x < high if high_open else x <= high)
        )
    if not ok:
        what = f"a number {_interval(low, high, low_open, high_open)}"
        raise ParameterError(f"{name} must be {what}{' (or None)' if allow_none else ''}, got {_shown(value)}")
    return float(value)


def check_int(
    name: str, value: Any, *, low: int | None = None, high: int | None = None, allow_none: bool = False
) -> int | None:
    """``value`` as an int in ``[low, high]``; an integral float (``8.0``, e.g. from YAML) is accepted."""
    if value is None and allow_none:
        return None
    ok = _is_number(value) and math.isfinite(float(value)) and float(value) == int(value)
    if ok:
        ok = (low is None or int(value) >= low) and (high is None or int(value) <= high)
    if not ok:
        what = f"an integer {_interval(low, high, False, False)}"
        raise ParameterError(f"{name} must be {what}{' (or None)' if allow_none else ''}, got {_shown(value)}")
    return int(value)


def check_fraction(name: str, value: Any, *, allow_none: bool = False) -> float | None:
    """``value`` as a float in [0, 1] (a threshold, a ratio; a percentage such as 88 is refused)."""
    return check_number(name, value, low=0.0, high=1.0, allow_none=allow_none)


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a bool: ``True``/``False`` (or numpy's); ``1``, ``"yes"`` and ``"false"`` are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name} must be True or False, got {_shown(value)}")
    return bool(value)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``."""
    choices = tuple(choices)
    if not any(value == c and type(value) is type(c) for c in choices):
        raise ParameterError(f"{name} must be one of {', '.join(map(repr, choices))}; got {_shown(value)}")
    return value


class ParameterSpec:
    """What one parameter takes, as a callable: ``spec(name, value) -> checked value``.

    Build with the class methods (``ParameterSpec.fraction()``, ``ParameterSpec.integer(low=1)``, ...);
    a table ``{name: ParameterSpec}`` checks a dict of parameters with `check_all`.
    """

    def __init__(self, check: Any, description: str) -> None:
        self._check = check
        self.description = description

    def __call__(self, name: str, value: Any) -> Any:
        return self._check(name, value)

    def __repr__(self) -> str:
        return f"ParameterSpec({self.description})"

    @classmethod
    def number(cls, low: float | None = None, high: float | None = None, **kw: Any) -> ParameterSpec:
        described = f"number {_interval(low, high, kw.get('low_open', False), kw.get('high_open', False))}"
        return cls(lambda n, v: check_number(n, v, low=low, high=high, **kw), described)

    @classmethod
    def integer(cls, low: int | None = None, high: int | None = None, allow_none: bool = False) -> ParameterSpec:
        return cls(
            lambda n, v: check_int(n, v, low=low, high=high, allow_none=allow_none),
            f"integer {_interval(low, high, False, False)}",
        )

    @classmethod
    def fraction(cls, allow_none: bool = False) -> ParameterSpec:
        return cls(lambda n, v: check_fraction(n, v, allow_none=allow_none), "number in [0, 1]")

    @classmethod
    def boolean(cls) -> ParameterSpec:
        return cls(check_bool, "True or False")

    @classmethod
    def choice(cls, *choices: Any) -> ParameterSpec:
        return cls(lambda n, v: check_choice(n, v, choices), f"one of {choices}")

    @staticmethod
    def check_all(table: dict[str, ParameterSpec], params: dict[str, Any], *, where: str = "") -> dict[str, Any]:
        """``params`` with each entry that ``table`` knows checked (``where`` prefixes the names,
        e.g. ``"generate(): "``); entries the table does not know pass through unchanged."""
        return {k: (table[k](f"{where}{k}", v) if k in table else v) for k, v in params.items()}
