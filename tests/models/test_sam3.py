"""SAM 3 through transformers: a tiny random checkpoint saved in the hub layout (transformers'
``Sam3VideoModel``, as facebook/sam3 ships), loaded by samkit and by transformers directly, gives the
same masks and scores for points, boxes (multimask on/off) and text.

References: text through ``Sam3Model.from_pretrained`` + ``Sam3Processor`` (the documented usage);
points/boxes through ``Sam3TrackerModel`` + ``Sam3TrackerProcessor``, its weights mapped with
transformers' own ``sam3_tracker`` key renamings (conversion_mapping): in transformers 5.24
``Sam3TrackerModel.from_pretrained`` on a folder written by ``Sam3VideoModel.save_pretrained``
leaves the tracker's decoder weights unloaded (that save writes ``tracker_model.tracker_model.*``),
so the reference reads the folder with ``Sam3VideoModel.from_pretrained`` and applies those
renamings itself. The single-prefix spelling (``tracker_model.*``) loads the same in samkit.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import samkit
from samkit import cli
from samkit.backends.transformers import seeded_build, transformers_module
from samkit.errors import CheckpointError, DownloadError, PromptError
from samkit.models.sam3 import Sam3Segmenter, hub_config, stand_in_tokenizer
from samkit.registry import REGISTRY
from samkit.weights import verify

SIDE = 112


def _save_hub_folder(folder, seed=5):
    tf = transformers_module()
    model = seeded_build(lambda: tf.Sam3VideoModel(hub_config("tiny")), seed=seed)
    model.save_pretrained(folder)
    image_processor = tf.Sam3ImageProcessor(size={"height": SIDE, "width": SIDE})
    tf.Sam3Processor(image_processor=image_processor, tokenizer=stand_in_tokenizer(), target_size=SIDE).save_pretrained(
        folder
    )
    return folder


@pytest.fixture(scope="module")
def hub_folder(tmp_path_factory):
    return _save_hub_folder(tmp_path_factory.mktemp("sam3_hub"))


@pytest.fixture(scope="module")
def ours(hub_folder):
    return samkit.load("sam3", checkpoint=hub_folder, device="cpu")


@pytest.fixture(scope="module")
def tracker(hub_folder):
    """transformers' Sam3TrackerModel + Sam3TrackerProcessor on the folder (see the module docstring):
    the weights as ``Sam3VideoModel.from_pretrained`` reads them, renamed by transformers'
    ``sam3_tracker`` conversion mapping."""
    tf = transformers_module()
    from transformers.conversion_mapping import get_checkpoint_conversion_mapping
    from transformers.core_model_loading import apply_renamings

    video = tf.Sam3VideoModel.from_pretrained(str(hub_folder))
    model = tf.Sam3TrackerModel(tf.AutoConfig.from_pretrained(str(hub_folder)))
    renamings = get_checkpoint_conversion_mapping("sam3_tracker")
    state = {apply_renamings(k, renamings): v for k, v in video.state_dict().items()}
    model.load_state_dict({k: state[k] for k in model.state_dict()}, strict=True)
    return model.eval(), tf.Sam3TrackerProcessor.from_pretrained(str(hub_folder))


@pytest.fixture(scope="module")
def detector(hub_folder):
    tf = transformers_module()
    model, info = tf.Sam3Model.from_pretrained(str(hub_folder), output_loading_info=True)
    assert not info["missing_keys"] and not info["mismatched_keys"]
    return model.eval(), tf.Sam3Processor.from_pretrained(str(hub_folder))


def _reference(tracker, image, multimask, **prompts):
    model, processor = tracker
    inputs = processor(images=image, return_tensors="pt", **prompts)
    with torch.inference_mode():
        out = model(**{k: v for k, v in inputs.items() if k != "original_sizes"}, multimask_output=multimask)
    masks = processor.post_process_masks(out.pred_masks, inputs["original_sizes"])[0]
    return masks.numpy(), out.iou_scores[0].numpy()


def test_registry_entry():
    spec = REGISTRY["sam3"]
    assert spec.layout == "hf" and spec.hub_repo == "facebook/sam3" and spec.gated
    assert spec.capabilities == {"points", "box", "mask_input", "multimask", "automatic", "text", "video", "text_video"}
    assert spec.input_size == 1008 and spec.url.endswith(spec.checkpoint)


@pytest.mark.parametrize("multimask", [True, False])
def test_points_match_transformers(ours, tracker, photo, multimask):
    ours.set_image(photo)
    points, labels = [[90, 60], [30, 100]], [1, 0]
    masks, scores, low_res = ours.predict(point_coords=points, point_labels=labels, multimask_output=multimask)
    ref_masks, ref_scores = _reference(tracker, photo, multimask, input_points=[[points]], input_labels=[[labels]])
    n = 3 if multimask else 1
    assert masks.shape == (n, 120, 180) and low_res.shape == (n, 32, 32)  # tiny: 4 * 112 / 14
    np.testing.assert_array_equal(masks, ref_masks[0])
    np.testing.assert_allclose(scores, ref_scores[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("multimask", [True, False])
def test_boxes_match_transformers(ours, tracker, photo, multimask):
    ours.set_image(photo)
    boxes = [[20, 15, 120, 100], [60, 30, 170, 110]]
    masks, scores, _ = ours.predict_boxes(boxes, multimask_output=multimask)
    ref_masks, ref_scores = _reference(tracker, photo, multimask, input_boxes=[boxes])
    np.testing.assert_array_equal(masks, ref_masks)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-6)


def test_text_matches_transformers(ours, detector, photo):
    ours.set_image(photo)
    threshold = 0.2  # random weights score about 0.25: keep some instances
    out = ours.predict_text("a cat", box_threshold=threshold)
    model, processor = detector
    inputs = processor(images=photo, text="a cat", return_tensors="pt")
    with torch.inference_mode():
        raw = model(**{k: v for k, v in inputs.items() if k != "original_sizes"})
    ref = processor.post_process_instance_segmentation(
        raw, threshold=threshold, mask_threshold=0.5, target_sizes=inputs["original_sizes"].tolist()
    )[0]
    order = torch.argsort(ref["scores"], descending=True, stable=True)
    assert len(out.scores) == len(order) > 0 and out.labels == ["a cat"] * len(order)
    np.testing.assert_array_equal(out.masks, ref["masks"][order].numpy().astype(bool))
    np.testing.assert_allclose(out.scores, ref["scores"][order].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.boxes, ref["boxes"][order].numpy(), rtol=1e-4, atol=1e-3)
    assert out.detector == "native" and out.decoder_ms > 0
    masks, scores, low_res = ours.predict(text="a cat", box_threshold=threshold)
    assert masks.shape == (len(scores), 120, 180) and low_res.shape == (len(scores), 32, 32)
    assert np.all(np.diff(scores) <= 0)
    logits = ours.predict(text="a cat", box_threshold=threshold, return_logits=True)[0]
    assert logits.dtype == np.float32 and np.array_equal(logits > 0, masks)
    none = ours.predict(text="a cat", box_threshold=0.99)
    assert none[0].shape == (0, 120, 180) and none[1].shape == (0,)
    with pytest.raises(PromptError, match="text alone"):
        ours.predict(point_coords=[[1, 1]], point_labels=[1], text="a cat")


def test_backbone_is_shared_and_runs_once(ours, photo):
    assert ours.model.tracker.vision_encoder.backbone is ours.model.detector.vision_encoder.backbone
    calls = []
    hook = ours.model.detector.vision_encoder.backbone.register_forward_hook(lambda *a: calls.append(1))
    try:
        ours.set_image(photo)
        ours.predict(point_coords=[[90, 60]], point_labels=[1])
        ours.predict(text="a cat")
    finally:
        hook.remove()
    assert calls == [1]


def test_parameters_equal_upstream(ours, tracker, detector):
    backbone = sum(p.numel() for p in detector[0].vision_encoder.backbone.parameters())
    assert ours.num_parameters() == detector[0].num_parameters() + tracker[0].num_parameters() - backbone


@pytest.mark.slow
def test_full_size_parameters_match_published():
    with torch.device("meta"):
        full = Sam3Segmenter.build_architecture(REGISTRY["sam3"])
    count = sum(p.numel() for p in full.parameters())
    assert count == 852_400_071  # detector 840,376,374 + tracker neck/prompt encoder/decoder
    assert abs(count / 1e6 - REGISTRY["sam3"].params_published_m) / REGISTRY["sam3"].params_published_m < 0.01


def test_random_tiny_generate_and_text(photo):
    model = samkit.load("sam3", weights="random", config="tiny", device="cpu")
    assert str(model.weights) == "random(seed=0, config=tiny)"
    model.set_image(photo)
    masks, scores, _ = model.predict(text="dog", box_threshold=0.0)
    assert len(masks) == len(scores) == 8  # every query of the tiny detector
    records = model.generate(
        photo, points_per_side=2, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0
    )
    assert records and records[0]["segmentation"].shape == (120, 180)


def test_missing_checkpoint_says_how_to_get_it(isolated_checkpoints):
    with pytest.raises(CheckpointError) as info:
        samkit.load("sam3", download=False, device="cpu")
    message = str(info.value)
    assert "hf auth login" in message and "samkit weights download sam3" in message
    assert str(isolated_checkpoints / "sam3") in message


def test_download_errors_and_success(monkeypatch, isolated_checkpoints, capsys):
    import huggingface_hub

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    assert cli.main(["weights", "download", "sam3", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "huggingface.co/facebook/sam3" in err and "hf auth login" in err
    assert str(isolated_checkpoints / "sam3") in err
    with pytest.raises(DownloadError):
        samkit.load("sam3", device="cpu")

    def fake(repo_id, revision=None, local_dir=None, allow_patterns=None):
        assert repo_id == "facebook/sam3" and "model.safetensors" in allow_patterns
        assert not huggingface_hub.constants.HF_HUB_OFFLINE  # lifted for the download only
        return str(_save_hub_folder(__import__("pathlib").Path(local_dir)))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake)
    before = huggingface_hub.constants.HF_HUB_OFFLINE
    assert cli.main(["weights", "download", "sam3", "--quiet"]) == 0
    assert huggingface_hub.constants.HF_HUB_OFFLINE == before  # the switch is restored
    assert verify(REGISTRY["sam3"]).status == "unpublished"
    assert samkit.model_table("sam3")["present"].tolist() == [True]
    assert cli.main(["weights", "download", "sam3", "--quiet"]) == 0
    assert "already present" in capsys.readouterr().out
    model = samkit.load("sam3", weights="auto", device="cpu")  # present, no published SHA-256
    assert model.weights.kind == "pretrained" and model.weights.path == str(isolated_checkpoints / "sam3")
    assert model.weights.official is None and len(model.weights.sha256) == 64
    assert huggingface_hub.constants.HF_HUB_OFFLINE  # loading runs with the hub off


def test_single_prefix_layout_loads_the_same(hub_folder, ours, photo, tmp_path):
    """The hub file may spell tracker keys ``tracker_model.*`` (as transformers' renaming expects)."""
    import shutil

    from safetensors.torch import load_file, save_file

    for f in hub_folder.iterdir():
        shutil.copy(f, tmp_path / f.name)
    state = load_file(hub_folder / "model.safetensors")
    single = {k.replace("tracker_model.tracker_model.", "tracker_model.", 1): v for k, v in state.items()}
    assert single.keys() != state.keys()
    save_file(single, tmp_path / "model.safetensors", metadata={"format": "pt"})
    other = samkit.load("sam3", checkpoint=tmp_path, device="cpu")
    for model in (ours, other):
        model.set_image(photo)
    a = ours.predict(point_coords=[[90, 60]], point_labels=[1])
    b = other.predict(point_coords=[[90, 60]], point_labels=[1])
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
