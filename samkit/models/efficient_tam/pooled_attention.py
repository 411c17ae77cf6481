"""EfficientTAM's efficient memory cross-attention: keys and values of the spatial memories pooled 2x2.

In SAM 2's memory attention the current frame's ``n = s*s`` tokens (s = S/16: 64 at 1024 pixels)
cross-attend to every memory frame's ``n`` spatial tokens plus the object-pointer tokens. EfficientTAM
(``efficienttam_*_1`` and ``efficienttam_*_2``) keeps the queries and the object pointers as they are
and replaces each memory frame's ``s x s`` keys and values by their 2x2 averages (``n / 4`` tokens a
frame), after the rotary position encoding; a pooled token stands for 4 tokens, so ``log 4`` is added:

- variant 1 (official ``EfficientRoPEAttention1``): to the attention logits of the pooled keys,
  ``softmax([q k_pool^T / sqrt(d) + log 4, q k_ptr^T / sqrt(d)]) @ [v_pool, v_ptr]`` (written out,
  not through ``scaled_dot_product_attention``);
- variant 2 (official ``EfficientRoPEAttention2``): to every component of the pooled key vectors
  (``k_pool + log 4``), then ``scaled_dot_product_attention`` as usual. This is what the official
  code computes (it shifts each pooled logit by ``log 4 * sum(q) / sqrt(d)``), reproduced as is.

With one memory frame or fewer (``n`` spatial keys or fewer) both attend to all keys unpooled, as
SAM 2. The module subclasses sam2's ``RoPEAttention`` (same parameters and keys, so checkpoints of
the three kinds load into one another), which sam2's memory attention requires of a cross-attention
that is given object-pointer tokens.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["pooled_rope_attention_class", "POOL", "VARIANTS"]

#: side of the average pooling of the memory keys / values
POOL = 2
#: the official class of each variant
VARIANTS = {1: "EfficientRoPEAttention1", 2: "EfficientRoPEAttention2"}


def _pool_frames(x: torch.Tensor, side: int) -> torch.Tensor:
    """``(B, heads, F*side*side, d)`` spatial tokens of F frames (row-major grids) ->
    ``(B, heads, F*(side/2)^2, d)``, each 2x2 block of a frame's grid averaged."""
    b, heads, _, d = x.shape
    n = side * side
    grids = x.reshape(b, -1, n, d).transpose(-2, -1).reshape(b, -1, side, side)  # (B, heads*F*d, s, s)
    pooled = F.avg_pool2d(grids, POOL, stride=POOL)
    return pooled.reshape(b, -1, d, n // (POOL * POOL)).transpose(-2, -1).reshape(b, heads, -1, d)


def pooled_rope_attention_class() -> type:
    """The ``PooledRoPEAttention`` class, made on first use: it subclasses sam2's ``RoPEAttention``,
    and sam2 is imported only when a model is built. It is then this module's attribute
    ``PooledRoPEAttention`` (also on first access), so its instances pickle."""
    global _CLASS
    if _CLASS is None:
        _CLASS = _make_class()
    return _CLASS


def __getattr__(name: str) -> Any:
    if name == "PooledRoPEAttention":
        return pooled_rope_attention_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_CLASS: type | None = None


def _make_class() -> type:
    from samkit.models.sam2 import import_sam2

    import_sam2()
    from sam2.modeling.position_encoding import apply_rotary_enc
    from sam2.modeling.sam.transformer import RoPEAttention

    class PooledRoPEAttention(RoPEAttention):
        """sam2's ``RoPEAttention`` whose memory keys / values are pooled 2x2 (see the module docstring).

        Args:
            variant: 1 or 2, where ``log 4`` goes (the logits, or the pooled key vectors).
            *args, **kwargs: ``RoPEAttention``'s (``embedding_dim``, ``num_heads``, ``rope_theta``,
                ``rope_k_repeat``, ``feat_sizes``, ``kv_in_dim``, ``dropout``, ...).

        ``forward(q (B, n, C), k (B, m, C_kv), v (B, m, C_kv), num_k_exclude_rope)``: the last
        ``num_k_exclude_rope`` keys are object pointers (no rotary encoding, never pooled); the
        others are whole memory frames of ``n`` tokens each. Returns ``(B, n, C)``.
        """

        def __init__(self, *args: Any, variant: int = 1, **kwargs: Any) -> None:
            if variant not in VARIANTS:
                raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
            super().__init__(*args, **kwargs)
            self.variant = variant

        def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, num_k_exclude_rope: int = 0):
            q = self._separate_heads(self.q_proj(q), self.num_heads)
            k = self._separate_heads(self.k_proj(k), self.num_heads)
            v = self._separate_heads(self.v_proj(v), self.num_heads)

            n = q.shape[-2]
            side = math.sqrt(n)
            if self.freqs_cis.shape[0] != n:  # the rotary table of this grid (as RoPEAttention)
                self.freqs_cis = self.compute_cis(end_x=side, end_y=side)
            self.freqs_cis = self.freqs_cis.to(q.device)
            if n != k.shape[-2] and not self.rope_k_repeat:
                raise ValueError("keys of another length than the queries need rope_k_repeat=True")
            num_rope = k.shape[-2] - num_k_exclude_rope
            q, k[:, :, :num_rope] = apply_rotary_enc(
                q, k[:, :, :num_rope], freqs_cis=self.freqs_cis, repeat_freqs_k=self.rope_k_repeat
            )
            dropout_p = self.dropout_p if self.training else 0.0
            if not self.rope_k_repeat or num_rope <= n:  # self-attention, or at most one memory frame
                out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
            else:
                out = self._pooled(q, k, v, num_rope, int(side), dropout_p)
            return self.out_proj(self._recombine_heads(out))

        def _pooled(self, q, k, v, num_rope: int, side: int, dropout_p: float) -> torch.Tensor:
            k_pool, k_ptr = _pool_frames(k[:, :, :num_rope], side), k[:, :, num_rope:]
            values = torch.cat([_pool_frames(v[:, :, :num_rope], side), v[:, :, num_rope:]], dim=-2)
            log_pool = 2 * math.log(POOL)  # log of the tokens a pooled token stands for
            if self.variant == 2:
                keys = torch.cat([k_pool + log_pool, k_ptr], dim=-2)
                return F.scaled_dot_product_attention(q, keys, values, dropout_p=dropout_p)
            scale = 1 / math.sqrt(q.shape[-1])
            logits = torch.cat(
                [q @ k_pool.transpose(-2, -1) * scale + log_pool, q @ k_ptr.transpose(-2, -1) * scale], dim=-1
            )
            weights = F.dropout(torch.softmax(logits, dim=-1), dropout_p, training=self.training)
            return weights @ values

    PooledRoPEAttention.__qualname__ = "PooledRoPEAttention"
    return PooledRoPEAttention
