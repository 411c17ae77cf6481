"""EfficientSAM's prompt encoder: points (and box corners) -> sparse prompt tokens.

Unlike SAM's, it has no mask prompt (no dense embedding) and no separate box path: a box is two
points labelled 2 (top-left) and 3 (bottom-right). Labels:

- ``1`` foreground point: position encoding + ``point_embeddings``;
- ``0`` background point: position encoding alone;
- ``2`` / ``3`` box corners: + ``bbox_top_left_embeddings`` / ``bbox_bottom_right_embeddings``;
- ``-1`` padding: + ``invalid_points`` (the decoder always sees a fixed number of points).

Points are ``(x, y)`` pixels of the square encoder input (1024 x 1024), shifted to the pixel
centre (+0.5) before the random-Fourier position encoding.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class PositionEmbeddingRandom(nn.Module):
    """Random Fourier features of ``(x, y)`` in ``[0, 1]``: ``(..., 2) -> (..., 2 * num_feats)``.

    The buffer ``positional_encoding_gaussian_matrix`` ``(2, num_feats)`` is part of the
    checkpoint.
    """

    def __init__(self, num_feats: int) -> None:
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn((2, num_feats)))

    def encode(self, coords: torch.Tensor) -> torch.Tensor:
        """Encode coordinates normalised to ``[0, 1]``; sin features first, then cos."""
        angles = 2 * math.pi * ((2 * coords - 1) @ self.positional_encoding_gaussian_matrix)
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)

    def grid(self, h: int, w: int) -> torch.Tensor:
        """Encoding of the centres of an ``h x w`` grid: ``(2 * num_feats, h, w)``."""
        dev = self.positional_encoding_gaussian_matrix.device
        ones = torch.ones((h, w), device=dev, dtype=torch.float32)
        ys = (ones.cumsum(dim=0) - 0.5) / h
        xs = (ones.cumsum(dim=1) - 0.5) / w
        return self.encode(torch.stack([xs, ys], dim=-1)).permute(2, 0, 1)

    def points(self, coords: torch.Tensor, size_hw: tuple[int, int]) -> torch.Tensor:
        """Encode ``(B, N, 2)`` pixel ``(x, y)`` coordinates of an image of ``size_hw``."""
        x = coords[..., 0] / size_hw[1]
        y = coords[..., 1] / size_hw[0]
        return self.encode(torch.stack([x, y], dim=-1).to(torch.float))


class PromptEncoder(nn.Module):
    """``(B, N, 2)`` points and ``(B, N)`` labels -> ``(B, N, embed_dim)`` sparse prompt tokens.

    Args:
        embed_dim: token width (256).
        embedding_hw: the image embedding's grid ``(64, 64)``; `dense_pe` encodes it.
        input_hw: the encoder input in pixels ``(1024, 1024)``; points are in its frame.
    """

    def __init__(self, embed_dim: int, embedding_hw: tuple[int, int], input_hw: tuple[int, int]) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.embedding_hw = embedding_hw
        self.input_hw = input_hw
        self.pe_layer = PositionEmbeddingRandom(embed_dim // 2)
        self.invalid_points = nn.Embedding(1, embed_dim)
        self.point_embeddings = nn.Embedding(1, embed_dim)
        self.bbox_top_left_embeddings = nn.Embedding(1, embed_dim)
        self.bbox_bottom_right_embeddings = nn.Embedding(1, embed_dim)

    def dense_pe(self) -> torch.Tensor:
        """Position encoding of the image embedding's grid: ``(1, embed_dim, 64, 64)``."""
        return self.pe_layer.grid(*self.embedding_hw).unsqueeze(0)

    def forward(self, coords: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        tokens = self.pe_layer.points(coords + 0.5, self.input_hw)
        for label, table in (
            (-1, self.invalid_points),
            (1, self.point_embeddings),
            (2, self.bbox_top_left_embeddings),
            (3, self.bbox_bottom_right_embeddings),
        ):
            tokens = tokens + table.weight[:, None, :] * (labels == label)[..., None]
        return tokens
