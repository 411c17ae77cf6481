"""Shared by SAM and MobileSAM, whose predictors have the same API (``predict_torch``, ``transform``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from samkit.prompts import Prompts


def _numpy(t: Any) -> np.ndarray:
    return t.detach().float().cpu().numpy() if t.dtype.is_floating_point else t.detach().cpu().numpy()


class SamStylePredict:
    """Batched and reduced-precision prediction through SamPredictor's public ``predict_torch``.

    ``SamPredictor.predict`` converts outputs with ``.numpy()``, which fails on bfloat16 tensors;
    under autocast these adapters call ``predict_torch`` and convert to float32 themselves.
    """

    _predictor: Any

    #: `Segmenter.predict_points` is one ``predict_torch`` call; `Segmenter.set_images` runs
    #: ``model.image_encoder`` once per batch of preprocessed images
    batched_decoder = True
    batched_encoder = True
    #: what SamPredictor's ``set_image`` sets (SAM-HQ's also ``interm_features``)
    _image_state_keys = ("features", "original_size", "input_size", "is_image_set")

    def _predict_points(self, coords: np.ndarray, labels: np.ndarray, multimask_output: bool):
        """``(N, K, 2)`` point sets in one ``predict_torch`` call, transformed as ``predict`` does."""
        out = self._predict_torch(coords, labels, None, None, multimask_output, False, batched=True)
        return tuple(_numpy(t) for t in out)

    def _embed_images(self, images: list) -> list[dict[str, Any]]:
        """One ``model.image_encoder`` pass over ``images``, each transformed and preprocessed as
        SamPredictor's ``set_image`` / ``set_torch_image`` do (the preprocessed inputs are all
        padded to the encoder's square, so they stack); the state of each image as they set it."""
        import torch

        from samkit.models._batching import slice_batch

        pred = self._predictor
        model = pred.model
        inputs, input_sizes = [], []
        for rgb in images:
            if model.image_format != "RGB":  # as SamPredictor.set_image (samkit images are RGB)
                rgb = rgb[..., ::-1]
            t = torch.as_tensor(pred.transform.apply_image(rgb), device=pred.device)
            t = t.permute(2, 0, 1).contiguous()[None, :, :, :]
            input_sizes.append(tuple(t.shape[-2:]))
            inputs.append(model.preprocess(t))
        with torch.no_grad():
            out = model.image_encoder(torch.cat(inputs))
        features, interm = out if isinstance(out, tuple) else (out, None)  # SAM-HQ: (features, interm)
        states = []
        for i, rgb in enumerate(images):
            state = {
                "features": features[i : i + 1],
                "original_size": tuple(rgb.shape[:2]),
                "input_size": input_sizes[i],
                "is_image_set": True,
            }
            if interm is not None:
                state["interm_features"] = slice_batch(interm, i)
            states.append(state)
        return states

    def _predict_reduced(self, p: Prompts, multimask_output: bool, return_logits: bool):
        out = self._predict_torch(p.point_coords, p.point_labels, p.box, p.mask_input, multimask_output, return_logits)
        return tuple(_numpy(t[0]) for t in out)

    def _predict_boxes(self, boxes: np.ndarray, multimask_output: bool):
        out = self._predict_torch(None, None, boxes, None, multimask_output, False)
        return tuple(_numpy(t) for t in out)

    def _predict_logits_batch(self, point_coords: Any, point_labels: Any, multimask_output: bool = True) -> tuple:
        """`Segmenter._predict_logits_batch` in one ``predict_torch`` call for the whole batch.

        ``point_coords`` ``(B, K, 2)`` pixels, ``point_labels`` ``(B, K)`` -> logits
        ``(B, C, H, W)`` and scores ``(B, C)``, float32 torch tensors on the model's device.
        """
        import torch

        from samkit.errors import NotReadyError

        pred = self._predictor
        if not pred.is_image_set:
            raise NotReadyError(f"{self.name}: call set_image(image) before predicting.")
        coords = pred.transform.apply_coords(np.asarray(point_coords, dtype=np.float64), pred.original_size)
        coords_t = torch.as_tensor(coords, dtype=torch.float, device=pred.device)
        labels_t = torch.as_tensor(np.asarray(point_labels), dtype=torch.int, device=pred.device)
        with self._autocast():
            logits, scores, _ = pred.predict_torch(coords_t, labels_t, None, None, multimask_output, return_logits=True)
        return logits.float(), scores.float()

    def _predict_torch(self, coords, labels, boxes, mask_input, multimask_output, return_logits, batched=False):
        import torch

        pred = self._predictor
        dev, size = pred.device, pred.original_size
        coords_t = labels_t = boxes_t = mask_t = None
        if coords is not None:  # (K, 2) and (K,), or with ``batched`` (N, K, 2) and (N, K)
            coords_t = torch.as_tensor(pred.transform.apply_coords(coords, size), dtype=torch.float, device=dev)
            labels_t = torch.as_tensor(labels, dtype=torch.int, device=dev)
            if not batched:
                coords_t, labels_t = coords_t[None], labels_t[None]
        if boxes is not None:
            boxes_t = pred.transform.apply_boxes_torch(
                torch.as_tensor(np.atleast_2d(boxes), dtype=torch.float, device=dev), size
            )
        if mask_input is not None:
            mask_t = torch.as_tensor(mask_input, dtype=torch.float, device=dev)[None]
        return pred.predict_torch(coords_t, labels_t, boxes_t, mask_t, multimask_output, return_logits=return_logits)


class SamGridDecode:
    """The fast grid decoder (`samkit.models._fast_decoder`) for SAM and MobileSAM, whose mask
    decoders are segment-anything's; SAM-HQ's decoder differs and does not use it."""

    _predictor: Any

    def _grid_decode(self, points: np.ndarray, multimask_output: bool) -> Any:
        """`GridMaskGenerator`'s decoder pass: one foreground point a prompt (``(B, 2)`` pixels of
        the set image), transformed as SamAutomaticMaskGenerator does (float64 into the prompt
        encoder); masks are post-processed by the model's ``postprocess_masks`` (described per
        axis by `samkit.models._sparse_masks.sam_resize`)."""
        import torch

        from samkit.models._fast_decoder import decode_points
        from samkit.models._sparse_masks import sam_resize

        pred = self._predictor
        model = pred.model
        coords = torch.as_tensor(
            pred.transform.apply_coords(np.asarray(points, np.float64), pred.original_size), device=pred.device
        )

        def resize(low: Any) -> Any:
            return model.postprocess_masks(low, pred.input_size, pred.original_size)

        low_hw = tuple(4 * s for s in pred.features.shape[-2:])
        axes = sam_resize(low_hw, model.image_encoder.img_size, pred.input_size, pred.original_size)
        return decode_points(
            model.mask_decoder, model.prompt_encoder, pred.features, coords, multimask_output, resize, axes=axes
        )
