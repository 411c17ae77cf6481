import subprocess
import sys

import pytest

import samkit
from samkit.registry import REGISTRY, UnknownModelError, get_spec

PUBLIC_NAMES = [
    "sam_vit_b",
    "sam_vit_l",
    "sam_vit_h",
    "sam2_hiera_tiny",
    "sam2_hiera_small",
    "sam2_hiera_base_plus",
    "sam2_hiera_large",
    "sam2.1_hiera_tiny",
    "sam2.1_hiera_small",
    "sam2.1_hiera_base_plus",
    "sam2.1_hiera_large",
    "mobile_sam",
    "efficientvit_sam_l0",
    "efficientvit_sam_l1",
    "efficientvit_sam_l2",
    "efficientvit_sam_xl0",
    "efficientvit_sam_xl1",
    "sam_hq_vit_tiny",
    "sam_hq_vit_b",
    "sam_hq_vit_l",
    "sam_hq_vit_h",
    "fastsam_s",
    "fastsam_x",
    "sam3",
    "edgetam",
    "sam3_litetext_s0",
    "sam3_litetext_s1",
    "sam3_litetext_l",
    "sam3.1",
    "efficient_sam_vitt",
    "efficient_sam_vits",
    "efficienttam_ti",
    "efficienttam_ti_512x512",
    "efficienttam_ti_1",
    "efficienttam_ti_2",
    "efficienttam_s",
    "efficienttam_s_512x512",
    "efficienttam_s_1",
    "efficienttam_s_2",
]


def test_public_names_are_registered_in_order():
    assert samkit.list_models() == PUBLIC_NAMES


def test_every_spec_is_complete():
    for spec in REGISTRY.values():
        zipped = ".zip" if spec.archive == "zip" else ""  # EfficientSAM-S: a zipped checkpoint
        assert spec.url.startswith("https://") and spec.url.endswith(spec.checkpoint + zipped)
        if spec.sha256 is None:  # no checksum published (see the registry comment)
            families = ("fastsam", "efficient_sam", "sam3", "edgetam", "sam3_litetext", "sam3_1")
            assert spec.family in families or spec.name == "efficienttam_ti_1"
        else:
            assert len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0
        if spec.size_bytes is None:  # only rounded sizes are published (see the registry comment)
            families = ("efficientvit_sam", "fastsam", "efficient_sam", "sam3", "edgetam", "efficient_tam")
            assert spec.family in (*families, "sam3_litetext", "sam3_1")
        else:
            assert spec.size_bytes > 1_000_000
        if spec.params_published_m is None:  # no readable published total (see the registry comment)
            names = ("sam_hq_vit_l", "sam_hq_vit_h", "edgetam", "sam3.1")
            assert (spec.name in names or spec.family == "efficient_tam") and spec.params_source
        else:
            assert spec.params_published_m > 0 and spec.params_source
        if spec.family in ("fastsam", "efficient_sam"):  # no mask prompt
            assert spec.capabilities == {"points", "box", "multimask", "automatic"}
        elif spec.family == "sam3_litetext":  # the hub checkpoints hold SAM 3's detector only
            assert spec.capabilities == {"text"}
        else:
            assert {"points", "box", "mask_input", "multimask", "automatic"} <= spec.capabilities
        layouts = {
            "sam2": "model_key",
            "fastsam": "ultralytics",
            "efficient_sam": "model_key",
            "efficient_tam": "model_key",
            "sam3": "hf",
            "edgetam": "hf",
            "sam3_litetext": "hf",
            "sam3_1": "model_key",
        }
        assert spec.layout == layouts.get(spec.family, "state_dict")
    shas = [s.sha256 for s in REGISTRY.values() if s.sha256 is not None]
    assert len(set(shas)) == len(shas)


def test_list_models_filters():
    assert samkit.list_models("sam2.1*") == [n for n in PUBLIC_NAMES if n.startswith("sam2.1")]
    assert samkit.list_models(["mobile*", "sam_vit_?"]) == ["sam_vit_b", "sam_vit_l", "sam_vit_h", "mobile_sam"]
    assert samkit.list_models(family="sam") == ["sam_vit_b", "sam_vit_l", "sam_vit_h"]
    assert samkit.list_models(capability="video") == [
        n
        for n in PUBLIC_NAMES
        if n.startswith(("sam2", "sam3", "edgetam", "efficienttam")) and not n.startswith(("sam3_litetext", "sam3.1"))
    ]
    assert samkit.list_models(default_only=True) == ["sam_vit_b", "sam2_hiera_tiny", "sam2.1_hiera_tiny", "mobile_sam"]
    texts = ["sam3", "sam3_litetext_s0", "sam3_litetext_s1", "sam3_litetext_l", "sam3.1"]
    assert samkit.list_models(capability="text") == texts
    with pytest.raises(ValueError, match="Unknown family 'sam4'"):
        samkit.list_models(family="sam4")
    with pytest.raises(ValueError, match="Unknown capability"):
        samkit.list_models(capability="teleport")


@pytest.mark.parametrize(
    "typo, suggestion",
    [
        ("sam_vitb", "sam_vit_b"),
        ("sam2.1_hiera_t", "sam2.1_hiera_tiny"),
        ("mobilesam", "mobile_sam"),
    ],
)
def test_unknown_name_suggests_closest(typo, suggestion):
    with pytest.raises(UnknownModelError) as info:
        get_spec(typo)
    message = str(info.value)
    assert f"Unknown model name {typo!r}" in message
    assert f"Did you mean '{suggestion}'" in message or f"'{suggestion}'" in message.split("?")[0]


def test_load_unknown_name_fails_before_any_work():
    with pytest.raises(UnknownModelError, match="Did you mean"):
        samkit.load("sam_vit_x", weights="random")


def test_import_is_light():
    code = "import sys, samkit; samkit.list_models(); print(sorted(m for m in ('torch', 'sam2', 'segment_anything', 'mobile_sam', 'segment_anything_hq', 'transformers') if m in sys.modules))"  # noqa: E501
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_model_table_columns_and_presence(isolated_checkpoints):
    table = samkit.model_table()
    assert list(table.index) == PUBLIC_NAMES
    assert {"family", "capabilities", "params_published_M", "checkpoint", "present"} <= set(table.columns)
    assert not table["present"].any()
    isolated_checkpoints.mkdir(parents=True)
    (isolated_checkpoints / "mobile_sam.pt").write_bytes(b"x")
    assert samkit.model_table("mobile_sam")["present"].tolist() == [True]


def test_model_table_counts_parameters():
    table = samkit.model_table("mobile_sam", count=True)
    counted = table.loc["mobile_sam", "params_counted_M"]
    assert 9.0 < counted < 11.0  # the published 9.66M counts the encoder and mask decoder only
