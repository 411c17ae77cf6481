"""The model registry: one `ModelSpec` per public model name.

A spec carries everything samkit needs to build, find, download and describe a model; it imports
nothing heavy, so `samkit.list_models()` is instant. The names are public API.
"""

from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass, field

__all__ = [
    "ModelSpec",
    "UnknownModelError",
    "REGISTRY",
    "get_spec",
    "list_models",
    "FAMILIES",
]

#: Prompt kinds and features a model may support. The evaluation runners check these before use.
CAPABILITIES = ("points", "box", "mask_input", "multimask", "automatic", "video", "text")

_SAM_CAPS = frozenset({"points", "box", "mask_input", "multimask", "automatic"})
_SAM2_CAPS = _SAM_CAPS | {"video"}


class UnknownModelError(KeyError):
    """Raised for a model name that is not registered; the message suggests the closest names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class ModelSpec:
    """Static description of a registered model.

    Attributes:
        name: public model name, e.g. ``"sam2.1_hiera_tiny"``.
        family: adapter family: ``"sam"``, ``"sam2"`` or ``"mobile_sam"``.
        arch: the family's architecture key (segment-anything registry key, or sam2 config path).
        checkpoint: file name of the official checkpoint.
        url: official download URL of that file.
        sha256: SHA-256 of the official file (hex), or None where no published value is known.
        size_bytes: size of the official file in bytes, or None where unknown.
        params_published_m: parameter count the authors publish, in millions.
        params_source: where that published count comes from.
        capabilities: prompt kinds / features the model supports (see `CAPABILITIES`).
        layout: how the official file stores its weights: ``"state_dict"`` (a flat dict of
            tensors) or ``"model_key"`` (``{"model": state_dict}``, SAM 2).
        default: part of the default ("small models") demo and benchmark set.
    """

    name: str
    family: str
    arch: str
    checkpoint: str
    url: str
    sha256: str | None
    size_bytes: int | None
    params_published_m: float | None
    params_source: str
    capabilities: frozenset[str] = field(default_factory=frozenset)
    layout: str = "state_dict"
    default: bool = False

    def supports(self, capability: str) -> bool:
        """True when the model supports ``capability`` (e.g. ``"box"``)."""
        return capability in self.capabilities


_SAM_URL = "https://dl.fbaipublicfiles.com/segment_anything/"
_SAM2_URL = "https://dl.fbaipublicfiles.com/segment_anything_2/072824/"
_SAM21_URL = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"
_SAM_PAPER = "SAM paper (Kirillov et al. 2023): image encoder + prompt encoder/decoder"
_SAM2_README = "facebookresearch/sam2 README, model table"


def _sam(name: str, arch: str, file: str, sha: str | None, size: int | None, params: float,
         default: bool = False) -> ModelSpec:
    return ModelSpec(name, "sam", arch, file, _SAM_URL + file, sha, size, params, _SAM_PAPER,
                     _SAM_CAPS, "state_dict", default)


def _sam2(name: str, config: str, url: str, sha: str | None, size: int | None, params: float,
          default: bool = False) -> ModelSpec:
    file = name + ".pt"
    return ModelSpec(name, "sam2", config, file, url + file, sha, size, params, _SAM2_README,
                     _SAM2_CAPS, "model_key", default)


_SPECS: list[ModelSpec] = [
    _sam("sam_vit_b", "vit_b", "sam_vit_b_01ec64.pth",
         "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912", 375042383, 91.0, default=True),
    _sam("sam_vit_l", "vit_l", "sam_vit_l_0b3195.pth",
         "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622", 1249524607, 308.0),
    _sam("sam_vit_h", "vit_h", "sam_vit_h_4b8939.pth",
         "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e", 2564550879, 636.0),
    _sam2("sam2_hiera_tiny", "configs/sam2/sam2_hiera_t.yaml", _SAM2_URL,
          "65b50056e05bcb13694174f51bb6da89c894b57b75ccdf0ba6352c597c5d1125", 155906050, 38.9,
          default=True),
    _sam2("sam2_hiera_small", "configs/sam2/sam2_hiera_s.yaml", _SAM2_URL,
          "95949964d4e548409021d47b22712d5f1abf2564cc0c3c765ba599a24ac7dce3", 184309650, 46.0),
    _sam2("sam2_hiera_base_plus", "configs/sam2/sam2_hiera_b+.yaml", _SAM2_URL,
          "d0bb7f236400a49669ffdd1be617959a8b1d1065081789d7bbff88eded3a8071", 323493298, 80.8),
    _sam2("sam2_hiera_large", "configs/sam2/sam2_hiera_l.yaml", _SAM2_URL,
          "7442e4e9b732a508f80e141e7c2913437a3610ee0c77381a66658c3a445df87b", 897952466, 224.4),
    _sam2("sam2.1_hiera_tiny", "configs/sam2.1/sam2.1_hiera_t.yaml", _SAM21_URL,
          "7402e0d864fa82708a20fbd15bc84245c2f26dff0eb43a4b5b93452deb34be69", 156008466, 38.9,
          default=True),
    _sam2("sam2.1_hiera_small", "configs/sam2.1/sam2.1_hiera_s.yaml", _SAM21_URL,
          "6d1aa6f30de5c92224f8172114de081d104bbd23dd9dc5c58996f0cad5dc4d38", 184416285, 46.0),
    _sam2("sam2.1_hiera_base_plus", "configs/sam2.1/sam2.1_hiera_b+.yaml", _SAM21_URL,
          "a2345aede8715ab1d5d31b4a509fb160c5a4af1970f199d9054ccfb746c004c5", 323606802,
          80.8),
    _sam2("sam2.1_hiera_large", "configs/sam2.1/sam2.1_hiera_l.yaml", _SAM21_URL,
          "2647878d5dfa5098f2f8649825738a9345572bae2d4350a2468587ece47dd318", 898083611,
          224.4),
    ModelSpec(
        "mobile_sam", "mobile_sam", "vit_t", "mobile_sam.pt",
        # pinned to the commit that holds the released file, so the SHA-256 cannot drift
        "https://raw.githubusercontent.com/ChaoningZhang/MobileSAM/"
        "f706ad9c4eb7f219c00d9050e46328518ffb65d2/weights/mobile_sam.pt",
        "6dbb90523a35330fedd7f1d3dfc66f995213d81b29a5ca8108dbcdd4e37d6c2f", 40728226, 9.66, "ChaoningZhang/MobileSAM README: whole pipeline 9.66M (5M encoder + 3.876M decoder)",
        _SAM_CAPS, "state_dict", True,
    ),
]

#: name -> spec, in registration order.
REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}

#: family -> "module:Class" of its adapter, imported only when a model of that family is loaded.
FAMILIES: dict[str, str] = {
    "sam": "samkit.models.sam:SamSegmenter",
    "sam2": "samkit.models.sam2:Sam2Segmenter",
    "mobile_sam": "samkit.models.mobile_sam:MobileSamSegmenter",
}


def get_spec(name: str) -> ModelSpec:
    """Return the spec of a registered model; unknown names raise `UnknownModelError` with suggestions."""
    if isinstance(name, ModelSpec):
        return name
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        pass
    close = difflib.get_close_matches(str(name), list(REGISTRY), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownModelError(
        f"Unknown model name {name!r}.{hint} Registered models: {', '.join(REGISTRY)} "
        "(see samkit.list_models())."
    )


def list_models(pattern: str | None = None, *, family: str | None = None,
                capability: str | None = None, default_only: bool = False) -> list[str]:
    """Registered model names, in registration order.

    Args:
        pattern: shell-style wildcard(s) on the name, e.g. ``"sam2*"``; a list of patterns is OR-ed.
        family: keep only this family (``"sam"``, ``"sam2"``, ``"mobile_sam"``).
        capability: keep only models that support it (e.g. ``"video"``).
        default_only: keep only the small default set used by the demo and benchmarks.

    For a table with family, capabilities, parameter counts and checkpoint status use
    `samkit.model_table()`.
    """
    patterns = [pattern] if isinstance(pattern, str) else list(pattern or ["*"])
    if family is not None and family not in FAMILIES:
        raise ValueError(f"Unknown family {family!r}; families: {', '.join(FAMILIES)}")
    if capability is not None and capability not in CAPABILITIES:
        raise ValueError(f"Unknown capability {capability!r}; capabilities: {', '.join(CAPABILITIES)}")
    return [
        spec.name
        for spec in _SPECS
        if any(fnmatch.fnmatchcase(spec.name, p) for p in patterns)
        and (family is None or spec.family == family)
        and (capability is None or spec.supports(capability))
        and (not default_only or spec.default)
    ]
