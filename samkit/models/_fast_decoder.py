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
  predicted-IoU filter instead of for every candidate;
- `PromptMasks.low_res` stops before the resize: with the resize described per axis
  (``PromptMasks.axes``) the generator thresholds the low-res logits directly
  (`samkit.models._sparse_masks`), never making the image-size logits.

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

from samkit.models._sparse_masks import AxisResize

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


def _shared_kv(attn: Any, k_in: torch.Tensor, v_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Key and value projections ``(1, h, N, d)`` of a shared image (`_tokens_to_image`)."""
    d = attn.internal_dim // attn.num_heads
    k = attn.k_proj(k_in).view(1, -1, attn.num_heads, d).transpose(1, 2)
    return k, attn.v_proj(v_in).view(1, -1, attn.num_heads, d).transpose(1, 2)


def _tokens_to_image(
    attn: Any,
    q_in: torch.Tensor,
    k_in: torch.Tensor | None,
    v_in: torch.Tensor | None,
    shared_kv: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """``attn(q=q_in, k=k_in, v=v_in)`` for tokens ``q_in`` (B, T, C) attending to image tokens
    ``k_in``, ``v_in`` (B or 1, N, C), or to a shared image's `_shared_kv` ``shared_kv``.
    Returns (B, T, C)."""
    heads = attn.num_heads
    b, t, _ = q_in.shape
    if shared_kv is not None or k_in.shape[0] == 1:  # shared image: project it once, attend per prompt
        d = attn.internal_dim // heads
        q = attn.q_proj(q_in).view(b, t, heads, d).transpose(1, 2)  # (B, h, T, d)
        k, v = shared_kv if shared_kv is not None else _shared_kv(attn, k_in, v_in)  # (1, h, N, d)
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


def _image_to_tokens(
    attn: Any, q_in: torch.Tensor | None, k_in: torch.Tensor, v_in: torch.Tensor, shared_q: torch.Tensor | None = None
) -> torch.Tensor:
    """``attn(q=q_in, k=k_in, v=v_in)`` for image tokens ``q_in`` (B or 1, N, C), or a shared
    image's query projection ``shared_q`` (1, N, h*d), attending to tokens ``k_in``, ``v_in``
    (B, T, C), as the factors ``(A, P)`` of ``attn(...) = A @ P``: attention (B, N, h*T) and
    projected values (B, h*T, C), so that the caller can add the residual in the same product
    (``torch.baddbmm``)."""
    heads = attn.num_heads
    b, t, _ = k_in.shape
    wo = attn.out_proj.weight  # (C, h*d)
    d = attn.internal_dim // heads
    k = attn.k_proj(k_in).view(b, t, heads, d)
    v = attn.v_proj(v_in).view(b, t, heads, d)
    # scores laid out (B, h, T, N): the softmax runs over T with N contiguous, many times faster
    # on a CPU than over a last dimension of T (a few) entries
    if shared_q is not None or q_in.shape[0] == 1:  # shared image: its query projection once
        q = shared_q if shared_q is not None else attn.q_proj(q_in)
        n = q.shape[1]
        q = q.view(1, n, heads, d)
        scores = torch.einsum("bthd,xnhd->bhtn", k, q)
    else:
        n = q_in.shape[1]
        wq, bq = _split(attn.q_proj, heads)
        folded = torch.einsum("bthd,hdc->bhtc", k, wq).reshape(b, heads * t, -1)  # (B, h*T, C)
        bias = torch.einsum("bthd,hd->bht", k, bq).reshape(b, heads, t, 1)
        scores = (folded @ q_in.transpose(1, 2)).view(b, heads, t, n) + bias
    p = torch.softmax(scores / math.sqrt(d), dim=2)  # (B, h, T, N)
    projected = torch.einsum("bthd,chd->bhtc", v, wo.view(wo.shape[0], heads, d))  # (B, h, T, C)
    # each of the h softmax groups sums to 1, so b_o / h on every projected row adds b_o once
    projected = projected + attn.out_proj.bias / heads
    return p.reshape(b, heads * t, n).transpose(1, 2), projected.reshape(b, heads * t, -1)


def two_way_transformer(
    transformer: Any,
    image: torch.Tensor,
    image_pe: torch.Tensor,
    tokens: torch.Tensor,
    shared: dict[str, Any] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """An upstream ``TwoWayTransformer``'s forward for B prompts sharing one image.

    ``image``, ``image_pe``: (1, C, h, w); ``tokens``: (B, T, C). Returns the processed tokens
    (B, T, C) and image tokens (B, N, C), as ``transformer(image, image_pe, tokens)`` would with
    the image repeated B times. ``shared``: a dict kept across calls on the same image (chunks of
    prompts) that holds the first layer's projections of the image, made once.
    """
    keys = image.flatten(2).transpose(1, 2)  # (1, N, C): shared until the first image update
    key_pe = image_pe.flatten(2).transpose(1, 2)
    shared = {} if shared is None else shared
    queries = tokens
    for i, layer in enumerate(transformer.layers):
        if layer.skip_first_layer_pe:
            queries = layer.self_attn(q=queries, k=queries, v=queries)
        else:
            q = queries + tokens
            queries = queries + layer.self_attn(q=q, k=q, v=queries)
        queries = layer.norm1(queries)
        t2i, i2t = layer.cross_attn_token_to_image, layer.cross_attn_image_to_token
        if keys.shape[0] == 1:  # the image is the same for every prompt: project it once
            if f"kv{i}" not in shared:
                keys_pe = keys + key_pe
                shared[f"kv{i}"] = _shared_kv(t2i, keys_pe, keys)
                shared[f"q{i}"] = i2t.q_proj(keys_pe)
            queries = layer.norm2(queries + _tokens_to_image(t2i, queries + tokens, None, None, shared[f"kv{i}"]))
            queries = layer.norm3(queries + layer.mlp(queries))
            attention, projected = _image_to_tokens(i2t, None, queries + tokens, queries, shared[f"q{i}"])
        else:
            keys_pe = keys + key_pe  # both cross attentions of the layer see the same image tokens
            queries = layer.norm2(queries + _tokens_to_image(t2i, queries + tokens, keys_pe, keys))
            queries = layer.norm3(queries + layer.mlp(queries))
            attention, projected = _image_to_tokens(i2t, keys_pe, queries + tokens, queries)
            del keys_pe
        keys = layer.norm4(torch.baddbmm(keys, attention, projected))  # keys + attention output
    queries = transformer.norm_final_attn(
        queries + _tokens_to_image(transformer.final_attn_token_to_image, queries + tokens, keys + key_pe, keys)
    )
    return queries, keys


@dataclass
class PromptMasks:
    """A decoder pass over B point prompts whose masks are made on request.

    ``scores``: (B, M) predicted IoU of the M output masks a prompt (upstream's selection:
    masks 1..3 with ``multimask_output``, else mask 0). `logits` makes the full-size logits of
    chosen masks only, `low_res` their low-res logits.
    """

    scores: torch.Tensor
    image_tokens: list[torch.Tensor]  # (chunk, N, C) after the transformer, `chunk` prompts each
    hyper: torch.Tensor  # (B, M, c) hypernetwork outputs of the selected mask tokens
    grid_hw: tuple[int, int]
    upscale: Callable[[torch.Tensor], torch.Tensor]  # (P, C, h, w) -> (P, c, 4h, 4w)
    resize: Callable[[torch.Tensor], torch.Tensor]  # (n, 1, 4h, 4w) low-res -> (n, 1, H, W)
    chunk: int = TRANSFORMER_CHUNK  # prompts a transformer pass (`image_tokens`' entries)
    upscale_chunk: int = UPSCALE_CHUNK
    #: `resize` per axis (rows, columns), where known: the generator then thresholds the
    #: low-res logits without resizing them (`samkit.models._sparse_masks.threshold_masks`)
    axes: tuple[AxisResize, AxisResize] | None = None

    def _tokens(self, prompts: torch.Tensor) -> torch.Tensor:
        """Image tokens (P, N, C) of the prompts ``prompts`` (indices in 0..B-1)."""
        return torch.stack([self.image_tokens[p // self.chunk][p % self.chunk] for p in prompts.tolist()])

    def _low_parts(self, flat_index: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Low-res logits of the masks ``flat_index``, a few prompts at a time (``upscale_chunk``):
        parts ``(k, 1, 4h, 4w)`` in prompt order, and that order (indices into ``flat_index``)."""
        m = self.scores.shape[1]
        flat_index = flat_index.to(self.scores.device)
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
            parts.append(low[local, :, which[lo:hi]].view(-1, 1, h4, w4))
        return parts, order

    @staticmethod
    def _in_asked_order(out: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
        if bool((order[1:] > order[:-1]).all()):  # asked in prompt order (the usual case)
            return out
        return out[torch.argsort(order)]

    def logits(self, flat_index: torch.Tensor) -> torch.Tensor:
        """Full-size logits (n, H, W) of the masks ``flat_index`` into ``scores.flatten()``.

        The prompts are upscaled a few at a time (``upscale_chunk``), each chunk's masks resized
        before the next chunk, so no (prompts, c, 4h, 4w) tensor of all of them is held."""
        if len(flat_index) == 0:
            low_hw = (4 * self.grid_hw[0], 4 * self.grid_hw[1])
            return self.resize(self.hyper.new_zeros(0, 1, *low_hw))[:, 0]
        parts, order = self._low_parts(flat_index)
        return self._in_asked_order(torch.cat([self.resize(low)[:, 0] for low in parts]), order)

    def low_res(self, flat_index: torch.Tensor) -> torch.Tensor:
        """Low-res logits (n, 4h, 4w) of the masks ``flat_index``, before `resize` (which
        ``axes``, where set, describes for `samkit.models._sparse_masks`)."""
        if len(flat_index) == 0:
            return self.hyper.new_zeros(0, 4 * self.grid_hw[0], 4 * self.grid_hw[1])
        parts, order = self._low_parts(flat_index)
        return self._in_asked_order(torch.cat(parts)[:, 0], order)


def decode_points(
    decoder: Any,
    prompt_encoder: Any,
    image: torch.Tensor,
    coords: torch.Tensor,
    multimask_output: bool,
    resize: Callable[[torch.Tensor], torch.Tensor],
    high_res: list[torch.Tensor] | None = None,
    axes: tuple[AxisResize, AxisResize] | None = None,
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
        axes: ``resize`` per axis (`samkit.models._sparse_masks.sam_resize` / ``bilinear_resize``),
            where known.
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
    shared: dict[str, Any] = {}  # the image's first-layer projections, made by the first chunk
    parts = [
        two_way_transformer(decoder.transformer, src, image_pe, tokens[i : i + chunk], shared)
        for i in range(0, b, chunk)
    ]
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
        axes,
    )


def resize_bilinear(size_hw: tuple[int, int]) -> Callable[[torch.Tensor], torch.Tensor]:
    """sam2's post-processing of low-res logits: one bilinear resize to ``size_hw``."""

    def resize(low: torch.Tensor) -> torch.Tensor:
        return F.interpolate(low.float(), size_hw, mode="bilinear", align_corners=False)

    return resize
