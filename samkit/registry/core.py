"""One generic `Registry` for models, detectors, taggers and protocols, and the one `Checkpoint`
record every registered part with weights holds (the way timm keeps its pretrained configs beside
its builders).

A registry maps public names to specs in registration order: `Registry.lookup` raises the kind's
`UnknownNameError` with a did-you-mean hint, `Registry.names` filters by shell-style wildcards and a
predicate, `Registry.family_class` imports a family's class ("module:Class") only when it is needed.
Published parameter counts and where every checksum comes from are data, in
``samkit/published_params.csv`` (`published`), not comments in the tables.
"""

from __future__ import annotations

import csv
import dataclasses
import fnmatch
import importlib
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Generic, TypeVar

from samkit.errors import UnknownNameError, check_extra, did_you_mean

__all__ = ["Checkpoint", "CheckpointFields", "Registry", "published", "Published", "PUBLISHED_FILE"]

#: the data file of published parameter counts, their sources and caveats, and checksum sources
PUBLISHED_FILE = Path(__file__).resolve().parents[1] / "published_params.csv"


@dataclass(frozen=True)
class Checkpoint:
    """Where a registered part's official weights are published and how they are stored.

    Attributes:
        file: local name of the official file, or of the folder of a ``layout="hf"`` hub repo,
            under ``samkit.weights.checkpoint_dir()``.
        url: official download URL of that file (the hub page for ``layout="hf"``).
        sha256: SHA-256 of the official file (hex; ``model.safetensors`` for hub repos; the
            extracted file for a zip ``archive``), or None where none is published.
        size_bytes: size of the official file (of the archive, for a zip), or None where unknown.
        layout: how the file stores the weights: ``"state_dict"`` (a flat dict of tensors),
            ``"model_key"`` (``{"model": state_dict}``), ``"ultralytics"`` (a full ultralytics
            checkpoint, a pickled model under ``"model"``) or ``"hf"`` (a hub folder with
            ``config.json`` and ``model.safetensors``).
        hub_repo / revision / gated: the hub repo of a ``layout="hf"`` checkpoint, the revision
            `samkit weights download` fetches, and whether the repo needs an accepted license and a
            login (``hf auth login``).
        archive: ``"zip"`` when ``url`` serves a zip archive holding ``file``, else None.
        license: the license of the weights, as published (e.g. ``"Apache-2.0"``, ``"AGPL-3.0"``).
        parts: names of further registered files fetched with this one (YOLOE's text encoder).
    """

    file: str
    url: str
    sha256: str | None = None
    size_bytes: int | None = None
    layout: str = "state_dict"
    hub_repo: str | None = None
    revision: str | None = None
    gated: bool = False
    archive: str | None = None
    license: str | None = None
    parts: tuple[str, ...] = ()


class CheckpointFields:
    """The checkpoint record's fields read through a spec (``spec.url``, ``spec.sha256``...), which is
    what `samkit.weights` finds, downloads and verifies for models, detectors and taggers alike.
    A spec using it has a ``files: Checkpoint`` field."""

    files: Checkpoint

    def with_files(self, **changes: Any) -> Any:
        """A copy of this spec whose checkpoint record has ``changes`` (e.g. another ``url``)."""
        return dataclasses.replace(self, files=dataclasses.replace(self.files, **changes))  # type: ignore[type-var]

    @property
    def checkpoint(self) -> str:
        """`Checkpoint.file`: the local file (or hub folder) name."""
        return self.files.file

    @property
    def url(self) -> str:
        return self.files.url

    @property
    def sha256(self) -> str | None:
        return self.files.sha256

    @property
    def size_bytes(self) -> int | None:
        return self.files.size_bytes

    @property
    def layout(self) -> str:
        return self.files.layout

    @property
    def hub_repo(self) -> str | None:
        return self.files.hub_repo

    @property
    def revision(self) -> str | None:
        return self.files.revision

    @property
    def gated(self) -> bool:
        return self.files.gated

    @property
    def archive(self) -> str | None:
        return self.files.archive

    @property
    def license(self) -> str | None:
        return self.files.license


@dataclass(frozen=True)
class Published:
    """A part's published parameter count (millions, or None where none is published), where it comes
    from (or why there is none, with its caveats), and where its checksum comes from."""

    params_m: float | None
    params_source: str
    checksum_source: str


@cache
def _published_table() -> dict[tuple[str, str], Published]:
    with PUBLISHED_FILE.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {
        (r["registry"], r["name"]): Published(
            float(r["params_m"]) if r["params_m"] else None, r["params_source"], r["checksum_source"]
        )
        for r in rows
    }


def published(registry: str, name: str) -> Published:
    """The `Published` record of ``name`` in ``registry`` (``"models"``, ``"detectors"``, ``"taggers"``)
    from ``samkit/published_params.csv``; a part missing there is a ``KeyError`` naming the file."""
    try:
        return _published_table()[(registry, name)]
    except KeyError:
        raise KeyError(
            f"{registry}/{name} has no row in {PUBLISHED_FILE.name}; add its published "
            "parameter count (or why there is none) and its checksum source."
        ) from None


S = TypeVar("S")


class Registry(MutableMapping[str, S], Generic[S]):
    """Public name -> spec, in registration order, for one kind of part.

    Args:
        kind: ``"model"``, ``"detector"``, ``"tagger"``, ``"protocol"``: the word in messages.
        error: the `UnknownNameError` subclass `lookup` raises.
        list_hint: where a user lists the names (``"samkit.list_models()"``), for messages.
        spec_type: the spec class; `lookup` returns an instance of it as it is (registered or not).
        families: family -> ``"module:Class"`` of the class that builds its parts.
        extras: family -> ``(module, extra)`` for a family whose upstream package is optional
            (``("transformers", "hf")``): `family_class` checks it is installed first.
    """

    def __init__(
        self,
        kind: str,
        error: type[UnknownNameError],
        list_hint: str,
        spec_type: type,
        specs: Iterable[S] = (),
        families: dict[str, str] | None = None,
        extras: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        self.kind = kind
        self.spec_type = spec_type
        self.error = error
        self.list_hint = list_hint
        self.families: dict[str, str] = dict(families or {})
        self.extras: dict[str, tuple[str, str]] = dict(extras or {})
        self._specs: dict[str, S] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: S) -> S:
        """Add ``spec`` under ``spec.name``; a name registered twice is a ``ValueError``."""
        name = spec.name  # type: ignore[attr-defined]
        if name in self._specs:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._specs[name] = spec
        return spec

    def lookup(self, name: Any) -> S:
        """The spec of ``name`` (a spec of this registry is returned as it is); an unknown name raises
        `error` with the closest registered names."""
        if isinstance(name, self.spec_type):
            return name
        try:
            return self._specs[name]
        except (KeyError, TypeError):
            pass
        raise self.error(
            f"Unknown {self.kind} name {name!r}.{did_you_mean(name, list(self._specs))} "
            f"Registered {self.kind}s: {', '.join(self._specs)} (see {self.list_hint})."
        )

    def names(self, pattern: str | Iterable[str] | None = None, where: Callable[[S], bool] | None = None) -> list[str]:
        """Registered names in registration order; ``pattern``: shell-style wildcard(s), OR-ed;
        ``where``: keep the specs for which it is true."""
        patterns = [pattern] if isinstance(pattern, str) else list(pattern or ["*"])
        return [
            name
            for name, spec in self._specs.items()
            if any(fnmatch.fnmatchcase(name, p) for p in patterns) and (where is None or where(spec))
        ]

    def family_class(self, spec: Any) -> type:
        """The class that builds ``spec``'s family (imported now). A family whose optional package is
        not installed (`extras`) is a `MissingExtraError` naming the extra, before anything is
        imported, built or downloaded; an unknown family is a ``ValueError``."""
        family = spec.family
        if family not in self.families:
            raise ValueError(f"Unknown {self.kind} family {family!r}; families: {', '.join(self.families)}")
        if family in self.extras:
            module, extra = self.extras[family]
            check_extra(module, extra, f"The {self.kind} {spec.name} (the {family} family)")
        module_name, _, class_name = self.families[family].partition(":")
        return getattr(importlib.import_module(module_name), class_name)

    # the mapping interface (tests put a changed spec in with ``monkeypatch.setitem``)
    def __getitem__(self, name: str) -> S:
        return self._specs[name]

    def __setitem__(self, name: str, spec: S) -> None:
        self._specs[name] = spec

    def __delitem__(self, name: str) -> None:
        del self._specs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __repr__(self) -> str:
        return f"<Registry of {len(self)} {self.kind}s>"
