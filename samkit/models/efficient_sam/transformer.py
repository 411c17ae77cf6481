"""EfficientSAM's two-way transformer: prompt tokens and image tokens attend to each other.

The structure is SAM's (self-attention of the tokens, token-to-image cross-attention, an MLP on the
tokens, image-to-token cross-attention; a final token-to-image attention), with EfficientSAM's
differences: GELU MLPs (``layers.0.0`` + ``fc``), and when a block adds the token position
encoding before its self-attention it adds it to the tokens themselves (values and residual
included); the first block skips that addition but keeps the residual connection.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from samkit.models.efficient_sam.layers import MLP


class TokenAttention(nn.Module):
    """Multi-head attention whose projections may be narrower than the tokens.

    ``q (B, Nq, C)``, ``k`` and ``v`` ``(B, Nk, C)`` -> ``(B, Nq, C)``; the heads work in
    ``C / downsample_rate`` channels.
    """

    def __init__(self, dim: int, num_heads: int, downsample_rate: int = 1) -> None:
        super().__init__()
        inner = dim // downsample_rate
        if inner % num_heads:
            raise ValueError(f"num_heads={num_heads} must divide the inner width {inner}")
        self.num_heads = num_heads
        self.inv_sqrt_head = 1.0 / math.sqrt(inner / num_heads)
        self.q_proj = nn.Linear(dim, inner)
        self.k_proj = nn.Linear(dim, inner)
        self.v_proj = nn.Linear(dim, inner)
        self.out_proj = nn.Linear(inner, dim)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return x.reshape(b, n, self.num_heads, c // self.num_heads).transpose(1, 2)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        q, k, v = self._heads(self.q_proj(q)), self._heads(self.k_proj(k)), self._heads(self.v_proj(v))
        weights = torch.softmax((q @ k.permute(0, 1, 3, 2)) * self.inv_sqrt_head, dim=-1)
        out = (weights @ v).transpose(1, 2)
        b, n, h, c = out.shape
        return self.out_proj(out.reshape(b, n, h * c))


class TwoWayBlock(nn.Module):
    """One two-way block; returns updated ``(tokens, image tokens)``."""

    def __init__(
        self, dim: int, num_heads: int, mlp_dim: int, downsample_rate: int = 2, skip_first_layer_pe: bool = False
    ) -> None:
        super().__init__()
        self.self_attn = TokenAttention(dim, num_heads)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn_token_to_image = TokenAttention(dim, num_heads, downsample_rate)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLP(dim, mlp_dim, dim, num_layers=1)
        self.norm3 = nn.LayerNorm(dim)
        self.norm4 = nn.LayerNorm(dim)
        self.cross_attn_image_to_token = TokenAttention(dim, num_heads, downsample_rate)
        self.skip_first_layer_pe = skip_first_layer_pe

    def forward(
        self, queries: torch.Tensor, keys: torch.Tensor, query_pe: torch.Tensor, key_pe: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.skip_first_layer_pe:
            queries = queries + query_pe
        queries = self.norm1(queries + self.self_attn(queries, queries, queries))
        q, k = queries + query_pe, keys + key_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(q, k, keys))
        queries = self.norm3(queries + self.mlp(queries))
        q, k = queries + query_pe, keys + key_pe
        keys = self.norm4(keys + self.cross_attn_image_to_token(k, q, queries))
        return queries, keys


class TwoWayTransformer(nn.Module):
    """``depth`` two-way blocks and a final token-to-image attention.

    ``forward(image (B, C, h, w), image_pe (B, C, h, w), tokens (B, N, C))`` returns the tokens
    ``(B, N, C)`` and the image tokens ``(B, h*w, C)``.
    """

    def __init__(self, depth: int, dim: int, num_heads: int, mlp_dim: int, downsample_rate: int = 2) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            TwoWayBlock(dim, num_heads, mlp_dim, downsample_rate, skip_first_layer_pe=(i == 0)) for i in range(depth)
        )
        self.final_attn_token_to_image = TokenAttention(dim, num_heads, downsample_rate)
        self.norm_final_attn = nn.LayerNorm(dim)

    def forward(
        self, image: torch.Tensor, image_pe: torch.Tensor, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        keys = image.flatten(2).permute(0, 2, 1)
        key_pe = image_pe.flatten(2).permute(0, 2, 1)
        queries = tokens
        for layer in self.layers:
            queries, keys = layer(queries, keys, tokens, key_pe)
        attn = self.final_attn_token_to_image(queries + tokens, keys + key_pe, keys)
        return self.norm_final_attn(queries + attn), keys
