"""Shared by the families that run through Hugging Face ``transformers`` (``sam3``, ``edgetam``).

- Hub access is **off** unless a download is asked for: `transformers_module` sets
  ``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` before transformers is imported (and
  ``huggingface_hub.constants.HF_HUB_OFFLINE`` in case the hub client was imported earlier), and
  samkit only ever passes local folders to ``from_pretrained``. `download_snapshot` lifts the
  switch for the one ``snapshot_download`` call that ``samkit weights download`` (or
  ``samkit.load(..., weights="pretrained", download=True)``) makes.
- A hub checkpoint (registry ``layout="hf"``) is a **folder** with ``config.json`` and
  ``model.safetensors`` (plus the processor / tokenizer files the hub repo carries). Its
  ``config.json`` decides the architecture; `read_folder` reads both safely (safetensors: tensors
  only, no code).
- `TransformersPredictor` is SamPredictor-shaped (``set_image`` / ``predict`` / ``reset_image``) around
  a SAM 2-style transformers model (``EdgeTamModel``, ``Sam3TrackerModel``) and its processor, so the
  ``Segmenter`` base class can drive it like the other families' upstream predictors.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from samkit.errors import CheckpointError, DownloadError

__all__ = ["transformers_module", "hub_offline", "download_snapshot", "read_folder", "HF_FILES",
           "check_folder", "TransformersPredictor", "check_state_dict", "seeded_build"]

#: files of a hub checkpoint folder that samkit needs (the processor/tokenizer files are optional)
HF_FILES = ("config.json", "model.safetensors")
#: what `download_snapshot` fetches: weights, config, and processor / tokenizer files
_ALLOW = ["config.json", "model.safetensors", "*.txt", "*.json"]


def hub_offline(on: bool = True) -> None:
    """Switch Hugging Face hub access off (``on=True``) or back on, for this process."""
    value = "1" if on else "0"
    os.environ["HF_HUB_OFFLINE"] = value
    os.environ["TRANSFORMERS_OFFLINE"] = value
    import huggingface_hub.constants as constants

    constants.HF_HUB_OFFLINE = on


def transformers_module() -> Any:
    """``import transformers`` with the hub switched off (see the module docstring)."""
    if os.environ.get("HF_HUB_OFFLINE") is None:
        hub_offline(True)
    import transformers

    return transformers


def check_folder(path: str | os.PathLike) -> Path:
    """``path`` as a hub checkpoint folder; `CheckpointError` naming what is missing otherwise."""
    folder = Path(path).expanduser()
    if folder.is_file():
        raise CheckpointError(
            f"{folder} is a file; this model's checkpoint is a Hugging Face folder holding "
            f"{' and '.join(HF_FILES)} (the hub repo's layout).")
    missing = [name for name in HF_FILES if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"{folder} is not a Hugging Face checkpoint folder: no {', '.join(missing)}.")
    return folder


def read_folder(path: str | os.PathLike) -> tuple[Any, dict[str, Any]]:
    """``(config, state_dict)`` of a hub checkpoint folder, read locally and safely."""
    folder = check_folder(path)
    transformers = transformers_module()
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        config = transformers.AutoConfig.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, KeyError) as err:
        raise CheckpointError(f"{folder}/config.json is not a readable transformers config: {err}") from None
    try:
        state_dict = load_file(str(folder / "model.safetensors"))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{folder}/model.safetensors is not readable (truncated or corrupt?): {err}") from None
    return config, state_dict


def check_state_dict(model: Any, state_dict: dict[str, Any], path: str, name: str,
                     ignorable: tuple[str, ...] = ()) -> None:
    """`CheckpointError` unless ``state_dict`` gives every key of ``model`` with its shape.

    Keys of the file that start with one of ``ignorable`` (modules samkit does not build, e.g.
    the video memory of a tracker) may be left over; any other leftover is an error too.
    """
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state_dict.items()}
    missing = [k for k in expected if k not in got]
    wrong = [f"{k}: file {got[k]} vs model {expected[k]}" for k in expected if k in got and got[k] != expected[k]]
    unexpected = [k for k in got if k not in expected and not k.startswith(ignorable)]
    if missing or wrong or unexpected:
        parts = [f"{len(items)} {label} (e.g. {items[:3]})" for label, items in
                 (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", wrong))
                 if items]
        raise CheckpointError(f"{path} does not fit {name}: {'; '.join(parts)}. Nothing was loaded.")


def seeded_build(build: Any, seed: int) -> Any:
    """``build()`` under ``torch.manual_seed(seed)``, leaving the global RNG state as it was."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


@contextlib.contextmanager
def _hub_online() -> Iterator[None]:
    import huggingface_hub.constants as constants

    before = (os.environ.get("HF_HUB_OFFLINE"), os.environ.get("TRANSFORMERS_OFFLINE"),
              constants.HF_HUB_OFFLINE)
    hub_offline(False)
    try:
        yield
    finally:
        for key, value in zip(("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"), before[:2]):
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        constants.HF_HUB_OFFLINE = before[2]


def download_snapshot(repo_id: str, revision: str | None, dest: str | os.PathLike, *,
                      name: str, gated: bool, progress: bool = True) -> Path:
    """Download the hub repo ``repo_id`` at ``revision`` into the folder ``dest`` (config, weights, processor files).

    Uses the token of ``hf auth login`` (or ``HF_TOKEN``) when there is one. A gated repo whose
    license was not accepted, a missing login, or no network raise `DownloadError` saying how to
    get the files and where to put them.
    """
    import huggingface_hub
    from huggingface_hub.utils import (GatedRepoError, HfHubHTTPError, RepositoryNotFoundError,
                                       are_progress_bars_disabled, disable_progress_bars,
                                       enable_progress_bars)

    dest = Path(dest)
    how = (f"accept the license at https://huggingface.co/{repo_id}, run `hf auth login`, then "
           f"`samkit weights download {name}`" if gated else f"run `samkit weights download {name}`")
    where = (f"or put a copy of the repo's files ({', '.join(HF_FILES)}, and its processor/tokenizer "
             f"files) in the folder {dest} (SAMKIT_CHECKPOINTS moves it), or pass checkpoint='folder', "
             "or use weights='random' for the real architecture with random weights")
    bars_were_off = are_progress_bars_disabled()
    if not progress:
        disable_progress_bars()
    try:
        with _hub_online():
            folder = huggingface_hub.snapshot_download(
                repo_id, revision=revision, local_dir=str(dest), allow_patterns=_ALLOW)
    except GatedRepoError as err:
        raise DownloadError(f"{repo_id} is gated and this account has no access yet: {how}; "
                            f"{where}. ({_first_line(err)})") from None
    except RepositoryNotFoundError as err:
        raise DownloadError(f"{repo_id} was not found or needs a login: {how}; {where}. "
                            f"({_first_line(err)})") from None
    except (HfHubHTTPError, OSError, ValueError) as err:
        raise DownloadError(f"Could not download {repo_id} ({_first_line(err)}). To get it, {how}; "
                            f"{where}.") from None
    finally:
        if not progress and not bars_were_off:
            enable_progress_bars()
    return check_folder(folder)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


class TransformersPredictor:
    """SamPredictor-shaped wrapper of a SAM 2-style transformers model and its processor.

    ``model`` is an ``EdgeTamModel`` / ``Sam3TrackerModel`` (``image_embeddings=`` forward,
    ``iou_scores`` and ``pred_masks`` outputs), ``processor`` its ``Sam2Processor`` /
    ``Sam3TrackerProcessor``. ``set_image`` runs the vision encoder once (``embed``, overridable)
    and keeps the embeddings; ``predict_torch`` decodes a batch of prompts against them.
    """

    def __init__(self, model: Any, processor: Any) -> None:
        self.model = model
        self.processor = processor
        self.embeddings: Any = None
        self.original_size: tuple[int, int] | None = None

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device

    def embed(self, pixel_values: Any) -> Any:
        """Image embeddings of ``pixel_values`` (the model's ``get_image_embeddings``)."""
        return self.model.get_image_embeddings(pixel_values)

    def set_image(self, image: np.ndarray) -> None:
        import torch

        inputs = self.processor(images=image, return_tensors="pt")
        with torch.inference_mode():
            self.embeddings = self.embed(inputs["pixel_values"].to(self.device))
        self.original_size = (int(image.shape[0]), int(image.shape[1]))

    def reset_image(self) -> None:
        self.embeddings = None
        self.original_size = None

    def predict_torch(self, point_coords: np.ndarray | None, point_labels: np.ndarray | None,
                      boxes: np.ndarray | None, mask_input: np.ndarray | None,
                      multimask_output: bool) -> tuple[Any, Any, Any]:
        """Decode B prompts at once.

        Args:
            point_coords: ``(B, K, 2)`` (x, y) pixels, with ``point_labels`` ``(B, K)``, or None.
            boxes: ``(B, 4)`` XYXY pixels, or None (with points: the same B).
            mask_input: ``(B, 1, h, w)`` low-res logits, or None.
        Returns:
            float32 torch tensors on the CPU: logits ``(B, C, H, W)`` at the image size, scores
            ``(B, C)`` (the model's ``iou_scores``), low-res logits ``(B, C, h, w)``.
        """
        import torch

        if self.embeddings is None:
            raise RuntimeError("set_image first")
        kwargs: dict[str, Any] = {}
        if point_coords is not None:
            kwargs["input_points"] = [np.asarray(point_coords, dtype=np.float64).tolist()]
            kwargs["input_labels"] = [np.asarray(point_labels).astype(int).tolist()]
        if boxes is not None:
            kwargs["input_boxes"] = [np.asarray(boxes, dtype=np.float64).tolist()]
        enc = self.processor(original_sizes=[list(self.original_size)], return_tensors="pt", **kwargs)
        dev = self.device
        inputs = {k: enc[k].to(dev) for k in ("input_points", "input_labels", "input_boxes") if k in enc}
        if mask_input is not None:
            inputs["input_masks"] = torch.as_tensor(np.asarray(mask_input, dtype=np.float32), device=dev)
        with torch.inference_mode():
            out = self.model(image_embeddings=self.embeddings, multimask_output=multimask_output, **inputs)
            low_res = out.pred_masks[0].float()  # (B, C, h, w)
            scores = out.iou_scores[0].float()  # (B, C)
            logits = self.processor.post_process_masks(
                [low_res], [list(self.original_size)], binarize=False)[0]
        return logits.float().cpu(), scores.cpu(), low_res.cpu()
