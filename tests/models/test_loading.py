"""Loading: random weights, checkpoint safety, wrong files, devices."""

import os
import pickle

import pytest
import torch

import samkit
from samkit.errors import CheckpointError
from samkit.loading import build_random
from samkit.registry import REGISTRY


def _state_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_random_weights_are_seeded_and_leave_global_rng_alone():
    spec = REGISTRY["mobile_sam"]
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = build_random(spec, 0).state_dict()
    assert torch.equal(torch.get_rng_state(), before)
    b = build_random(spec, 0).state_dict()
    c = build_random(spec, 1).state_dict()
    assert _state_equal(a, b)
    assert not _state_equal(a, c)


def test_models_detectors_and_taggers_load_through_one_path(monkeypatch):
    """`samkit.components.load_weights` builds or reads every model, detector and tagger."""
    import samkit.components as components
    from samkit.detectors import load_detector
    from samkit.taggers import load_tagger

    seen = []
    real = components.load_weights

    def spy(cls, spec, weights, **kwargs):
        seen.append((spec.name, weights, kwargs.get("build_options")))
        return real(cls, spec, weights, **kwargs)

    monkeypatch.setattr(components, "load_weights", spy)
    monkeypatch.setattr("samkit.loading.load_weights", spy)
    samkit.load("mobile_sam", weights="random", seed=3)
    load_detector("grounding_dino_tiny", weights="random", config="tiny")
    load_tagger("clip_vit_b32", weights="random", config="tiny")
    assert seen == [
        ("mobile_sam", "random", {}),
        ("grounding_dino_tiny", "random", {"config": "tiny"}),
        ("clip_vit_b32", "random", {"config": "tiny"}),
    ]


def test_loaded_model_reports_its_weights(random_model):
    model = random_model("mobile_sam")
    assert model.weights.kind == "random" and model.weights.seed == 0 and model.weights.sha256 is None
    assert str(model.weights) == "random(seed=0)"
    assert model.name == "mobile_sam" and model.family == "mobile_sam"
    assert model.capabilities == REGISTRY["mobile_sam"].capabilities
    assert model.device == torch.device("cpu") and not model.model.training
    assert "random(seed=0)" in repr(model)


def test_pretrained_from_explicit_checkpoint(tmp_path, random_model):
    path = tmp_path / "mobile_sam.pt"
    torch.save(random_model("mobile_sam").model.state_dict(), path)
    model = samkit.load("mobile_sam", checkpoint=path, device="cpu")
    assert model.weights.kind == "pretrained" and model.weights.path == str(path)
    assert len(model.weights.sha256) == 64 and model.weights.official is False
    assert _state_equal(model.model.state_dict(), random_model("mobile_sam").model.state_dict())


def test_missing_official_checkpoint_offline(monkeypatch):
    with pytest.raises(CheckpointError, match="samkit weights download mobile_sam"):
        samkit.load("mobile_sam", download=False)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_pickle_with_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": _Evil()}, path)
    with pytest.raises(CheckpointError, match="would execute code .* refuses"):
        samkit.load("mobile_sam", checkpoint=path)
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(CheckpointError):
        samkit.load("mobile_sam", checkpoint=raw)


def test_truncated_checkpoint_is_a_clear_error(tmp_path, random_model):
    path = tmp_path / "mobile_sam.pt"
    torch.save(random_model("mobile_sam").model.state_dict(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint \\(truncated or corrupt"):
        samkit.load("mobile_sam", checkpoint=path)


def test_checkpoint_of_another_model_names_it(tmp_path, random_model):
    path = tmp_path / "mobile_sam.pt"
    torch.save({"model": random_model("mobile_sam").model.state_dict()}, path)
    with pytest.raises(CheckpointError) as info:
        samkit.load("sam2.1_hiera_tiny", checkpoint=path)
    message = str(info.value)
    assert "does not fit sam2.1_hiera_tiny" in message and "missing keys" in message
    assert "looks like a checkpoint for 'mobile_sam'" in message
    assert "Nothing was loaded" in message


def test_sam2_layout_is_required(tmp_path, random_model):
    path = tmp_path / "flat.pt"
    torch.save(random_model("sam2.1_hiera_tiny").model.state_dict(), path)
    with pytest.raises(CheckpointError, match="expected a dict with a 'model' state dict"):
        samkit.load("sam2.1_hiera_tiny", checkpoint=path)


def test_shape_mismatch_is_reported(tmp_path, random_model):
    state = dict(random_model("mobile_sam").model.state_dict())
    key = "mask_decoder.iou_token.weight"
    state[key] = torch.zeros(2, 7)
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="1 shape mismatches .*iou_token"):
        samkit.load("mobile_sam", checkpoint=path)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="weights must be one of"):
        samkit.load("mobile_sam", weights="imagenet")
    with pytest.raises(ValueError, match="contradict"):
        samkit.load("mobile_sam", weights="random", checkpoint=tmp_path / "x.pt")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_requested_without_cuda():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        samkit.load("mobile_sam", weights="random", device="cuda")


def test_auto_weights(tmp_path, random_model):
    model = samkit.load("mobile_sam", weights="auto", device="cpu")
    assert model.weights.kind == "random"  # no checkpoint in the (empty) checkpoint folder
    path = tmp_path / "mine.pt"
    torch.save(random_model("mobile_sam").model.state_dict(), path)
    assert samkit.load("mobile_sam", weights="auto", checkpoint=path).weights.kind == "pretrained"


def test_auto_takes_a_present_file_that_has_no_published_checksum(isolated_checkpoints, random_model, monkeypatch):
    """Some authors publish no SHA-256 (FastSAM, EfficientSAM): a file in the default place is used,
    and its weights say that it could not be verified."""

    from samkit.registry import REGISTRY

    monkeypatch.setitem(REGISTRY, "mobile_sam", REGISTRY["mobile_sam"].with_files(sha256=None))
    isolated_checkpoints.mkdir(parents=True)
    torch.save(random_model("mobile_sam").model.state_dict(), isolated_checkpoints / "mobile_sam.pt")
    model = samkit.load("mobile_sam", weights="auto", device="cpu")
    assert model.weights.kind == "pretrained" and model.weights.official is None
    assert str(model.weights).endswith(", no published sha256)")
