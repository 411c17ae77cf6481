"""SAM 3.1 for images: samkit maps Meta's original checkpoint onto transformers' SAM 3 modules and
loads it strictly; the same file through ultralytics' own SAM 3 loader gives the same masks and scores.

No SAM 3.1 checkpoint can be downloaded here, so the tests write a synthetic one: ultralytics' SAM
3 image modules (``SAM3SemanticModel``, the interactive ``SAM3Model``; 8.4.190) built at samkit's
tiny sizes with seeded random weights, saved under SAM 3.1's original key names (the inverse of
ultralytics' SAM 3.1 renaming in ``build_sam3._load_checkpoint``: ``sam2_convs`` ->
``interactive_convs``, ``tracker.*`` -> ``tracker.model.interactive_*``, ``no_mem_embed`` ->
``tracker.model.interactivity_no_mem_embed``; three neck levels), plus what SAM 3.1 has that SAM 3's
image model lacks (the neck's ``propagation_convs``, ViT rotary tables, the geometry encoder's point
projections, video-tracker tensors under ``tracker.model.``). samkit loads the file with its own
mapping (strict); ultralytics' ``_load_checkpoint`` loads it into fresh modules of the same sizes.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch

import samkit
from samkit import cli
from samkit.errors import CheckpointError, DownloadError, UnsupportedError
from samkit.registry import REGISTRY

D, SIDE, PATCH = 64, 112, 14  # samkit's tiny SAM 3.1: neck/detector/tracker width, input side, patch


# ----------------------------------------------------------------------------- ultralytics at tiny sizes
def _ultralytics():
    from samkit.backends.ultralytics import import_ultralytics

    import_ultralytics("the SAM 3.1 parity tests")
    from ultralytics.models.sam import build_sam3

    return build_sam3


def _vision(b):
    vit = b.ViT(
        img_size=SIDE,
        pretrain_img_size=56,
        patch_size=PATCH,
        embed_dim=32,
        depth=2,
        num_heads=2,
        mlp_ratio=2.0,
        norm_layer="LayerNorm",
        drop_path_rate=0.0,
        use_abs_pos=True,
        tile_abs_pos=True,
        global_att_blocks=(1,),
        rel_pos_blocks=(),
        use_rope=True,
        use_interp_rope=True,
        window_size=4,
        pretrain_use_cls_token=True,
        retain_cls_token=False,
        ln_pre=True,
        ln_post=False,
        bias_patch_embed=False,
        use_act_checkpoint=False,
    )
    position = b.PositionEmbeddingSine(num_pos_feats=D, normalize=True, scale=None, temperature=10000)
    # SAM 3's neck (four levels, the last discarded): ultralytics builds it for SAM 3.1 files too
    return b.Sam3DualViTDetNeck(
        position_encoding=position, d_model=D, scale_factors=[4.0, 2.0, 1.0, 0.5], trunk=vit, add_sam2_neck=True
    )


def _attention(b):
    return torch.nn.MultiheadAttention(num_heads=2, dropout=0.0, embed_dim=D, batch_first=True)


def _layer(b, **kwargs):
    return b.TransformerEncoderLayer(
        d_model=D,
        dim_feedforward=64,
        dropout=0.0,
        pre_norm=True,
        self_attention=_attention(b),
        cross_attention=_attention(b),
        **kwargs,
    )


def ultralytics_detector(b):
    """``build_sam3_image_model``'s modules at samkit's tiny sizes (text: 1 layer of width 32)."""
    text = b.VETextEncoder(
        tokenizer=None,
        d_model=D,
        width=32,
        heads=2,
        layers=1,
        context_length=32,
        vocab_size=600,
        use_act_checkpoint=False,
    )
    encoder = b.TransformerEncoderFusion(
        layer=_layer(b, pos_enc_at_attn=True, pos_enc_at_cross_attn_keys=False, pos_enc_at_cross_attn_queries=False),
        num_layers=1,
        d_model=D,
        num_feature_levels=1,
        frozen=False,
        use_act_checkpoint=False,
        add_pooled_text_to_img_feat=False,
        pool_text_with_mask=True,
    )
    decoder = b.TransformerDecoder(
        layer=b.TransformerDecoderLayer(
            d_model=D,
            dim_feedforward=64,
            dropout=0.0,
            cross_attention=torch.nn.MultiheadAttention(num_heads=2, dropout=0.0, embed_dim=D),
            n_heads=2,
            use_text_cross_attention=True,
        ),
        num_layers=2,
        num_queries=8,
        return_intermediate=True,
        box_refine=True,
        num_o2m_queries=0,
        dac=True,
        boxRPB="log",
        d_model=D,
        frozen=False,
        interaction_layer=None,
        dac_use_selfatt_ln=True,
        use_act_checkpoint=False,
        presence_token=True,
    )
    mlp = b.MLP(input_dim=D, hidden_dim=64, output_dim=D, num_layers=2, residual=True, out_norm=torch.nn.LayerNorm(D))
    segmentation = b.UniversalSegmentationHead(
        hidden_dim=D,
        upsampling_stages=3,
        aux_masks=False,
        presence_head=False,
        dot_product_scorer=None,
        act_ckpt=False,
        cross_attend_prompt=torch.nn.MultiheadAttention(num_heads=2, dropout=0, embed_dim=D),
        pixel_decoder=b.PixelDecoder(num_upsampling_stages=3, interpolation_mode="nearest", hidden_dim=D),
    )
    geometry = b.SequenceGeometryEncoder(
        pos_enc=b.PositionEmbeddingSine(num_pos_feats=D, normalize=True, scale=None, temperature=10000),
        boxes_direct_project=True,
        boxes_pool=True,
        boxes_pos_enc=True,
        d_model=D,
        num_layers=1,
        layer=_layer(b, pos_enc_at_attn=False, pos_enc_at_cross_attn_queries=False, pos_enc_at_cross_attn_keys=True),
        use_act_ckpt=False,
        add_cls=True,
        add_post_encode_proj=True,
    )
    return b.SAM3SemanticModel(
        backbone=b.SAM3VLBackbone(visual=_vision(b), text=text, scalp=1),
        transformer=b.TransformerWrapper(encoder=encoder, decoder=decoder, d_model=D),
        input_geometry_encoder=geometry,
        segmentation_head=segmentation,
        num_feature_levels=1,
        o2m_mask_predict=True,
        dot_prod_scoring=b.DotProductScoring(d_model=D, d_proj=D, prompt_mlp=mlp),
        use_instance_query=False,
        multimask_output=True,
    )


def ultralytics_interactive(b):
    """``build_interactive_sam3``'s model at samkit's tiny sizes (its SAM heads fix the rest)."""
    rope = {"rope_theta": 10000.0, "feat_sizes": [8, 8], "num_heads": 1, "downsample_rate": 1}
    memory_attention = b.MemoryAttention(
        batch_first=True,
        d_model=D,
        pos_enc_at_input=True,
        layer=b.MemoryAttentionLayer(
            dim_feedforward=64,
            dropout=0.0,
            pos_enc_at_attn=False,
            pos_enc_at_cross_attn_keys=True,
            pos_enc_at_cross_attn_queries=False,
            self_attn=b.RoPEAttention(embedding_dim=D, **rope),
            d_model=D,
            cross_attn=b.RoPEAttention(embedding_dim=D, kv_in_dim=32, rope_k_repeat=True, **rope),
        ),
        num_layers=1,
    )
    return b.SAM3Model(
        image_size=SIDE,
        image_encoder=b.SAM3VLBackbone(scalp=1, visual=_vision(b), text=None),
        memory_attention=memory_attention,
        memory_encoder=b.MemoryEncoder(out_dim=32, in_dim=D, interpol_size=[128, 128]),
        backbone_stride=PATCH,
        num_maskmem=7,
        sigmoid_scale_for_mem_enc=20.0,
        sigmoid_bias_for_mem_enc=-10.0,
        use_mask_input_as_output_without_sam=True,
        directly_add_no_mem_embed=True,
        use_high_res_features_in_sam=True,
        multimask_output_in_sam=True,
        iou_prediction_use_sigmoid=True,
        use_obj_ptrs_in_encoder=True,
        add_tpos_enc_to_obj_ptrs=True,
        only_obj_ptrs_in_the_past_for_eval=True,
        pred_obj_scores=True,
        pred_obj_scores_mlp=True,
        fixed_no_obj_ptr=True,
        multimask_output_for_tracking=True,
        use_multimask_token_for_obj_ptr=True,
        multimask_min_pt_num=0,
        multimask_max_pt_num=1,
        use_mlp_for_obj_ptr_proj=True,
        no_obj_embed_spatial=True,
        proj_tpos_enc_in_obj_ptrs=True,
        use_signed_tpos_enc_to_obj_ptrs=True,
        sam_mask_decoder_extra_args={
            "dynamic_multimask_via_stability": True,
            "dynamic_multimask_stability_delta": 0.05,
            "dynamic_multimask_stability_thresh": 0.98,
        },
    )


def synthetic_sam3_1(b, seed: int = 0) -> dict[str, torch.Tensor]:
    """A SAM 3.1-format state dict (see the module docstring) of seeded random weights."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape):
        return torch.randn(*shape, generator=g)

    detector, interactive = ultralytics_detector(b), ultralytics_interactive(b)
    with torch.no_grad():  # every tensor seeded (ultralytics leaves some uninitialised)
        for module in (detector, interactive):
            for name, p in module.state_dict().items():
                if p.is_floating_point():
                    owner = module.get_submodule(name.rsplit(".", 1)[0] if "." in name else "")
                    norm = isinstance(owner, torch.nn.LayerNorm) or type(owner).__name__ == "LayerNorm2d"
                    p.copy_(1.0 + 0.1 * rnd(*p.shape) if norm and name.endswith("weight") else 0.05 * rnd(*p.shape))
    state = {}
    for key, value in detector.state_dict().items():
        if key.startswith(("backbone.vision_backbone.convs.3.", "backbone.vision_backbone.sam2_convs.3.")):
            continue  # SAM 3.1's necks have three levels
        key = key.replace(".sam2_convs.", ".interactive_convs.")
        state["detector." + key] = value.clone()
        if ".convs." in key:
            state["detector." + key.replace(".convs.", ".propagation_convs.")] = rnd(*value.shape)
    for block in range(2):  # Meta's ViT keeps its rotary table as a buffer
        state[f"detector.backbone.vision_backbone.trunk.blocks.{block}.attn.freqs_cis"] = torch.polar(
            torch.ones(64, 8), rnd(64, 8)
        )
    for name, shape in (
        ("points_direct_project", (D, 2)),
        ("points_pool_project", (D, D)),
        ("points_pos_enc_project", (D, D)),
    ):
        state[f"detector.geometry_encoder.{name}.weight"] = rnd(*shape)
        state[f"detector.geometry_encoder.{name}.bias"] = rnd(D)
    for key, value in interactive.state_dict().items():
        if key.startswith("image_encoder."):
            continue  # the interactive model's ViT and neck are the detector's in the file
        if key.startswith(("sam_prompt_encoder.", "sam_mask_decoder.", "mask_downsample.", "obj_ptr_proj.")):
            state["tracker.model.interactive_" + key] = value.clone()
        elif key == "no_mem_embed":
            state["tracker.model.interactivity_no_mem_embed"] = value.clone()
        else:  # the multiplex video tracker's modules (random: nothing of the image model)
            key = key.replace("memory_attention.", "transformer.encoder.").replace(
                "memory_encoder.", "maskmem_backbone."
            )
            state["tracker.model." + key] = rnd(*value.shape)
    state["tracker.model.sam_mask_decoder.mask_tokens.weight"] = rnd(48, D)  # 16 objects x 3 masks
    return state


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def builders():
    return _ultralytics()


@pytest.fixture(scope="module")
def checkpoint(builders, tmp_path_factory):
    """The synthetic ``sam3.1_multiplex.pt`` ({"model": state dict}) with CLIP tokenizer files beside it."""
    from samkit.backends.transformers import clip_tokenizer

    folder = tmp_path_factory.mktemp("sam3.1")
    path = folder / "sam3.1_multiplex.pt"
    torch.save({"model": synthetic_sam3_1(builders)}, path)
    clip_tokenizer(32).save_pretrained(folder)
    return path


@pytest.fixture(scope="module")
def ours(checkpoint):
    return samkit.load("sam3.1", checkpoint=checkpoint, device="cpu")


@pytest.fixture(scope="module")
def theirs(builders, checkpoint):
    """ultralytics' loader on the same file: ``(detector, interactive)``, fresh modules of the tiny sizes."""
    detector, interactive = ultralytics_detector(builders), ultralytics_interactive(builders)
    builders._load_checkpoint(detector, str(checkpoint))
    builders._load_checkpoint(interactive, str(checkpoint), interactive=True)
    return detector.eval(), interactive.eval()


def _their_decoder(ours, theirs, image, points, labels, multimask):
    """ultralytics' interactive head on the image as samkit's processor prepares it (the same
    pixels and prompt coordinates), post-processed as samkit post-processes: masks, scores."""
    processor = ours._predictor.processor
    _, interactive = theirs
    pixels = processor(images=image, return_tensors="pt")["pixel_values"]
    prompts = processor(
        original_sizes=[list(image.shape[:2])], input_points=[[points]], input_labels=[[labels]], return_tensors="pt"
    )
    with torch.inference_mode():
        features = interactive.forward_image(pixels)
        _, maps, _, _ = interactive._prepare_backbone_features(features)
        maps[-1] = maps[-1] + interactive.no_mem_embed
        grid = SIDE // PATCH
        maps = [m.permute(1, 2, 0).view(1, -1, grid * s, grid * s) for m, s in zip(maps, (4, 2, 1))]
        sparse, dense = interactive.sam_prompt_encoder(
            points=(prompts["input_points"][0], prompts["input_labels"][0]), boxes=None, masks=None
        )
        low_res, scores, _, _ = interactive.sam_mask_decoder(
            image_embeddings=maps[-1],
            image_pe=interactive.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=multimask,
            repeat_image=False,
            high_res_features=maps[:-1],
        )
    logits = processor.post_process_masks([low_res], [list(image.shape[:2])], binarize=False)[0]
    return (logits[0] > 0).numpy(), scores[0].numpy()


# ----------------------------------------------------------------------------- tests
def test_registry_entry():
    spec = REGISTRY["sam3.1"]
    assert spec.family == "sam3_1" and spec.hub_repo == "facebook/sam3.1" and spec.gated
    assert spec.license == "SAM License" and spec.url.endswith("/sam3.1_multiplex.pt")
    assert spec.capabilities == {"points", "box", "mask_input", "multimask", "automatic", "text"}
    assert "video" not in spec.capabilities and spec.input_size == 1008


@pytest.mark.parametrize("multimask", [True, False])
def test_points_match_ultralytics(ours, theirs, photo, multimask):
    ours.set_image(photo)
    points, labels = [[90, 60], [30, 100]], [1, 0]
    masks, scores, low_res = ours.predict(point_coords=points, point_labels=labels, multimask_output=multimask)
    ref_masks, ref_scores = _their_decoder(ours, theirs, photo, points, labels, multimask)
    assert masks.shape == ((3 if multimask else 1), 120, 180) and low_res.shape[1:] == (32, 32)
    np.testing.assert_array_equal(masks, ref_masks)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-6)


def test_box_matches_ultralytics(ours, theirs, photo):
    ours.set_image(photo)
    box = [20, 15, 120, 100]
    masks, scores, _ = ours.predict(box=box, multimask_output=True)
    # SAM's prompt encoder takes a box as its two corners labelled 2 and 3 (ultralytics' SAM 2/3 predictors)
    ref_masks, ref_scores = _their_decoder(ours, theirs, photo, [box[:2], box[2:]], [2, 3], True)
    np.testing.assert_array_equal(masks, ref_masks)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-6)


def test_text_matches_ultralytics(ours, theirs, photo):
    ours.set_image(photo)
    out = ours.predict_text("dog", box_threshold=0.0)  # keep every query of the tiny detector
    text = ours._text_processor()(text="dog", return_tensors="pt")
    detector, _ = theirs
    ids = text["input_ids"] * text["attention_mask"]  # ultralytics' tokens: 0 is padding
    assert (ids[text["attention_mask"] == 1] != 0).all()
    detector.backbone.language_backbone.tokenizer = lambda phrases, context_length: ids
    detector.set_classes(["dog"])
    pixels = ours._predictor.processor(images=photo, return_tensors="pt")["pixel_values"]
    with torch.inference_mode():
        raw = detector.forward_grounding(
            backbone_out=detector.backbone.forward_image(pixels), text_ids=torch.tensor([0])
        )
    as_transformers = types.SimpleNamespace(
        pred_logits=raw["pred_logits"][..., 0],
        pred_boxes=raw["pred_boxes_xyxy"],
        pred_masks=raw["pred_masks"],
        presence_logits=raw["presence_logit_dec"],
    )
    ref = ours._text_processor().image_processor.post_process_instance_segmentation(
        as_transformers, 0.0, 0.5, target_sizes=[list(photo.shape[:2])]
    )[0]
    order = torch.argsort(ref["scores"], descending=True, stable=True)
    assert len(out.scores) == len(order) == 8
    np.testing.assert_allclose(out.scores, ref["scores"][order].numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.boxes, ref["boxes"][order].numpy(), rtol=1e-4, atol=1e-3)
    agree = (out.masks == ref["masks"][order].numpy().astype(bool)).mean()
    assert agree > 0.999  # thresholded at 0.5 after float32 round-off in two implementations


def test_ultralytics_loads_every_tensor_of_its_modules_from_the_file(builders, checkpoint):
    """The synthetic file is complete for ultralytics too, but for SAM 3's 0.5-scale neck level, which
    ultralytics builds, leaves random (``strict=False``) and discards (``scalp=1``)."""
    loaded: dict[str, list[str]] = {}

    class Recorder(torch.nn.Module):
        def __init__(self, module, name):
            super().__init__()
            self.module, self.name = module, name

        def load_state_dict(self, state, strict=True):
            loaded[self.name] = [k for k in self.module.state_dict() if k not in state]

    builders._load_checkpoint(Recorder(ultralytics_detector(builders), "detector"), str(checkpoint))
    builders._load_checkpoint(Recorder(ultralytics_interactive(builders), "interactive"), str(checkpoint), True)
    assert all(".convs.3." in k or ".sam2_convs.3." in k for k in loaded["detector"])
    video = ("memory_", "maskmem_tpos_enc", "no_mem_pos_enc", "no_obj_ptr", "no_obj_embed", "obj_ptr_tpos_proj")
    missing = [k for k in loaded["interactive"] if not k.startswith(video)]
    assert missing and not [k for k in missing if ".convs.3." not in k and ".sam2_convs.3." not in k], missing


def test_a_missing_tensor_is_an_error_naming_it(builders, checkpoint, tmp_path):
    state = torch.load(checkpoint, weights_only=True)["model"]
    key = "tracker.model.interactive_sam_mask_decoder.iou_token.weight"
    del state[key]
    path = tmp_path / "sam3.1_multiplex.pt"
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError, match="1 keys missing") as info:
        samkit.load("sam3.1", checkpoint=path, device="cpu")
    assert "tracker.mask_decoder.iou_token.weight" in str(info.value) and "Nothing was loaded" in str(info.value)
    interactive = ultralytics_interactive(builders)  # ultralytics (strict=False) loads it without a word
    builders._load_checkpoint(interactive, str(path), interactive=True)


def test_an_unexpected_tensor_is_an_error_naming_it(checkpoint, tmp_path):
    state = torch.load(checkpoint, weights_only=True)["model"]
    state["detector.transformer.decoder.extra_head.weight"] = torch.zeros(2, 2)
    state["tracker.point_head.weight"] = torch.zeros(2)  # not under tracker.model.: no rule covers it
    path = tmp_path / "sam3.1_multiplex.pt"
    torch.save(state, path)  # a flat state dict is read too
    with pytest.raises(CheckpointError, match="2 keys unexpected") as info:
        samkit.load("sam3.1", checkpoint=path, device="cpu")
    assert "detector.transformer.decoder.extra_head.weight" in str(info.value)
    assert "tracker.point_head.weight" in str(info.value)


def test_a_sam3_sized_neck_is_a_shape_error(checkpoint, tmp_path):
    state = torch.load(checkpoint, weights_only=True)["model"]
    key = "detector.backbone.vision_backbone.interactive_convs.2.conv_3x3.weight"
    state[key] = torch.zeros(D, D, 1, 1)
    path = tmp_path / "sam3.1_multiplex.pt"
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError, match="of another shape: tracker.vision_encoder.neck.fpn_layers.2.proj2"):
        samkit.load("sam3.1", checkpoint=path, device="cpu")


def test_text_needs_the_tokenizer_files(checkpoint, photo, tmp_path):
    import shutil

    shutil.copy(checkpoint, tmp_path / "sam3.1_multiplex.pt")
    model = samkit.load("sam3.1", checkpoint=tmp_path / "sam3.1_multiplex.pt", device="cpu", download=False)
    model.set_image(photo)
    assert model.predict(point_coords=[[5, 5]], point_labels=[1])[0].shape[1:] == (120, 180)
    with pytest.raises(CheckpointError, match="tokenizer files .*huggingface.co/facebook/sam3.1"):
        model.predict(text="dog")


def test_random_tiny_has_no_video(photo):
    model = samkit.load("sam3.1", weights="random", config="tiny", device="cpu")
    assert model.model.detector.vision_encoder.neck.fpn_layers.__len__() == 3
    model.set_image(photo)
    masks, scores, _ = model.predict(text="dog", box_threshold=0.0)
    assert len(masks) == len(scores) == 8
    with pytest.raises(UnsupportedError, match="video"):
        model.video([photo, photo])


def test_gated_download_says_how_to_get_access(monkeypatch, isolated_checkpoints, capsys):
    import huggingface_hub
    from huggingface_hub.utils import GatedRepoError

    with pytest.raises(CheckpointError) as info:
        samkit.load("sam3.1", download=False, device="cpu")
    assert "hf auth login" in str(info.value) and "samkit weights download sam3.1" in str(info.value)

    def gated(repo_id, filename, **kwargs):
        response = types.SimpleNamespace(headers={}, request=None)
        raise GatedRepoError(f"Access to model {repo_id} is restricted.", response=response)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", gated)
    assert cli.main(["weights", "download", "sam3.1", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "gated" in err and "https://huggingface.co/facebook/sam3.1" in err and "hf auth login" in err
    with pytest.raises(DownloadError, match="hf auth login"):
        samkit.load("sam3.1", device="cpu")


def test_download_fetches_the_file_and_the_tokenizer(monkeypatch, isolated_checkpoints, checkpoint, photo):
    import shutil
    from pathlib import Path

    import huggingface_hub

    asked = []

    def fake(repo_id, filename, revision=None, local_dir=None):
        asked.append(filename)
        assert repo_id == "facebook/sam3.1" and not huggingface_hub.constants.HF_HUB_OFFLINE
        source = checkpoint.parent / filename
        if not source.is_file():
            from huggingface_hub.utils import EntryNotFoundError

            raise EntryNotFoundError(f"{filename} not in {repo_id}")
        Path(local_dir).mkdir(parents=True, exist_ok=True)
        return shutil.copy(source, Path(local_dir) / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake)
    model = samkit.load("sam3.1", device="cpu")
    assert asked[0] == "sam3.1_multiplex.pt" and "tokenizer.json" in asked
    assert model.weights.kind == "pretrained" and model.weights.path == str(
        isolated_checkpoints / "sam3.1_multiplex.pt"
    )
    assert (isolated_checkpoints / "sam3.1_tokenizer" / "tokenizer.json").is_file()
    model.set_image(photo)
    assert len(model.predict_text("dog", box_threshold=0.0).scores) == 8


@pytest.mark.slow
def test_full_size_parameters():
    from samkit.models.sam3_1 import Sam31Segmenter

    with torch.device("meta"):
        full = Sam31Segmenter.build_architecture(REGISTRY["sam3.1"])
    assert sum(p.numel() for p in full.parameters()) == 850_695_111  # see samkit/published_params.csv
