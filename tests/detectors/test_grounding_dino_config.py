"""The random full Grounding DINO configs are the released architectures (no model is built).

Reference: transformers' conversion script for the IDEA-Research checkpoints
(``convert_grounding_dino_to_hf.py``, ``get_grounding_dino_config``) and the hub config.json of
IDEA-Research/grounding-dino-base: Swin-B backbone, embed_dim 128, depths [2, 2, 18, 2], heads
[4, 8, 16, 32], window 12, image size 384, out_indices [2, 3, 4]; grounding-dino-tiny is Swin-T
(96, [2, 2, 6, 2], [3, 6, 12, 24], window 7, 224). Both keep GroundingDinoConfig's other defaults.
"""

from __future__ import annotations

import pytest

from samkit.detectors import get_detector_spec

SWIN = {
    "grounding_dino_base": dict(
        embed_dim=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32], window_size=12, image_size=384, hidden_size=1024
    ),
    "grounding_dino_tiny": dict(
        embed_dim=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24], window_size=7, image_size=224, hidden_size=768
    ),
}


@pytest.mark.parametrize("name", list(SWIN))
def test_full_config_has_the_released_swin_backbone(name):
    from samkit.detectors.grounding_dino import full_config

    cfg = full_config(get_detector_spec(name))
    backbone = cfg.backbone_config
    assert backbone.model_type == "swin"
    got = {key: getattr(backbone, key) for key in SWIN[name]}
    assert {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in got.items()} == SWIN[name]
    assert list(backbone.out_indices) == [2, 3, 4] and backbone.patch_size == 4
    assert cfg.d_model == 256 and cfg.num_queries == 900 and cfg.max_text_len == 256
    assert cfg.encoder_layers == cfg.decoder_layers == 6 and cfg.num_feature_levels == 4
    assert cfg.text_config.model_type == "bert" and cfg.text_config.hidden_size == 768
