"""The tagger registry: one `TaggerSpec` per public tagger name (imports nothing heavy).

A spec holds the same `samkit.registry.Checkpoint` record as model and detector specs, so a tagger's
checkpoint is found, downloaded (``samkit weights download NAME``) and verified by the same code, in
the same folder (``$SAMKIT_CHECKPOINTS``). Published parameter counts are in
``samkit/published_params.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from samkit.errors import UnknownNameError
from samkit.registry.core import Checkpoint, CheckpointFields, Registry, published

__all__ = ["TaggerSpec", "UnknownTaggerError", "TAGGERS", "TAGGER_FAMILIES", "get_tagger_spec", "list_taggers"]


class UnknownTaggerError(UnknownNameError):
    """A tagger name that is not registered; the message suggests the closest names."""


@dataclass(frozen=True)
class TaggerSpec(CheckpointFields):
    """Static description of a registered image tagger.

    Attributes:
        name: public name, e.g. ``"clip_vit_b32"``.
        family: adapter family (a key of `TAGGER_FAMILIES`).
        arch: the family's architecture key (the hub repo for transformers families).
        files: the official weights (`samkit.registry.Checkpoint`; ``layout="hf"``: a hub folder
            with config.json + model.safetensors + processor files; ``license`` as published).
        source: the publication / model card.
        params_published_m / params_source: the parameter count the authors publish (millions, or
            None) and where it comes from; read from ``samkit/published_params.csv``.
    """

    name: str
    family: str
    arch: str
    files: Checkpoint
    source: str
    params_published_m: float | None = field(default=None, compare=False)
    params_source: str = field(default="", compare=False)


_CLIP_SRC = (
    "Radford et al. 2021, Learning Transferable Visual Models From Natural Language "
    "Supervision (arXiv:2103.00020); hub model card"
)


def _clip(name: str, repo: str) -> TaggerSpec:
    facts = published("taggers", name)
    files = Checkpoint(
        repo.split("/")[1], f"https://huggingface.co/{repo}", layout="hf", hub_repo=repo, revision="main", license="MIT"
    )
    return TaggerSpec(name, "clip", repo, files, _CLIP_SRC, facts.params_m, facts.params_source)


#: family -> "module:class" of its `Tagger` subclass
TAGGER_FAMILIES = {"clip": "samkit.taggers.clip:ClipTagger"}

#: name -> spec, in registration order (a `samkit.registry.Registry`, read like a dict)
TAGGERS: Registry[TaggerSpec] = Registry(
    "tagger",
    UnknownTaggerError,
    "samkit.taggers.list_taggers()",
    TaggerSpec,
    [_clip("clip_vit_b32", "openai/clip-vit-base-patch32"), _clip("clip_vit_l14", "openai/clip-vit-large-patch14")],
    TAGGER_FAMILIES,
    {"clip": ("transformers", "hf")},  # the optional package of each family (module, samkit extra)
)


def get_tagger_spec(name: str | TaggerSpec) -> TaggerSpec:
    """The spec of a registered tagger; unknown names raise `UnknownTaggerError` with suggestions."""
    return TAGGERS.lookup(name)


def list_taggers(pattern: str | list[str] | None = None) -> list[str]:
    """Registered tagger names in registration order; ``pattern``: shell wildcard(s), OR-ed."""
    return TAGGERS.names(pattern)
