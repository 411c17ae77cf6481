"""EfficientSAM (samkit's own implementation) against golden outputs of the official code.

The official code (github.com/yformer/EfficientSAM) is not a package and cannot run in CI, so
``tests/data/efficient_sam/make_golden.py`` ran it once on a deterministic checkpoint derived
from the official key names and shapes and saved its outputs. These tests derive the same
checkpoint (same function, from samkit's keys and shapes), load it through ``samkit.load`` and
compare: same weights in, the official logits and scores out.
"""

from __future__ import annotations

import hashlib
import io
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import samkit
from samkit.errors import CheckpointError, DownloadError, UnsupportedError
from samkit.loading import adapter_class
from samkit.registry import REGISTRY
from samkit.weights import download, sha256_file

DATA = Path(__file__).resolve().parents[1] / "data" / "efficient_sam"
sys.path.insert(0, str(DATA))

from deterministic import deterministic_state_dict, save_checkpoint  # noqa: E402

#: float32 arithmetic in the same order as upstream; batched kernels may differ in the last bits
ATOL, RTOL = 2e-5, 1e-5


def _shapes(name: str) -> dict[str, tuple[int, ...]]:
    """Keys and shapes of samkit's architecture of ``name`` (built on the meta device)."""
    cls = adapter_class(REGISTRY[name])
    with torch.device("meta"):
        model = cls.build_architecture(REGISTRY[name])
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _golden(arch: str) -> dict[str, np.ndarray]:
    with np.load(DATA / f"golden_{arch}.npz") as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    return _golden("vitt")


@pytest.fixture(scope="module")
def vitt_file(tmp_path_factory) -> Path:
    return save_checkpoint(_shapes("efficient_sam_vitt"), tmp_path_factory.mktemp("esam") / "efficient_sam_vitt.pt")


@pytest.fixture(scope="module")
def vitt(vitt_file, golden):
    """efficient_sam_vitt with the deterministic checkpoint, the golden image set (one encoder run)."""
    model = samkit.load("efficient_sam_vitt", checkpoint=vitt_file, device="cpu")
    model.set_image(golden["image"])
    return model


def _check(
    name: str, g: dict, low_res: np.ndarray, logits: np.ndarray, scores: np.ndarray, s: int = 4, t: int = 2
) -> None:
    """Compare (Q, 3, ...) outputs with the golden prompt ``name`` (strided subsets and sums)."""
    np.testing.assert_allclose(scores, g[f"{name}_scores"], atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(low_res[..., ::s, ::s], g[f"{name}_lowres"], atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(
        low_res.astype(np.float64).sum(axis=(-2, -1)), g[f"{name}_lowres_sum"], rtol=1e-5, atol=1e-2
    )
    np.testing.assert_allclose(
        np.abs(low_res.astype(np.float64)).sum(axis=(-2, -1)), g[f"{name}_lowres_abs"], rtol=1e-5, atol=1e-2
    )
    np.testing.assert_allclose(logits[..., ::t, ::t], g[f"{name}_logits"], atol=ATOL, rtol=RTOL)


# ----------------------------------------------------------------------------- architecture
@pytest.mark.parametrize("arch", ["vitt", "vits"])
def test_keys_shapes_and_parameters_equal_the_official_model(arch):
    g = _golden(arch)
    shapes = _shapes(f"efficient_sam_{arch}")
    assert [f"{k} {list(v)}" for k, v in shapes.items()] == list(g["state_keys"])
    spec = REGISTRY[f"efficient_sam_{arch}"]
    with torch.device("meta"):
        n = sum(p.numel() for p in adapter_class(spec).build_architecture(spec).parameters())
    assert n == int(g["params_official"])
    published = spec.params_published_m * 1e6
    assert abs(n - published) / published < 0.01


def test_random_weights_load_and_are_seeded():
    a = samkit.load("efficient_sam_vitt", weights="random", seed=3, device="cpu")
    b = samkit.load("efficient_sam_vitt", weights="random", seed=3, device="cpu")
    assert a.weights.kind == "random" and a.weights.seed == 3
    assert a.family == "efficient_sam" and a.num_parameters() == 10_223_204
    for (k, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(x, y), k
    assert a.capabilities == frozenset({"points", "box", "multimask", "automatic"})


# ----------------------------------------------------------------------------- parity
@pytest.mark.parametrize("name", ["point", "points", "box"])
def test_predict_matches_official(vitt, golden, name):
    coords, labels = golden[f"{name}_coords"][0], golden[f"{name}_labels"][0]
    if name == "box":
        kwargs = {"box": coords.reshape(4)}
    else:
        kwargs = {"point_coords": coords, "point_labels": labels}
    logits, scores, low_res = vitt.predict(**kwargs, multimask_output=True, return_logits=True)
    assert logits.shape == (3, 120, 180) and low_res.shape == (3, 256, 256) and scores.shape == (3,)
    assert logits.dtype == np.float32 and scores.dtype == np.float32
    _check(name, golden, low_res[None], logits[None], scores[None])
    masks, scores_b, _ = vitt.predict(**kwargs, multimask_output=True)
    assert masks.dtype == bool and np.array_equal(masks, logits >= 0)
    np.testing.assert_array_equal(scores_b, scores)


@pytest.mark.parametrize("name", ["point", "box"])
def test_single_mask_is_the_official_best_candidate(vitt, golden, name):
    """multimask_output=False = the first mask after the official notebook's sort by IoU."""
    coords = golden[f"{name}_coords"][0]
    kwargs = (
        {"box": coords.reshape(4)}
        if name == "box"
        else {"point_coords": coords, "point_labels": golden[f"{name}_labels"][0]}
    )
    logits, scores, low_res = vitt.predict(**kwargs, multimask_output=False, return_logits=True)
    best = int(golden[f"{name}_order"][0, 0])
    assert logits.shape == (1, 120, 180) and scores.shape == (1,) and low_res.shape == (1, 256, 256)
    np.testing.assert_allclose(scores[0], golden[f"{name}_scores"][0, best], atol=ATOL)
    np.testing.assert_allclose(low_res[0, ::4, ::4], golden[f"{name}_lowres"][0, best], atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(logits[0, ::2, ::2], golden[f"{name}_logits"][0, best], atol=ATOL, rtol=RTOL)


def test_predict_boxes_is_batched_and_matches_official(vitt, golden):
    boxes = golden["boxes_coords"].reshape(-1, 4)
    masks, scores, low_res = vitt.predict_boxes(boxes, multimask_output=True)
    assert masks.shape == (2, 3, 120, 180) and masks.dtype == bool
    logits = vitt.model.upsample(torch.from_numpy(low_res), (120, 180)).numpy()
    _check("boxes", golden, low_res, logits, scores)
    assert np.array_equal(masks, logits >= 0)
    one, one_scores, _ = vitt.predict_boxes(boxes, multimask_output=False)
    best = golden["boxes_order"][:, 0]
    assert one.shape == (2, 1, 120, 180)
    np.testing.assert_allclose(one_scores[:, 0], golden["boxes_scores"][[0, 1], best], atol=ATOL)
    assert np.array_equal(one[:, 0], masks[[0, 1], best])


def test_predict_logits_batch_matches_official(vitt, golden):
    """The batched hook GridMaskGenerator uses: Q point prompts in one decoder call."""
    logits, scores = vitt._predict_logits_batch(golden["grid_coords"], golden["grid_labels"], True)
    assert isinstance(logits, torch.Tensor) and logits.dtype == torch.float32
    assert logits.shape == (4, 3, 120, 180) and scores.shape == (4, 3)
    np.testing.assert_allclose(scores.numpy(), golden["grid_scores"], atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(logits.numpy()[..., ::2, ::2], golden["grid_logits"], atol=ATOL, rtol=RTOL)
    _, best = vitt._predict_logits_batch(golden["grid_coords"], golden["grid_labels"], False)
    np.testing.assert_allclose(best.numpy()[:, 0], golden["grid_scores"].max(axis=1), atol=ATOL)


def test_more_than_six_points_is_a_clear_error_not_a_silent_cut(vitt):
    """The official model would drop points 7 and 8; samkit refuses them, naming the limit."""

    rng = np.random.default_rng(0)
    coords = rng.uniform([0, 0], [179, 119], size=(8, 2))
    labels = np.array([1, 0, 1, 1, 0, 1, 0, 0])
    with pytest.raises(UnsupportedError, match="at most 6 prompt points .* got 8"):
        vitt.predict(coords, labels)
    with pytest.raises(UnsupportedError, match="a box counts as 2"):
        vitt.predict(coords[:5], labels[:5], box=[10, 10, 100, 90])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        masks, scores, _ = vitt.predict(coords[:6], labels[:6])
    assert masks.shape == (3, 120, 180) and scores.shape == (3,)


def test_points_and_box_together(vitt):
    """Points then the box's two corner points, in one prompt (up to 6 points in all)."""
    logits, _, _ = vitt.predict([[90, 60]], [1], box=[30, 20, 150, 100], return_logits=True)
    assert logits.shape == (3, 120, 180) and np.isfinite(logits).all()


# ----------------------------------------------------------------------------- errors
# the interface's errors (mask_input unsupported, bad labels / points / boxes, no prompt, predict
# before set_image) are checked for every registered model in tests/models/test_contract.py


def test_wrong_checkpoints_raise_checkpoint_error(tmp_path):
    vits = save_checkpoint(_shapes("efficient_sam_vits"), tmp_path / "vits.pt")
    with pytest.raises(CheckpointError, match="looks like a checkpoint for 'efficient_sam_vits'"):
        samkit.load("efficient_sam_vitt", checkpoint=vits, device="cpu")
    flat = tmp_path / "flat.pt"
    torch.save(deterministic_state_dict(_shapes("efficient_sam_vitt")), flat)
    with pytest.raises(CheckpointError, match="'model' state dict"):
        samkit.load("efficient_sam_vitt", checkpoint=flat, device="cpu")
    partial = tmp_path / "partial.pt"
    shapes = _shapes("efficient_sam_vitt")
    del shapes["prompt_encoder.invalid_points.weight"]
    save_checkpoint(shapes, partial)
    with pytest.raises(CheckpointError, match="1 missing keys"):
        samkit.load("efficient_sam_vitt", checkpoint=partial, device="cpu")


# ----------------------------------------------------------------------------- download
def _zip_with(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zipped_checkpoint_is_extracted_on_download(tmp_path, isolated_checkpoints):
    spec = REGISTRY["efficient_sam_vits"]
    assert spec.archive == "zip" and spec.url.endswith("efficient_sam_vits.pt.zip")
    payload = b"not really a checkpoint, but bytes to extract" * 100
    archive = tmp_path / "efficient_sam_vits.pt.zip"
    archive.write_bytes(_zip_with({"__MACOSX/._efficient_sam_vits.pt": b"junk", "efficient_sam_vits.pt": payload}))
    local = spec.with_files(url=archive.as_uri())
    dest = download(local, progress=False)
    assert dest == isolated_checkpoints / "efficient_sam_vits.pt"
    assert dest.read_bytes() == payload
    assert [p.name for p in isolated_checkpoints.iterdir() if p.name.endswith(".part")] == []
    assert sha256_file(dest) == hashlib.sha256(payload).hexdigest()


@pytest.mark.parametrize(
    "content, match",
    [
        (b"this is no zip file", "not a valid zip archive"),
        (_zip_with({"other.pt": b"x"}), "holds no efficient_sam_vits.pt"),
    ],
)
def test_bad_zip_downloads_save_nothing(tmp_path, isolated_checkpoints, content, match):
    archive = tmp_path / "download.zip"
    archive.write_bytes(content)
    local = REGISTRY["efficient_sam_vits"].with_files(url=archive.as_uri())
    with pytest.raises(DownloadError, match=match):
        download(local, progress=False)
    assert list(isolated_checkpoints.iterdir()) in ([], [isolated_checkpoints / ".sha256-cache.json"])


# ----------------------------------------------------------------------------- generate
def test_generate_records_are_the_decoder_outputs_at_their_points(vitt, golden):
    """GridMaskGenerator through the batched hook; open thresholds (random-like weights)."""
    records = vitt.generate(
        golden["image"], points_per_side=2, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0
    )
    assert records and set(records[0]) >= {
        "segmentation",
        "area",
        "bbox",
        "predicted_iou",
        "point_coords",
        "stability_score",
        "crop_box",
    }
    assert vitt.original_size == (120, 180)  # generate leaves the set image alone
    for rec in records:
        seg = rec["segmentation"]
        assert seg.shape == (120, 180) and seg.dtype == bool and rec["area"] == int(seg.sum())
        # one prompt here vs a batch of 4 there: equal up to float rounding of batched kernels
        logits, scores = vitt._predict_logits_batch(np.array([rec["point_coords"]]), [[1]], True)
        i = int(np.abs(scores.numpy()[0] - rec["predicted_iou"]).argmin())
        assert abs(scores[0, i].item() - rec["predicted_iou"]) < 1e-5
        candidate = logits[0, i].numpy()
        differ = seg != (candidate > 0)
        assert differ.sum() <= 5 and np.all(np.abs(candidate[differ]) < 1e-4)


# ----------------------------------------------------------------------------- slow / device
@pytest.mark.slow
def test_vits_matches_official(tmp_path):
    g = _golden("vits")
    path = save_checkpoint(_shapes("efficient_sam_vits"), tmp_path / "efficient_sam_vits.pt")
    model = samkit.load("efficient_sam_vits", checkpoint=path, device="cpu")
    model.set_image(g["image"])
    logits, scores, low_res = model.predict(g["point_coords"][0], g["point_labels"][0], return_logits=True)
    _check("point", g, low_res[None], logits[None], scores[None], s=8, t=4)
    logits, scores, low_res = model.predict(box=g["box_coords"][0].reshape(4), return_logits=True)
    _check("box", g, low_res[None], logits[None], scores[None], s=8, t=4)


@pytest.mark.slow
def test_bfloat16_autocast_on_cpu(vitt_file, golden):
    """dtype="bfloat16": autocast inside, float32 / bool numpy outside, close to the float32 run."""
    model = samkit.load("efficient_sam_vitt", checkpoint=vitt_file, device="cpu", dtype="bfloat16")
    model.set_image(golden["image"])
    logits, scores, low_res = model.predict(golden["point_coords"][0], golden["point_labels"][0], return_logits=True)
    assert logits.dtype == scores.dtype == low_res.dtype == np.float32
    np.testing.assert_allclose(scores, golden["point_scores"][0], atol=0.05)
    np.testing.assert_allclose(low_res[:, ::4, ::4], golden["point_lowres"][0], atol=0.1)
    masks, _, _ = model.predict_boxes(golden["boxes_coords"].reshape(-1, 4))
    assert masks.shape == (2, 1, 120, 180) and masks.dtype == bool
    logits_b, scores_b = model._predict_logits_batch(golden["grid_coords"], golden["grid_labels"])
    assert logits_b.dtype == scores_b.dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_official(vitt_file, golden):
    """On a GPU (TF32 off) the same checkpoint gives the official CPU outputs to float tolerance."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model = samkit.load("efficient_sam_vitt", checkpoint=vitt_file, device="cuda")
    model.set_image(golden["image"])
    logits, scores, low_res = model.predict(golden["point_coords"][0], golden["point_labels"][0], return_logits=True)
    np.testing.assert_allclose(scores, golden["point_scores"][0], atol=1e-3)
    np.testing.assert_allclose(low_res[:, ::4, ::4], golden["point_lowres"][0], atol=2e-3)
    np.testing.assert_allclose(logits[:, ::2, ::2], golden["point_logits"][0], atol=2e-3)
    _, box_scores, _ = model.predict_boxes(golden["boxes_coords"].reshape(-1, 4), True)
    np.testing.assert_allclose(box_scores, golden["boxes_scores"], atol=1e-3)
    half = samkit.load("efficient_sam_vitt", checkpoint=vitt_file, device="cuda", dtype="bfloat16")
    half.set_image(golden["image"])
    hl, hs, hlow = half.predict(golden["point_coords"][0], golden["point_labels"][0], return_logits=True)
    assert hl.dtype == np.float32 and hs.dtype == np.float32 and np.isfinite(hl).all()
