"""EfficientTAM's image trunk: a plain (non-hierarchical) ViT-Ti / ViT-S on 16x16 patches.

Input ``(B, 3, S, S)`` normalised pixels (S = 1024 or 512); output a one-element list with the
last block's features ``(B, C, S/16, S/16)`` (C = 192 for ViT-Ti, 384 for ViT-S), the form sam2's
``ImageEncoder`` passes to its neck. Blocks use windowed attention (14x14 windows, the grid
zero-padded to a multiple of 14) except every third block (indexes 2, 5, 8, 11), which attends
globally; there is no relative position bias. The absolute position embedding was learnt at
224x224 (14x14 patches plus a class token): the class token's entry is dropped and the 14x14 grid
resized bicubically to the patch grid on every call.

The state-dict keys are the official ones (``patch_embed.proj``, ``pos_embed``,
``blocks.N.{norm1,attn.qkv,attn.proj,norm2,mlp.layers.0,mlp.layers.1}``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ViTTrunk", "resize_pos_embed", "WINDOW_BLOCKS", "PRETRAIN_GRID"]

#: blocks that attend inside 14x14 windows; the others (2, 5, 8, 11) attend globally
WINDOW_BLOCKS = (0, 1, 3, 4, 6, 7, 9, 10)
#: patch grid (side) the position embedding was learnt at: 224 pixels / 16
PRETRAIN_GRID = 14


def resize_pos_embed(pos_embed: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """``(1, 1 + g*g, C)`` embedding with a class token -> ``(1, H, W, C)`` for a ``grid = (H, W)``
    patch grid (bicubic, ``align_corners=False``; unchanged when the grid is already g x g)."""
    table = pos_embed[:, 1:]
    side = int(round(table.shape[1] ** 0.5))
    if side * side != table.shape[1]:
        raise ValueError(f"pos_embed must hold a square grid plus a class token, got {tuple(pos_embed.shape)}")
    square = table.reshape(1, side, side, -1)
    if (side, side) == tuple(grid):
        return square
    resized = F.interpolate(square.permute(0, 3, 1, 2), size=grid, mode="bicubic", align_corners=False)
    return resized.permute(0, 2, 3, 1)


def _to_windows(x: torch.Tensor, size: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """``(B, H, W, C)`` -> ``(B * nW, size, size, C)`` windows (zero padding at the bottom / right)
    and the padded ``(Hp, Wp)``."""
    b, h, w, c = x.shape
    hp, wp = -(-h // size) * size, -(-w // size) * size
    if (hp, wp) != (h, w):
        x = F.pad(x, (0, 0, 0, wp - w, 0, hp - h))
    x = x.view(b, hp // size, size, wp // size, size, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, size, size, c), (hp, wp)


def _from_windows(windows: torch.Tensor, size: int, padded: tuple[int, int], hw: tuple[int, int]) -> torch.Tensor:
    """Inverse of `_to_windows`: ``(B * nW, size, size, C)`` -> ``(B, H, W, C)`` without the padding."""
    hp, wp = padded
    b = windows.shape[0] // ((hp // size) * (wp // size))
    x = windows.reshape(b, hp // size, wp // size, size, size, -1).permute(0, 1, 3, 2, 4, 5)
    x = x.reshape(b, hp, wp, -1)
    return x[:, : hw[0], : hw[1], :]


class Attention(nn.Module):
    """Multi-head self-attention over a ``(B, H, W, C)`` token grid with one fused ``qkv`` projection."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        qkv = self.qkv(x).reshape(b, h * w, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.reshape(3, b * self.num_heads, h * w, -1).unbind(0)  # contiguous per head
        heads = (b, self.num_heads, h * w, -1)
        out = F.scaled_dot_product_attention(q.view(heads), k.view(heads), v.view(heads))
        out = out.view(b, self.num_heads, h, w, -1).permute(0, 2, 3, 1, 4).reshape(b, h, w, -1)
        return self.proj(out)


class FeedForward(nn.Module):
    """Two linear layers with a GELU between, under sam2's MLP key names (``layers.0``, ``layers.1``)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(dim, hidden), nn.Linear(hidden, dim)])
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers[1](self.act(self.layers[0](x)))


class Block(nn.Module):
    """Pre-norm transformer block; ``window`` > 0: attention inside ``window x window`` windows."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, window: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = FeedForward(dim, int(dim * mlp_ratio))
        self.window = window

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm1(x)
        if self.window > 0:
            hw = (y.shape[1], y.shape[2])
            windows, padded = _to_windows(y, self.window)
            y = _from_windows(self.attn(windows), self.window, padded, hw)
        else:
            y = self.attn(y)
        x = x + y
        return x + self.mlp(self.norm2(x))


class ViTTrunk(nn.Module):
    """ViT-Ti (``dim=192, heads=3``) or ViT-S (``384, 6``): 12 blocks, MLP ratio 4, patch 16.

    ``channel_list`` (``[dim]``) is what sam2's ``ImageEncoder`` checks against its neck.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        depth: int = 12,
        patch: int = 16,
        mlp_ratio: float = 4.0,
        window: int = 14,
        window_blocks: tuple[int, ...] = WINDOW_BLOCKS,
    ) -> None:
        super().__init__()
        self.patch_embed = _PatchEmbed(patch, dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, PRETRAIN_GRID * PRETRAIN_GRID + 1, dim))
        self.blocks = nn.ModuleList(
            Block(dim, num_heads, mlp_ratio, window if i in window_blocks else 0) for i in range(depth)
        )
        self.channel_list = [dim]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.patch_embed(x)  # (B, H, W, C)
        x = x + resize_pos_embed(self.pos_embed, (x.shape[1], x.shape[2]))
        for block in self.blocks:
            x = block(x)
        return [x.permute(0, 3, 1, 2)]


class _PatchEmbed(nn.Module):
    """Non-overlapping ``patch x patch`` patches: ``(B, 3, H, W) -> (B, H/p, W/p, dim)`` (channels last)."""

    def __init__(self, patch: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).permute(0, 2, 3, 1)
