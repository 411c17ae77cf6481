"""`SegmentationService`: one served `Segmenter`, its embedding cache, the model lock and counters.

Framework-free (no FastAPI here): `samkit.serve.app` maps HTTP onto these methods.

Concurrency: the upstream predictors are stateful and share one torch module, so every encoder,
decoder and generator call runs under one lock (the *model lock*, `samkit.serve.lanes.ModelLock`):
model calls are serialised, one at a time, whatever the number of clients. Each cached image has
its own `Segmenter` sibling (`Segmenter._sibling`: the same module, its own image state), so no
embedding is ever swapped: a prompt on image A runs on A's sibling and cannot see image B's
embedding. Decoding uploads, encoding masks (RLE / PNG) and JSON run outside the lock, in parallel.

Uploads and clicks take the lock's interactive lane; ``generate`` takes its generate lane and,
through `samkit.models.grid_generator.between_batches`, hands the model to waiting clicks between
its chunks (decoder batches of ``points_per_batch`` points, crop encoder passes). The generator
works on its own sibling of the image's segmenter, so those clicks (on any image, this one
included) cannot disturb it, nor it them. Families whose ``generate`` is an upstream generator
(SAM-HQ, EfficientViT-SAM, FastSAM, ``engine="upstream"``, and SAM 2 with ``use_m2m`` or
``min_mask_region_area > 0``) never call the hook: they hold the model for the whole call.
"""

from __future__ import annotations

import inspect
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from samkit.errors import ParameterError, PromptError, SamkitError
from samkit.masks import rle_json
from samkit.serve.cache import CacheEntry, EmbeddingCache, held_bytes
from samkit.serve.codecs import decode_image, image_id_of, mask_to_png, mask_to_rle
from samkit.serve.lanes import ModelLock

__all__ = ["SegmentationService", "NotFoundError", "RequestError", "Upload"]


class NotFoundError(SamkitError, LookupError):
    """An image id or logits id the server does not hold (never uploaded, or evicted)."""


class RequestError(SamkitError, ValueError):
    """A request samkit cannot serve as given (other than a prompt): e.g. unknown generator parameters."""


#: generator parameters that are the server's, not the client's
SERVER_GENERATE_PARAMS = {
    "output_mode": "output_mode is the server's: generated masks are always COCO RLE.",
    "engine": "engine is the server's: /generate runs the model's default generator (engine='samkit').",
    "point_grids": "point_grids cannot be sent over HTTP; use points_per_side.",
}


@dataclass(frozen=True)
class Upload:
    """The result of an upload: the cache entry, whether it was cached, the encoder time (ms)."""

    entry: CacheEntry
    cached: bool
    encoder_ms: float | None


class SegmentationService:
    """Serve ``model`` (a `Segmenter`) to many clients.

    Args:
        model: the loaded model (``samkit.load(...)``); its own image state is never used.
        cache_mib: memory budget of the embedding cache (MiB).
        max_logits_per_image: low-res logits kept per image for ``logits_id`` feedback.
        generate_handoff: a running generate lets waiting clicks run between its chunks (True);
            False: it holds the model for the whole call (for comparisons, e.g. the load benchmark).
    """

    def __init__(
        self, model: Any, cache_mib: float = 2048, max_logits_per_image: int = 8, *, generate_handoff: bool = True
    ) -> None:
        self.model = model
        self.generate_handoff = bool(generate_handoff)
        self.cache = EmbeddingCache(cache_mib, max_logits_per_image)
        #: every model call runs holding it: ``with model_lock:`` (uploads, clicks) or
        #: ``with model_lock.generate() as handoff:`` (see `samkit.serve.lanes`)
        self.model_lock = ModelLock()
        self._stats_lock = threading.Lock()
        self.counters = {
            "encoder_calls": 0,
            "encoder_ms_total": 0.0,
            "decoder_calls": 0,
            "decoder_ms_total": 0.0,
            "generate_calls": 0,
            "generate_ms_total": 0.0,
        }

    # ------------------------------------------------------------------ helpers
    def _count(self, kind: str, ms: float) -> None:
        with self._stats_lock:
            self.counters[f"{kind}_calls"] += 1
            self.counters[f"{kind}_ms_total"] += ms

    def _timed(self, fn: Any) -> tuple[Any, float]:
        from samkit.metrics.perf import timed

        return timed(fn, self.model.device)

    def entry(self, image_id: str) -> CacheEntry:
        """The cached entry of ``image_id`` (a cache hit), or `NotFoundError` (a miss)."""
        entry = self.cache.get(image_id)
        if entry is None:
            raise NotFoundError(
                f"Unknown image id {image_id!r}: it was never uploaded, or it was "
                "evicted from the embedding cache. Upload the image again "
                "(POST /images)."
            )
        return entry

    # ------------------------------------------------------------------ operations
    def upload(self, data: bytes) -> Upload:
        """Embed the image file ``data`` (PNG, JPEG, ...) unless its id is cached: one encoder pass per image."""
        image_id = image_id_of(data)
        entry = self.cache.get(image_id, count=False)
        if entry is not None:
            self.cache.record(hit=True)
            return Upload(entry, True, None)
        rgb = decode_image(data)  # not an image: nothing counted
        with self.model_lock:
            entry = self.cache.get(image_id, count=False)  # embedded meanwhile by another client
            self.cache.record(hit=entry is not None)
            if entry is not None:
                return Upload(entry, True, None)
            sibling = self.model._sibling()
            sibling.text_prompter = self.model.text_prompter
            _, ms = self._timed(lambda: sibling.set_image(rgb))
            entry = CacheEntry(image_id, sibling, rgb, held_bytes(sibling._predictor, sibling._rgb, rgb))
            self.cache.put(entry)  # under the lock: a client waiting on the same image finds it
        self._count("encoder", ms)
        return Upload(entry, False, ms)

    def check_prompt_kinds(
        self, *, points: bool, box: bool, mask_input: bool, text: bool, multimask: bool | None
    ) -> None:
        """`UnsupportedError` (HTTP 400) for a prompt kind the model does not take."""
        model = self.model
        for given, capability, what in (
            (points, "points", "point prompts"),
            (box, "box", "box prompts"),
            (mask_input, "mask_input", "mask_input (a logits_id prompt)"),
            (bool(multimask), "multimask", "multimask output"),
        ):
            if given:
                model.require(capability, what)
        if text:
            model._require_text()  # names both ways to text: a native model, or a text detector

    def predict(
        self,
        image_id: str,
        *,
        points: Any = None,
        labels: Any = None,
        box: Any = None,
        logits_id: str | None = None,
        logits_index: int | None = None,
        text: str | None = None,
        multimask: bool | None = None,
        mask_format: str = "rle",
    ) -> dict[str, Any]:
        """One decoder pass on the cached embedding of ``image_id``.

        Returns a dict: ``image_id``, ``masks`` (C COCO RLE dicts or base64 PNGs), ``mask_format``,
        ``scores`` (C floats), ``logits_id`` (for the next call's ``logits_id``), ``decoder_ms``.
        """
        self.check_prompt_kinds(
            points=points is not None or labels is not None,
            box=box is not None,
            mask_input=logits_id is not None,
            text=text is not None,
            multimask=multimask,
        )
        if mask_format not in ("rle", "png"):
            raise RequestError(f"mask_format must be 'rle' or 'png', got {mask_format!r}.")
        if logits_index is not None and logits_id is None:
            raise RequestError("logits_index picks a mask of the call named by logits_id; give logits_id too.")
        if multimask is None:
            multimask = "multimask" in self.model.capabilities
        entry = self.entry(image_id)
        mask_input = None
        if logits_id is not None:
            kept = self.cache.get_logits(entry, logits_id)
            if kept is None:
                raise NotFoundError(
                    f"Unknown logits_id {logits_id!r} for image {image_id[:16]}...: "
                    f"the server keeps the last {self.cache.max_logits_per_image} "
                    "predictions of each image."
                )
            logits, best = kept
            index = best if logits_index is None else logits_index
            if not 0 <= index < len(logits):
                raise PromptError(f"logits_index must be in [0, {len(logits)}) for {logits_id!r}, got {index}.")
            mask_input = logits[index][None]
        kwargs: dict[str, Any] = {"point_coords": points, "point_labels": labels, "box": box, "mask_input": mask_input}
        if text is not None:  # samkit says that text goes alone
            kwargs["text"] = text
        segmenter = entry.segmenter
        with self.model_lock:
            (masks, scores, low_res), ms = self._timed(lambda: segmenter.predict(multimask_output=multimask, **kwargs))
        self._count("decoder", ms)
        new_id = None
        if text is None and len(scores):
            new_id, _ = self.cache.add_logits(image_id, low_res, int(np.argmax(scores)))
        encode = mask_to_rle if mask_format == "rle" else mask_to_png
        return {
            "image_id": image_id,
            "masks": [encode(m) for m in masks],
            "mask_format": mask_format,
            "scores": [float(s) for s in scores],
            "logits_id": new_id,
            "decoder_ms": ms,
        }

    def check_generate_params(self, params: dict[str, Any]) -> None:
        """Refuse, before any work, generator ``params`` the request may not or the model does not
        take: the server's own (`RequestError`), unknown names (`RequestError` listing the model's
        parameters), wrong types and ranges (`samkit.errors.ParameterError`), all HTTP 422."""
        for name, why in SERVER_GENERATE_PARAMS.items():
            if name in params:
                raise RequestError(why)
        check = getattr(self.model, "check_generate_params", None)
        if check is None:  # a model without the check: the generator's own checks run in generate
            return
        # keyword-only options of the family's generate itself (SAM-HQ's hq_token_only, ...)
        own = {
            name
            for name, p in inspect.signature(type(self.model).generate).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "engine"
        }
        try:
            check(**{k: v for k, v in params.items() if k not in own})
        except ParameterError:
            raise
        except TypeError as err:  # the check's own refusal of unknown names: nothing has run yet
            raise RequestError(str(err)) from None

    def generate(self, image_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """Automatic masks of the cached image ``image_id`` with the model's generator ``params``.

        The generators embed the image (and its crops) themselves, so this runs the encoder again.
        It takes the model lock's generate lane: samkit's grid generator gives the model to waiting
        clicks between its chunks; an upstream generator holds it for the whole call.
        """
        from samkit.models.grid_generator import between_batches

        self.model.require("automatic", "automatic mask generation")
        self.check_generate_params(params)
        entry = self.entry(image_id)
        with self.model_lock.generate() as handoff:
            token = between_batches.set(handoff if self.generate_handoff else None)
            try:
                records, ms = self._timed(lambda: entry.segmenter.generate(entry.image, **params))
            finally:
                between_batches.reset(token)
        self._count("generate", ms)
        return {"image_id": image_id, "masks": [_record(r) for r in records], "generate_ms": ms}

    def metrics(self) -> dict[str, Any]:
        """Cache and model counters (times in ms, memory in MiB)."""
        stats = self.cache.stats()
        with self._stats_lock:
            counters = dict(self.counters)
        return {
            "cache_hits": stats["hits"],
            "cache_misses": stats["misses"],
            "cache_evictions": stats["evictions"],
            "cache_entries": stats["entries"],
            "cache_used_mib": stats["used_mib"],
            "cache_budget_mib": stats["budget_mib"],
            **counters,
            "generate_handoffs": self.model_lock.handoffs,
        }


def _record(record: dict[str, Any]) -> dict[str, Any]:
    """A generator record with its segmentation as COCO RLE and plain JSON numbers."""
    seg = record["segmentation"]
    if isinstance(seg, dict):  # already RLE
        rle = rle_json(seg)
    else:
        rle = mask_to_rle(np.asarray(seg, dtype=bool))

    def floats(value: Any) -> Any:
        return None if value is None else np.asarray(value, dtype=float).tolist()

    return {
        "segmentation": rle,
        "area": int(record["area"]),
        "bbox": floats(record["bbox"]),
        "predicted_iou": _maybe_float(record.get("predicted_iou")),
        "stability_score": _maybe_float(record.get("stability_score")),
        "point_coords": floats(record.get("point_coords")),
        "crop_box": floats(record.get("crop_box")),
    }


def _maybe_float(value: Any) -> float | None:
    return None if value is None else float(value)
