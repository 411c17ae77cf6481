"""Tag vocabularies: COCO's 80 and LVIS v1's 1203 category names, shipped as data files.

``coco.txt`` / ``lvis_v1.txt`` (one category per line, class-index order) are generated from
ultralytics' dataset yamls by ``make_vocabulary.py`` in this folder. A tag is a category's name
normalised by `normalize_tag` (lower case, ``_`` -> space); an LVIS category is named by its
first synonym (``"aerosol can/spray can"`` -> ``"aerosol can"``). The names are the datasets'
category names (COCO and LVIS annotations: CC BY 4.0), as ultralytics' yamls spell them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib import resources

__all__ = ["normalize_tag", "build_vocabulary", "coco_names", "lvis_names", "default_vocabulary", "read_file"]


def normalize_tag(name: str) -> str:
    """``"Baseball_Bat "`` -> ``"baseball bat"``: lower case; ``_``, ``.`` and runs of white
    space become one space (a ``.`` would split the text prompt the tags become)."""
    if not isinstance(name, str):
        raise TypeError(f"a tag must be a string, got {type(name).__name__} ({name!r})")
    return re.sub(r"[\s_.]+", " ", name).strip().lower()


def build_vocabulary(names: Iterable[str]) -> list[str]:
    """The normalised (`normalize_tag`), de-duplicated tags of ``names``, first occurrence kept.

    A plain string, a name that is empty once normalised, or no name at all is a ``ValueError``.
    """
    if isinstance(names, str):
        raise ValueError(f"vocabulary must be a list of tag names, got the string {names!r}")
    tags: dict[str, None] = {}
    for name in names:
        tag = normalize_tag(name)
        if not tag:
            raise ValueError(f"vocabulary: the name {name!r} is empty once normalised")
        tags.setdefault(tag, None)
    if not tags:
        raise ValueError("vocabulary is empty: give at least one tag name, e.g. ['dog', 'cat']")
    return list(tags)


def read_file(name: str) -> list[str]:
    """The lines of a shipped vocabulary file (``"coco.txt"``, ``"lvis_v1.txt"``), as written."""
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


@cache
def _coco() -> tuple[str, ...]:
    return tuple(normalize_tag(n) for n in read_file("coco.txt"))


@cache
def _lvis() -> tuple[str, ...]:
    return tuple(normalize_tag(n.split("/")[0]) for n in read_file("lvis_v1.txt"))


def coco_names() -> list[str]:
    """COCO's 80 category names, normalised, in class-index order."""
    return list(_coco())


def lvis_names() -> list[str]:
    """LVIS v1's 1203 category names (first synonym, normalised), in class-index order.

    Five names occur twice (``bow``, ``fish``, ``octopus``, ``pan``, ``salmon``: LVIS tells them
    apart by their other synonyms), so this list is not de-duplicated.
    """
    return list(_lvis())


def default_vocabulary() -> list[str]:
    """COCO's 80 then LVIS's 1203 names, de-duplicated (`build_vocabulary`)."""
    return build_vocabulary(_coco() + _lvis())
