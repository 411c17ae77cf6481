"""samkit.detectors.yoloe: YOLOE-11 (text -> boxes) behind the `Detector` interface, and parity with
ultralytics' ``YOLOE(path).set_classes(...).predict(...)`` on random weights saved in the official
layout. No real MobileCLIP file or ``clip`` package is needed: the pretrained path is checked with a
small stand-in TorchScript text tower and a stand-in ``clip`` tokenizer module."""

from __future__ import annotations

import importlib.machinery
import sys
import types

import numpy as np
import pytest

from samkit.detectors import get_detector_spec, list_detectors, load_detector
from samkit.errors import CheckpointError, PromptError

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.:FutureWarning")  # the TorchScript text tower

PROMPT = "a dog. a cat."
PHRASES = ["a dog", "a cat"]
IMGSZ = 160  # small input keeps the tests fast
_CACHE: dict[str, object] = {}


def _det(name: str = "yoloe_11s"):
    if name not in _CACHE:
        det = load_detector(name, "random", device="cpu", seed=0)
        det.imgsz = IMGSZ
        _CACHE[name] = det
    return _CACHE[name]


def _sorted_ref(boxes, scores, h, w):
    boxes = np.asarray(boxes, np.float32).copy()
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
    order = np.argsort(-np.asarray(scores), kind="stable")
    return boxes[order], np.asarray(scores, np.float32)[order]


def _fake_tokenize(texts, context_length: int = 77, truncate: bool = False):
    """Stand-in for ``clip.clip.tokenize``: start token, character codes, end token; (N, 77) int64."""
    import torch

    out = torch.zeros(len(texts), context_length, dtype=torch.long)
    for i, text in enumerate(texts):
        ids = [49406] + [ord(c) for c in text][: context_length - 2] + [49407]
        out[i, : len(ids)] = torch.tensor(ids)
    return out


@pytest.fixture
def fake_clip(monkeypatch):
    """A ``clip`` module whose tokenizer is `_fake_tokenize`; ultralytics' text_model re-imported on it."""
    clip = types.ModuleType("clip")
    clip.__spec__ = importlib.machinery.ModuleSpec("clip", None)
    clip.clip = types.SimpleNamespace(tokenize=_fake_tokenize)
    monkeypatch.setitem(sys.modules, "clip", clip)
    sys.modules.pop("ultralytics.nn.text_model", None)
    yield clip
    sys.modules.pop("ultralytics.nn.text_model", None)


def _save_fake_text_encoder(path) -> None:
    """A TorchScript text tower of MobileCLIP's interface: (N, 77) tokens -> (N, 512) unit vectors."""
    import torch

    class Tower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = torch.nn.Embedding(1024, 512)

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.normalize(self.emb(tokens % 1024).mean(1), dim=-1)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        torch.jit.script(Tower()).save(str(path))


# ---------------------------------------------------------------------- registry
def test_registry_kind_urls_and_family():
    from samkit.detectors.registry import DETECTOR_FAMILIES
    from samkit.detectors.yoloe import TEXT_ENCODER

    assert list_detectors("yoloe*") == ["yoloe_11s", "yoloe_11l"]
    assert {"yoloe_11s", "yoloe_11l"} <= set(list_detectors(kind="open_vocab"))
    assert DETECTOR_FAMILIES["yoloe"] == "samkit.detectors.yoloe:YoloeDetector"
    for size in "sl":
        spec = get_detector_spec(f"yoloe_11{size}")
        assert spec.kind == "open_vocab" and spec.family == "yoloe" and spec.layout == "ultralytics"
        assert spec.url == (f"https://github.com/ultralytics/assets/releases/download/v8.3.0/yoloe-11{size}-seg.pt")
        assert spec.checkpoint == f"yoloe-11{size}-seg.pt" and spec.arch == f"yoloe-11{size}-seg.yaml"
        assert spec.sha256 is None and spec.license == "AGPL-3.0" and spec.params_source
    assert TEXT_ENCODER.url.endswith("/v8.3.0/mobileclip_blt.ts") and TEXT_ENCODER.sha256 is None
    assert "yoloe_11s" not in list_detectors(kind="closed_set")


def test_cli_lists_yoloe(capsys):
    from samkit import cli

    assert cli.main(["detectors", "yoloe*"]) == 0
    out = capsys.readouterr().out
    assert "yoloe_11s" in out and "yoloe_11l" in out and "open_vocab" in out and "missing" in out
    assert "yoloe-11s-seg.pt" in out


# ---------------------------------------------------------------------- detect
def test_detect_shapes_labels_and_errors(photo):
    det = _det()
    assert det.kind == "open_vocab" and det.classes is None
    assert det.weights.kind == "random" and det.weights.config == "full"
    d = det.detect(photo, text=PROMPT, box_threshold=0.0)
    h, w = photo.shape[:2]
    assert len(d) > 0 and d.image_size == (h, w)
    assert d.boxes.dtype == np.float32 and d.boxes.shape == (len(d), 4)
    assert d.scores.dtype == np.float32 and (np.diff(d.scores) <= 0).all()
    assert ((d.scores >= 0) & (d.scores <= 1)).all()
    assert (d.boxes[:, 0::2] >= 0).all() and (d.boxes[:, 0::2] <= w).all()
    assert (d.boxes[:, 1::2] >= 0).all() and (d.boxes[:, 1::2] <= h).all()
    assert set(d.labels) <= set(PHRASES)
    same = det.detect(photo, classes=PHRASES, box_threshold=0.0)
    np.testing.assert_array_equal(same.boxes, d.boxes)
    np.testing.assert_array_equal(same.labels, d.labels)
    one = det.detect(photo, text="a cat", box_threshold=0.0)  # a new prompt: the classes change
    assert len(one) > 0 and set(one.labels) == {"a cat"}
    assert len(det.detect(photo, text=PROMPT, box_threshold=1.0)) == 0  # nothing found: empty
    for empty in ("", " . ", []):
        with pytest.raises(PromptError, match="empty"):
            det.detect(photo, text=empty)
    with pytest.raises(PromptError, match="text="):
        det.detect(photo)
    with pytest.raises(ValueError, match="box_threshold"):
        det.detect(photo, text=PROMPT, box_threshold=-0.1)


def test_stand_in_text_encoder_is_deterministic():
    from samkit.detectors.yoloe import PhraseHashEncoder

    enc = PhraseHashEncoder()
    a = enc(["a dog", "a cat"], "cpu")
    assert tuple(a.shape) == (2, 512)
    np.testing.assert_allclose(a.norm(dim=-1).numpy(), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(enc(["a cat"], "cpu")[0].numpy(), a[1].numpy())  # per phrase
    assert not np.allclose(a[0].numpy(), a[1].numpy())


def test_random_build_is_seeded_and_has_no_tiny_config():
    import torch

    a = load_detector("yoloe_11s", "random", device="cpu", seed=1).model.state_dict()
    b = _det().model.state_dict()
    key = "model.0.conv.weight"
    assert not torch.equal(a[key], b[key])
    with pytest.raises(ValueError, match="yoloe_11s is the small one"):
        load_detector("yoloe_11s", "random", config="tiny")


# ---------------------------------------------------------------------- parity
def test_yoloe_parity_with_ultralytics(photo, tmp_path, monkeypatch, fake_clip):
    """Our detector on a saved checkpoint + text encoder file equals ultralytics' own
    ``YOLOE(path)`` + ``set_classes(names, get_text_pe(names))`` + ``predict`` on the same files."""
    from samkit.backends.ultralytics import import_ultralytics
    from samkit.detectors.yoloe import MobileClipEncoder, save_checkpoint

    folder = tmp_path / "ckpt"
    folder.mkdir()
    path = save_checkpoint(_det().model, folder / "yoloe-11s-seg.pt", task="segment")
    _save_fake_text_encoder(folder / "mobileclip_blt.ts")
    det = load_detector("yoloe_11s", checkpoint=path, device="cpu")
    assert det.weights.kind == "pretrained" and det.weights.official is None
    assert isinstance(det.processor, MobileClipEncoder)
    assert det.processor.path == folder / "mobileclip_blt.ts"  # found beside the .pt, not downloaded
    det.imgsz = IMGSZ
    ours = det.detect(photo, text=PROMPT, box_threshold=0.0)

    ultralytics = import_ultralytics()
    monkeypatch.chdir(folder)  # ultralytics finds "mobileclip_blt.ts" here instead of downloading it
    ref_model = ultralytics.YOLOE(str(path))
    ref_model.set_classes(PHRASES, ref_model.get_text_pe(PHRASES))
    ref = ref_model.predict(
        np.ascontiguousarray(photo[..., ::-1]), conf=0.0, iou=0.7, imgsz=IMGSZ, device="cpu", verbose=False
    )[0]
    boxes, scores = _sorted_ref(ref.boxes.xyxy.numpy(), ref.boxes.conf.numpy(), *photo.shape[:2])
    order = np.argsort(-ref.boxes.conf.numpy(), kind="stable")
    assert len(ours) == len(scores) > 0
    np.testing.assert_allclose(ours.scores, scores, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours.boxes, boxes, rtol=1e-5, atol=1e-3)
    assert list(ours.labels) == [PHRASES[int(c)] for c in ref.boxes.cls.numpy()[order]]


# ---------------------------------------------------------------------- loading errors
def test_missing_checkpoint_is_a_clear_error(isolated_checkpoints):
    with pytest.raises(CheckpointError, match="samkit weights download yoloe_11s"):
        load_detector("yoloe_11s", download=False)


def test_missing_clip_tokenizer_is_a_clear_error(tmp_path, monkeypatch):
    from samkit.detectors.yoloe import save_checkpoint

    path = save_checkpoint(_det().model, tmp_path / "yoloe-11s-seg.pt", task="segment")
    monkeypatch.setitem(sys.modules, "clip", None)  # as if not installed
    with pytest.raises(CheckpointError, match="clip-anytorch"):
        load_detector("yoloe_11s", checkpoint=path, device="cpu")


def test_text_encoder_is_found_beside_or_in_the_folder(tmp_path, isolated_checkpoints):
    from samkit.detectors.yoloe import text_encoder_path

    pt = tmp_path / "yoloe-11s-seg.pt"
    with pytest.raises(CheckpointError, match="mobileclip_blt.ts"):
        text_encoder_path(pt, download=False)
    isolated_checkpoints.mkdir(parents=True, exist_ok=True)
    (isolated_checkpoints / "mobileclip_blt.ts").write_bytes(b"x")
    assert text_encoder_path(pt, download=False) == isolated_checkpoints / "mobileclip_blt.ts"
    (tmp_path / "mobileclip_blt.ts").write_bytes(b"x")
    assert text_encoder_path(pt, download=False) == tmp_path / "mobileclip_blt.ts"


def test_wrong_checkpoint_is_a_clear_error(tmp_path, fake_clip):
    from samkit.detectors.yolo import save_checkpoint

    yolo = load_detector("yolo11n", "random", device="cpu")
    path = save_checkpoint(yolo.model, tmp_path / "yolo11n.pt")
    _save_fake_text_encoder(tmp_path / "mobileclip_blt.ts")
    with pytest.raises(CheckpointError, match="does not fit yoloe_11s"):
        load_detector("yoloe_11s", checkpoint=path, device="cpu")


# ---------------------------------------------------------------------- sizes
def _check_counts(name: str) -> None:
    """YOLOE-11 re-parameterized (80 text embeddings folded in, SAVPE dropped) is YOLO11-seg: its
    count must match the published one (docs, rounded to 0.1M)."""
    from samkit.detectors.yoloe import fused_num_parameters

    det = _det(name)
    fused = fused_num_parameters(det.model) / 1e6
    assert abs(fused - det.spec.params_published_m) < 0.1
    assert det.num_parameters() / 1e6 > fused + 3  # + RepRTA text head and SAVPE


def test_yoloe_11s_counts_published_params():
    _check_counts("yoloe_11s")


@pytest.mark.slow
def test_yoloe_11l_counts_published_params(photo):
    _check_counts("yoloe_11l")
    d = _det("yoloe_11l").detect(photo, text=PROMPT, box_threshold=0.0)
    assert len(d) > 0 and set(d.labels) <= set(PHRASES)
