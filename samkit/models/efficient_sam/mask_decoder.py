"""EfficientSAM's mask decoder: prompt tokens + image embedding -> mask logits and predicted IoUs.

SAM's design (an IoU token and 4 mask tokens run through the two-way transformer with the prompt
tokens; the image tokens are upscaled 4x by two transposed convolutions; each mask token's MLP
gives the weights of a dot product with the upscaled features) with GELU everywhere, a GroupNorm
only after the first upscaling step, two-hidden-layer MLPs and no dense (mask) prompt.

Mask token 0 is the single-mask output, tokens 1-3 the three multimask candidates.
"""

from __future__ import annotations

import torch
from torch import nn

from samkit.models.efficient_sam.layers import MLP
from samkit.models.efficient_sam.transformer import TwoWayTransformer


class MaskDecoder(nn.Module):
    """Decode masks for ``Q`` prompts per image.

    Args:
        dim: token and embedding width (256).
        transformer: the two-way transformer.
        num_multimask_outputs: candidates of the multimask output (3).
        upscaling_dims: channels after each 2x transposed-convolution step ((64, 32)).
        iou_head_hidden_dim / iou_head_layers: hidden width and hidden layers of the IoU head.
    """

    def __init__(
        self,
        dim: int,
        transformer: TwoWayTransformer,
        num_multimask_outputs: int = 3,
        upscaling_dims: tuple[int, ...] = (64, 32),
        iou_head_hidden_dim: int = 256,
        iou_head_layers: int = 2,
    ) -> None:
        super().__init__()
        self.transformer = transformer
        self.num_multimask_outputs = num_multimask_outputs
        self.num_mask_tokens = num_multimask_outputs + 1 if num_multimask_outputs > 1 else 1
        self.iou_token = nn.Embedding(1, dim)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, dim)
        layers, channels = [], dim
        for i, out in enumerate(upscaling_dims):
            last = i == len(upscaling_dims) - 1
            layers.append(
                nn.Sequential(
                    nn.ConvTranspose2d(channels, out, kernel_size=2, stride=2),
                    nn.Identity() if last else nn.GroupNorm(1, out),
                    nn.GELU(),
                )
            )
            channels = out
        self.final_output_upscaling_layers = nn.ModuleList(layers)
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(dim, dim, channels, num_layers=2) for _ in range(self.num_mask_tokens)
        )
        self.iou_prediction_head = MLP(dim, iou_head_hidden_dim, self.num_mask_tokens, num_layers=iou_head_layers)

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        prompt_tokens: torch.Tensor,
        multimask_output: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Masks for every prompt.

        Args:
            image_embeddings: ``(B, C, h, w)``.
            image_pe: ``(1, C, h, w)`` position encoding of the embedding grid.
            prompt_tokens: ``(B, Q, N, C)``: Q prompts of N tokens per image.
            multimask_output: the 3 candidates (tokens 1-3) or the single mask (token 0).
        Returns:
            low-res logits ``(B*Q, M, 4h, 4w)`` and predicted IoUs ``(B*Q, M)``, M = 3 or 1.
        """
        b, q, n, c = prompt_tokens.shape
        _, ec, eh, ew = image_embeddings.shape
        per_prompt = torch.tile(image_embeddings[:, None], [1, q, 1, 1, 1]).view(b * q, ec, eh, ew)
        masks, iou = self._predict(per_prompt, image_pe, prompt_tokens.reshape(b * q, n, c))
        if multimask_output and self.num_multimask_outputs > 1:
            return masks[:, 1:], iou[:, 1:]
        return masks[:, :1], iou[:, :1]

    def _predict(
        self, embeddings: torch.Tensor, image_pe: torch.Tensor, prompt_tokens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """All mask tokens' logits ``(P, 4, 4h, 4w)`` and IoUs ``(P, 4)`` for ``P`` prompts."""
        out_tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
        out_tokens = out_tokens.unsqueeze(0).expand(prompt_tokens.size(0), -1, -1)
        tokens = torch.cat((out_tokens, prompt_tokens), dim=1)
        pos = torch.repeat_interleave(image_pe, tokens.shape[0], dim=0)
        p, c, h, w = embeddings.shape
        hs, src = self.transformer(embeddings, pos, tokens)
        iou_out, mask_out = hs[:, 0, :], hs[:, 1 : 1 + self.num_mask_tokens, :]
        features = src.transpose(1, 2).view(p, c, h, w)
        for layer in self.final_output_upscaling_layers:
            features = layer(features)
        weights = torch.stack([mlp(mask_out[:, i, :]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=1)
        p, c, h, w = features.shape
        masks = (weights @ features.view(p, c, h * w)).view(p, -1, h, w)
        return masks, self.iou_prediction_head(iou_out)
