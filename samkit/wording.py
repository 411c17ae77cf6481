"""How samkit words what a number is: weights kinds, devices, and the one random-weights warning.

A foundation (it imports nothing of samkit's), so every protocol's tables and figures, the
results package, the widgets and the overlays use the same words.

Weights are read from the typed columns only: ``weights_kind`` (``"pretrained"`` / ``"random"``,
or a table's already-labelled kind such as ``"pretrained (unofficial file)"``) and
``weights_official``; the readable ``weights`` string is shown, never parsed. Devices are read
from ``device`` (``"cuda:0"``, ``"cpu"``) and ``device_name`` (``"NVIDIA H100 80GB HBM3"``,
``"cpu: x86_64 x2"``), or a table's ``device_label``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "RANDOM_WEIGHTS_WARNING",
    "present",
    "distinct",
    "joined",
    "weights_label",
    "weights_labels",
    "device_label",
    "devices_in",
    "weights_kinds_in",
    "has_random_weights",
    "random_models",
    "group_weights_kind",
    "with_random_warning",
]

RANDOM_WEIGHTS_WARNING = (
    "RANDOM WEIGHTS: accuracy and masks are meaningless (latency, memory, FLOPs and parameter counts are real)"
)
"""The one wording of the random-weights warning, on every table, figure, overlay and widget."""


def present(value: Any) -> bool:
    """True for a real value (not None / NaN / NA / empty string)."""
    if value is None:
        return False
    try:
        import pandas as pd

        if pd.isna(value):
            return False
    except (TypeError, ValueError):  # array-likes
        return True
    return str(value) != ""


def distinct(values: Iterable[Any]) -> list[Any]:
    """The values in order of first appearance, each once."""
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def joined(values: Iterable[Any]) -> Any:
    """The distinct present values as text joined by ``"; "``; ``pd.NA`` when there is none."""
    vals = distinct(str(v) for v in values if present(v))
    if vals:
        return "; ".join(vals)
    import pandas as pd

    return pd.NA


def weights_label(kind: Any, official: Any = None) -> str:
    """A weights kind as tables show it, from the typed columns ``weights_kind`` / ``weights_official``.

    ``"random"``; ``"pretrained"``; ``"pretrained (unofficial file)"`` when ``official`` is False;
    ``"unknown"`` when the kind is not recorded.
    """
    if not present(kind):
        return "unknown"
    kind = str(kind)
    if kind == "pretrained" and present(official) and not bool(official):
        return "pretrained (unofficial file)"
    return kind


def _column(frame: Any, name: str) -> list[Any]:
    """A frame's column as a list, or Nones when the frame has no such column."""
    return list(frame[name]) if name in frame.columns else [None] * len(frame)


def weights_labels(frame: Any) -> list[str]:
    """The `weights_label` of every row of a frame (rows or a table), from its typed columns."""
    if frame is None or len(frame) == 0:
        return []
    return [weights_label(k, o) for k, o in zip(_column(frame, "weights_kind"), _column(frame, "weights_official"))]


def device_label(device: Any, device_name: Any = None) -> str:
    """A device as people read it: ``"NVIDIA H100 80GB HBM3 (cuda:0)"``, ``"cpu: x86_64 x2"``.

    A CUDA device without a recorded name says so (``"cuda:0 (GPU model not recorded)"``), so an
    unnamed number is never passed off as coming from a particular GPU.
    """
    dev = str(device) if present(device) else ""
    name = str(device_name) if present(device_name) else ""
    if name and name != dev:
        if dev and name.lower().startswith(dev.split(":")[0].lower()):  # "cpu: x86_64 x2" on "cpu"
            return name
        return f"{name} ({dev})" if dev else name
    if dev.startswith("cuda"):
        return f"{dev} (GPU model not recorded)"
    return dev or "device not recorded"


def devices_in(frame: Any) -> list[str]:
    """The distinct `device_label` values of a frame's rows (its ``device_label`` column, else
    ``device`` / ``device_name``), in order of appearance."""
    if frame is None or len(frame) == 0:
        return []
    if "device_label" in frame.columns:
        return distinct(str(d) for d in frame["device_label"])
    if "device" not in frame.columns and "device_name" not in frame.columns:
        return []
    return distinct(device_label(d, n) for d, n in zip(_column(frame, "device"), _column(frame, "device_name")))


def weights_kinds_in(frame: Any) -> list[str]:
    """The distinct weights kinds (`weights_label`) of a frame's rows, in order of appearance;
    empty when the frame has no ``weights_kind`` column."""
    if frame is None or len(frame) == 0 or "weights_kind" not in frame.columns:
        return []
    return distinct(weights_labels(frame))


def has_random_weights(frame: Any) -> bool:
    """True when any row has random weights (``weights_kind == "random"``), its model's or its
    detector's (``detector_weights_kind``)."""
    if "random" in weights_kinds_in(frame):
        return True
    return (
        frame is not None
        and len(frame) > 0
        and "detector_weights_kind" in frame.columns
        and bool((frame["detector_weights_kind"].astype("string") == "random").any())
    )


def random_models(frame: Any) -> list[str]:
    """The distinct ``model`` values of the rows with random weights."""
    if frame is None or len(frame) == 0 or "model" not in frame.columns or "weights_kind" not in frame.columns:
        return []
    return distinct(str(m) for m, kind in zip(frame["model"], weights_labels(frame)) if kind == "random")


def group_weights_kind(rows: Any) -> str:
    """The weights kind of a group of rows (of one ``weights`` value): their `weights_labels`
    joined, ``"unknown"`` where none is recorded."""
    kind = joined(weights_labels(rows))
    return str(kind) if present(kind) else "unknown"


def with_random_warning(note: Any, random: bool) -> str:
    """A summary's note with `RANDOM_WEIGHTS_WARNING` first where the weights are random."""
    text = str(note) if present(note) else ""
    if random and RANDOM_WEIGHTS_WARNING not in text:
        return RANDOM_WEIGHTS_WARNING + (f"; {text}" if text else "")
    return text
