"""The model table: one `ModelSpec` per public model name (the names are public API).

A spec carries what samkit needs to build, find, download and describe a model: its family and
architecture key, its `Checkpoint` record (URL, SHA-256, file, layout, license), its capabilities.
Published parameter counts and where each checksum comes from are in ``samkit/published_params.csv``
(`samkit.registry.core.published`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from samkit.errors import UnknownNameError
from samkit.registry.core import Checkpoint, CheckpointFields, Registry, published

__all__ = [
    "ModelSpec",
    "UnknownModelError",
    "REGISTRY",
    "get_spec",
    "list_models",
    "FAMILIES",
    "FAMILY_EXTRAS",
    "CAPABILITIES",
]

#: Prompt kinds and features a model may support. The evaluation runners check these before use.
#: ``text_video``: every instance of a noun phrase tracked through a video (``tracker.add_text``).
CAPABILITIES = ("points", "box", "mask_input", "multimask", "automatic", "video", "text", "text_video")

_SAM_CAPS = frozenset({"points", "box", "mask_input", "multimask", "automatic"})
_SAM2_CAPS = _SAM_CAPS | {"video"}
#: FastSAM: box and point selection, several selected masks with multimask_output, everything
#: mode; no mask_input (not a promptable decoder), text (CLIP) not exposed
_FASTSAM_CAPS = frozenset({"points", "box", "multimask", "automatic"})
#: EfficientSAM: points and boxes (as two labelled points), 3 candidates, grid generator; no mask prompt
_EFFICIENT_SAM_CAPS = frozenset({"points", "box", "multimask", "automatic"})


class UnknownModelError(UnknownNameError):
    """Raised for a model name that is not registered; the message suggests the closest names."""


@dataclass(frozen=True)
class ModelSpec(CheckpointFields):
    """Static description of a registered model.

    Attributes:
        name: public model name, e.g. ``"sam2.1_hiera_tiny"``.
        family: adapter family (a key of `FAMILIES`: ``"sam"``, ``"sam2"``, ``"mobile_sam"``, ...).
        arch: the family's architecture key (segment-anything registry key, sam2 config path...).
        files: the official checkpoint (`samkit.registry.Checkpoint`); its fields read as
            ``spec.checkpoint`` (file name), ``spec.url``, ``spec.sha256``, ``spec.size_bytes``,
            ``spec.layout``, ``spec.hub_repo``, ``spec.revision``, ``spec.gated``, ``spec.archive``,
            ``spec.license``.
        capabilities: prompt kinds / features the model supports (see `CAPABILITIES`).
        default: part of the default ("small models") demo and benchmark set.
        input_size: side in pixels of the square the image encoder sees (the longest image side
            is resized to it): 1024 for most models, 512 for EfficientViT-SAM L0/L1/L2.
        params_published_m: parameter count the authors publish, in millions (None: none found).
        params_source: where that count comes from, or why there is none.
        checksum_source: where the checkpoint's SHA-256 comes from, or why there is none.

    The last three are read from ``samkit/published_params.csv``.
    """

    name: str
    family: str
    arch: str
    files: Checkpoint
    capabilities: frozenset[str] = field(default_factory=frozenset)
    default: bool = False
    input_size: int = 1024
    params_published_m: float | None = field(default=None, compare=False)
    params_source: str = field(default="", compare=False)
    checksum_source: str = field(default="", compare=False)

    def supports(self, capability: str) -> bool:
        """True when the model supports ``capability`` (e.g. ``"box"``)."""
        return capability in self.capabilities


def _spec(
    name: str,
    family: str,
    arch: str,
    files: Checkpoint,
    capabilities: frozenset[str],
    default: bool = False,
    input_size: int = 1024,
) -> ModelSpec:
    """A spec with its published figures from ``samkit/published_params.csv``."""
    facts = published("models", name)
    return ModelSpec(
        name,
        family,
        arch,
        files,
        capabilities,
        default,
        input_size,
        facts.params_m,
        facts.params_source,
        facts.checksum_source,
    )


_SAM_URL = "https://dl.fbaipublicfiles.com/segment_anything/"
_SAM2_URL = "https://dl.fbaipublicfiles.com/segment_anything_2/072824/"
_SAM21_URL = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"
_EVIT_URL = "https://huggingface.co/mit-han-lab/efficientvit-sam/resolve/main/"
#: lkeab/hq-sam on Hugging Face (linked by the SysCV/sam-hq README), pinned to commit a3a77cd
_SAM_HQ_URL = "https://huggingface.co/lkeab/hq-sam/resolve/a3a77cd0a2e5e50eaa76faccf61b964732d9b35f/"
#: ultralytics' assets release for FastSAM (the URL ultralytics 8.4.190 downloads from)
_FASTSAM_URL = "https://github.com/ultralytics/assets/releases/download/v8.4.0/"
#: yformer/EfficientSAM's weights folder at commit d525f62 (the README's download links)
_EFFICIENT_SAM_URL = (
    "https://raw.githubusercontent.com/yformer/EfficientSAM/d525f622e6f640acf5a0fc37c7ca1f243da5bde0/weights/"
)
#: pinned to the commit that holds the released file, so the SHA-256 cannot drift
_MOBILE_SAM_URL = (
    "https://raw.githubusercontent.com/ChaoningZhang/MobileSAM/"
    "f706ad9c4eb7f219c00d9050e46328518ffb65d2/weights/mobile_sam.pt"
)


def _sam(name: str, arch: str, file: str, sha: str, size: int, default: bool = False) -> ModelSpec:
    return _spec(
        name,
        "sam",
        arch,
        Checkpoint(file, _SAM_URL + file, sha, size, "state_dict", license="Apache-2.0"),
        _SAM_CAPS,
        default,
    )


def _sam2(name: str, config: str, url: str, sha: str, size: int, default: bool = False) -> ModelSpec:
    file = name + ".pt"
    return _spec(
        name,
        "sam2",
        config,
        Checkpoint(file, url + file, sha, size, "model_key", license="Apache-2.0"),
        _SAM2_CAPS,
        default,
    )


def _evit(name: str, arch: str, sha: str, input_size: int) -> ModelSpec:
    # SAM's prompt encoder and mask decoder: points, box, mask_input (1x256x256), multimask;
    # the official files are flat state dicts (an OrderedDict of tensors)
    file = name + ".pt"
    return _spec(
        name,
        "efficientvit_sam",
        arch,
        Checkpoint(file, _EVIT_URL + file, sha, None, "state_dict", license="Apache-2.0"),
        _SAM_CAPS,
        False,
        input_size,
    )


def _sam_hq(name: str, arch: str, sha: str, size: int) -> ModelSpec:
    # SAM's prompt kinds; multimask_output=True gives ONE mask upstream (the best-scoring of
    # SAM's three candidates plus the HQ mask). Official files are flat state dicts.
    file = name + ".pth"
    return _spec(
        name,
        "sam_hq",
        arch,
        Checkpoint(file, _SAM_HQ_URL + file, sha, size, "state_dict", license="Apache-2.0"),
        _SAM_CAPS,
    )


def _fastsam(name: str, arch: str, file: str) -> ModelSpec:
    # full ultralytics checkpoints (pickled fp16 SegmentationModel under "model")
    return _spec(
        name,
        "fastsam",
        arch,
        Checkpoint(file, _FASTSAM_URL + file, None, None, "ultralytics", license="AGPL-3.0"),
        _FASTSAM_CAPS,
    )


def _efficient_sam(arch: str, zipped: bool) -> ModelSpec:
    # layout "model_key" ({"model": ...}); EfficientSAM-S is published only as a zip that holds the .pt
    file = f"efficient_sam_{arch}.pt"
    return _spec(
        f"efficient_sam_{arch}",
        "efficient_sam",
        arch,
        Checkpoint(
            file,
            _EFFICIENT_SAM_URL + file + (".zip" if zipped else ""),
            None,
            None,
            "model_key",
            archive="zip" if zipped else None,
            license="Apache-2.0",
        ),
        _EFFICIENT_SAM_CAPS,
    )


#: yformer/EfficientTAM's checkpoints on Hugging Face (the URLs of its checkpoints/download_checkpoints.sh)
_EFFICIENT_TAM_URL = "https://huggingface.co/yunyangx/efficient-track-anything/resolve/main/"


def _efficient_tam(arch: str, sha: str | None, size: int | None, input_size: int = 1024) -> ModelSpec:
    # SAM 2 with a plain ViT encoder: SAM 2's prompts, mask prompt, automatic masks and video;
    # layout "model_key" ({"model": ...}); samkit's own build (samkit/models/efficient_tam/)
    file = f"efficienttam_{arch}.pt"
    return _spec(
        f"efficienttam_{arch}",
        "efficient_tam",
        arch,
        Checkpoint(file, _EFFICIENT_TAM_URL + file, sha, size, "model_key", license="Apache-2.0"),
        _SAM2_CAPS,
        input_size=input_size,
    )


_SPECS: list[ModelSpec] = [
    _sam(
        "sam_vit_b",
        "vit_b",
        "sam_vit_b_01ec64.pth",
        "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912",
        375042383,
        default=True,
    ),
    _sam(
        "sam_vit_l",
        "vit_l",
        "sam_vit_l_0b3195.pth",
        "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622",
        1249524607,
    ),
    _sam(
        "sam_vit_h",
        "vit_h",
        "sam_vit_h_4b8939.pth",
        "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e",
        2564550879,
    ),
    _sam2(
        "sam2_hiera_tiny",
        "configs/sam2/sam2_hiera_t.yaml",
        _SAM2_URL,
        "65b50056e05bcb13694174f51bb6da89c894b57b75ccdf0ba6352c597c5d1125",
        155906050,
        default=True,
    ),
    _sam2(
        "sam2_hiera_small",
        "configs/sam2/sam2_hiera_s.yaml",
        _SAM2_URL,
        "95949964d4e548409021d47b22712d5f1abf2564cc0c3c765ba599a24ac7dce3",
        184309650,
    ),
    _sam2(
        "sam2_hiera_base_plus",
        "configs/sam2/sam2_hiera_b+.yaml",
        _SAM2_URL,
        "d0bb7f236400a49669ffdd1be617959a8b1d1065081789d7bbff88eded3a8071",
        323493298,
    ),
    _sam2(
        "sam2_hiera_large",
        "configs/sam2/sam2_hiera_l.yaml",
        _SAM2_URL,
        "7442e4e9b732a508f80e141e7c2913437a3610ee0c77381a66658c3a445df87b",
        897952466,
    ),
    _sam2(
        "sam2.1_hiera_tiny",
        "configs/sam2.1/sam2.1_hiera_t.yaml",
        _SAM21_URL,
        "7402e0d864fa82708a20fbd15bc84245c2f26dff0eb43a4b5b93452deb34be69",
        156008466,
        default=True,
    ),
    _sam2(
        "sam2.1_hiera_small",
        "configs/sam2.1/sam2.1_hiera_s.yaml",
        _SAM21_URL,
        "6d1aa6f30de5c92224f8172114de081d104bbd23dd9dc5c58996f0cad5dc4d38",
        184416285,
    ),
    _sam2(
        "sam2.1_hiera_base_plus",
        "configs/sam2.1/sam2.1_hiera_b+.yaml",
        _SAM21_URL,
        "a2345aede8715ab1d5d31b4a509fb160c5a4af1970f199d9054ccfb746c004c5",
        323606802,
    ),
    _sam2(
        "sam2.1_hiera_large",
        "configs/sam2.1/sam2.1_hiera_l.yaml",
        _SAM21_URL,
        "2647878d5dfa5098f2f8649825738a9345572bae2d4350a2468587ece47dd318",
        898083611,
    ),
    _spec(
        "mobile_sam",
        "mobile_sam",
        "vit_t",
        Checkpoint(
            "mobile_sam.pt",
            _MOBILE_SAM_URL,
            "6dbb90523a35330fedd7f1d3dfc66f995213d81b29a5ca8108dbcdd4e37d6c2f",
            40728226,
            "state_dict",
            license="Apache-2.0",
        ),
        _SAM_CAPS,
        default=True,
    ),
    _evit(
        "efficientvit_sam_l0",
        "efficientvit-sam-l0",
        "c4f994b01a16d48bcf2fbbb089448cfbf58fae5811edfa8113c953b8b8cc64b8",
        512,
    ),
    _evit(
        "efficientvit_sam_l1",
        "efficientvit-sam-l1",
        "fa151df2b9b96896accd505470755cdd293a4c50cdabac95478f3fbd86d9152b",
        512,
    ),
    _evit(
        "efficientvit_sam_l2",
        "efficientvit-sam-l2",
        "d4bfd842224cbb99de09acc3325e81ac5b7e8725c8fbdab152305e5d934bfe4a",
        512,
    ),
    _evit(
        "efficientvit_sam_xl0",
        "efficientvit-sam-xl0",
        "9bc2f87bd23d6e6d1f7b5beff910f98835c7c333fac73e695bac0bec685968f8",
        1024,
    ),
    _evit(
        "efficientvit_sam_xl1",
        "efficientvit-sam-xl1",
        "10f42277679427c1183dcff19758e536aa86bcc4304e4b387ff48865784be05c",
        1024,
    ),
    _sam_hq(
        "sam_hq_vit_tiny", "vit_tiny", "0f32c075ccdd870ae54db2f7630e7a0878ede5a2b06d05d6fe02c65a82fb7196", 42526881
    ),
    _sam_hq("sam_hq_vit_b", "vit_b", "14a9d662cd6f5a9c2dba6d40ab0058d88d287e4a18fd6fdc6ad5fb1a3fdeaa57", 379335069),
    _sam_hq("sam_hq_vit_l", "vit_l", "e1a6c385d62bf005ded91a54d5ec55c985cfc4103ef89c08d90f39f04934c343", 1254865805),
    _sam_hq("sam_hq_vit_h", "vit_h", "a7ac14a085326d9fa6199c8c698c4f0e7280afdbb974d2c4660ec60877b45e35", 2570940653),
    _fastsam("fastsam_s", "yolov8s-seg.yaml", "FastSAM-s.pt"),
    _fastsam("fastsam_x", "yolov8x-seg.yaml", "FastSAM-x.pt"),
    # SAM 3 and EdgeTAM through transformers (layout "hf": the hub repo's folder, config.json +
    # model.safetensors + processor/tokenizer files). sam3's model.safetensors is transformers'
    # Sam3VideoModel; samkit builds the image parts: Sam3Model (text/concept detector) and
    # Sam3TrackerModel (points/box/mask prompts) sharing one ViT backbone. Low-res logits are 288x288.
    _spec(
        "sam3",
        "sam3",
        "full",
        Checkpoint(
            "sam3",
            "https://huggingface.co/facebook/sam3",
            None,
            None,
            "hf",
            hub_repo="facebook/sam3",
            revision="main",
            gated=True,
            license="SAM License",
        ),
        _SAM_CAPS | {"text", "video", "text_video"},
        input_size=1008,
    ),
    # edgetam: the video model's file; samkit builds EdgeTamModel (image encoder, prompt encoder, mask decoder)
    _spec(
        "edgetam",
        "edgetam",
        "full",
        Checkpoint(
            "EdgeTAM-hf",
            "https://huggingface.co/yonigozlan/EdgeTAM-hf",
            None,
            None,
            "hf",
            hub_repo="yonigozlan/EdgeTAM-hf",
            revision="main",
            license="Apache-2.0",
        ),
        _SAM_CAPS | {"video"},
    ),
    # SAM3-LiteText (samkit/models/sam3_litetext.py): SAM 3's detector with a distilled MobileCLIP
    # text encoder, the authors' transformers checkpoints (Sam3LiteTextModel, layout "hf"); the
    # hub files hold the detector only, so the prompt is text alone (no tracker, no video)
    *(
        _spec(
            f"sam3_litetext_{variant}",
            "sam3_litetext",
            variant,
            Checkpoint(
                f"sam3-litetext-{variant}",
                f"https://huggingface.co/vil-uob/sam3-litetext-{variant}",
                None,
                None,
                "hf",
                hub_repo=f"vil-uob/sam3-litetext-{variant}",
                revision="main",
                license="Apache-2.0",
            ),
            frozenset({"text"}),
            input_size=1008,
        )
        for variant in ("s0", "s1", "l")
    ),
    # SAM 3.1 (samkit/models/sam3_1.py): Meta's original sam3.1_multiplex.pt, mapped by samkit onto
    # transformers' SAM 3 image modules and loaded strictly. Images only: no "video", because SAM
    # 3.1's video tracker (Object Multiplex) runs in no backend yet (transformers has no SAM 3.1;
    # ultralytics' SAM 3 video predictor is SAM 3's per-object tracker)
    _spec(
        "sam3.1",
        "sam3_1",
        "full",
        Checkpoint(
            "sam3.1_multiplex.pt",
            "https://huggingface.co/facebook/sam3.1/resolve/main/sam3.1_multiplex.pt",
            None,
            None,
            "model_key",
            hub_repo="facebook/sam3.1",
            revision="main",
            gated=True,
            license="SAM License",
        ),
        _SAM_CAPS | {"text"},
        input_size=1008,
    ),
    # EfficientSAM (yformer/EfficientSAM): samkit's own implementation (samkit/models/efficient_sam/)
    _efficient_sam("vitt", zipped=False),
    _efficient_sam("vits", zipped=True),
    # EfficientTAM (yformer/EfficientTAM): SHA-256 and exact sizes of the Hugging Face LFS records
    # (None where they could not be read; see samkit/published_params.csv). efficienttam_ti first:
    # the family's model in the default test suite.
    _efficient_tam("ti", "acbb17b28cca1f860acee09c9ecb6efdb732080dc7a85a07292c31813175fa7d", 71616316),
    _efficient_tam("ti_512x512", "7d4d652a465f0081391050932f45d8a66768ccc99c8ea393ce8a5927e83f3b9b", None, 512),
    _efficient_tam("ti_1", None, None),
    _efficient_tam("ti_2", "d2a9ca0a736257ee9bb238d335ba7c794ad853e594cb4f679019ecc0854ee587", None),
    _efficient_tam("s", "2b572be30d9e96ee29c8d785fe157c6b079ede7d56fbc8a3671d4120e63c89cd", 136375868),
    _efficient_tam("s_512x512", "67b5840012737ed2c94a4cb8787c5c1b27b3a946045d2e602e65ef77230b6085", 136379145, 512),
    _efficient_tam("s_1", "4fd5d1f7ae08a7e15086623bf8b12f0b111b773b15564b43c0a5d451fc1a4267", 136376327),
    _efficient_tam("s_2", "253e490b4a3d56eedd64e4d466155ec538d1289f52abe78b091b14caefd92343", 136376327),
]

#: family -> "module:Class" of its adapter, imported only when a model of that family is loaded.
FAMILIES: dict[str, str] = {
    "sam": "samkit.models.sam:SamSegmenter",
    "sam2": "samkit.models.sam2:Sam2Segmenter",
    "mobile_sam": "samkit.models.mobile_sam:MobileSamSegmenter",
    "efficientvit_sam": "samkit.models.efficientvit_sam:EfficientViTSamSegmenter",
    "sam_hq": "samkit.models.sam_hq:SamHqSegmenter",
    "fastsam": "samkit.models.fastsam:FastSamSegmenter",
    "sam3": "samkit.models.sam3:Sam3Segmenter",
    "sam3_litetext": "samkit.models.sam3_litetext:Sam3LiteTextSegmenter",
    "sam3_1": "samkit.models.sam3_1:Sam31Segmenter",
    "edgetam": "samkit.models.edgetam:EdgeTamSegmenter",
    "efficient_sam": "samkit.models.efficient_sam.adapter:EfficientSamSegmenter",
    "efficient_tam": "samkit.models.efficient_tam.adapter:EfficientTamSegmenter",
}

#: families whose upstream code is an optional package: family -> (module, samkit extra)
FAMILY_EXTRAS: dict[str, tuple[str, str]] = {
    "fastsam": ("ultralytics", "ultralytics"),
    "sam3": ("transformers", "hf"),
    "sam3_litetext": ("transformers", "hf"),
    "sam3_1": ("transformers", "hf"),
    "edgetam": ("transformers", "hf"),
}

#: name -> spec, in registration order (a `Registry`, read like a dict).
REGISTRY: Registry[ModelSpec] = Registry(
    "model", UnknownModelError, "samkit.list_models()", ModelSpec, _SPECS, FAMILIES, FAMILY_EXTRAS
)


def get_spec(name: str | ModelSpec) -> ModelSpec:
    """Return the spec of a registered model; unknown names raise `UnknownModelError` with suggestions."""
    return REGISTRY.lookup(name)


def list_models(
    pattern: str | list[str] | None = None,
    *,
    family: str | None = None,
    capability: str | None = None,
    default_only: bool = False,
) -> list[str]:
    """Registered model names, in registration order.

    Args:
        pattern: shell-style wildcard(s) on the name, e.g. ``"sam2*"``; a list of patterns is OR-ed.
        family: keep only this family (a key of `FAMILIES`, e.g. ``"sam2"``).
        capability: keep only models that support it (e.g. ``"video"``).
        default_only: keep only the small default set used by the demo and benchmarks.

    For a table with family, capabilities, parameter counts and checkpoint status use
    `samkit.model_table()`.
    """
    if family is not None and family not in FAMILIES:
        raise ValueError(f"Unknown family {family!r}; families: {', '.join(FAMILIES)}")
    if capability is not None and capability not in CAPABILITIES:
        raise ValueError(f"Unknown capability {capability!r}; capabilities: {', '.join(CAPABILITIES)}")
    return REGISTRY.names(
        pattern,
        lambda spec: (
            (family is None or spec.family == family)
            and (capability is None or spec.supports(capability))
            and (not default_only or spec.default)
        ),
    )
