"""Request and response models of the segmentation service (they document the OpenAPI page).

Conventions are samkit's: points ``(x, y)`` pixels of the uploaded image, labels 1 = foreground /
0 = background, boxes XYXY pixels, times in ms, memory in MiB.

The request models are strict: JSON types are not coerced (``"8"`` is not a number, ``1`` is not
``true``), numbers must be finite, unknown fields are refused; each refusal is a 422 naming the
field and the value. Prompt shapes and ranges (a point outside the image, a label other than
0 / 1) are checked by `samkit.prompts.validate_prompts`, whose `PromptError` message is returned
with status 422. `GenerateParams` types and bounds the generator parameters the service knows;
the model's own check (`Segmenter.check_generate_params`) does the rest.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ErrorResponse",
    "UploadResponse",
    "PredictRequest",
    "RleMask",
    "PredictResponse",
    "GenerateParams",
    "GenerateRequest",
    "GeneratedMask",
    "GenerateResponse",
    "SegmentResponse",
    "ModelInfo",
    "HealthResponse",
    "MetricsResponse",
]

MaskFormat = Literal["rle", "png"]

#: the service's bounds on generator work per request (a client cannot ask for hours of compute)
MAX_POINTS_PER_SIDE = 128
MAX_POINTS_PER_BATCH = 1024
MAX_CROP_N_LAYERS = 3
#: what strict JSON request models share: no coercion, finite numbers
_STRICT = {"strict": True, "allow_inf_nan": False}


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
        extra="forbid",
        **_STRICT,
        json_schema_extra={"examples": [{"points": [[40, 30]], "labels": [1], "multimask": True}]},
    )

    points: list[list[float]] | None = Field(None, description="(N, 2) points, (x, y) pixels")
    labels: list[float] | None = Field(None, description="(N,) labels: 1 foreground, 0 background")
    box: list[float] | None = Field(None, description="(4,) box, XYXY pixels")
    logits_id: str | None = Field(
        None,
        description="`logits_id` of an earlier predict on this image: its low-res logits "
        "are the mask prompt (mask_input)",
    )
    logits_index: int | None = Field(
        None, ge=0, description="which mask of that call (default: its highest-scoring); needs logits_id"
    )
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


def _fraction(description: str) -> object:
    return Field(None, ge=0.0, le=1.0, description=f"{description}; a number in [0, 1]")


class GenerateParams(BaseModel):
    """Parameters of the model's automatic mask generator, by their upstream names and with the
    upstream defaults when left out. The parameters below are typed and bounded here (a wrong
    type or a value out of range is a 422 naming it); which of them the served model takes is
    the model's own check (a parameter it does not take is a 422 listing those it does). Other
    names pass through to that check; their values must be numbers, booleans or strings.
    ``output_mode`` is the server's (COCO RLE) and ``point_grids`` cannot be sent."""

    model_config = ConfigDict(extra="allow", **_STRICT)

    # point-grid generators (SAM, MobileSAM, SAM 2, EfficientSAM, SAM-HQ, EfficientViT-SAM, SAM 3, EdgeTAM)
    points_per_side: int = Field(
        None, ge=1, le=MAX_POINTS_PER_SIDE, description="grid points along each side (points_per_side**2 prompts)"
    )
    points_per_batch: int = Field(
        None,
        ge=1,
        le=MAX_POINTS_PER_BATCH,
        description="point prompts per decoder call (also the chunk after which a generate lets clicks run)",
    )
    pred_iou_thresh: float = _fraction("keep masks whose predicted IoU is above this")
    stability_score_thresh: float = _fraction("keep masks whose stability score is at least this")
    stability_score_offset: float = Field(None, ge=0.0, description="logit offset of the stability score")
    box_nms_thresh: float = _fraction("box IoU cutoff of the NMS within a crop")
    crop_n_layers: int = Field(None, ge=0, le=MAX_CROP_N_LAYERS, description="crop layers after the whole image")
    crop_nms_thresh: float = _fraction("box IoU cutoff of the NMS across crops")
    crop_overlap_ratio: float = Field(
        None, ge=0.0, lt=1.0, description="overlap of layer-1 crops, a fraction of the short side in [0, 1)"
    )
    crop_n_points_downscale_factor: int = Field(None, ge=1, description="layer i has points_per_side / factor**i")
    min_mask_region_area: int = Field(None, ge=0, description="fill holes / remove islands below this (pixels)")
    multimask_output: bool = Field(None, description="3 candidate masks per point (SAM 2, SAM-HQ)")
    mask_threshold: float = Field(None, description="logit threshold of a mask pixel (SAM 2)")
    use_m2m: bool = Field(None, description="a second, mask-prompted decoder pass (SAM 2's own generator)")
    hq_token_only: bool = Field(None, description="only the HQ token's mask (SAM-HQ)")
    # FastSAM's everything mode
    imgsz: int = Field(None, ge=32, le=4096, description="FastSAM: inference size (pixels)")
    conf: float = _fraction("FastSAM: detection confidence threshold")
    iou: float = _fraction("FastSAM: NMS IoU threshold")
    retina_masks: bool = Field(None, description="FastSAM: masks at the image's resolution")
    max_det: int = Field(None, ge=1, le=10000, description="FastSAM: most masks kept")

    @model_validator(mode="after")
    def _scalar_extras(self) -> GenerateParams:
        for name, value in (self.model_extra or {}).items():
            ok = isinstance(value, (bool, int, str)) or (isinstance(value, float) and math.isfinite(value))
            if not ok:
                raise ValueError(
                    f"generator parameter {name!r} must be a number, true / false or a string, got {value!r}"
                )
        return self

    def given(self) -> dict[str, int | float | bool | str]:
        """The parameters the request gave (left-out ones take the generator's defaults)."""
        return self.model_dump(exclude_unset=True)


class GenerateRequest(BaseModel):
    """Parameters of the model's automatic mask generator (see `GenerateParams`), e.g.
    ``{"params": {"points_per_side": 16, "pred_iou_thresh": 0.8}}``; no body: the defaults."""

    model_config = ConfigDict(
        extra="forbid",
        **_STRICT,
        json_schema_extra={"examples": [{"params": {"points_per_side": 16, "pred_iou_thresh": 0.8}}]},
    )

    params: GenerateParams = Field(default_factory=GenerateParams)


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
    generate_ms: float = Field(
        description="wall time of the generator call (ms; it runs its own encoder passes, and includes "
        "the turns it gave to clicks)"
    )


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
    generate_handoffs: int = Field(description="times a running generate let waiting clicks and uploads run")
