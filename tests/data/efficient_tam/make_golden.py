"""Write golden outputs of the official EfficientTAM code for samkit's parity tests.

    PYTHONPATH=path/to/EfficientTAM .venv/bin/python tests/data/efficient_tam/make_golden.py \
        path/to/EfficientTAM [--commit SHA] [--variants ti ti_512x512 ...] [--attention]

``path/to/EfficientTAM`` is a checkout of github.com/yformer/EfficientTAM (its
``efficient_track_anything`` package and its hydra / iopath / pillow dependencies; no official
weights are needed, and nothing of it is imported by samkit). Run it with a Python where ``sam2``
is *not* imported (both packages initialise Hydra's global config module on import).

For each variant (default: all eight released configs) the script builds the official model from
its config (``configs/efficienttam/efficienttam_<variant>.yaml``), derives a deterministic
checkpoint from its key names and shapes (``etam_checkpoint.py``, shared with the tests), saves it
in the official layout (``{"model": state_dict}``), and loads that file with the official
builders: ``build_efficienttam`` (image; ``compile_image_encoder`` off, as the official video
builder turns it off without a GPU) and ``build_efficienttam_video_predictor``. One torch thread.
It saves ``golden_efficienttam_<variant>.npz`` with:

- ``state_keys`` (``"key [shape]"`` in order), ``params_official`` (the official model's parameter
  count), ``official_commit``, ``config`` (the official config file's text);
- image (``efficienttam_ti``: every prompt below; ``ti_512x512``, ``s``, ``s_512x512``: ``point``
  and ``box``, plus ``mask`` for the 512 models; the ``_1`` / ``_2`` models: none, their image path
  is the base model's): ``image`` (120, 180, 3) uint8 and, per prompt ``P`` and ``multimask_output``
  ``M`` (``mm1`` / ``mm0``), what ``EfficientTAMImagePredictor.predict`` returns: ``P_M_masks``
  bool (C, 120, 180) (or (B, C, ...) for ``boxes``), ``P_M_scores``, ``P_M_lowres`` the low-res
  logits every ``s``-th pixel (s = S/256: 64x64 values; 32x32 for the batched ``point_batch`` and
  ``boxes``), ``P_M_lowres_sum`` / ``_abs`` float64 sums over all of them; the prompt arrays
  ``P_point_coords``, ``P_point_labels``, ``P_box`` (``mask``: the ``points`` prompt with the
  low-res logits of its own single-mask output as ``mask_input``);
- video (every variant): ``video_frames`` (T, 48, 64, 3) uint8, the decoded JPEG frames the
  official ``init_state`` read; then object 1 a point and object 2 a box on frame 0 (``add_new_points_or_box``)
  and ``propagate_in_video`` forward: ``video_prompt{i}_ids`` / ``_logits`` (the video-resolution
  mask logits each prompt returns) and ``video_track_frames``, ``video_track_ids``,
  ``video_track_logits`` (T, K, 48, 64) float32 (a mask is ``logits > 0``).

The goldens of the released files: ``--commit abcd061ebd3cc6e7527d152d75b890126aaa53f6`` (the
repository's main branch when they were made), torch 2.14.1, CPU.

With ``--attention`` it also writes ``golden_attention.npz``: the official ``RoPEAttention``,
``EfficientRoPEAttention1`` and ``EfficientRoPEAttention2`` (2 heads, an 8x8 grid) on seeded inputs
with 3 memory frames plus 4 object-pointer tokens and with 1 memory frame: weights, inputs, outputs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from etam_checkpoint import save_etam_checkpoint  # noqa: E402

VARIANTS = ["ti", "ti_512x512", "ti_1", "ti_2", "s", "s_512x512", "s_1", "s_2"]
HEIGHT, WIDTH = 120, 180
T, VH, VW = 5, 48, 64

#: name -> (point_coords, point_labels, box) in pixels of the 120x180 image
PROMPTS: dict[str, tuple] = {
    "point": ([[90.0, 60.0]], [1], None),
    "points": ([[90.0, 60.0], [40.0, 30.0]], [1, 0], None),
    "box": (None, None, [30.0, 20.0, 150.0, 100.0]),
    "box_point": ([[90.0, 60.0]], [1], [30.0, 20.0, 150.0, 100.0]),
    "point_batch": ([[[90.0, 60.0]], [[20.0, 100.0]], [[160.0, 15.0]]], [[1], [1], [1]], None),
    "boxes": (None, None, [[30.0, 20.0, 150.0, 100.0], [10.5, 50.0, 80.0, 115.5]]),
}
#: prompts of several queries (one decoder call); their low-res logits are kept at twice the stride
BATCHED = ("point_batch", "boxes")
#: variant -> [(prompt, multimask_output)] of the image golden ("mask": "points" again with the
#: low-res logits of its single-mask output as mask_input)
IMAGE_RUNS = {
    "ti": [(p, m) for p in ("point", "points", "box") for m in (True, False)]
    + [("box_point", False), ("point_batch", True), ("boxes", True), ("mask", False)],
    "ti_512x512": [("point", True), ("box", False), ("points", False), ("mask", False)],
    "s": [("point", True), ("box", False)],
    "s_512x512": [("point", True), ("box", False), ("points", False), ("mask", False)],
}
#: video prompts: (frame, object id, points, labels, box) in pixels of the 48x64 frames
VIDEO_PROMPTS = [(0, 1, [[14.0, 20.0]], [1], None), (0, 2, None, None, [40.0, 20.0, 60.0, 40.0])]


def photo() -> np.ndarray:
    """scikit-image's 'astronaut' resized to 120x180 (HxWx3 uint8 RGB)."""
    import skimage.data
    import skimage.transform

    small = skimage.transform.resize(skimage.data.astronaut(), (HEIGHT, WIDTH), anti_aliasing=True, preserve_range=True)
    return small.round().astype(np.uint8)


def video_frames() -> np.ndarray:
    """T frames (48x64) of a red and a blue disk moving over a gradient (HxWx3 uint8)."""
    yy, xx = np.mgrid[:VH, :VW]
    out = np.empty((T, VH, VW, 3), np.uint8)
    for t in range(T):
        img = np.stack([xx * 3 % 256, yy * 4 % 256, np.full_like(xx, 90)], -1).astype(np.uint8)
        for cx, cy, color in ((14 + 3 * t, 20, (250, 40, 40)), (50 - 2 * t, 30, (40, 40, 250))):
            img[(xx - cx) ** 2 + (yy - cy) ** 2 < 64] = color
        out[t] = img
    return out


def _lowres(out: dict, key: str, low: np.ndarray, stride: int) -> None:
    out[f"{key}_lowres"] = np.ascontiguousarray(low[..., ::stride, ::stride])
    out[f"{key}_lowres_sum"] = low.astype(np.float64).sum(axis=(-2, -1))
    out[f"{key}_lowres_abs"] = np.abs(low.astype(np.float64)).sum(axis=(-2, -1))


def image_golden(model, runs: list[tuple[str, bool]]) -> dict[str, np.ndarray]:
    from efficient_track_anything.efficienttam_image_predictor import EfficientTAMImagePredictor

    predictor = EfficientTAMImagePredictor(model)
    image = photo()
    out: dict[str, np.ndarray] = {"image": image}
    stride = model.image_size // 256
    with torch.no_grad():
        predictor.set_image(image)
        for name, multimask in runs:
            key = f"{name}_mm{int(multimask)}"
            if name == "mask":
                coords, labels, _ = PROMPTS["points"]
                _, _, low = predictor.predict(np.array(coords), np.array(labels), multimask_output=False)
                kwargs = {"point_coords": np.array(coords), "point_labels": np.array(labels), "mask_input": low}
            else:
                coords, labels, box = PROMPTS[name]
                kwargs = {
                    "point_coords": None if coords is None else np.array(coords),
                    "point_labels": None if labels is None else np.array(labels),
                    "box": None if box is None else np.array(box),
                }
                for part, value in kwargs.items():
                    if value is not None:
                        out[f"{name}_{part}"] = value
            masks, scores, low = predictor.predict(**kwargs, multimask_output=multimask)
            out[f"{key}_masks"] = masks.astype(bool)
            out[f"{key}_scores"] = scores.astype(np.float32)
            _lowres(out, key, low.astype(np.float32), stride * (2 if name in BATCHED else 1))
    return out


def video_golden(predictor, folder: Path) -> dict[str, np.ndarray]:
    from PIL import Image

    for t, frame in enumerate(video_frames()):
        Image.fromarray(frame).save(folder / f"{t:05d}.jpg", quality=95)
    decoded = np.stack([np.asarray(Image.open(folder / f"{t:05d}.jpg").convert("RGB")) for t in range(T)])
    out: dict[str, np.ndarray] = {"video_frames": decoded}
    with torch.inference_mode():
        state = predictor.init_state(video_path=str(folder))
        for i, (frame, oid, points, labels, box) in enumerate(VIDEO_PROMPTS):
            _, ids, logits = predictor.add_new_points_or_box(
                state,
                frame_idx=frame,
                obj_id=oid,
                points=None if points is None else np.array(points, np.float32),
                labels=None if labels is None else np.array(labels, np.int32),
                box=None if box is None else np.array(box, np.float32),
            )
            out[f"video_prompt{i}_ids"] = np.array(ids)
            out[f"video_prompt{i}_logits"] = logits[:, 0].float().numpy()
        frames, ids_seen, tracked = [], [], []
        for frame, ids, logits in predictor.propagate_in_video(state):
            frames.append(frame)
            ids_seen.append(list(ids))
            tracked.append(logits[:, 0].float().numpy())
    assert all(ids == ids_seen[0] for ids in ids_seen)
    out["video_track_frames"] = np.array(frames)
    out["video_track_ids"] = np.array(ids_seen[0])
    out["video_track_logits"] = np.stack(tracked)
    return out


def golden(variant: str, commit: str, official: Path) -> dict[str, np.ndarray]:
    from efficient_track_anything.build_efficienttam import build_efficienttam, build_efficienttam_video_predictor

    config = f"configs/efficienttam/efficienttam_{variant}.yaml"
    no_compile = ["++model.compile_image_encoder=false"]
    shapes = {
        k: tuple(v.shape)
        for k, v in build_efficienttam(config, None, device="cpu", hydra_overrides_extra=no_compile)
        .state_dict()
        .items()
    }
    out: dict[str, np.ndarray] = {
        "state_keys": np.array([f"{k} {list(v)}" for k, v in shapes.items()]),
        "official_commit": np.array(commit),
        "config": np.array((official / "efficient_track_anything" / config).read_text()),
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = str(save_etam_checkpoint(shapes, Path(tmp) / f"efficienttam_{variant}.pt"))
        model = build_efficienttam(config, path, device="cpu", hydra_overrides_extra=no_compile).eval()
        out["params_official"] = np.array(sum(p.numel() for p in model.parameters()))
        if variant in IMAGE_RUNS:
            out.update(image_golden(model, IMAGE_RUNS[variant]))
        video = build_efficienttam_video_predictor(config, path, device="cpu")
        assert not video.training
        folder = Path(tmp) / "frames"
        folder.mkdir()
        out.update(video_golden(video, folder))
    return out


def attention_golden() -> dict[str, np.ndarray]:
    """The official memory cross-attentions on seeded inputs (2 heads, 8x8 grid, kv_in_dim 16)."""
    from efficient_track_anything.modeling.sam.transformer import (
        EfficientRoPEAttention1,
        EfficientRoPEAttention2,
        RoPEAttention,
    )

    kwargs = dict(embedding_dim=32, num_heads=2, downsample_rate=1, dropout=0.1, kv_in_dim=16)
    kwargs.update(rope_theta=10000.0, rope_k_repeat=True, feat_sizes=(8, 8))
    gen = torch.Generator().manual_seed(0)
    modules = {"rope": RoPEAttention(**kwargs), "v1": EfficientRoPEAttention1(**kwargs)}
    modules["v2"] = EfficientRoPEAttention2(**kwargs)
    state = {k: torch.randn(v.shape, generator=gen) * 0.3 for k, v in modules["rope"].state_dict().items()}
    out: dict[str, np.ndarray] = {f"weight.{k}": v.numpy() for k, v in state.items()}
    n, ptr = 64, 4
    for frames in (3, 1):
        q = torch.randn(2, n, 32, generator=gen)
        k = torch.randn(2, frames * n + ptr, 16, generator=gen)
        v = torch.randn(2, frames * n + ptr, 16, generator=gen)
        out.update({f"f{frames}_q": q.numpy(), f"f{frames}_k": k.numpy(), f"f{frames}_v": v.numpy()})
        for name, module in modules.items():
            module.load_state_dict(state)
            with torch.no_grad():
                out[f"f{frames}_{name}"] = module.eval()(q, k, v, num_k_exclude_rope=ptr).numpy()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("official", type=Path, help="checkout of github.com/yformer/EfficientTAM")
    parser.add_argument("--commit", default="unknown", help="its commit, recorded in the files")
    parser.add_argument("--variants", nargs="*", default=VARIANTS, choices=VARIANTS)
    parser.add_argument("--attention", action="store_true", help="also write golden_attention.npz")
    args = parser.parse_args()
    sys.path.insert(0, str(args.official.resolve()))
    torch.set_num_threads(1)
    if "sam2" in sys.modules:
        raise SystemExit("run without sam2 imported (both packages initialise Hydra's global state)")
    if args.attention:
        target = HERE / "golden_attention.npz"
        np.savez_compressed(target, **attention_golden())
        print(f"wrote {target} ({target.stat().st_size} bytes)")
    for variant in args.variants:
        target = HERE / f"golden_efficienttam_{variant}.npz"
        np.savez_compressed(target, **golden(variant, args.commit, args.official.resolve()))
        print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
