"""EfficientSAM's image encoder: a plain ViT (ViT-Ti or ViT-S) on 16x16 patches, plus SAM's neck.

Input ``(B, 3, 1024, 1024)`` normalised pixels; output ``(B, 256, 64, 64)`` image embeddings.
The ViT has global attention in every block and an absolute position embedding learnt at
224x224 (14x14 patches plus a class token), resized bicubically to the 64x64 patch grid on every
call. The neck is a 1x1 conv, a channel layer norm, a 3x3 conv and a channel layer norm, as SAM's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from samkit.models.efficient_sam.layers import ChannelLayerNorm

#: image size (pixels) and patch grid the position embedding was learnt at (with a class token)
PRETRAIN_SIZE = 224


class PatchEmbed(nn.Module):
    """Non-overlapping ``p x p`` patches to ``dim`` channels: ``(B, 3, H, W) -> (B, dim, H/p, W/p)``."""

    def __init__(self, patch: int, in_chans: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class Attention(nn.Module):
    """Multi-head self-attention with one fused ``qkv`` projection; ``(B, N, C) -> (B, N, C)``."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # each (B, heads, N, C/heads)
        weights = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(b, n, c))


class FeedForward(nn.Module):
    """``fc1`` -> GELU -> ``fc2``."""

    def __init__(self, dim: int, hidden: int, act: type[nn.Module] = nn.GELU) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = act()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))``."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = FeedForward(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ImageEncoder(nn.Module):
    """ViT + neck: ``(B, 3, img_size, img_size)`` -> ``(B, out_dim, img_size/patch, img_size/patch)``.

    Args:
        dim: ViT width (192 for ViT-Ti, 384 for ViT-S).
        num_heads: attention heads (3 for ViT-Ti, 6 for ViT-S).
        depth: number of blocks (12 for both).
        img_size: side of the square input in pixels (1024).
        patch: patch side in pixels (16).
        out_dim: channels of the neck, i.e. of the embedding the decoder sees (256).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        depth: int = 12,
        img_size: int = 1024,
        patch: int = 16,
        out_dim: int = 256,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        self.img_size = img_size
        self.embedding_size = img_size // patch
        self.out_dim = out_dim
        self.patch_embed = PatchEmbed(patch, 3, dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, (PRETRAIN_SIZE // patch) ** 2 + 1, dim))
        self.blocks = nn.ModuleList(Block(dim, num_heads, mlp_ratio) for _ in range(depth))
        self.neck = nn.Sequential(
            nn.Conv2d(dim, out_dim, kernel_size=1, bias=False),
            ChannelLayerNorm(out_dim),
            nn.Conv2d(out_dim, out_dim, kernel_size=3, padding=1, bias=False),
            ChannelLayerNorm(out_dim),
        )

    def position_embedding(self, h: int, w: int) -> torch.Tensor:
        """The learnt grid embedding (class token dropped) resized to ``h x w``: ``(1, h, w, dim)``."""
        grid = self.pos_embed[:, 1:]
        side = int(round(grid.shape[1] ** 0.5))
        grid = grid.reshape(1, side, side, -1)
        if (side, side) == (h, w):
            return grid
        resized = F.interpolate(grid.permute(0, 3, 1, 2), size=(h, w), mode="bicubic", align_corners=False)
        return resized.permute(0, 2, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.img_size, self.img_size):
            raise ValueError(
                f"the image encoder takes {self.img_size}x{self.img_size} inputs, got {tuple(x.shape[-2:])}"
            )
        x = self.patch_embed(x).permute(0, 2, 3, 1)  # (B, h, w, dim)
        b, h, w, c = x.shape
        x = (x + self.position_embedding(h, w)).reshape(b, h * w, c)
        for block in self.blocks:
            x = block(x)
        return self.neck(x.reshape(b, h, w, c).permute(0, 3, 1, 2))
