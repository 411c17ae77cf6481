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

Errors are JSON ``{"error": type, "detail": message}`` and a client's mistake is never a 500:
a request body that is not JSON, unknown fields, wrong JSON types, out-of-range values, malformed
prompts and generator parameters 422 (samkit's `PromptError` / `ParameterError` message, or
the field, its value and what it takes); unknown or evicted image or logits id 404; upload or
image too large 413; not an image (undecodable, empty) 415; a request Content-Type the endpoint
does not take 415; a prompt kind or feature the model does not support 400; unknown path 404,
wrong method 405. A 500 is samkit's own fault: it is logged with its traceback (logger
``samkit.serve``) and the server keeps serving. Model calls are serialised by one lock with an
interactive and a generate lane (`samkit.serve.lanes`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import Any

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from samkit.errors import ImageError, ParameterError, PromptError, SamkitError, UnsupportedError, require_extra
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

__all__ = ["create_app", "run", "status_of", "error_response"]

MIB = 2**20
_MULTIPART_SLACK = 64 * 1024  # bytes of multipart framing allowed above the file size limit

#: the logger of the service's own faults (500s, with their tracebacks)
logger = logging.getLogger("samkit.serve")

_ERRORS = {
    400: "prompt or feature the model does not support",
    404: "unknown image or logits id (never uploaded, or evicted)",
    413: "upload or image too large",
    415: "not an image, or a request Content-Type the endpoint does not take",
    422: "malformed request: not JSON, unknown field, wrong type, value out of range, bad prompt or parameter",
    500: "samkit's own fault (logged with its traceback)",
}

#: samkit errors that are the client's, and their status; any other exception is a 500
_CLIENT_ERRORS: tuple[tuple[type[BaseException], int], ...] = (
    (ImageTooLargeError, 413),
    (ImageError, 415),
    (NotFoundError, 404),
    (PromptError, 422),
    (ParameterError, 422),
    (RequestError, 422),
    (UnsupportedError, 400),
)

#: the body each POST route takes: ``json`` (application/json) or ``multipart`` (a file upload)
_BODY_KINDS = (
    (re.compile(r"^/images/[^/]+/(predict|generate)/?$"), "json", "/images/{{image_id}}/{0}"),
    (re.compile(r"^/(images|segment)/?$"), "multipart", "/{0}"),
)


def status_of(err: BaseException) -> int:
    """The HTTP status of an exception raised while serving a request: 4xx for the client's
    mistakes (see the module docstring), 500 for anything else (samkit's own fault)."""
    for cls, status in _CLIENT_ERRORS:
        if isinstance(err, cls):
            return status
    return 500


def _error(status: int, kind: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": kind, "detail": detail}, status_code=status)


def error_response(err: BaseException, where: str) -> JSONResponse:
    """The JSON error response to ``err``, raised while serving ``where`` ("POST /images");
    a 500 is logged with its traceback."""
    status = status_of(err)
    if status < 500:
        logger.debug("%s: %d %s: %s", where, status, type(err).__name__, err)
        return _error(status, type(err).__name__, str(err))
    logger.error("Internal error while serving %s: %s: %s", where, type(err).__name__, err, exc_info=err)
    return _error(
        500,
        "InternalError",
        f"samkit failed while serving {where} ({type(err).__name__}: {err}). This is the server's "
        "fault, not the request's; the traceback is in the server's log.",
    )


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _validation_detail(errors: list[dict[str, Any]]) -> str:
    """One message for pydantic's errors: each names the field (``params.points_per_side``), the
    problem and the value given."""
    parts = []
    for e in errors:
        if e.get("type") == "json_invalid":
            where = next((p for p in e.get("loc", ()) if isinstance(p, int)), None)
            why = (e.get("ctx") or {}).get("error", "")
            at = f" (at character {where})" if where is not None else ""
            parts.append(f"the request body is not valid JSON{at}: {why}".rstrip(": "))
            continue
        loc = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body",)) or "body"
        msg = str(e.get("msg", "invalid"))
        if e.get("type") == "missing":
            parts.append(f"{loc}: {msg}")
        elif e.get("type") == "extra_forbidden":
            parts.append(f"{loc}: unknown field (not permitted here), got {_shown(e.get('input'))}")
        elif e.get("type") == "value_error":
            parts.append(f"{loc}: {msg.removeprefix('Value error, ')}")
        else:
            parts.append(f"{loc}: {msg}, got {_shown(e.get('input'))}")
    return "Invalid request: " + "; ".join(parts)


def _media_type(headers: dict[bytes, bytes]) -> str | None:
    value = headers.get(b"content-type")
    if value is None:
        return None
    return value.decode("latin-1").split(";", 1)[0].strip().lower()


def _content_type_error(method: str, path: str, headers: dict[bytes, bytes]) -> JSONResponse | None:
    """415 when a POST body's Content-Type is not what its route takes; None otherwise."""
    if method != "POST":
        return None
    kind, route = None, path
    for pattern, body_kind, template in _BODY_KINDS:
        match = pattern.match(path)
        if match:
            kind, route = body_kind, template.format(match.group(1))
            break
    media = _media_type(headers)
    has_body = headers.get(b"content-length", b"0") not in (b"0", b"") or b"transfer-encoding" in headers
    is_json = media is not None and (media == "application/json" or media.endswith("+json"))
    if kind == "json" and media is not None and has_body and not is_json:
        return _error(
            415,
            "UnsupportedMediaType",
            f"POST {route} takes a JSON body (Content-Type: application/json), got Content-Type {media!r}.",
        )
    if kind == "multipart" and media != "multipart/form-data":
        return _error(
            415,
            "UnsupportedMediaType",
            f"POST {route} takes a multipart/form-data upload with the image in the 'file' field "
            f"(curl -F file=@image.png), got Content-Type {media!r}.",
        )
    return None


class _Guard:
    """ASGI middleware, outermost of the app's own: counts requests by route and responses by
    status; refuses bodies whose declared Content-Length is over the upload limit (413) or whose
    Content-Type the route does not take (415) before reading them; turns any exception that
    escapes the app into a logged 500 (`error_response`), so the server keeps serving."""

    def __init__(self, app: Any, max_body: int, stats: dict[str, Any], lock: threading.Lock) -> None:
        self.app, self.max_body, self.stats, self.lock = app, max_body, stats, lock

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500, "started": False}

        async def send_counted(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["started"] = message["status"], True
            await send(message)

        headers = dict(scope.get("headers") or [])
        method, path = scope.get("method", ""), scope.get("path", "")
        length = headers.get(b"content-length")
        try:
            declared = int(length) if length is not None else None
        except ValueError:
            declared = None
        try:
            refused = None
            if declared is not None and declared > self.max_body:
                refused = _error(
                    413,
                    "PayloadTooLarge",
                    f"The request body is {declared} bytes; uploads are limited to "
                    f"{(self.max_body - _MULTIPART_SLACK) / MIB:g} MiB.",
                )
            else:
                refused = _content_type_error(method, path, headers)
            if refused is not None:
                await refused(scope, receive, send_counted)
            else:
                await self.app(scope, receive, send_counted)
        except Exception as err:  # samkit's own fault: log it, answer 500, keep serving
            if status["started"]:  # too late for another response: the server's log has it
                logger.error("Internal error while serving %s %s (response started)", method, path, exc_info=err)
                raise
            await error_response(err, f"{method} {path}")(scope, receive, send_counted)
        finally:
            route = scope.get("route")
            key = f"{method} {getattr(route, 'path', None) or 'unmatched'}"
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
    model: Any,
    cache_mib: float = 2048,
    max_upload_mib: float = 32,
    *,
    max_logits_per_image: int = 8,
    generate_handoff: bool = True,
) -> FastAPI:
    """The FastAPI app serving ``model`` (a `Segmenter`, e.g. ``samkit.load("mobile_sam")``).

    Args:
        model: the model every request runs on (shared by all clients; calls serialised).
        cache_mib: memory budget of the embedding cache (MiB); least recently used images go first.
        max_upload_mib: largest image file accepted (MiB); larger is 413.
        max_logits_per_image: predictions per image whose logits a ``logits_id`` can refer to.
        generate_handoff: a running ``/generate`` lets waiting clicks run between its chunks
            (`samkit.serve.lanes`); False holds the model for the whole generate (for comparisons).

    ``app.state.service`` is the `SegmentationService` (cache, lock, counters).
    """
    service = SegmentationService(model, cache_mib, max_logits_per_image, generate_handoff=generate_handoff)
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
        return error_response(err, f"{request.method} {request.url.path}")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError) -> JSONResponse:
        return _error(422, "ValidationError", _validation_detail(list(err.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        return _error(err.status_code, "HTTPError", str(err.detail))

    # any other exception escapes the app's handlers to `_Guard`, which logs it and answers 500

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
        return service.generate(image_id, (req or GenerateRequest()).params.given())

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
    **app_options: Any,
) -> None:
    """Serve ``model`` with uvicorn (one process: the model and its cache live in it) until stopped;
    ``app_options``: more `create_app` keywords (``max_logits_per_image``, ``generate_handoff``)."""
    uvicorn = require_extra("uvicorn", "serve", "The segmentation service (samkit serve)")

    _log_to_stderr(log_level)
    app = create_app(model, cache_mib, max_upload_mib, **app_options)
    uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1)


def _log_to_stderr(log_level: str) -> None:
    """Show the ``samkit.serve`` log (500s with their tracebacks) on stderr at ``log_level``,
    unless logging is already configured (a handler on it, or on the root logger)."""
    level = getattr(logging, log_level.upper(), logging.INFO)
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
