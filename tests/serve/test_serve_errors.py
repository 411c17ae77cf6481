"""The service never answers 500 to a client's mistake (issue 23).

Every class of malformed request is sent to every endpoint that takes it, and each answer must be
the documented 4xx with a JSON ``{"error", "detail"}`` whose detail names the problem; a fault of
samkit's own (the model raising ``RuntimeError``) is a 500 logged with its traceback on the
``samkit.serve`` logger, and the server keeps serving. mobile_sam with random weights.
"""

from __future__ import annotations

import io
import json
import logging
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from samkit.errors import NotReadyError
from samkit.serve.codecs import MAX_PIXELS

H, W = 48, 64
LIMIT_MIB = 1
CLICK = {"points": [[20, 10]], "labels": [1]}
UNKNOWN = "0" * 64


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def huge_png_header(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width x height`` pixels (the pixel data is a stub): the
    service must refuse it from the header, before decoding."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def model(random_model):
    return random_model("mobile_sam")


@pytest.fixture(scope="module")
def image_file() -> bytes:
    rng = np.random.default_rng(7)
    return png_bytes(rng.integers(0, 256, (H, W, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def client(model):
    from fastapi.testclient import TestClient

    from samkit.serve import create_app

    # raise_server_exceptions: an exception escaping the app would fail the test, not become a 500
    with TestClient(create_app(model, cache_mib=64, max_upload_mib=LIMIT_MIB)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def image_id(client, image_file) -> str:
    r = client.post("/images", files={"file": ("a.png", image_file, "image/png")})
    assert r.status_code == 200, r.text
    return r.json()["image_id"]


# ----------------------------------------------------------------------------- the request matrix
def _upload(data: bytes, **kw):
    return lambda c, i, f: c.post("/images", files={"file": ("x.png", data, "image/png")}, **kw)


def _segment(prompt: str | None = None, data: bytes | None = None):
    def send(c, i, f):
        return c.post(
            "/segment",
            files={"file": ("x.png", f if data is None else data, "image/png")},
            data={"prompt": json.dumps(CLICK) if prompt is None else prompt},
        )

    return send


def _json(endpoint: str, body, image: str | None = None):
    return lambda c, i, f: c.post(f"/images/{image or i}/{endpoint}", json=body)


def _raw(endpoint: str, content: bytes, content_type: str):
    return lambda c, i, f: c.post(f"/images/{i}/{endpoint}", content=content, headers={"content-type": content_type})


BIG = b"\0" * (LIMIT_MIB * 2**20 + 100 * 1024)
HUGE = huge_png_header(10_000, MAX_PIXELS // 10_000 + 1)

# the answers: status and error type
V422, P422, R422 = (422, "ValidationError"), (422, "PromptError"), (422, "RequestError")
N404, I415, M415 = (404, "NotFoundError"), (415, "ImageError"), (415, "UnsupportedMediaType")
B413, T413 = (413, "PayloadTooLarge"), (413, "ImageTooLargeError")
J, R, S, U = _json, _raw, _segment, _upload
JSON = "application/json"


def _gen(**params):
    return J("generate", {"params": params})


def _post(path: str, **kw):
    return lambda c, i, f: c.post(path.format(i=i), **{k: (f if v is ... else v) for k, v in kw.items()})


# (request class, endpoint, send(client, image_id, image_file), (status, error type), words the detail names)
CASES = [
    # wrong JSON types: never coerced
    ("wrong type", "predict", J("predict", {"points": "x", "labels": [1]}), V422, "points"),
    ("wrong type", "predict", J("predict", {**CLICK, "multimask": "yes"}), V422, "multimask", "yes"),
    ("wrong type", "generate", _gen(points_per_side="many"), V422, "points_per_side", "many"),
    ("wrong type", "generate", _gen(points_per_side=None), V422, "points_per_side", "None"),
    ("wrong type", "generate", _gen(pred_iou_thresh="0.5"), V422, "pred_iou_thresh", "0.5"),
    ("wrong type", "generate", _gen(some_flag=[1, 2]), V422, "some_flag", "[1, 2]"),
    ("wrong type", "generate", J("generate", {"params": [1]}), V422, "params"),
    ("wrong type", "segment", S(json.dumps({**CLICK, "labels": ["one"]})), V422, "prompt.labels", "one"),
    ("wrong type", "images", _post("/images", files={"file": (None, "abc")}), V422, "file"),
    # values out of range
    ("out of range", "predict", J("predict", {"points": [[400, 30]], "labels": [1]}), P422, "outside"),
    ("out of range", "predict", R("predict", b'{"points": [[1e400, 30]], "labels": [1]}', JSON), V422, "finite"),
    ("out of range", "predict", J("predict", {**CLICK, "logits_index": -1}), V422, "logits_index", "-1"),
    ("out of range", "generate", _gen(pred_iou_thresh=88), V422, "pred_iou_thresh", "88"),
    ("out of range", "generate", _gen(points_per_side=0), V422, "points_per_side", "0"),
    ("out of range", "generate", _gen(points_per_side=100_000), V422, "points_per_side", "100000"),
    ("out of range", "generate", _gen(crop_overlap_ratio=1.0), V422, "crop_overlap_ratio", "1.0"),
    ("out of range", "segment", S(json.dumps({"points": [[500, 1]], "labels": [1]})), P422, "outside"),
    # unknown (never uploaded, or evicted) ids
    ("unknown id", "predict", J("predict", CLICK, image=UNKNOWN), N404, "Upload the image again"),
    ("unknown id", "generate", J("generate", {}, image=UNKNOWN), N404, "Upload the image again"),
    ("unknown id", "predict", J("predict", {**CLICK, "logits_id": "nope"}), N404, "logits_id"),
    # undecodable or empty images
    ("not an image", "images", U(b"this is not an image"), I415, "image"),
    ("not an image", "images", U(b"\x89PNG\r\n\x1a\n" + b"\0" * 40), I415, "image"),
    ("empty image", "images", U(b""), I415, "empty"),
    ("not an image", "segment", S(data=b"this is not an image"), I415, "image"),
    ("empty image", "segment", S(data=b""), I415, "empty"),
    # oversized: the file, and the image its header declares
    ("oversized file", "images", U(BIG), B413, f"{LIMIT_MIB} MiB"),
    ("oversized file", "segment", S(data=BIG), B413, f"{LIMIT_MIB} MiB"),
    ("oversized image", "images", U(HUGE), T413, "pixels"),
    ("oversized image", "segment", S(data=HUGE), T413, "pixels"),
    # malformed JSON
    ("malformed JSON", "predict", R("predict", b'{"points": [[1, 2]', JSON), V422, "not valid JSON"),
    ("malformed JSON", "generate", R("generate", b"{params: 1}", JSON), V422, "not valid JSON"),
    ("malformed JSON", "segment", S("{not json"), P422, "JSON"),
    # unknown fields
    ("unknown field", "predict", J("predict", {**CLICK, "clicks": 3}), V422, "clicks"),
    ("unknown field", "generate", J("generate", {"parms": {}}), V422, "parms"),
    ("unknown field", "generate", _gen(points_per_sde=2), R422, "points_per_sde", "points_per_side"),
    ("unknown field", "generate", _gen(max_det=5), R422, "max_det", "points_per_side"),
    ("unknown field", "generate", _gen(engine="upstream"), R422, "engine"),
    ("unknown field", "generate", _gen(output_mode="binary_mask"), R422, "output_mode"),
    ("unknown field", "segment", S(json.dumps({**CLICK, "clicks": 3})), V422, "prompt.clicks"),
    ("missing field", "predict", J("predict", {**CLICK, "logits_index": 1}), R422, "logits_id"),
    ("missing field", "images", _post("/images", files={"other": ("x.png", b"x")}), V422, "file"),
    ("missing field", "segment", _post("/segment", files={"file": ("x.png", b"x")}), V422, "prompt"),
    # wrong content types
    ("content type", "predict", R("predict", json.dumps(CLICK).encode(), "text/plain"), M415, JSON, "text/plain"),
    ("content type", "predict", _post("/images/{i}/predict", data={"points": "1"}), M415, JSON),
    ("content type", "generate", R("generate", b"points_per_side=2", "application/x-www-form-urlencoded"), M415, JSON),
    ("content type", "images", _post("/images", json={"file": "x"}), M415, "multipart/form-data"),
    ("content type", "images", _post("/images", content=..., headers={"content-type": "image/png"}), M415, "image/png"),
    ("content type", "segment", _post("/segment", json=CLICK), M415, "multipart/form-data"),
    # a prompt kind the model lacks
    ("unsupported", "predict", J("predict", {"text": "a cat"}), (400, "UnsupportedError"), "text"),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}-{n}" for n, c in enumerate(CASES)])
def test_a_client_mistake_is_a_4xx_naming_the_problem(client, image_id, image_file, case):
    _, _, send, (status, error), *words = case
    r = send(client, image_id, image_file)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == error, body
    for word in words:
        assert word in body["detail"], (word, body["detail"])


def test_every_endpoint_meets_every_mistake_it_can(client):
    """The matrix covers each request class on each endpoint that can receive it."""
    seen = {(kind, endpoint) for kind, endpoint, *_ in CASES}
    expected = {
        "images": [
            "wrong type",
            "not an image",
            "empty image",
            "oversized file",
            "oversized image",
            "missing field",
            "content type",
        ],
        "predict": ["wrong type", "out of range", "unknown id", "malformed JSON", "unknown field", "content type"],
        "generate": ["wrong type", "out of range", "unknown id", "malformed JSON", "unknown field", "content type"],
        "segment": [
            "wrong type",
            "out of range",
            "not an image",
            "empty image",
            "oversized file",
            "oversized image",
            "malformed JSON",
            "unknown field",
            "missing field",
            "content type",
        ],
    }
    missing = [(k, e) for e, kinds in expected.items() for k in kinds if (k, e) not in seen]
    assert not missing


def test_no_mistake_was_answered_500_and_the_server_still_serves(client, image_id, image_file):
    for _, _, send, *_ in CASES:
        assert send(client, image_id, image_file).status_code < 500
    by_status = client.get("/metrics").json()["responses_by_status"]
    assert "500" not in by_status
    assert client.post(f"/images/{image_id}/predict", json=CLICK).status_code == 200


def test_paths_and_methods_that_do_not_exist_are_404_and_405(client):
    r = client.get("/nope")
    assert r.status_code == 404 and r.json()["error"] == "HTTPError"
    r = client.get("/images")
    assert r.status_code == 405 and r.json()["error"] == "HTTPError"


def test_status_of_maps_samkit_errors():
    from samkit.errors import CheckpointError, ImageError, ParameterError, PromptError, UnsupportedError
    from samkit.serve.app import status_of
    from samkit.serve.codecs import ImageTooLargeError
    from samkit.serve.service import NotFoundError, RequestError

    assert [
        status_of(e)
        for e in (
            ParameterError("x"),
            PromptError("x"),
            RequestError("x"),
            NotFoundError("x"),
            ImageTooLargeError("x"),
            ImageError("x"),
            UnsupportedError("x"),
        )
    ] == [422, 422, 422, 404, 413, 415, 400]
    # samkit's own faults, whatever their type
    assert [status_of(e) for e in (RuntimeError("x"), CheckpointError("x"), NotReadyError("x"), KeyError("x"))] == [
        500
    ] * 4


# ----------------------------------------------------------------------------- samkit's own faults
def _boom(*args, **kwargs):
    raise RuntimeError("boom: a bug inside the model")


def _assert_logged_traceback(caplog, needle: str) -> None:
    records = [r for r in caplog.records if r.name == "samkit.serve" and r.levelno >= logging.ERROR]
    assert records, caplog.text
    assert all(r.exc_info is not None for r in records)
    assert "Traceback (most recent call last)" in caplog.text and needle in caplog.text


@pytest.fixture
def fresh(model, image_file):
    """A fresh app (its own counters) with the test image uploaded."""
    from fastapi.testclient import TestClient

    from samkit.serve import create_app

    with TestClient(create_app(model, cache_mib=64)) as c:
        r = c.post("/images", files={"file": ("a.png", image_file, "image/png")})
        assert r.status_code == 200
        yield c, r.json()["image_id"]


@pytest.mark.parametrize("endpoint", ["predict", "generate"])
def test_an_internal_fault_is_a_logged_500_and_the_server_keeps_serving(fresh, endpoint, monkeypatch, caplog):
    c, image_id = fresh
    entry = c.app.state.service.cache.get(image_id, count=False)
    monkeypatch.setattr(entry.segmenter, endpoint, _boom)
    caplog.set_level(logging.ERROR, logger="samkit.serve")
    body = CLICK if endpoint == "predict" else {"params": {"points_per_side": 1}}
    r = c.post(f"/images/{image_id}/{endpoint}", json=body)
    assert r.status_code == 500, r.text
    assert r.json()["error"] == "InternalError"
    assert "RuntimeError" in r.json()["detail"] and "server's log" in r.json()["detail"]
    _assert_logged_traceback(caplog, "boom: a bug inside the model")
    monkeypatch.undo()
    assert c.post(f"/images/{image_id}/predict", json=CLICK).status_code == 200  # the lock was given back
    assert c.get("/metrics").json()["responses_by_status"]["500"] == 1


def test_an_internal_fault_while_uploading_is_a_logged_500(fresh, model, monkeypatch, caplog):
    c, _ = fresh
    monkeypatch.setattr(model, "_sibling", _boom)
    caplog.set_level(logging.ERROR, logger="samkit.serve")
    other = png_bytes(np.full((H, W, 3), 9, np.uint8))
    r = c.post("/images", files={"file": ("b.png", other, "image/png")})
    assert r.status_code == 500 and r.json()["error"] == "InternalError"
    _assert_logged_traceback(caplog, "boom")
    monkeypatch.undo()
    assert c.post("/images", files={"file": ("b.png", other, "image/png")}).status_code == 200


def test_a_samkit_error_that_is_not_the_clients_is_a_logged_500(fresh, monkeypatch, caplog):
    c, image_id = fresh
    entry = c.app.state.service.cache.get(image_id, count=False)

    def not_ready(*args, **kwargs):
        raise NotReadyError("the cached segmenter lost its image")

    monkeypatch.setattr(entry.segmenter, "predict", not_ready)
    caplog.set_level(logging.ERROR, logger="samkit.serve")
    r = c.post(f"/images/{image_id}/predict", json=CLICK)
    assert r.status_code == 500 and "NotReadyError" in r.json()["detail"]
    _assert_logged_traceback(caplog, "lost its image")


def test_client_mistakes_are_not_logged_as_errors(client, image_id, caplog):
    caplog.set_level(logging.DEBUG, logger="samkit.serve")
    client.post(f"/images/{image_id}/generate", json={"params": {"points_per_side": "many"}})
    client.post(f"/images/{UNKNOWN}/predict", json=CLICK)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
