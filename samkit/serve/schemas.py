"""Request and response models of the segmentation service (they document the OpenAPI page).

Conventions are samkit's: points ``(x, y)`` pixels of the uploaded image, labels 1 = foreground /
0 = background, boxes XYXY pixels, times in ms, memory in MiB. The request models check only
JSON types; shapes and ranges are checked by `samkit.prompts.validate_prompts`, whose
`PromptError` message is returned with status 422.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ErrorResponse",
    "UploadResponse",
    "PredictRequest",
    "RleMask",
    "PredictResponse",
    "GenerateRequest",
    "GeneratedMask",
    "GenerateResponse",
    "SegmentResponse",
    "ModelInfo",
    "HealthResponse",
    "MetricsResponse",
]

MaskFormat = Literal["rle", "png"]


class ErrorResponse(BaseModel):
    """Every error: the samkit (or HTTP) error type and a message naming the problem."""

    error: str = Field(description="error type, e.g. PromptError, UnsupportedError, NotFound")
    detail: str = Field(description="what is wrong and, where there is one, the fix")


class UploadResponse(BaseModel):
    """`POST /images`: the uploaded image's id (its SHA-256), size and whether it was cached."""

    image_id: str = Field(description="SHA-256 (hex) of the uploaded file's bytes")
    width: int
    height: int
    cached: bool = Field(description="true when the embedding was already cached (no encoder pass)")
    encoder_ms: float | None = Field(description="encoder time of this upload (ms); null on a cache hit")


class PredictRequest(BaseModel):
    """Prompts on an uploaded image, as `Segmenter.predict` takes them."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"points": [[40, 30]], "labels": [1], "multimask": True}]}
    )

    points: list[list[float]] | None = Field(None, description="(N, 2) points, (x, y) pixels")
    labels: list[float] | None = Field(None, description="(N,) labels: 1 foreground, 0 background")
    box: list[float] | None = Field(None, description="(4,) box, XYXY pixels")
    logits_id: str | None = Field(
        None,
        description="`logits_id` of an earlier predict on this image: its low-res logits "
        "are the mask prompt (mask_input)",
    )
    logits_index: int | None = Field(None, description="which mask of that call (default: its highest-scoring)")
    text: str | None = Field(None, description="a text prompt ('a dog. a cat.'), alone; models with text only")
    multimask: bool | None = Field(
        None,
        description="3 candidate masks (recommended for one click) or 1; default: 3 where the "
        "model has multimask output",
    )
    mask_format: MaskFormat = Field("rle", description="'rle' (COCO RLE) or 'png' (base64 1-bit PNG)")


class RleMask(BaseModel):
    """COCO run-length encoding (pycocotools' compressed ``counts`` string)."""

    size: list[int] = Field(description="[H, W]")
    counts: str


class PredictResponse(BaseModel):
    """`POST /images/{id}/predict`: C masks, their scores and the id of their low-res logits."""

    image_id: str
    masks: list[RleMask] | list[str] = Field(description="C masks: COCO RLE, or base64 PNG")
    mask_format: MaskFormat
    scores: list[float] = Field(description="(C,) the model's predicted IoU of each mask")
    logits_id: str | None = Field(description="pass as `logits_id` in the next click to refine")
    decoder_ms: float = Field(description="decoder time of this call (ms)")


class GenerateRequest(BaseModel):
    """Parameters of the model's automatic mask generator (SamAutomaticMaskGenerator's, or the
    family's), e.g. ``points_per_side``, ``pred_iou_thresh``, ``stability_score_thresh``;
    ``output_mode`` is the server's (COCO RLE)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"params": {"points_per_side": 16, "pred_iou_thresh": 0.8}}]}
    )

    params: dict[str, int | float | bool | str | None] = Field(default_factory=dict)


class GeneratedMask(BaseModel):
    """One automatic mask: SamAutomaticMaskGenerator's record, the mask as COCO RLE."""

    segmentation: RleMask
    area: int
    bbox: list[float] = Field(description="XYWH pixels")
    predicted_iou: float | None = None
    stability_score: float | None = None
    point_coords: list[list[float]] | None = None
    crop_box: list[float] | None = None


class GenerateResponse(BaseModel):
    """`POST /images/{id}/generate`: the automatic masks of the image and the generator's time."""

    image_id: str
    masks: list[GeneratedMask]
    generate_ms: float = Field(description="time of the generator call (ms; it runs its own encoder passes)")


class SegmentResponse(PredictResponse):
    """`POST /segment`: the upload's facts and the prediction's, in one response."""

    width: int
    height: int
    cached: bool
    encoder_ms: float | None


class ModelInfo(BaseModel):
    """`GET /models`: the served model, its capabilities, weights, device and dtype."""

    name: str
    family: str
    capabilities: list[str]
    weights: str = Field(description="'pretrained' or 'random' (seeded random weights; see warning)")
    warning: str | None = Field(default=None, description="samkit's random-weights warning, when they are random")
    device: str
    dtype: str


class HealthResponse(BaseModel):
    """`GET /health`: ``ok``, the served model and the seconds since the server started."""

    status: Literal["ok"]
    model: str
    uptime_s: float


class MetricsResponse(BaseModel):
    """Counters since the server started (times in ms, memory in MiB)."""

    requests: int
    requests_by_route: dict[str, int]
    responses_by_status: dict[str, int]
    cache_hits: int
    cache_misses: int
    cache_evictions: int
    cache_entries: int
    cache_used_mib: float
    cache_budget_mib: float
    encoder_calls: int
    encoder_ms_total: float
    decoder_calls: int
    decoder_ms_total: float
    generate_calls: int
    generate_ms_total: float
