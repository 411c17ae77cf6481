"""The segmentation service (`samkit.serve`), tested the way a client uses it: FastAPI's test client
for every endpoint and every bad input, and one real uvicorn process on 127.0.0.1 with concurrent
clients. Every returned mask is compared with a direct `predict` on the same image, so a mask
computed on another client's image would fail the test. mobile_sam with random weights, 64x96
images (the encoder still runs at 1024x1024)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from samkit.errors import PromptError
from samkit.prompts import validate_prompts
from samkit.serve.cache import MIB, CacheEntry, EmbeddingCache, held_bytes
from samkit.serve.codecs import mask_to_png, mask_to_rle, png_to_mask, rle_to_mask
from samkit.wording import RANDOM_WEIGHTS_WARNING

H, W = 64, 96
N_IMAGES = 3
PROMPTS = [  # one click, a click and a background click, a box
    {"points": [[40, 30]], "labels": [1]},
    {"points": [[20, 10], [70, 50]], "labels": [1, 0]},
    {"box": [10, 5, 80, 60]},
]
GEN_PARAMS = {"points_per_side": 2, "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}


def make_image(i: int) -> np.ndarray:
    """Image ``i``: seeded noise with a bright rectangle whose place depends on ``i``."""
    rng = np.random.default_rng(100 + i)
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    y, x = 8 + 10 * i, 6 + 18 * i
    image[y : y + 20, x : x + 24] = (250, 240 - 50 * i, 30 + 50 * i)  # i < 4
    return image


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def direct_kwargs(prompt: dict) -> dict:
    """A request's prompt as `Segmenter.predict` keyword arguments."""
    return {"point_coords": prompt.get("points"), "point_labels": prompt.get("labels"), "box": prompt.get("box")}


def decode(response: dict) -> np.ndarray:
    """The masks of a predict response as a (C, H, W) bool array."""
    to_mask = rle_to_mask if response["mask_format"] == "rle" else png_to_mask
    return np.stack([to_mask(m) for m in response["masks"]])


def assert_same_prediction(response: dict, reference: tuple, exact: bool = True) -> None:
    masks, scores, _ = reference
    got = decode(response)
    assert got.shape == masks.shape
    assert np.array_equal(got, masks)
    if exact:
        assert response["scores"] == [float(s) for s in scores]
    else:
        np.testing.assert_allclose(response["scores"], scores, rtol=0, atol=1e-5)


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def model(random_model):
    return random_model("mobile_sam")


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return [make_image(i) for i in range(N_IMAGES)]


@pytest.fixture(scope="module")
def files(images) -> list[bytes]:
    return [png_bytes(im) for im in images]


@pytest.fixture(scope="module")
def direct(model, images):
    """Per image, a sibling with that image set (independent of the server) and its reference
    predictions of every `PROMPTS` entry (multimask)."""
    out = []
    for image in images:
        sibling = model._sibling()
        sibling.set_image(image)
        refs = [sibling.predict(**direct_kwargs(p), multimask_output=True) for p in PROMPTS]
        out.append((sibling, refs))
    return out


@pytest.fixture(scope="module")
def client(model):
    from fastapi.testclient import TestClient

    from samkit.serve import create_app

    with TestClient(create_app(model, cache_mib=256, max_upload_mib=1)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def ids(client, files) -> list[str]:
    """Image ids of the N_IMAGES images, uploaded once to ``client``."""
    out = []
    for data in files:
        r = client.post("/images", files={"file": ("image.png", data, "image/png")})
        assert r.status_code == 200, r.text
        out.append(r.json()["image_id"])
    return out


def metrics(client) -> dict:
    r = client.get("/metrics")
    assert r.status_code == 200
    return r.json()


# ------------------------------------------------------------------------------------ unit parts
def test_references_differ_between_images(direct):
    """The cross-talk checks below mean something only if each image gives its own masks."""
    for k in range(len(PROMPTS)):
        refs = [d[1][k] for d in direct]
        for i in range(N_IMAGES):
            for j in range(i + 1, N_IMAGES):
                assert not np.array_equal(refs[i][0], refs[j][0]), (k, i, j)
                assert not np.array_equal(refs[i][1], refs[j][1]), (k, i, j)


def test_mask_codecs_round_trip():
    rng = np.random.default_rng(0)
    mask = rng.random((H, W)) > 0.5
    rle = mask_to_rle(mask)
    assert rle["size"] == [H, W] and isinstance(rle["counts"], str)
    from pycocotools import mask as mask_utils

    assert mask_utils.area({"size": rle["size"], "counts": rle["counts"].encode()}) == mask.sum()
    assert np.array_equal(rle_to_mask(rle), mask)
    assert np.array_equal(png_to_mask(mask_to_png(mask)), mask)


def test_non_image_bytes_are_an_image_error_after_ultralytics_patched_pil():
    """ultralytics, once imported (FastSAM, YOLO), wraps PIL's Image.open to import a HEIF plugin
    when PIL cannot identify bytes; without that plugin the upload is still just "not an image"."""
    from samkit.backends.ultralytics import import_ultralytics
    from samkit.errors import ImageError
    from samkit.serve.codecs import decode_image

    import_ultralytics()
    for data in (b"this is not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 40):
        with pytest.raises(ImageError, match="image"):
            decode_image(data)
    buf = io.BytesIO()
    Image.fromarray(make_image(0)).save(buf, format="PNG")
    assert np.array_equal(decode_image(buf.getvalue()), make_image(0))


class _Fake:
    """A stand-in segmenter for cache tests: no model, only a byte size."""


def fake_entry(image_id: str, mib: float) -> CacheEntry:
    return CacheEntry(image_id, _Fake(), np.zeros((1, 1, 3), np.uint8), int(mib * MIB))


def test_cache_lru_order_budget_and_counters():
    cache = EmbeddingCache(budget_mib=10)
    assert cache.put(fake_entry("a", 4)) == [] and cache.put(fake_entry("b", 4)) == []
    assert cache.get("a") is not None  # a is now the most recently used
    assert cache.put(fake_entry("c", 4)) == ["b"]  # 12 MiB > 10: the least recently used goes
    assert cache.ids() == ["a", "c"]
    assert cache.get("b") is None
    assert (cache.hits, cache.misses, cache.evictions) == (1, 1, 1)
    assert cache.put(fake_entry("huge", 50)) == ["a", "c"]  # the newest stays, even alone over budget
    assert cache.ids() == ["huge"] and cache.stats()["used_mib"] == pytest.approx(50)
    with pytest.raises(ValueError, match="budget"):
        EmbeddingCache(0)


def test_cache_keeps_recent_logits_and_counts_them():
    cache = EmbeddingCache(budget_mib=100, max_logits_per_image=2)
    entry = fake_entry("a", 1)
    cache.put(entry)
    logits = np.zeros((3, 256, 256), np.float32)
    first, _ = cache.add_logits("a", logits, best=2)
    second, _ = cache.add_logits("a", logits + 1, best=0)
    third, _ = cache.add_logits("a", logits + 2, best=1)
    assert len({first, second, third}) == 3
    assert cache.get_logits(entry, first) is None  # only the last 2 are kept
    kept, best = cache.get_logits(entry, third)
    assert best == 1 and kept[0, 0, 0] == 2
    assert entry.nbytes == MIB + 2 * logits.nbytes
    assert cache.add_logits("gone", logits) == (None, [])


def test_held_bytes_counts_tensors_and_arrays_once_and_skips_modules(model):
    import torch

    sibling = model._sibling()
    assert held_bytes(sibling._predictor, sibling._rgb) == 0  # no image set: nothing held

    class Holder:
        pass

    holder = Holder()
    t, a = torch.zeros(10, dtype=torch.float32), np.zeros(5, np.uint8)
    holder.__dict__.update(t=t, again=t[2:], nested={"x": [a, (a,)]}, module=torch.nn.Linear(100, 100))
    assert held_bytes(holder, a) == 40 + 5


def test_embedding_bytes_of_a_cached_image(client, ids, images):
    entry = client.app.state.service.cache.get(ids[0], count=False)
    features = entry.segmenter._predictor.features  # SamPredictor's (1, 256, 64, 64) float32 embedding
    assert tuple(features.shape) == (1, 256, 64, 64)
    assert entry.embedding_bytes == features.numel() * 4 + images[0].nbytes


def test_import_samkit_and_cli_stay_light():
    code = (
        "import sys, samkit, samkit.cli, samkit.serve; "
        "heavy = [m for m in ('fastapi', 'uvicorn', 'torch') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_cli_serve_options():
    from samkit.cli import build_parser

    ns = build_parser().parse_args(["serve", "--model", "mobile_sam"])
    assert (ns.host, ns.port, ns.cache_mib, ns.weights, ns.device) == ("127.0.0.1", 8000, 2048, "auto", None)
    ns = build_parser().parse_args(
        [
            "serve",
            "--model",
            "sam_vit_b",
            "--device",
            "cuda",
            "--port",
            "9000",
            "--cache-mib",
            "512",
            "--weights",
            "random",
        ]
    )
    assert (ns.device, ns.port, ns.cache_mib, ns.weights) == ("cuda", 9000, 512, "random")


# ------------------------------------------------------------------------------------ endpoints
def test_upload_gives_the_sha256_and_encodes_once(client, files, ids, images):
    assert ids == [hashlib.sha256(d).hexdigest() for d in files]
    before = metrics(client)
    r = client.post("/images", files={"file": ("again.png", files[0], "image/png")})
    assert r.status_code == 200
    assert r.json() == {"image_id": ids[0], "width": W, "height": H, "cached": True, "encoder_ms": None}
    after = metrics(client)
    assert after["encoder_calls"] == before["encoder_calls"]
    assert after["cache_hits"] == before["cache_hits"] + 1
    assert after["cache_misses"] == before["cache_misses"]
    assert after["encoder_calls"] >= N_IMAGES and after["encoder_ms_total"] > 0


@pytest.mark.parametrize("k", range(len(PROMPTS)))
def test_predict_equals_direct_predict_on_every_image(client, ids, direct, k):
    for image_id, (_, refs) in zip(ids, direct):
        r = client.post(f"/images/{image_id}/predict", json={**PROMPTS[k], "multimask": True})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["image_id"] == image_id and body["mask_format"] == "rle"
        assert body["decoder_ms"] > 0 and body["logits_id"]
        assert_same_prediction(body, refs[k])


def test_png_masks_and_single_mask_output(client, ids, direct):
    sibling, _ = direct[1]
    r = client.post(f"/images/{ids[1]}/predict", json={**PROMPTS[0], "multimask": False, "mask_format": "png"})
    assert r.status_code == 200, r.text
    assert r.json()["mask_format"] == "png"
    assert_same_prediction(r.json(), sibling.predict(**direct_kwargs(PROMPTS[0]), multimask_output=False))


def test_a_click_is_one_decoder_pass_on_the_cached_embedding(client, ids):
    before = metrics(client)
    r = client.post(f"/images/{ids[2]}/predict", json=PROMPTS[0])
    assert r.status_code == 200
    after = metrics(client)
    assert after["decoder_calls"] == before["decoder_calls"] + 1
    assert after["encoder_calls"] == before["encoder_calls"]
    assert after["cache_hits"] == before["cache_hits"] + 1
    assert after["decoder_ms_total"] > before["decoder_ms_total"]
    assert after["requests"] >= before["requests"] + 2  # the click and the first /metrics
    assert after["requests_by_route"]["POST /images/{image_id}/predict"] >= 1


def test_logits_id_feeds_the_previous_mask_back(client, ids, direct):
    sibling, refs = direct[0]
    first = client.post(f"/images/{ids[0]}/predict", json=PROMPTS[0]).json()
    best = int(np.argmax(first["scores"]))
    click = {"points": [[40, 30], [80, 10]], "labels": [1, 0]}
    r = client.post(f"/images/{ids[0]}/predict", json={**click, "logits_id": first["logits_id"]})
    assert r.status_code == 200, r.text
    low_res = refs[0][2]
    expected = sibling.predict(
        point_coords=click["points"],
        point_labels=click["labels"],
        mask_input=low_res[best][None],
        multimask_output=True,
    )
    assert_same_prediction(r.json(), expected)
    r = client.post(
        f"/images/{ids[0]}/predict",
        json={**click, "logits_id": first["logits_id"], "logits_index": 2, "multimask": False},
    )
    expected = sibling.predict(
        point_coords=click["points"], point_labels=click["labels"], mask_input=low_res[2][None], multimask_output=False
    )
    assert_same_prediction(r.json(), expected)


def test_generate_returns_the_generators_masks_as_rle(client, ids, images, model):
    r = client.post(f"/images/{ids[1]}/generate", json={"params": GEN_PARAMS})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = model.generate(images[1], **GEN_PARAMS)
    assert len(body["masks"]) == len(expected) > 0
    for got, want in zip(body["masks"], expected):
        assert np.array_equal(rle_to_mask(got["segmentation"]), want["segmentation"])
        assert got["area"] == want["area"] and got["bbox"] == [float(v) for v in want["bbox"]]
        assert got["predicted_iou"] == pytest.approx(float(want["predicted_iou"]))
    assert body["generate_ms"] > 0 and metrics(client)["generate_calls"] >= 1


def test_segment_uploads_and_predicts_in_one_call(client, files, ids, direct):
    r = client.post(
        "/segment", files={"file": ("x.png", files[2], "image/png")}, data={"prompt": json.dumps(PROMPTS[2])}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["image_id"], body["cached"], body["width"], body["height"]) == (ids[2], True, W, H)
    assert_same_prediction(body, direct[2][1][2])


def test_models_health_and_openapi(client, model):
    (info,) = client.get("/models").json()
    assert info == {
        "name": "mobile_sam",
        "family": "mobile_sam",
        "weights": "random",
        "device": "cpu",
        "dtype": "float32",
        "capabilities": sorted(model.capabilities),
        "warning": RANDOM_WEIGHTS_WARNING,
    }
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["model"] == "mobile_sam"
    spec = client.get("/openapi.json").json()
    assert {
        "/images",
        "/images/{image_id}/predict",
        "/images/{image_id}/generate",
        "/segment",
        "/models",
        "/health",
        "/metrics",
    } <= set(spec["paths"])
    assert {"PredictRequest", "PredictResponse", "UploadResponse", "MetricsResponse", "ErrorResponse"} <= set(
        spec["components"]["schemas"]
    )
    predict = spec["paths"]["/images/{image_id}/predict"]["post"]
    assert {"404", "422", "400"} <= set(predict["responses"])


# ------------------------------------------------------------------------------------ bad input
def test_non_image_bytes_are_415_and_the_server_keeps_serving(client, ids, direct):
    before = metrics(client)
    for data in (b"this is not an image", b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 40):
        r = client.post("/images", files={"file": ("x.png", data, "image/png")})
        assert r.status_code == 415, r.text
        assert r.json()["error"] == "ImageError" and "image" in r.json()["detail"]
    assert metrics(client)["cache_misses"] == before["cache_misses"]  # nothing was looked up
    r = client.post(f"/images/{ids[0]}/predict", json=PROMPTS[0])
    assert r.status_code == 200
    assert_same_prediction(r.json(), direct[0][1][0])


def test_upload_over_the_limit_is_413(client, ids):
    big = b"\0" * (MIB + 100 * 1024)  # the client's limit is 1 MiB
    for path, extra in (("/images", {}), ("/segment", {"data": {"prompt": json.dumps(PROMPTS[0])}})):
        r = client.post(path, files={"file": ("big.png", big, "image/png")}, **extra)
        assert r.status_code == 413, r.text
        assert "1 MiB" in r.json()["detail"]
    assert client.post(f"/images/{ids[0]}/predict", json=PROMPTS[0]).status_code == 200


def test_upload_read_stops_at_the_limit():
    """Without a Content-Length (chunked uploads) the file itself is checked as it is read."""
    from samkit.serve.app import _read_upload
    from samkit.serve.codecs import ImageTooLargeError

    class Upload:
        filename = "big.png"
        file = io.BytesIO(b"\0" * 101)

    with pytest.raises(ImageTooLargeError, match="limit"):
        _read_upload(Upload(), 100)
    Upload.file = io.BytesIO(b"\0" * 100)
    assert len(_read_upload(Upload(), 100)) == 100


def test_unknown_ids_are_404(client, ids):
    r = client.post(f"/images/{'0' * 64}/predict", json=PROMPTS[0])
    assert r.status_code == 404 and "Upload the image again" in r.json()["detail"]
    assert client.post(f"/images/{'0' * 64}/generate", json={}).status_code == 404
    r = client.post(f"/images/{ids[0]}/predict", json={**PROMPTS[0], "logits_id": "nope"})
    assert r.status_code == 404 and "logits_id" in r.json()["detail"]


MALFORMED = [  # prompts samkit's own validation rejects: the 422 carries its PromptError message
    {"points": [[400, 30]], "labels": [1]},
    {"points": [[40, 30], [10, 10]], "labels": [1]},
    {"points": [[40, 30]], "labels": [2]},
    {"points": [[40, 30, 1]], "labels": [1]},
    {"points": [[40, 30]]},
    {"box": [10, 10, 5, 5]},
    {"box": [0, 0, 10]},
    {},
]


@pytest.mark.parametrize("prompt", MALFORMED, ids=lambda p: json.dumps(p))
def test_malformed_prompts_are_422_with_samkits_message(client, ids, prompt):
    with pytest.raises(PromptError) as err:
        validate_prompts((H, W), **direct_kwargs(prompt))
    r = client.post(f"/images/{ids[0]}/predict", json=prompt)
    assert r.status_code == 422
    assert r.json() == {"error": "PromptError", "detail": str(err.value)}


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"points": "x", "labels": [1]}, "points"),
        ({"points": [[1, 2]], "labels": [1], "clicks": 3}, "clicks"),
        ({"points": [[1, 2]], "labels": [1], "mask_format": "jpeg"}, "mask_format"),
    ],
)
def test_ill_typed_requests_are_422_naming_the_field(client, ids, body, needle):
    r = client.post(f"/images/{ids[0]}/predict", json=body)
    assert r.status_code == 422
    assert r.json()["error"] == "ValidationError" and needle in r.json()["detail"]


def test_bad_segment_and_generate_requests_are_422(client, files, ids):
    r = client.post("/segment", files={"file": ("x.png", files[0], "image/png")}, data={"prompt": "{not json"})
    assert r.status_code == 422 and r.json()["error"] == "PromptError"
    r = client.post(
        "/segment",
        files={"file": ("x.png", files[0], "image/png")},
        data={"prompt": json.dumps({"points": [[500, 1]], "labels": [1]})},
    )
    assert r.status_code == 422 and "outside" in r.json()["detail"]
    r = client.post(f"/images/{ids[0]}/generate", json={"params": {"points_per_sde": 2}})
    assert r.status_code == 422 and "points_per_side" in r.json()["detail"]
    r = client.post(f"/images/{ids[0]}/generate", json={"params": {"output_mode": "binary_mask"}})
    assert r.status_code == 422 and "output_mode" in r.json()["detail"]


def test_text_on_a_model_without_text_is_400(client, ids):
    r = client.post(f"/images/{ids[0]}/predict", json={"text": "a cat"})
    assert r.status_code == 400
    assert r.json()["error"] == "UnsupportedError" and "text" in r.json()["detail"]


def test_mask_prompt_on_a_model_without_mask_input_is_400(random_model):
    """efficient_sam_vitt has no mask prompt: a logits_id is refused before any image lookup."""
    from fastapi.testclient import TestClient

    from samkit.serve import create_app

    other = random_model("efficient_sam_vitt")
    assert "mask_input" not in other.capabilities
    with TestClient(create_app(other, cache_mib=64)) as c:
        r = c.post(f"/images/{'0' * 64}/predict", json={**PROMPTS[0], "logits_id": "x-1"})
        assert r.status_code == 400 and r.json()["error"] == "UnsupportedError"
        assert "mask_input" in r.json()["detail"] and "mobile_sam" in r.json()["detail"]
        assert c.get("/health").status_code == 200


# ------------------------------------------------------------------------------------ cache, lock
def test_lru_evicts_the_least_recently_used_image_under_a_tiny_budget(model, files, direct, monkeypatch):
    """Two uploads under a budget of 1.5 embeddings: the first is evicted. Every model call
    (both encoder passes, the decoder pass) runs holding the model lock."""
    from fastapi.testclient import TestClient

    from samkit.serve import create_app

    embedding_mib = (256 * 64 * 64 * 4 + H * W * 3) / MIB
    app = create_app(model, cache_mib=1.5 * embedding_mib)
    service, held = app.state.service, []
    timed = service._timed

    def spy(fn):
        held.append(service.model_lock.locked())
        return timed(fn)

    monkeypatch.setattr(service, "_timed", spy)
    with TestClient(app) as c:
        first = c.post("/images", files={"file": ("a.png", files[0], "image/png")}).json()["image_id"]
        second = c.post("/images", files={"file": ("b.png", files[1], "image/png")}).json()["image_id"]
        m = c.get("/metrics").json()
        assert (m["cache_entries"], m["cache_evictions"], m["encoder_calls"]) == (1, 1, 2)
        assert m["cache_used_mib"] == pytest.approx(embedding_mib)
        assert c.post(f"/images/{first}/predict", json=PROMPTS[0]).status_code == 404
        r = c.post(f"/images/{second}/predict", json=PROMPTS[0])
        assert r.status_code == 200
        assert_same_prediction(r.json(), direct[1][1][0])
        assert c.get("/metrics").json()["cache_entries"] == 1  # its logits pushed it over: still kept
    assert held == [True, True, True]


def run_clients(post_click, ids, direct, n_clients: int = 8, clicks: int = 3, exact: bool = True) -> None:
    """``n_clients`` threads, each on image ``client % 4``, cycling over `PROMPTS`; every mask is
    compared with the direct prediction on that client's image."""
    barrier = threading.Barrier(n_clients)

    def client_run(c: int) -> int:
        image = c % N_IMAGES
        barrier.wait()
        for n in range(clicks):
            k = (c + n) % len(PROMPTS)
            body = post_click(ids[image], PROMPTS[k])
            assert body["image_id"] == ids[image]
            assert_same_prediction(body, direct[image][1][k], exact=exact)
        return clicks

    with ThreadPoolExecutor(n_clients) as pool:
        assert sum(pool.map(client_run, range(n_clients))) == n_clients * clicks


def test_concurrent_clients_on_different_images_get_their_own_masks(client, ids, direct):
    def post_click(image_id, prompt):
        r = client.post(f"/images/{image_id}/predict", json={**prompt, "multimask": True})
        assert r.status_code == 200, r.text
        return r.json()

    run_clients(post_click, ids, direct)


# ------------------------------------------------------------------------------------ end to end
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_end_to_end_uvicorn_on_loopback(tmp_path, files, direct):
    """A real ``samkit serve`` process on 127.0.0.1: concurrent uploads, concurrent clicks on 4
    images over HTTP, bad input in between; every mask equals a direct predict on its image."""
    import httpx
    import torch

    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads()), "PYTHONUNBUFFERED": "1"}
    log = (tmp_path / "server.log").open("w")
    cmd = [
        sys.executable,
        "-m",
        "samkit.cli",
        "serve",
        "--model",
        "mobile_sam",
        "--weights",
        "random",
        "--seed",
        "0",
        "--device",
        "cpu",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--cache-mib",
        "256",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=Path(__file__).resolve().parents[2]
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        with httpx.Client(base_url=base, timeout=120) as http:
            assert http.get("/models").json()[0]["weights"] == "random"
            with ThreadPoolExecutor(2 * N_IMAGES) as pool:  # concurrent uploads, each image twice
                uploads = list(pool.map(lambda d: http.post("/images", files={"file": ("i.png", d)}), files + files))
            assert [u.status_code for u in uploads] == [200] * 2 * N_IMAGES
            ids = [u.json()["image_id"] for u in uploads[:N_IMAGES]]
            assert ids == [hashlib.sha256(d).hexdigest() for d in files]
            assert sum(u.json()["cached"] for u in uploads) == N_IMAGES  # one encoder pass each
            bad = http.post("/images", files={"file": ("x.png", b"not an image")})
            assert bad.status_code == 415

            def post_click(image_id, prompt):
                r = http.post(f"/images/{image_id}/predict", json=prompt)
                assert r.status_code == 200, r.text
                return r.json()

            run_clients(post_click, ids, direct, exact=False)
            assert http.post(f"/images/{ids[0]}/predict", json={"points": [[1e4, 0]], "labels": [1]}).status_code == 422
            m = http.get("/metrics").json()
            assert m["encoder_calls"] == N_IMAGES and m["decoder_calls"] == 8 * 3
            assert m["cache_misses"] == N_IMAGES and m["cache_hits"] == N_IMAGES + 8 * 3 + 1
            assert m["responses_by_status"]["415"] == 1
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
