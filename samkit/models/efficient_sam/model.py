"""The EfficientSAM model (Xiong et al. 2023, arXiv:2312.00863) and its two builders.

samkit's own implementation of the architecture of github.com/yformer/EfficientSAM: module and
parameter names equal the official ones, so the official checkpoints (``{"model": state_dict}``)
load unchanged, and the arithmetic follows the official order of operations.

Conventions of the official pipeline (``EfficientSam.forward`` / ``predict_masks``):

- Pixels: ``(B, 3, H, W)`` float RGB in ``[0, 1]`` (``uint8 / 255``), resized -- not padded, the
  aspect ratio is not kept -- to 1024 x 1024 with bilinear interpolation, then normalised with
  the ImageNet mean and std.
- Prompts: ``(B, Q, N, 2)`` ``(x, y)`` pixels of the original image and ``(B, Q, N)`` labels
  (1 foreground, 0 background, 2 / 3 box top-left / bottom-right). Coordinates are scaled to the
  1024 x 1024 frame (x by 1024 / W, y by 1024 / H; negative coordinates become -1), and every
  prompt is padded with points ``(-1, -1)`` labelled -1 to exactly 6 points, or cut to its first 6.
- Outputs: ``(B, Q, M, 256, 256)`` low-res logits and ``(B, Q, M)`` predicted IoUs, M = 3
  candidates (multimask) or 1; `upsample` resizes logits straight to ``(H, W)`` with bicubic
  interpolation. A mask is ``logits >= 0``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from samkit.models.efficient_sam.image_encoder import ImageEncoder
from samkit.models.efficient_sam.mask_decoder import MaskDecoder
from samkit.models.efficient_sam.prompt_encoder import PromptEncoder
from samkit.models.efficient_sam.transformer import TwoWayTransformer

__all__ = [
    "EfficientSam",
    "build_efficient_sam",
    "build_efficient_sam_vitt",
    "build_efficient_sam_vits",
    "ARCHS",
    "MAX_POINTS",
    "IMG_SIZE",
]

#: side of the square the image is resized to (without keeping its aspect ratio)
IMG_SIZE = 1024
#: points per prompt the decoder sees (a box is 2 points); more are cut, fewer padded
MAX_POINTS = 6
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MASK_THRESHOLD = 0.0

#: arch key -> (ViT width, attention heads)
ARCHS: dict[str, tuple[int, int]] = {"vitt": (192, 3), "vits": (384, 6)}


class EfficientSam(nn.Module):
    """Image encoder + prompt encoder + mask decoder, with the official pre- and post-processing."""

    mask_threshold: float = MASK_THRESHOLD

    def __init__(
        self,
        image_encoder: ImageEncoder,
        prompt_encoder: PromptEncoder,
        mask_decoder: MaskDecoder,
        max_points: int = MAX_POINTS,
    ) -> None:
        super().__init__()
        self.image_encoder = image_encoder
        self.prompt_encoder = prompt_encoder
        self.mask_decoder = mask_decoder
        self.max_points = max_points
        # not in the official checkpoints (non-persistent buffers)
        self.register_buffer("pixel_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), False)

    @property
    def img_size(self) -> int:
        return self.image_encoder.img_size

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` RGB in ``[0, 1]`` -> resized to the encoder's square and normalised."""
        size = self.img_size
        if images.shape[-2:] != (size, size):
            images = F.interpolate(images, (size, size), mode="bilinear")
        return (images - self.pixel_mean) / self.pixel_std

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` RGB in ``[0, 1]`` -> image embeddings ``(B, 256, 64, 64)``."""
        return self.image_encoder(self.preprocess(images))

    def prepare_points(
        self, points: torch.Tensor, labels: torch.Tensor, input_hw: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Scale ``(B, Q, N, 2)`` original-image points to the encoder frame; pad/cut to `max_points`."""
        h, w = input_hw
        size = self.img_size
        x, y = points[..., 0], points[..., 1]
        scaled = torch.stack([torch.where(x >= 0, x * size / w, -1.0), torch.where(y >= 0, y * size / h, -1.0)], dim=-1)
        n = scaled.shape[2]
        if n > self.max_points:
            scaled, labels = scaled[:, :, : self.max_points], labels[:, :, : self.max_points]
        elif n < self.max_points:
            scaled = F.pad(scaled, (0, 0, 0, self.max_points - n), value=-1.0)
            labels = F.pad(labels, (0, self.max_points - n), value=-1)
        return scaled, labels

    def decode(
        self,
        embeddings: torch.Tensor,
        points: torch.Tensor,
        labels: torch.Tensor,
        input_hw: tuple[int, int],
        multimask_output: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Low-res logits ``(B, Q, M, 256, 256)`` and IoUs ``(B, Q, M)`` for ``Q`` prompts per image.

        Args:
            embeddings: ``(B, 256, 64, 64)`` from `embed`.
            points: ``(B, Q, N, 2)`` ``(x, y)`` pixels of the original ``input_hw = (H, W)`` image.
            labels: ``(B, Q, N)`` integer labels (see the module docstring).
            multimask_output: the 3 candidates, or the decoder's single-mask token.
        """
        b, q = points.shape[:2]
        scaled, labels = self.prepare_points(points, labels, input_hw)
        tokens = self.prompt_encoder(scaled.reshape(b * q, self.max_points, 2), labels.reshape(b * q, self.max_points))
        tokens = tokens.view(b, q, tokens.shape[1], tokens.shape[2])
        low_res, iou = self.mask_decoder(embeddings, self.prompt_encoder.dense_pe(), tokens, multimask_output)
        m, side = low_res.shape[1], low_res.shape[-1]
        return low_res.reshape(b, q, m, side, side), iou.reshape(b, q, m)

    @staticmethod
    def upsample(low_res: torch.Tensor, output_hw: tuple[int, int]) -> torch.Tensor:
        """Resize ``(..., 256, 256)`` logits straight to ``output_hw`` (bicubic, as upstream)."""
        lead = low_res.shape[:-2]
        flat = low_res.reshape(-1, 1, *low_res.shape[-2:])  # channels are resized independently
        up = F.interpolate(flat, tuple(output_hw), mode="bicubic")
        return up.reshape(*lead, *output_hw)

    def forward(
        self,
        images: torch.Tensor,
        points: torch.Tensor,
        labels: torch.Tensor,
        scale_to_original_image_size: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """End to end, as the official ``forward``: multimask logits at the image size (or 256)."""
        h, w = images.shape[-2:]
        low_res, iou = self.decode(self.embed(images), points, labels, (h, w), True)
        if scale_to_original_image_size:
            return self.upsample(low_res, (h, w)), iou
        return low_res, iou


def build_efficient_sam(dim: int, num_heads: int) -> EfficientSam:
    """EfficientSAM with a ``dim``-wide, ``num_heads``-head ViT encoder (12 blocks, 1024 input)."""
    encoder = ImageEncoder(dim, num_heads, depth=12, img_size=IMG_SIZE, patch=16, out_dim=256)
    grid = encoder.embedding_size
    prompt_encoder = PromptEncoder(256, (grid, grid), (IMG_SIZE, IMG_SIZE))
    transformer = TwoWayTransformer(depth=2, dim=256, num_heads=8, mlp_dim=2048)
    decoder = MaskDecoder(
        256, transformer, num_multimask_outputs=3, upscaling_dims=(64, 32), iou_head_hidden_dim=256, iou_head_layers=2
    )
    return EfficientSam(encoder, prompt_encoder, decoder)


def build_efficient_sam_vitt() -> EfficientSam:
    """EfficientSAM-Ti: ViT-Ti encoder (width 192, 3 heads); 10,223,204 parameters."""
    return build_efficient_sam(*ARCHS["vitt"])


def build_efficient_sam_vits() -> EfficientSam:
    """EfficientSAM-S: ViT-S encoder (width 384, 6 heads); 26,413,028 parameters."""
    return build_efficient_sam(*ARCHS["vits"])
