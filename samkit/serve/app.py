"""`create_app`: the FastAPI app of the segmentation service; `run`: serve it with uvicorn.

Endpoints (request and response models in `samkit.serve.schemas`):

- ``POST /images`` (multipart ``file``) -> ``image_id`` (SHA-256 of the file): one encoder pass
  per image, then its embedding is cached;
- ``POST /images/{image_id}/predict`` (JSON prompts) -> masks (COCO RLE or PNG), scores,
  ``logits_id`` and ``decoder_ms``: one decoder pass on the cached embedding;
- ``POST /images/{image_id}/generate`` -> automatic masks as COCO RLE;
- ``POST /segment`` (multipart ``file`` + ``prompt``, a `PredictRequest` as JSON): upload and
  predict in one call;
- ``GET /models``, ``GET /health``, ``GET /metrics`` (requests, cache hits and misses, encoder
  and decoder time).

Errors are JSON ``{"error": type, "detail": message}``: not an image 415, upload too large 413,
unknown image or logits id 404, malformed prompt 422 (samkit's `PromptError` message), prompt
kind the model does not support 400. Model calls are serialised by one lock
(`samkit.serve.service`); a failing request never stops the server.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from samkit.errors import ImageError, NotReadyError, PromptError, SamkitError, UnsupportedError, require_extra
from samkit.serve.codecs import ImageTooLargeError
from samkit.serve.schemas import (
    ErrorResponse,
    GenerateRequest,
    GenerateResponse,
    HealthResponse,
    MetricsResponse,
    ModelInfo,
    PredictRequest,
    PredictResponse,
    SegmentResponse,
    UploadResponse,
)
from samkit.serve.service import NotFoundError, RequestError, SegmentationService
from samkit.wording import RANDOM_WEIGHTS_WARNING

__all__ = ["create_app", "run", "status_of"]

MIB = 2**20
_MULTIPART_SLACK = 64 * 1024  # bytes of multipart framing allowed above the file size limit

_ERRORS = {
    413: "upload too large",
    415: "not an image",
    404: "unknown image or logits id",
    422: "malformed prompt or request",
    400: "prompt or feature the model does not support",
}


def status_of(err: BaseException) -> int:
    """The HTTP status of a samkit error raised while serving a request."""
    for cls, status in (
        (ImageTooLargeError, 413),
        (ImageError, 415),
        (NotFoundError, 404),
        (PromptError, 422),
        (RequestError, 422),
        (UnsupportedError, 400),
        (NotReadyError, 409),
    ):
        if isinstance(err, cls):
            return status
    return 400


def _error(status: int, kind: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": kind, "detail": detail}, status_code=status)


def _validation_detail(errors: list[dict[str, Any]]) -> str:
    parts = []
    for e in errors:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body",)) or "body"
        parts.append(f"{loc}: {e.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(parts)


class _Guard:
    """ASGI middleware: count requests by route and responses by status; refuse bodies whose
    declared Content-Length is over the upload limit with 413 before reading them."""

    def __init__(self, app: Any, max_body: int, stats: dict[str, Any], lock: threading.Lock) -> None:
        self.app, self.max_body, self.stats, self.lock = app, max_body, stats, lock

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def send_counted(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        try:
            if length is not None and int(length) > self.max_body:
                response = _error(
                    413,
                    "PayloadTooLarge",
                    f"The request body is {int(length)} bytes; uploads are limited to "
                    f"{(self.max_body - _MULTIPART_SLACK) / MIB:g} MiB.",
                )
                await response(scope, receive, send_counted)
            else:
                await self.app(scope, receive, send_counted)
        finally:
            route = scope.get("route")
            key = f"{scope.get('method', '')} {getattr(route, 'path', None) or 'unmatched'}"
            with self.lock:
                self.stats["requests"] += 1
                self.stats["by_route"][key] = self.stats["by_route"].get(key, 0) + 1
                code = str(status["code"])
                self.stats["by_status"][code] = self.stats["by_status"].get(code, 0) + 1


def _read_upload(file: UploadFile, limit: int) -> bytes:
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise ImageTooLargeError(
            f"The upload {file.filename or ''!s} is over the {limit / MIB:g} MiB "
            "limit of this server (--max-upload-mib)."
        )
    return data


def create_app(
    model: Any, cache_mib: float = 2048, max_upload_mib: float = 32, *, max_logits_per_image: int = 8
) -> FastAPI:
    """The FastAPI app serving ``model`` (a `Segmenter`, e.g. ``samkit.load("mobile_sam")``).

    Args:
        model: the model every request runs on (shared by all clients; calls serialised).
        cache_mib: memory budget of the embedding cache (MiB); least recently used images go first.
        max_upload_mib: largest image file accepted (MiB); larger is 413.
        max_logits_per_image: predictions per image whose logits a ``logits_id`` can refer to.

    ``app.state.service`` is the `SegmentationService` (cache, lock, counters).
    """
    service = SegmentationService(model, cache_mib, max_logits_per_image)
    limit = int(max_upload_mib * MIB)
    started = time.monotonic()
    http_stats: dict[str, Any] = {"requests": 0, "by_route": {}, "by_status": {}}
    stats_lock = threading.Lock()
    errors = {code: {"model": ErrorResponse, "description": text} for code, text in _ERRORS.items()}

    app = FastAPI(
        title="samkit segmentation service",
        description=f"Segment Anything family model **{model.name}** over HTTP: upload an "
        "image once, then one decoder pass per click. Points are (x, y) "
        "pixels, boxes XYXY pixels, times ms.",
        version=_version(),
    )
    app.state.service = service
    app.add_middleware(_Guard, max_body=limit + _MULTIPART_SLACK, stats=http_stats, lock=stats_lock)

    @app.exception_handler(SamkitError)
    async def samkit_error(request: Request, err: SamkitError) -> JSONResponse:
        return _error(status_of(err), type(err).__name__, str(err))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError) -> JSONResponse:
        return _error(422, "ValidationError", _validation_detail(list(err.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        return _error(err.status_code, "HTTPError", str(err.detail))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, err: Exception) -> JSONResponse:
        return _error(500, type(err).__name__, f"Internal error while serving the request: {err}")

    def upload_facts(upload: Any) -> dict[str, Any]:
        h, w = upload.entry.image.shape[:2]
        return {
            "image_id": upload.entry.image_id,
            "width": int(w),
            "height": int(h),
            "cached": upload.cached,
            "encoder_ms": upload.encoder_ms,
        }

    def predict(image_id: str, req: PredictRequest) -> dict[str, Any]:
        return service.predict(
            image_id,
            points=req.points,
            labels=req.labels,
            box=req.box,
            logits_id=req.logits_id,
            logits_index=req.logits_index,
            text=req.text,
            multimask=req.multimask,
            mask_format=req.mask_format,
        )

    @app.post(
        "/images",
        response_model=UploadResponse,
        responses=errors,
        tags=["images"],
        summary="Upload an image; its embedding is computed once and cached",
    )
    def upload_image(file: UploadFile = File(..., description="an image file (PNG, JPEG, ...)")):
        return upload_facts(service.upload(_read_upload(file, limit)))

    @app.post(
        "/images/{image_id}/predict",
        response_model=PredictResponse,
        responses=errors,
        tags=["images"],
        summary="Masks for prompts on an uploaded image (one decoder pass)",
    )
    def predict_image(image_id: str, req: PredictRequest):
        return predict(image_id, req)

    @app.post(
        "/images/{image_id}/generate",
        response_model=GenerateResponse,
        responses=errors,
        tags=["images"],
        summary="Automatic masks of an uploaded image, as COCO RLE",
    )
    def generate_image(image_id: str, req: GenerateRequest | None = None):
        return service.generate(image_id, dict((req or GenerateRequest()).params))

    @app.post(
        "/segment",
        response_model=SegmentResponse,
        responses=errors,
        tags=["images"],
        summary="Upload an image and predict one prompt in one call",
    )
    def segment(
        file: UploadFile = File(..., description="an image file (PNG, JPEG, ...)"),
        prompt: str = Form(..., description='a PredictRequest as JSON, e.g. {"points": [[40, 30]], "labels": [1]}'),
    ):
        try:
            req = PredictRequest.model_validate(json.loads(prompt))
        except json.JSONDecodeError as err:
            raise PromptError(f"prompt must be a JSON object (a PredictRequest): {err}") from None
        except ValidationError as err:
            return _error(
                422, "ValidationError", _validation_detail([{**e, "loc": ("prompt", *e["loc"])} for e in err.errors()])
            )
        upload = service.upload(_read_upload(file, limit))
        return {**upload_facts(upload), **predict(upload.entry.image_id, req)}

    @app.get("/models", response_model=list[ModelInfo], tags=["service"], summary="The model this server runs")
    def models():
        return [
            {
                "name": model.name,
                "family": model.family,
                "capabilities": sorted(model.capabilities),
                "weights": model.weights.kind,
                "device": str(model.device),
                "dtype": model.dtype,
                "warning": RANDOM_WEIGHTS_WARNING if model.weights.kind == "random" else None,
            }
        ]

    @app.get("/health", response_model=HealthResponse, tags=["service"])
    def health():
        return {"status": "ok", "model": model.name, "uptime_s": time.monotonic() - started}

    @app.get(
        "/metrics",
        response_model=MetricsResponse,
        tags=["service"],
        summary="Counters: requests, cache hits and misses, encoder and decoder time (ms)",
    )
    def metrics():
        with stats_lock:
            http = {
                "requests": http_stats["requests"],
                "requests_by_route": dict(http_stats["by_route"]),
                "responses_by_status": dict(http_stats["by_status"]),
            }
        return {**http, **service.metrics()}

    return app


def _version() -> str:
    from samkit.version import __version__

    return __version__


def run(
    model: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    cache_mib: float = 2048,
    max_upload_mib: float = 32,
    log_level: str = "info",
) -> None:
    """Serve ``model`` with uvicorn (one process: the model and its cache live in it) until stopped."""
    uvicorn = require_extra("uvicorn", "serve", "The segmentation service (samkit serve)")

    uvicorn.run(create_app(model, cache_mib, max_upload_mib), host=host, port=port, log_level=log_level, workers=1)
