"""Write golden outputs of the official EfficientSAM code for samkit's parity test.

    PYTHONPATH=path/to/EfficientSAM .venv/bin/python tests/data/efficient_sam/make_golden.py \
        path/to/EfficientSAM [--commit SHA] [--vits]

``path/to/EfficientSAM`` is a checkout of github.com/yformer/EfficientSAM (only its
``efficient_sam`` package is used; no official weights are needed). For each model the script
builds the official architecture, derives a deterministic checkpoint from its key names and
shapes (``deterministic.py``, shared with the test), saves it in the official layout
(``{"model": state_dict}``), loads it with the official builder, and runs the official
``get_image_embeddings`` + ``predict_masks`` (what the official ``forward`` runs) on a 120x180
photo for a few prompts. It saves ``golden_vitt.npz`` (and ``golden_vits.npz`` with ``--vits``):

- ``image`` (120, 180, 3) uint8, the input;
- ``params_official``: the official builder's parameter count; ``official_commit``;
- ``state_keys``: the official state dict's ``"key [shape]"`` strings, in order;
- per prompt ``P`` (``point``, ``points``, ``box``; ``boxes`` and ``grid`` are batched, several
  queries in one call): ``P_coords`` (Q, N, 2) float32 pixels, ``P_labels`` (Q, N),
  ``P_scores`` (Q, 3) predicted IoUs, ``P_order`` (Q, 3) the official notebook's
  ``argsort(iou, descending)``, ``P_lowres`` (Q, 3, 256/s, 256/s) the 256x256 logits at stride s,
  ``P_lowres_sum`` / ``P_lowres_abs`` float64 sums over all 256x256 logits, ``P_logits``
  (Q, 3, 120/t, 180/t) the bicubic image-size logits at stride t.

Strides keep the files small (vitt: s=4, t=2; vits: s=8, t=4, fewer prompts).
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

from deterministic import save_checkpoint  # noqa: E402

HEIGHT, WIDTH = 120, 180

#: name -> (coords (Q, N, 2), labels (Q, N)) in pixels of the 120x180 image
PROMPTS: dict[str, tuple[list, list]] = {
    "point": ([[[90.0, 60.0]]], [[1]]),
    "points": ([[[90.0, 60.0], [40.0, 30.0]]], [[1, 0]]),
    "box": ([[[30.0, 20.0], [150.0, 100.0]]], [[2, 3]]),
    "boxes": ([[[30.0, 20.0], [150.0, 100.0]], [[10.5, 50.0], [80.0, 115.5]]], [[2, 3], [2, 3]]),
    "grid": ([[[20.0, 20.0]], [[160.0, 20.0]], [[20.0, 100.0]], [[160.0, 100.0]]], [[1], [1], [1], [1]]),
}
#: model -> (ViT width, heads, prompts, low-res stride, image-size stride)
MODELS = {
    "vitt": (192, 3, list(PROMPTS), 4, 2),
    "vits": (384, 6, ["point", "box"], 8, 4),
}


def photo() -> np.ndarray:
    """scikit-image's 'astronaut' resized to 120x180 (HxWx3 uint8 RGB)."""
    import skimage.data
    import skimage.transform

    small = skimage.transform.resize(skimage.data.astronaut(), (HEIGHT, WIDTH), anti_aliasing=True, preserve_range=True)
    return small.round().astype(np.uint8)


def golden(arch: str, commit: str) -> dict[str, np.ndarray]:
    from efficient_sam.efficient_sam import build_efficient_sam
    from torchvision.transforms import ToTensor

    dim, heads, names, s, t = MODELS[arch]
    shapes = {k: tuple(v.shape) for k, v in build_efficient_sam(dim, heads).state_dict().items()}
    with tempfile.TemporaryDirectory() as tmp:
        path = save_checkpoint(shapes, Path(tmp) / f"efficient_sam_{arch}.pt")
        model = build_efficient_sam(dim, heads, checkpoint=str(path)).eval()
    image = photo()
    out: dict[str, np.ndarray] = {
        "image": image,
        "params_official": np.array(sum(p.numel() for p in model.parameters())),
        "state_keys": np.array([f"{k} {list(v)}" for k, v in shapes.items()]),
        "official_commit": np.array(commit),
    }
    with torch.no_grad():
        embeddings = model.get_image_embeddings(ToTensor()(image)[None])
        for name in names:
            coords, labels = PROMPTS[name]
            pts = torch.tensor(coords, dtype=torch.float32)[None]
            lab = torch.tensor(labels, dtype=torch.int64)[None]
            low_res, iou = model.predict_masks(embeddings, pts, lab, True, HEIGHT, WIDTH)
            logits, iou_up = model.predict_masks(embeddings, pts, lab, True, HEIGHT, WIDTH, HEIGHT, WIDTH)
            assert torch.equal(iou, iou_up)
            low_res, iou, logits = low_res[0], iou[0], logits[0]
            out.update(
                {
                    f"{name}_coords": pts[0].numpy(),
                    f"{name}_labels": lab[0].numpy(),
                    f"{name}_scores": iou.numpy(),
                    f"{name}_order": torch.argsort(iou, dim=-1, descending=True).numpy(),
                    f"{name}_lowres": low_res[..., ::s, ::s].numpy().copy(),
                    f"{name}_lowres_sum": low_res.double().sum(dim=(-2, -1)).numpy(),
                    f"{name}_lowres_abs": low_res.double().abs().sum(dim=(-2, -1)).numpy(),
                    f"{name}_logits": logits[..., ::t, ::t].numpy().copy(),
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("official", type=Path, help="checkout of github.com/yformer/EfficientSAM")
    parser.add_argument("--commit", default="unknown", help="its commit, recorded in the file")
    parser.add_argument("--vits", action="store_true", help="also write golden_vits.npz")
    args = parser.parse_args()
    sys.path.insert(0, str(args.official.resolve()))
    torch.set_num_threads(1)
    for arch in ["vitt"] + (["vits"] if args.vits else []):
        target = HERE / f"golden_{arch}.npz"
        np.savez_compressed(target, **golden(arch, args.commit))
        print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
