"""EfficientTAM (samkit's build) against golden outputs of the official code, for images and video.

The official code (github.com/yformer/EfficientTAM) is no package and does not run here, so
``tests/data/efficient_tam/make_golden.py`` ran it once per released config on a deterministic
checkpoint derived from the official key names and shapes and saved its outputs. These tests derive
the same checkpoint (same function, from samkit's keys and shapes), load it through ``samkit.load``
and compare: masks equal (a pixel may differ only where its logit is within ``MASK_MARGIN`` of 0),
scores, low-res logits and video logits within ``ATOL`` / ``RTOL``. On the machine that made the
goldens, with one thread as they were made, all of them are bit for bit equal (same float32
operations in the same order; checked with every tolerance set to 0).

Default suite: ``efficienttam_ti`` for images (every prompt kind), ``efficienttam_ti_512x512`` for
images and video (a 1024-pixel video run costs ~80 s on one CPU thread: the full memory attention
over 64x64 tokens), the pooled memory cross-attention of the ``_1`` / ``_2`` models against the
official modules, and every variant's keys and shapes. The other variants' runs are ``slow``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import samkit
from samkit.errors import CheckpointError, PromptError
from samkit.loading import adapter_class
from samkit.registry import REGISTRY

DATA = Path(__file__).resolve().parents[1] / "data"
sys.path.insert(0, str(DATA / "efficient_tam"))

from etam_checkpoint import save_etam_checkpoint  # noqa: E402

#: float32 arithmetic in the official order: bit for bit equal here with one thread, as the goldens
#: were made; another thread count or BLAS build may change the last bits
ATOL, RTOL = 1e-5, 1e-5
#: a mask pixel may differ from the official one only where its logit is this close to 0 (rounding)
MASK_MARGIN = 1e-4
VARIANTS = ["ti", "ti_512x512", "ti_1", "ti_2", "s", "s_512x512", "s_1", "s_2"]
#: the video prompts of make_golden.py: (frame, object id, prompt), pixels of the 48x64 frames
VIDEO_PROMPTS = [
    (0, 1, {"point_coords": [[14.0, 20.0]], "point_labels": [1]}),
    (0, 2, {"box": [40.0, 20.0, 60.0, 40.0]}),
]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One torch thread, as make_golden.py ran the official code (bit for bit equal results)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _assert_masks(masks: np.ndarray, want: np.ndarray, logits: np.ndarray, what: str = "") -> None:
    """``masks == want`` except where ``|logits|`` < `MASK_MARGIN` (a rounding flip at the threshold)."""
    assert masks.shape == want.shape and masks.dtype == want.dtype == bool
    differ = masks != want
    assert not (differ & (np.abs(logits) >= MASK_MARGIN)).any(), f"{what}: {int(differ.sum())} mask pixels differ"


def _golden(variant: str) -> dict[str, np.ndarray]:
    with np.load(DATA / "efficient_tam" / f"golden_efficienttam_{variant}.npz") as f:
        return {k: f[k] for k in f.files}


def _shapes(name: str) -> dict[str, tuple[int, ...]]:
    """Keys and shapes of samkit's architecture of ``name`` (built on the meta device)."""
    spec = REGISTRY[name]
    with torch.device("meta"):
        model = adapter_class(spec).build_architecture(spec)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _load(name: str, folder: Path) -> samkit.models.Segmenter:
    """``name`` with the deterministic checkpoint, saved in the official layout and loaded from the file."""
    path = save_etam_checkpoint(_shapes(name), folder / f"{name}.pt")
    return samkit.load(name, checkpoint=path, device="cpu")


@pytest.fixture(scope="module")
def ti(tmp_path_factory):
    """efficienttam_ti (deterministic checkpoint) with the golden photo set (one encoder run)."""
    g = _golden("ti")
    model = _load("efficienttam_ti", tmp_path_factory.mktemp("etam"))
    model.set_image(g["image"])
    return model, g


@pytest.fixture(scope="module")
def ti_512(tmp_path_factory):
    return _load("efficienttam_ti_512x512", tmp_path_factory.mktemp("etam512")), _golden("ti_512x512")


def _run(model, g: dict, prompt: str, multimask: bool) -> tuple:
    """samkit's call for a golden prompt: ``predict``, or ``predict_points`` / ``predict_boxes`` for
    the batched ones; ``mask``: the ``points`` prompt with its own single-mask low-res logits."""
    if prompt == "point_batch":
        return model.predict_points(g["point_batch_point_coords"], g["point_batch_point_labels"], multimask)
    if prompt == "boxes":
        return model.predict_boxes(g["boxes_box"], multimask)
    if prompt == "mask":
        points = (g["points_point_coords"], g["points_point_labels"])
        _, _, low = model.predict(*points, multimask_output=False)
        return model.predict(*points, mask_input=low, multimask_output=multimask)
    kwargs = {k: g[f"{prompt}_{k}"] for k in ("point_coords", "point_labels", "box") if f"{prompt}_{k}" in g}
    return model.predict(**kwargs, multimask_output=multimask)


def _logits(model, g: dict, prompt: str, multimask: bool) -> np.ndarray:
    """The image-size logits behind `_run`'s masks (batched prompts: one ``predict`` per query)."""
    if prompt == "point_batch":
        pairs = zip(g["point_batch_point_coords"], g["point_batch_point_labels"])
        return np.stack([model.predict(c, lab, multimask_output=multimask, return_logits=True)[0] for c, lab in pairs])
    if prompt == "boxes":
        return np.stack(
            [model.predict(box=b, multimask_output=multimask, return_logits=True)[0] for b in g["boxes_box"]]
        )
    if prompt == "mask":
        points = (g["points_point_coords"], g["points_point_labels"])
        _, _, low = model.predict(*points, multimask_output=False)
        return model.predict(*points, mask_input=low, multimask_output=multimask, return_logits=True)[0]
    kwargs = {k: g[f"{prompt}_{k}"] for k in ("point_coords", "point_labels", "box") if f"{prompt}_{k}" in g}
    return model.predict(**kwargs, multimask_output=multimask, return_logits=True)[0]


def _check_image(model, g: dict, key: str) -> None:
    """samkit's outputs for golden run ``key`` (``"<prompt>_mm<0|1>"``): masks equal, scores and
    low-res logits (strided values and sums) within tolerance."""
    prompt, mm = key.rsplit("_mm", 1)
    masks, scores, low = _run(model, g, prompt, bool(int(mm)))
    stride = model.model.image_size // 256 * (2 if prompt in ("point_batch", "boxes") else 1)
    want = g[f"{key}_masks"]
    if masks.shape != want.shape or (masks != want).any():  # how close to the threshold are they?
        _assert_masks(masks, want, _logits(model, g, prompt, bool(int(mm))), key)
    np.testing.assert_allclose(scores, g[f"{key}_scores"], atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(low[..., ::stride, ::stride], g[f"{key}_lowres"], atol=ATOL, rtol=RTOL)
    low64 = low.astype(np.float64)
    np.testing.assert_allclose(low64.sum(axis=(-2, -1)), g[f"{key}_lowres_sum"], rtol=1e-5, atol=1e-2)
    np.testing.assert_allclose(np.abs(low64).sum(axis=(-2, -1)), g[f"{key}_lowres_abs"], rtol=1e-5, atol=1e-2)


def _image_keys(variant: str) -> list[str]:
    return sorted(k[: -len("_masks")] for k in _golden(variant) if k.endswith("_masks"))


def _check_video(model, g: dict) -> None:
    """The tracker on the golden frames and prompts: every mask equal to the official one, the
    logits behind them (recorded where the tracker thresholds them) within tolerance."""
    tracker = model.video(g["video_frames"])
    logits: list[np.ndarray] = []
    threshold = tracker._masks

    def record(obj_ids, out):
        logits.append(out[:, 0].float().cpu().numpy())
        return threshold(obj_ids, out)

    tracker._masks = record
    for i, (frame, oid, prompt) in enumerate(VIDEO_PROMPTS):
        masks = tracker.add_prompt(frame, oid, **prompt)
        ref = g[f"video_prompt{i}_logits"]
        assert list(masks) == g[f"video_prompt{i}_ids"].tolist()
        _assert_masks(np.stack(list(masks.values())), ref > 0, ref, f"prompt {i}")
        np.testing.assert_allclose(logits[-1], ref, atol=ATOL, rtol=RTOL)
    first = len(logits)
    tracked = tracker.track()
    ref = g["video_track_logits"]
    assert list(tracked) == g["video_track_frames"].tolist()
    for t, frame in enumerate(tracked):
        assert list(tracked[frame]) == g["video_track_ids"].tolist()
        _assert_masks(np.stack(list(tracked[frame].values())), ref[t] > 0, ref[t], f"frame {frame}")
    np.testing.assert_allclose(np.stack(logits[first:]), ref, atol=ATOL, rtol=RTOL)
    # the golden tracks are not trivial: no "no object" frame (-1024 logits), masks neither empty nor full
    assert ref.min() > -1000 and 0.0 < (ref > 0).mean() < 1.0


# ----------------------------------------------------------------------------- architecture
@pytest.mark.parametrize("variant", VARIANTS)
def test_keys_shapes_and_parameters_equal_the_official_model(variant):
    g = _golden(variant)
    name = f"efficienttam_{variant}"
    shapes = _shapes(name)
    assert [f"{k} {list(v)}" for k, v in shapes.items()] == list(g["state_keys"])
    spec = REGISTRY[name]
    with torch.device("meta"):
        model = adapter_class(spec).build_architecture(spec)
    assert sum(p.numel() for p in model.parameters()) == int(g["params_official"])
    # what the keys do not show, against the official config the golden ran: input size, cross-attention
    config = str(g["config"])
    assert f"image_size: {spec.input_size}\n" in config and model.image_size == spec.input_size
    cross = model.memory_attention.layers[0].cross_attn_image
    official = [v for v in (1, 2) if f"transformer.EfficientRoPEAttention{v}\n" in config]
    assert getattr(cross, "variant", None) == (official[0] if official else None)


def test_random_weights_load_and_are_seeded():
    a = samkit.load("efficienttam_ti", weights="random", seed=3, device="cpu")
    b = samkit.load("efficienttam_ti", weights="random", seed=3, device="cpu")
    assert a.weights.kind == "random" and a.weights.seed == 3
    assert a.family == "efficient_tam" and a.num_parameters() == 17_866_018
    for (k, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(x, y), k
    assert a.capabilities == frozenset({"points", "box", "mask_input", "multimask", "automatic", "video"})


# ----------------------------------------------------------------------------- pooled attention
@pytest.mark.parametrize("frames", [3, 1])
@pytest.mark.parametrize("variant", [0, 1, 2])
def test_memory_cross_attention_matches_official(variant, frames):
    """SAM 2's RoPEAttention (0) and the pooled variants 1 / 2 against the official modules (2 heads,
    8x8 grid, 4 object-pointer tokens): 3 memory frames are pooled, 1 is not."""
    from samkit.models.efficient_tam.pooled_attention import pooled_rope_attention_class
    from samkit.models.sam2 import import_sam2

    import_sam2()
    from sam2.modeling.sam.transformer import RoPEAttention

    with np.load(DATA / "efficient_tam" / "golden_attention.npz") as f:
        g = {k: f[k] for k in f.files}
    kwargs = dict(embedding_dim=32, num_heads=2, dropout=0.1, kv_in_dim=16, rope_k_repeat=True, feat_sizes=(8, 8))
    module = pooled_rope_attention_class()(variant=variant, **kwargs) if variant else RoPEAttention(**kwargs)
    module.load_state_dict({k[len("weight.") :]: torch.from_numpy(v) for k, v in g.items() if k.startswith("weight.")})
    q, k, v = (torch.from_numpy(g[f"f{frames}_{x}"]) for x in "qkv")
    with torch.no_grad():
        out = module.eval()(q, k, v, num_k_exclude_rope=4).numpy()
    want = g[f"f{frames}_{['rope', 'v1', 'v2'][variant]}"]
    np.testing.assert_allclose(out, want, atol=ATOL, rtol=RTOL)
    if frames == 3 and variant:  # pooling changes the result: the test tells the variants apart
        assert np.abs(want - g["f3_rope"]).max() > 1e-3 and np.abs(g["f3_v1"] - g["f3_v2"]).max() > 1e-3


def test_pooled_attention_checks_its_variant_and_pickles():
    import pickle

    from samkit.models.efficient_tam import pooled_attention

    cls = pooled_attention.pooled_rope_attention_class()
    with pytest.raises(ValueError, match="variant must be one of"):
        cls(embedding_dim=32, num_heads=1, variant=3)
    module = cls(embedding_dim=32, num_heads=1, variant=2, rope_k_repeat=True, kv_in_dim=16, feat_sizes=(8, 8))
    again = pickle.loads(pickle.dumps(module))
    assert type(again) is pooled_attention.PooledRoPEAttention and again.variant == 2


# ----------------------------------------------------------------------------- image parity
@pytest.mark.parametrize("key", _image_keys("ti"))
def test_ti_image_matches_official(ti, key):
    model, g = ti
    _check_image(model, g, key)


def test_ti_512_image_and_video_match_official(ti_512):
    """The 512-pixel model: 128x128 low-res logits (and mask_input), and video tracking."""
    model, g = ti_512
    model.set_image(g["image"])
    for key in _image_keys("ti_512x512"):
        _check_image(model, g, key)
    _, _, low = model.predict(point_coords=[[90, 60]], point_labels=[1])
    assert low.shape == (3, 128, 128)
    _check_video(model, g)


def test_set_images_embeds_a_batch_as_set_image(ti_512):
    """sam2's ``set_image_batch`` through `set_images` (one encoder pass, 512-pixel features)."""
    model, g = ti_512
    model.set_images([g["image"], g["image"][::-1].copy()])
    model.select_image(0)
    for key in ("point_mm1", "box_mm0"):
        _check_image(model, g, key)
    model.select_image(1)
    masks, _, _ = model.predict(point_coords=[[90, 60]], point_labels=[1])
    model.set_image(g["image"][::-1].copy())
    np.testing.assert_array_equal(model.predict(point_coords=[[90, 60]], point_labels=[1])[0], masks)


def test_512_mask_input_must_be_128(ti_512):
    model, g = ti_512
    model.set_image(g["image"])
    with pytest.raises(PromptError, match=r"\(1, 128, 128\) for efficienttam_ti_512x512"):
        model.predict(point_coords=[[90, 60]], point_labels=[1], mask_input=np.zeros((1, 256, 256), np.float32))
    with pytest.raises(PromptError, match="NaN"):
        model.predict(mask_input=np.full((128, 128), np.nan, np.float32))
    masks, scores, low = model.predict(mask_input=np.zeros((128, 128), np.float32), multimask_output=False)
    assert masks.shape == (1, 120, 180) and scores.shape == (1,) and low.shape == (1, 128, 128)


def test_video_tracker_shares_the_segmenter_weights(ti_512):
    model, g = ti_512
    tracker = model.video(g["video_frames"][:2])
    ours = dict(model.model.named_parameters())
    for name, p in tracker.predictor.named_parameters():
        assert p.data_ptr() == ours[name].data_ptr(), name
    assert type(tracker.predictor).__name__ == "SAM2VideoPredictor" and tracker.predictor.fill_hole_area == 8


# ----------------------------------------------------------------------------- errors
def test_wrong_checkpoints_raise_checkpoint_error(tmp_path):
    small = save_etam_checkpoint(_shapes("efficienttam_s"), tmp_path / "s.pt")
    with pytest.raises(CheckpointError, match="looks like a checkpoint for 'efficienttam_s'"):
        samkit.load("efficienttam_ti", checkpoint=small, device="cpu")
    shapes = _shapes("efficienttam_ti")
    del shapes["image_encoder.neck.convs.0.norm_1.bias"]
    partial = save_etam_checkpoint(shapes, tmp_path / "partial.pt")
    with pytest.raises(CheckpointError, match="1 missing keys"):
        samkit.load("efficienttam_ti", checkpoint=partial, device="cpu")


# ----------------------------------------------------------------------------- slow
@pytest.mark.slow
@pytest.mark.parametrize("variant", ["ti", "ti_1", "ti_2", "s", "s_512x512", "s_1", "s_2"])
def test_variant_matches_official(tmp_path, variant):
    """Every other released model: its image golden (where it has one) and its video golden."""
    g = _golden(variant)
    model = _load(f"efficienttam_{variant}", tmp_path)
    if "image" in g:
        model.set_image(g["image"])
        for key in _image_keys(variant):
            _check_image(model, g, key)
    _check_video(model, g)
