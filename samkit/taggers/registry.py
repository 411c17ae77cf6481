"""The tagger registry: one `TaggerSpec` per public tagger name (imports nothing heavy).

A spec has the attributes `samkit.weights` reads from a model spec (``name``, ``layout``,
``checkpoint``, ``url``, ``sha256``, ``size_bytes``, ``hub_repo``, ``revision``, ``gated``,
``archive``), so a tagger's checkpoint is found, downloaded (``samkit weights download NAME``)
and verified by the same code, in the same folder (``$SAMKIT_CHECKPOINTS``), as the detectors'.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from samkit.errors import UnknownNameError, did_you_mean

__all__ = ["TaggerSpec", "UnknownTaggerError", "TAGGERS", "TAGGER_FAMILIES", "get_tagger_spec",
           "list_taggers"]


class UnknownTaggerError(UnknownNameError):
    """A tagger name that is not registered; the message suggests the closest names."""


@dataclass(frozen=True)
class TaggerSpec:
    """Static description of a registered image tagger.

    Attributes:
        name: public name, e.g. ``"clip_vit_b32"``.
        family: adapter family (a key of `TAGGER_FAMILIES`).
        arch: the family's architecture key (the hub repo for transformers families).
        checkpoint: local folder name of the official checkpoint (``layout="hf"``).
        url: the hub page of the weights.
        sha256: SHA-256 of the official ``model.safetensors``, or None where none is published.
        layout: ``"hf"`` (hub folder: config.json + model.safetensors + processor files).
        license: license of the weights / code, as published.
        params_published_m: parameter count the authors publish, in millions, or None.
        params_source: where that count comes from (or why there is none).
        source: the publication / model card.
        hub_repo / revision / gated: the hub repo of the checkpoint.
    """

    name: str
    family: str
    arch: str
    checkpoint: str
    url: str
    sha256: str | None
    layout: str
    license: str
    params_published_m: float | None
    params_source: str
    source: str
    hub_repo: str | None = None
    revision: str | None = "main"
    gated: bool = False
    size_bytes: int | None = None
    archive: str | None = None


_CLIP_SRC = ("Radford et al. 2021, Learning Transferable Visual Models From Natural Language "
             "Supervision (arXiv:2103.00020); hub model card")


def _clip(name: str, repo: str) -> TaggerSpec:
    return TaggerSpec(
        name=name, family="clip", arch=repo, checkpoint=repo.split("/")[1],
        url=f"https://huggingface.co/{repo}", sha256=None, layout="hf", license="MIT",
        params_published_m=None, params_source="no count published on the model card",
        source=_CLIP_SRC, hub_repo=repo)


_SPECS = [
    _clip("clip_vit_b32", "openai/clip-vit-base-patch32"),
    _clip("clip_vit_l14", "openai/clip-vit-large-patch14"),
]

#: name -> spec, in registration order
TAGGERS: dict[str, TaggerSpec] = {s.name: s for s in _SPECS}

#: family -> "module:class" of its `Tagger` subclass
TAGGER_FAMILIES = {"clip": "samkit.taggers.clip:ClipTagger"}


def get_tagger_spec(name: str | TaggerSpec) -> TaggerSpec:
    """The spec of a registered tagger; unknown names raise `UnknownTaggerError` with suggestions."""
    if isinstance(name, TaggerSpec):
        return name
    try:
        return TAGGERS[name]
    except (KeyError, TypeError):
        pass
    hint = did_you_mean(name, list(TAGGERS))
    raise UnknownTaggerError(f"Unknown tagger name {name!r}.{hint} Registered taggers: "
                             f"{', '.join(TAGGERS)} (see samkit.taggers.list_taggers()).")


def list_taggers(pattern: str | list[str] | None = None) -> list[str]:
    """Registered tagger names in registration order; ``pattern``: shell wildcard(s), OR-ed."""
    patterns = [pattern] if isinstance(pattern, str) else list(pattern or ["*"])
    return [s.name for s in _SPECS if any(fnmatch.fnmatchcase(s.name, p) for p in patterns)]
