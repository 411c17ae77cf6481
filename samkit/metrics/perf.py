"""Speed, size and memory measurement: timing, parameter and FLOP counts, peak memory per phase.

Units: times in milliseconds (ms), memory in mebibytes (MiB = 2**20 bytes), FLOPs as plain counts.

- Timing on CUDA uses CUDA events around the call, with the device synchronised before and after,
  so the figure is the GPU time of the call, not its launch time; on the CPU it uses perf_counter.
- FLOPs follow ``torch.utils.flop_counter.FlopCounterMode``: a multiply-add counts as 2 FLOPs, and
  only matrix multiplies, convolutions and attention are counted (not softmax, norms, activations or
  element-wise ops). Papers often quote MACs (multiply-accumulates) and call them "FLOPs";
  ``macs = flops // 2`` converts. Counting runs under the MATH attention backend, because
  FlopCounterMode counts 0 FLOPs for CPU ``scaled_dot_product_attention`` (its fused CPU kernel is
  not in the counter's registry); the MATH backend decomposes attention into counted ``bmm`` calls.
  For the same reason the fused fast path of ``nn.MultiheadAttention`` / ``nn.TransformerEncoder``
  (taken in eval mode without grad, counted as 0) is switched off while counting.
- Peak memory on CUDA is the caching allocator's ``max_memory_allocated`` over the phase. On CPU
  there is no per-phase allocator figure; the process's peak resident set size (VmHWM, reset through
  ``/proc/self/clear_refs``) is reported instead and labelled ``cpu_process_peak_rss``.

torch is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import gc
import math
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "TimingStats",
    "synchronize",
    "timed",
    "time_call",
    "count_parameters",
    "parameter_breakdown",
    "FlopCount",
    "flop_breakdown",
    "count_flops",
    "MemoryStats",
    "measure_peak_memory",
]

MIB = 2**20
"""Bytes per MiB."""

SAM_PARTS: tuple[str, ...] = ("image_encoder", "prompt_encoder", "mask_decoder")
"""The submodules of a segment-anything style ``Sam`` module, in the order they run."""


# --------------------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class TimingStats:
    """Summary of repeated timings, in milliseconds."""

    median_ms: float
    p95_ms: float
    mean_ms: float
    repeats: int
    times_ms: tuple[float, ...]


def synchronize(device: Any) -> None:
    """Wait for queued CUDA work on ``device`` (no-op on CPU)."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _is_cuda(device: Any) -> bool:
    import torch

    return torch.device(device).type == "cuda"


def _perf_counter_timed(fn: Callable[[], Any], device: Any) -> tuple[Any, float]:
    synchronize(device)
    start = time.perf_counter()
    out = fn()
    synchronize(device)
    return out, (time.perf_counter() - start) * 1e3


def _cuda_event_timed(fn: Callable[[], Any], device: Any) -> tuple[Any, float]:
    """GPU time between two CUDA events recorded around ``fn`` on the current stream of ``device``."""
    import torch

    with torch.cuda.device(torch.device(device)):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        start.record()
        out = fn()
        end.record()
        torch.cuda.synchronize()
        return out, float(start.elapsed_time(end))


def timed(fn: Callable[[], Any], device: Any = "cpu") -> tuple[Any, float]:
    """``(fn(), milliseconds)`` of one call: the one timer behind every ``*_ms`` column.

    CUDA: CUDA events recorded around the call on the device's current stream, the device
    synchronised before and after (GPU time; host-side work such as numpy conversions is included
    while the stream waits on it). CPU: ``time.perf_counter`` around the call.
    """
    return (_cuda_event_timed if _is_cuda(device) else _perf_counter_timed)(fn, device)


def time_call(fn: Callable[[], Any], device: Any = "cpu", *, warmup: int = 1, repeats: int = 5) -> TimingStats:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` timed times; never times the first call.

    Each call is timed by `timed` (CUDA events on a GPU, ``perf_counter`` on a CPU).
    """
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    for _ in range(warmup):
        fn()
    times = [timed(fn, device)[1] for _ in range(repeats)]
    ordered = sorted(times)
    p95 = ordered[math.ceil(0.95 * len(ordered)) - 1]  # nearest-rank percentile
    return TimingStats(statistics.median(times), p95, statistics.fmean(times), repeats, tuple(times))


# ----------------------------------------------------------------------------------- parameters


def _as_module(model: Any) -> Any:
    """The ``nn.Module`` itself, or the ``.model`` module of a samkit Segmenter."""
    import torch

    if isinstance(model, torch.nn.Module):
        return model
    inner = getattr(model, "model", None)
    if isinstance(inner, torch.nn.Module):
        return inner
    raise TypeError(f"expected an nn.Module or an object with an nn.Module .model, got {type(model)!r}")


def count_parameters(module: Any, *, trainable_only: bool = False) -> int:
    """Number of parameter elements of ``module`` (an ``nn.Module`` or a samkit Segmenter).

    Shared (tied) parameters are counted once. ``trainable_only`` counts only those with
    ``requires_grad``.
    """
    return sum(p.numel() for p in _as_module(module).parameters() if p.requires_grad or not trainable_only)


def parameter_breakdown(module: Any, parts: Sequence[str] = SAM_PARTS) -> dict[str, int]:
    """Parameter counts per submodule: ``{part: n, ..., "other": n, "total": n}``.

    ``parts`` are submodule paths (dotted paths allowed, e.g. SAM 2's ``"sam_mask_decoder"``);
    parts the module does not have are left out of the result, and their parameters, like any
    outside the listed parts, are counted in ``"other"``. A parameter shared between parts is
    counted in the first part that holds it, so the values add up to ``"total"``.
    """
    root = _as_module(module)
    seen: set[int] = set()
    out: dict[str, int] = {}
    for name in parts:
        try:
            sub = root.get_submodule(name)
        except AttributeError:
            continue
        n = 0
        for p in sub.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                n += p.numel()
        out[name] = n
    out["other"] = sum(p.numel() for p in root.parameters() if id(p) not in seen)
    out["total"] = count_parameters(root)
    return out


# ---------------------------------------------------------------------------------------- FLOPs


@dataclass(frozen=True)
class FlopCount:
    """FLOPs of one call as FlopCounterMode counts them (a multiply-add = 2 FLOPs).

    ``macs`` is ``flops // 2``, the figure papers often quote as "FLOPs" or "GFLOPs".
    ``by_operator`` maps aten operator names (e.g. ``"aten.convolution"``) to their FLOPs.
    """

    flops: int
    macs: int
    by_operator: dict[str, int]


def _to_meta(obj: Any) -> Any:
    """Replace every tensor in nested tuples / lists / dicts by an empty tensor on the meta device."""
    import torch

    if isinstance(obj, torch.Tensor):
        return torch.empty_like(obj, device="meta")
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(_to_meta(o) for o in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_meta(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _to_meta(v) for k, v in obj.items()}
    return obj


@contextlib.contextmanager
def _countable_attention() -> Iterator[None]:
    """Route attention through counted ops: SDPA's MATH backend, no fused MHA fast path."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH):
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def flop_breakdown(fn_or_module: Any, *inputs: Any, meta: bool = False) -> FlopCount:
    """Count the FLOPs of one call ``fn_or_module(*inputs)``, with a per-operator breakdown.

    An ``nn.Module`` is called in ``torch.no_grad()`` (forward FLOPs only); any other callable is
    called as it is, so it decides about autograd. The call runs under
    ``sdpa_kernel(SDPBackend.MATH)`` so that scaled-dot-product attention is counted on every
    device (the fused CPU kernel would count as 0), and with the ``nn.MultiheadAttention`` fast
    path off (also counted as 0); MATH materialises the attention matrix, so the counting run may
    need more memory than a normal one. Both settings are process-wide while the call runs.

    ``meta=True`` (modules only) runs the module on the meta device through
    ``torch.func.functional_call``: no arithmetic and no tensor memory, the same count for shape-static
    models, but it fails for modules that keep tensors outside their parameters and buffers or
    that branch on tensor values.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    is_module = isinstance(fn_or_module, torch.nn.Module)
    if meta and not is_module:
        raise ValueError("meta=True needs an nn.Module, not a plain callable")

    if meta:
        module = fn_or_module
        state = {
            name: torch.empty_like(t, device="meta")
            for name, t in [*module.named_parameters(), *module.named_buffers()]
        }
        meta_inputs = _to_meta(inputs)

        def call() -> Any:
            return torch.func.functional_call(module, state, meta_inputs)
    else:

        def call() -> Any:
            return fn_or_module(*inputs)

    counter = FlopCounterMode(display=False)
    try:
        with _countable_attention(), counter:
            if is_module:
                with torch.no_grad():
                    call()
            else:
                call()
    except (RuntimeError, NotImplementedError) as err:
        if not meta:
            raise
        raise RuntimeError(f"FLOP count on the meta device failed ({err}); use meta=False") from err
    flops = int(counter.get_total_flops())
    by_op = {str(op): int(n) for op, n in counter.get_flop_counts().get("Global", {}).items()}
    return FlopCount(flops=flops, macs=flops // 2, by_operator=by_op)


def count_flops(fn_or_module: Any, *inputs: Any, meta: bool = False) -> int:
    """FLOPs of one call ``fn_or_module(*inputs)`` (a multiply-add = 2 FLOPs; MACs = FLOPs // 2).

    See ``flop_breakdown`` for what is counted and for ``meta``.
    """
    return flop_breakdown(fn_or_module, *inputs, meta=meta).flops


# --------------------------------------------------------------------------------------- memory

METHOD_CUDA = "cuda_max_memory_allocated"
METHOD_CPU_RSS = "cpu_process_peak_rss"
METHOD_UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class MemoryStats:
    """Peak memory of one phase, in MiB, and how it was measured.

    ``method``:

    - ``"cuda_max_memory_allocated"``: tensors held by PyTorch's CUDA caching allocator on that
      device. ``baseline_mib`` is what was allocated before the phase (e.g. the weights),
      ``peak_mib`` the most allocated during it, ``delta_mib = peak - baseline``. The allocator's
      reserved-but-free cache, the CUDA context and other processes are not included.
    - ``"cpu_process_peak_rss"``: the whole process's peak resident set size (Linux VmHWM) during
      the phase, including everything already resident (weights, Python, libraries, other threads'
      work). ``baseline_mib`` is the resident set before the phase, ``delta_mib`` the growth.
      Memory the allocator reuses from earlier frees, or pages never touched, do not show up, so
      ``delta_mib`` can understate what the phase allocates.
    - ``"unavailable"``: no honest figure on this platform; all values are NaN.
    """

    peak_mib: float
    baseline_mib: float
    delta_mib: float
    method: str


_CLEAR_REFS = "/proc/self/clear_refs"  # writing "5" resets VmHWM (Linux >= 4.0)
_STATUS = "/proc/self/status"


def _read_rss_kib() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in KiB, from one read of ``/proc/self/status``."""
    fields: dict[str, int] = {}
    with open(_STATUS, encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])  # "  12345 kB"
    return fields["VmRSS"], fields["VmHWM"]


def _reset_peak_rss() -> tuple[int, int] | None:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0); (VmRSS, VmHWM) after, or None."""
    try:
        with open(_CLEAR_REFS, "w", encoding="ascii") as f:
            f.write("5")
        rss, hwm = _read_rss_kib()
    except (OSError, KeyError, ValueError, IndexError):
        return None
    if hwm - rss > 4 * 1024:  # the write was accepted but the peak was not reset
        return None
    return rss, hwm


def measure_peak_memory(fn: Callable[[], Any], device: Any = "cpu") -> MemoryStats:
    """Run ``fn()`` once and report the peak memory of that phase on ``device`` (MiB).

    CUDA: ``reset_peak_memory_stats`` before, ``max_memory_allocated`` after (work synchronised).
    CPU: the process's peak RSS, reset through ``/proc/self/clear_refs`` after a garbage collection
    (so that memory of earlier work freed by the collector is not set against this phase); where that is impossible
    (not Linux, no permission) and on other device types, ``fn`` still runs and the values are NaN
    with ``method="unavailable"``. See ``MemoryStats`` for what each method includes.
    """
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        if dev.index is None:
            dev = torch.device("cuda", torch.cuda.current_device())
        synchronize(dev)
        baseline = torch.cuda.memory_allocated(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        fn()
        synchronize(dev)
        peak = torch.cuda.max_memory_allocated(dev)
        return MemoryStats(peak / MIB, baseline / MIB, (peak - baseline) / MIB, METHOD_CUDA)

    if dev.type == "cpu":  # garbage of earlier work is freed now, not inside the measured phase
        gc.collect()
    before = _reset_peak_rss() if dev.type == "cpu" else None
    if before is None:
        fn()
        nan = float("nan")
        return MemoryStats(nan, nan, nan, METHOD_UNAVAILABLE)
    baseline_kib = before[0]
    fn()
    _, peak_kib = _read_rss_kib()
    return MemoryStats(peak_kib / 1024, baseline_kib / 1024, (peak_kib - baseline_kib) / 1024, METHOD_CPU_RSS)
