"""SAM's two-way mask decoder for many point prompts on one image, with less arithmetic.

The same function as segment-anything's and sam2's ``MaskDecoder.predict_masks`` (same weights,
read from the upstream modules), reordered so that no per-prompt linear layer runs over the
``H*W`` image tokens:

- the layer-0 projections of the image tokens are the same for every prompt: computed once;
- tokens -> image attention: the key projection is folded into the queries
  (``q_h . (W_k,h x + b_k,h) = (W_k,h^T q_h) . x + q_h . b_k,h``) and the value projection is
  applied after the attention-weighted sum (softmax rows sum to 1), so the per-prompt work is two
  ``(heads*T) x C x N`` products instead of two ``N x C x C/2`` projections;
- image -> tokens attention: the query projection is folded into the keys in the same way and the
  output projection into the values, ``out_proj(A V) = A (V W_o^T) + b_o``;
- the output upscaling (transposed convolutions), the hypernetwork product and the resize to the
  image size run only for the masks the caller asks for (`PromptMasks.logits`), i.e. after the
  predicted-IoU filter instead of for every candidate.

Results equal the upstream decoder up to float rounding (tests compare them). Shapes: ``B``
prompts, ``T`` tokens a prompt, ``N = h*w`` image tokens, ``C`` channels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["PromptMasks", "decode_points", "two_way_transformer"]


#: prompts a transformer pass on a CPU: their image tokens (B x N x C floats) stay in its cache
TRANSFORMER_CHUNK = 4
#: prompts an output-upscaling pass on a CPU (each 4h x 4w x C/4 floats after the first convolution)
UPSCALE_CHUNK = 2
#: the same on an accelerator, where small passes cost kernel launches instead
DEVICE_CHUNK = 64


def _layer_norm_2d(norm: Any, x: torch.Tensor) -> torch.Tensor:
    """An upstream ``LayerNorm2d`` (over channels of (B, C, H, W), written out elementwise
    upstream) as torch's fused ``layer_norm`` on a channels-last view: the same normalisation."""
    out = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), norm.weight, norm.bias, norm.eps)
    return out.permute(0, 3, 1, 2)


def _split(linear: torch.nn.Linear, heads: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A projection's weight ``(heads, d, C_in)`` and bias ``(heads, d)``, head by head."""
    out_dim, in_dim = linear.weight.shape
    return linear.weight.view(heads, out_dim // heads, in_dim), linear.bias.view(heads, -1)


def _tokens_to_image(attn: Any, q_in: torch.Tensor, k_in: torch.Tensor, v_in: torch.Tensor) -> torch.Tensor:
    """``attn(q=q_in, k=k_in, v=v_in)`` for tokens ``q_in`` (B, T, C) attending to image tokens
    ``k_in``, ``v_in`` (B or 1, N, C). Returns (B, T, C)."""
    heads = attn.num_heads
    b, t, _ = q_in.shape
    if k_in.shape[0] == 1:  # shared image: project it once, attend per prompt
        d = attn.internal_dim // heads
        q = attn.q_proj(q_in).view(b, t, heads, d).transpose(1, 2)  # (B, h, T, d)
        k = attn.k_proj(k_in).view(1, -1, heads, d).transpose(1, 2)  # (1, h, N, d)
        v = attn.v_proj(v_in).view(1, -1, heads, d).transpose(1, 2)
        p = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(d), dim=-1)
        return attn.out_proj((p @ v).transpose(1, 2).reshape(b, t, heads * d))
    wk, bk = _split(attn.k_proj, heads)
    wv, bv = _split(attn.v_proj, heads)
    d = wk.shape[1]
    q = attn.q_proj(q_in).view(b, t, heads, d)
    folded = torch.einsum("bthd,hdc->bhtc", q, wk).reshape(b, heads * t, -1)  # (B, h*T, C)
    bias = torch.einsum("bthd,hd->bht", q, bk).reshape(b, heads * t, 1)
    p = torch.softmax((folded @ k_in.transpose(1, 2) + bias) / math.sqrt(d), dim=-1)  # (B, h*T, N)
    pooled = (p @ v_in).view(b, heads, t, -1)  # (B, h, T, C): attention-weighted image tokens
    out = torch.einsum("bhtc,hdc->bthd", pooled, wv) + bv  # (B, T, h, d)
    return attn.out_proj(out.reshape(b, t, heads * d))


def _image_to_tokens(attn: Any, q_in: torch.Tensor, k_in: torch.Tensor, v_in: torch.Tensor) -> torch.Tensor:
    """``attn(q=q_in, k=k_in, v=v_in)`` for image tokens ``q_in`` (B or 1, N, C) attending to
    tokens ``k_in``, ``v_in`` (B, T, C), as the factors ``(A, P)`` of ``attn(...) = A @ P``:
    attention (B, N, h*T) and projected values (B, h*T, C), so that the caller can add the
    residual in the same product (``torch.baddbmm``)."""
    heads = attn.num_heads
    b, t, _ = k_in.shape
    n = q_in.shape[1]
    wo = attn.out_proj.weight  # (C, h*d)
    d = attn.internal_dim // heads
    k = attn.k_proj(k_in).view(b, t, heads, d)
    v = attn.v_proj(v_in).view(b, t, heads, d)
    if q_in.shape[0] == 1:  # shared image: its query projection once
        q = attn.q_proj(q_in).view(1, n, heads, d)
        scores = torch.einsum("xnhd,bthd->bnht", q, k)
    else:
        wq, bq = _split(attn.q_proj, heads)
        folded = torch.einsum("bthd,hdc->bhtc", k, wq).reshape(b, heads * t, -1)  # (B, h*T, C)
        bias = torch.einsum("bthd,hd->bht", k, bq).reshape(b, 1, heads, t)
        scores = (q_in @ folded.transpose(1, 2)).view(b, n, heads, t) + bias
    p = torch.softmax(scores / math.sqrt(d), dim=-1)  # (B, N, h, T)
    projected = torch.einsum("bthd,chd->bhtc", v, wo.view(wo.shape[0], heads, d))  # (B, h, T, C)
    # each of the h softmax groups sums to 1, so b_o / h on every projected row adds b_o once
    projected = projected + attn.out_proj.bias / heads
    return p.reshape(b, n, heads * t), projected.reshape(b, heads * t, -1)


def two_way_transformer(
    transformer: Any, image: torch.Tensor, image_pe: torch.Tensor, tokens: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """An upstream ``TwoWayTransformer``'s forward for B prompts sharing one image.

    ``image``, ``image_pe``: (1, C, h, w); ``tokens``: (B, T, C). Returns the processed tokens
    (B, T, C) and image tokens (B, N, C), as ``transformer(image, image_pe, tokens)`` would with
    the image repeated B times.
    """
    keys = image.flatten(2).transpose(1, 2)  # (1, N, C): shared until the first image update
    key_pe = image_pe.flatten(2).transpose(1, 2)
    queries = tokens
    for layer in transformer.layers:
        if layer.skip_first_layer_pe:
            queries = layer.self_attn(q=queries, k=queries, v=queries)
        else:
            q = queries + tokens
            queries = queries + layer.self_attn(q=q, k=q, v=queries)
        queries = layer.norm1(queries)
        keys_pe = keys + key_pe  # both cross attentions of the layer see the same image tokens
        queries = layer.norm2(
            queries + _tokens_to_image(layer.cross_attn_token_to_image, queries + tokens, keys_pe, keys)
        )
        queries = layer.norm3(queries + layer.mlp(queries))
        attention, projected = _image_to_tokens(layer.cross_attn_image_to_token, keys_pe, queries + tokens, queries)
        keys = layer.norm4(torch.baddbmm(keys, attention, projected))  # keys + attention output
        del keys_pe
    queries = transformer.norm_final_attn(
        queries + _tokens_to_image(transformer.final_attn_token_to_image, queries + tokens, keys + key_pe, keys)
    )
    return queries, keys


@dataclass
class PromptMasks:
    """A decoder pass over B point prompts whose masks are made on request.

    ``scores``: (B, M) predicted IoU of the M output masks a prompt (upstream's selection:
    masks 1..3 with ``multimask_output``, else mask 0). `logits` makes the full-size logits of
    chosen masks only.
    """

    scores: torch.Tensor
    image_tokens: list[torch.Tensor]  # (chunk, N, C) after the transformer, `chunk` prompts each
    hyper: torch.Tensor  # (B, M, c) hypernetwork outputs of the selected mask tokens
    grid_hw: tuple[int, int]
    upscale: Callable[[torch.Tensor], torch.Tensor]  # (P, C, h, w) -> (P, c, 4h, 4w)
    resize: Callable[[torch.Tensor], torch.Tensor]  # (n, 1, 4h, 4w) low-res -> (n, 1, H, W)
    chunk: int = TRANSFORMER_CHUNK  # prompts a transformer pass (`image_tokens`' entries)
    upscale_chunk: int = UPSCALE_CHUNK

    def _tokens(self, prompts: torch.Tensor) -> torch.Tensor:
        """Image tokens (P, N, C) of the prompts ``prompts`` (indices in 0..B-1)."""
        return torch.stack([self.image_tokens[p // self.chunk][p % self.chunk] for p in prompts.tolist()])

    def logits(self, flat_index: torch.Tensor) -> torch.Tensor:
        """Full-size logits (n, H, W) of the masks ``flat_index`` into ``scores.flatten()``.

        The prompts are upscaled a few at a time (``upscale_chunk``), each chunk's masks resized
        before the next chunk, so no (prompts, c, 4h, 4w) tensor of all of them is held."""
        m = self.scores.shape[1]
        flat_index = flat_index.to(self.scores.device)
        low_hw = (4 * self.grid_hw[0], 4 * self.grid_hw[1])
        if len(flat_index) == 0:
            return self.resize(self.hyper.new_zeros(0, 1, *low_hw))[:, 0]
        order = torch.argsort(flat_index // m, stable=True)
        prompt, which = flat_index[order] // m, flat_index[order] % m
        used, counts = torch.unique_consecutive(prompt, return_counts=True)
        starts = torch.cumsum(counts, 0) - counts
        parts = []
        for i in range(0, len(used), self.upscale_chunk):
            end = min(i + self.upscale_chunk, len(used))
            chunk = used[i:end]
            lo, hi = int(starts[i]), int(starts[end - 1] + counts[end - 1])  # these prompts' masks
            src = self._tokens(chunk).transpose(1, 2).reshape(len(chunk), -1, *self.grid_hw)
            upscaled = self.upscale(src)  # (P, c, 4h, 4w), channels-last: (P, 4h, 4w, c) in memory
            p_, c, h4, w4 = upscaled.shape
            pixels = upscaled.permute(0, 2, 3, 1).reshape(p_, h4 * w4, c)
            low = pixels @ self.hyper[chunk].transpose(1, 2)  # (P, 4h*4w, M): every mask of them
            local = torch.repeat_interleave(torch.arange(len(chunk), device=src.device), counts[i:end])
            low = low[local, :, which[lo:hi]].view(-1, 1, h4, w4)
            parts.append(self.resize(low)[:, 0])
        out = torch.cat(parts)
        if bool((order[1:] > order[:-1]).all()):  # asked in prompt order (the usual case)
            return out
        return out[torch.argsort(order)]


def decode_points(
    decoder: Any,
    prompt_encoder: Any,
    image: torch.Tensor,
    coords: torch.Tensor,
    multimask_output: bool,
    resize: Callable[[torch.Tensor], torch.Tensor],
    high_res: list[torch.Tensor] | None = None,
) -> PromptMasks:
    """One foreground point a prompt through an upstream mask decoder, masks on request.

    Args:
        decoder: segment-anything's ``MaskDecoder`` or sam2's (``obj_score_token`` first when it
            predicts object scores; high-resolution features when it uses them).
        prompt_encoder: the matching ``PromptEncoder``.
        image: (1, C, h, w) image embedding.
        coords: (B, 2) points in the model's input frame (what upstream's transforms give).
        multimask_output: masks 1..3 (True) or mask 0 a prompt.
        resize: low-res logits (n, 1, 4h, 4w) -> image-size logits (n, 1, H, W), as upstream's
            predictor post-processes them.
        high_res: sam2's ``[feat_s0, feat_s1]`` (batch 1), when the decoder uses them.
    """
    b = coords.shape[0]
    labels = torch.ones(b, 1, dtype=torch.int, device=coords.device)
    sparse, dense = prompt_encoder(points=(coords[:, None, :], labels), boxes=None, masks=None)
    s = 1 if getattr(decoder, "pred_obj_scores", False) else 0
    weights = ([decoder.obj_score_token.weight] if s else []) + [decoder.iou_token.weight, decoder.mask_tokens.weight]
    out_tokens = torch.cat(weights, dim=0).unsqueeze(0).expand(b, -1, -1)
    tokens = torch.cat([out_tokens, sparse], dim=1)
    src = image + dense[:1]  # no mask prompt: the same dense embedding for every prompt
    image_pe = prompt_encoder.get_dense_pe()
    # a few prompts at a time: the per-prompt image tokens (N x C floats each) stay in cache
    on_cpu = coords.device.type == "cpu"
    chunk = TRANSFORMER_CHUNK if on_cpu else DEVICE_CHUNK
    parts = [two_way_transformer(decoder.transformer, src, image_pe, tokens[i : i + chunk]) for i in range(0, b, chunk)]
    hs = torch.cat([p[0] for p in parts])
    image_tokens = [p[1] for p in parts]
    n_mask = decoder.num_mask_tokens
    selected = range(1, n_mask) if multimask_output else range(0, 1)
    mask_tokens = hs[:, s + 1 : s + 1 + n_mask]
    scores = decoder.iou_prediction_head(hs[:, s])[:, list(selected)]
    hyper = torch.stack([decoder.output_hypernetworks_mlps[i](mask_tokens[:, i]) for i in selected], dim=1)

    dc1, ln1, act1, dc2, act2 = decoder.output_upscaling
    hi_res = high_res is not None and getattr(decoder, "use_high_res_features", False)

    def upscale(x: torch.Tensor) -> torch.Tensor:
        # channels-last throughout: the channel LayerNorm reads contiguous channels
        x = dc1(x.contiguous(memory_format=torch.channels_last))
        if hi_res:
            x = x + high_res[1]
        x = dc2(act1(_layer_norm_2d(ln1, x)))
        return act2(x + high_res[0] if hi_res else x)

    return PromptMasks(
        scores,
        image_tokens,
        hyper,
        tuple(image.shape[-2:]),
        upscale,
        resize,
        chunk,
        UPSCALE_CHUNK if on_cpu else DEVICE_CHUNK,
    )


def resize_bilinear(size_hw: tuple[int, int]) -> Callable[[torch.Tensor], torch.Tensor]:
    """sam2's post-processing of low-res logits: one bilinear resize to ``size_hw``."""

    def resize(low: torch.Tensor) -> torch.Tensor:
        return F.interpolate(low.float(), size_hw, mode="bilinear", align_corners=False)

    return resize
