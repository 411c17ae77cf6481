"""Small building blocks shared by EfficientSAM's encoder and decoder.

Parameter names follow the official checkpoints (``layers.{i}.0`` / ``fc`` for an MLP, ``weight`` /
``bias`` for the channel norm), so the official files load into these modules unchanged.
"""

from __future__ import annotations

import torch
from torch import nn


class ChannelLayerNorm(nn.Module):
    """Layer norm over the channels of a ``(B, C, H, W)`` tensor, at every pixel.

    Computed as ``(x - mean) / sqrt(var + eps)`` with the biased variance, then a per-channel
    affine map, in that order (the official arithmetic, so results agree to the last bit).
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class MLP(nn.Module):
    """``num_layers`` x (Linear to ``hidden_dim`` + activation), then a Linear to ``output_dim``.

    Keys: ``layers.{i}.0`` (the hidden Linear layers) and ``fc`` (the output layer). The output
    layer has no activation.
    """

    def __init__(
        self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int, act: type[nn.Module] = nn.GELU
    ) -> None:
        super().__init__()
        dims_in = [input_dim] + [hidden_dim] * (num_layers - 1)
        self.layers = nn.ModuleList(nn.Sequential(nn.Linear(d, hidden_dim), act()) for d in dims_in)
        self.fc = nn.Linear(hidden_dim, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return self.fc(x)
