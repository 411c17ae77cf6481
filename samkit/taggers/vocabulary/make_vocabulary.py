"""Regenerate ``coco.txt`` and ``lvis_v1.txt`` (this folder) from ultralytics' dataset yamls.

Run ``python -m samkit.taggers.vocabulary.make_vocabulary`` after an ultralytics upgrade; the
files are committed, so tagging never needs ultralytics. The yamls
(``ultralytics/cfg/datasets/coco.yaml`` and ``lvis.yaml``, ``names:`` keyed by class index) are
read from the installed package folder as plain YAML: ultralytics itself is not imported.
Each output line is one category in class-index order, exactly as the yaml spells it (LVIS
entries keep their ``/``-separated synonyms, e.g. ``aerosol can/spray can``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

__all__ = ["ultralytics_datasets_dir", "read_names", "write_files", "FILES"]

HERE = Path(__file__).resolve().parent
#: output file -> (ultralytics dataset yaml, expected number of categories)
FILES = {"coco.txt": ("coco.yaml", 80), "lvis_v1.txt": ("lvis.yaml", 1203)}


def ultralytics_datasets_dir() -> Path:
    """``ultralytics/cfg/datasets`` of the installed ultralytics (found without importing it)."""
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("ultralytics is not installed; its dataset yamls hold the category names.")
    return Path(list(spec.submodule_search_locations)[0]) / "cfg" / "datasets"


def read_names(yaml_name: str, expected: int | None = None) -> list[str]:
    """The category names of one ultralytics dataset yaml, in class-index order."""
    import yaml

    path = ultralytics_datasets_dir() / yaml_name
    names = yaml.safe_load(path.read_text(encoding="utf-8"))["names"]
    if isinstance(names, dict):
        if sorted(names) != list(range(len(names))):
            raise ValueError(f"{path}: names are not keyed 0..{len(names) - 1}")
        names = [names[i] for i in range(len(names))]
    names = [str(n).strip() for n in names]
    if expected is not None and len(names) != expected:
        raise ValueError(f"{path} has {len(names)} categories, expected {expected}")
    return names


def write_files(folder: Path = HERE) -> dict[str, int]:
    """Write every file of `FILES` into ``folder``; returns file name -> number of lines."""
    counts = {}
    for out, (yaml_name, expected) in FILES.items():
        names = read_names(yaml_name, expected)
        (folder / out).write_text("\n".join(names) + "\n", encoding="utf-8")
        counts[out] = len(names)
    return counts


if __name__ == "__main__":
    for name, n in write_files(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE).items():
        print(f"{name}: {n} categories")
