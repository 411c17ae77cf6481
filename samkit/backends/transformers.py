"""Talks to Hugging Face ``transformers`` and the hub for every part that runs through it (SAM 3,
EdgeTAM, their video trackers, Grounding DINO, OWLv2, CLIP).

- Hub access is **off** unless a download is asked for: `transformers_module` sets
  ``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` before transformers is imported (and
  ``huggingface_hub.constants.HF_HUB_OFFLINE`` in case the hub client was imported earlier), and
  samkit only ever passes local folders to ``from_pretrained``. `download_snapshot` lifts the
  switch for the one ``snapshot_download`` call that ``samkit weights download`` (or
  ``samkit.load(..., weights="pretrained", download=True)``) makes.
- A hub checkpoint (registry ``layout="hf"``) is a **folder** with ``config.json`` and
  ``model.safetensors`` (plus the processor / tokenizer files the hub repo carries). Its
  ``config.json`` decides the architecture; `read_folder` reads both safely (safetensors: tensors
  only, no code); `load_folder` / `save_folder` read and write a model with its processor.
- Random builds need no hub: `seeded_build` builds under a seed, and their tokenizers
  (`bert_tokenizer`, `clip_tokenizer`) are small ones built here from a letter-level vocabulary
  (any lower-case English prompt tokenizes, letter by letter where a word is not in it).
"""

from __future__ import annotations

import contextlib
import os
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from samkit.errors import CheckpointError, DownloadError, check_extra, require_extra

__all__ = [
    "transformers_module",
    "hub_offline",
    "download_snapshot",
    "download_hub_files",
    "read_folder",
    "HF_FILES",
    "check_folder",
    "check_state_dict",
    "seeded_build",
    "bert_tokenizer",
    "clip_tokenizer",
    "load_folder",
    "save_folder",
    "WORDS",
]

#: files of a hub checkpoint folder that samkit needs (the processor/tokenizer files are optional)
HF_FILES = ("config.json", "model.safetensors")
#: what `download_snapshot` fetches: weights, config, and processor / tokenizer files
_ALLOW = ["config.json", "model.safetensors", "*.txt", "*.json"]
#: what needs transformers, for the `MissingExtraError` of the ``hf`` extra
NEEDS_HF = "samkit's Hugging Face part (SAM 3, EdgeTAM, Grounding DINO, OWLv2, the CLIP tagger)"


def hub_offline(on: bool = True) -> None:
    """Switch Hugging Face hub access off (``on=True``) or back on, for this process."""
    value = "1" if on else "0"
    os.environ["HF_HUB_OFFLINE"] = value
    os.environ["TRANSFORMERS_OFFLINE"] = value
    constants = require_extra("huggingface_hub.constants", "hf", "Switching the Hugging Face hub offline")
    constants.HF_HUB_OFFLINE = on


def transformers_module(what: str = NEEDS_HF) -> Any:
    """``import transformers`` with the hub switched off (see the module docstring).

    Not installed: `MissingExtraError` naming ``pip install 'samkit[hf]'`` and ``what`` needs it.
    """
    check_extra("transformers", "hf", what)
    if os.environ.get("HF_HUB_OFFLINE") is None:
        hub_offline(True)
    return require_extra("transformers", "hf", what)


def check_folder(path: str | os.PathLike) -> Path:
    """``path`` as a hub checkpoint folder; `CheckpointError` naming what is missing otherwise."""
    folder = Path(path).expanduser()
    if folder.is_file():
        raise CheckpointError(
            f"{folder} is a file; this model's checkpoint is a Hugging Face folder holding "
            f"{' and '.join(HF_FILES)} (the hub repo's layout)."
        )
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


def check_state_dict(
    model: Any, state_dict: dict[str, Any], path: str, name: str, ignorable: tuple[str, ...] = ()
) -> None:
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
        parts = [
            f"{len(items)} {label} (e.g. {items[:3]})"
            for label, items in (
                ("missing keys", missing),
                ("unexpected keys", unexpected),
                ("shape mismatches", wrong),
            )
            if items
        ]
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

    before = (os.environ.get("HF_HUB_OFFLINE"), os.environ.get("TRANSFORMERS_OFFLINE"), constants.HF_HUB_OFFLINE)
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


def download_snapshot(
    repo_id: str, revision: str | None, dest: str | os.PathLike, *, name: str, gated: bool, progress: bool = True
) -> Path:
    """Download the hub repo ``repo_id`` at ``revision`` into the folder ``dest`` (config, weights, processor files).

    Uses the token of ``hf auth login`` (or ``HF_TOKEN``) when there is one. A gated repo whose
    license was not accepted, a missing login, or no network raise `DownloadError` saying how to
    get the files and where to put them.
    """
    huggingface_hub = require_extra("huggingface_hub", "hf", f"Downloading {name} from the Hugging Face hub")
    from huggingface_hub.utils import HfHubHTTPError

    dest = Path(dest)
    where = (
        f"or put a copy of the repo's files ({', '.join(HF_FILES)}, and its processor/tokenizer "
        f"files) in the folder {dest} (SAMKIT_CHECKPOINTS moves it), or pass checkpoint='folder', "
        "or use weights='random' for the real architecture with random weights"
    )
    with _hub_session(progress):
        try:
            folder = huggingface_hub.snapshot_download(
                repo_id, revision=revision, local_dir=str(dest), allow_patterns=_ALLOW
            )
        except (HfHubHTTPError, OSError, ValueError) as err:
            raise _hub_error(err, repo_id, repo_id, _how_to_get(repo_id, name, gated), where) from None
    return check_folder(folder)


def download_hub_files(
    repo_id: str,
    filenames: list[str],
    revision: str | None,
    dest: str | os.PathLike,
    *,
    name: str,
    gated: bool,
    progress: bool = True,
    optional: bool = False,
) -> list[Path]:
    """Download single files of the hub repo ``repo_id`` (e.g. SAM 3.1's ``sam3.1_multiplex.pt``)
    into the folder ``dest``, with the login token of ``hf auth login`` when there is one.

    The errors are `download_snapshot`'s: a gated repo without access, a missing login or no
    network raise `DownloadError` saying how to get the files. ``optional``: a file the repo does
    not have is skipped (e.g. ``tokenizer.json`` where only ``vocab.json`` is published).
    Returns the paths of the files downloaded.
    """
    huggingface_hub = require_extra("huggingface_hub", "hf", f"Downloading {name} from the Hugging Face hub")
    from huggingface_hub.utils import EntryNotFoundError, HfHubHTTPError

    dest = Path(dest)
    where = (
        f"or put {', '.join(filenames)} from https://huggingface.co/{repo_id} in the folder {dest} "
        "(SAMKIT_CHECKPOINTS moves it), or pass checkpoint='path', or use weights='random' for the "
        "real architecture with random weights"
    )
    paths = []
    with _hub_session(progress):
        for filename in filenames:
            try:
                path = huggingface_hub.hf_hub_download(repo_id, filename, revision=revision, local_dir=str(dest))
            except EntryNotFoundError as err:
                if optional:
                    continue
                raise DownloadError(f"{repo_id} has no file {filename} ({_first_line(err)}).") from None
            except (HfHubHTTPError, OSError, ValueError) as err:
                what = f"{filename} from {repo_id}"
                raise _hub_error(err, repo_id, what, _how_to_get(repo_id, name, gated), where) from None
            paths.append(Path(path))
    return paths


def _how_to_get(repo_id: str, name: str, gated: bool) -> str:
    """The steps that get a hub model's files (a gated one: its license and a login first)."""
    if gated:
        return (
            f"accept the license at https://huggingface.co/{repo_id}, run `hf auth login`, then "
            f"`samkit weights download {name}`"
        )
    return f"run `samkit weights download {name}`"


@contextlib.contextmanager
def _hub_session(progress: bool) -> Iterator[None]:
    """The hub online (`_hub_online`) and its progress bars on or off, as they were after."""
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    bars_were_off = are_progress_bars_disabled()
    if not progress:
        disable_progress_bars()
    try:
        with _hub_online():
            yield
    finally:
        if not progress and not bars_were_off:
            enable_progress_bars()


def _hub_error(err: BaseException, repo_id: str, what: str, how: str, where: str) -> DownloadError:
    """The `DownloadError` of a failed hub download of ``what``: a gated repo without access, a
    repo not found (or a login missing), anything else (no network...), each saying how to get it."""
    from huggingface_hub.utils import GatedRepoError, RepositoryNotFoundError

    if isinstance(err, GatedRepoError):
        return DownloadError(
            f"{repo_id} is gated and this account has no access yet: {how}; {where}. ({_first_line(err)})"
        )
    if isinstance(err, RepositoryNotFoundError):
        return DownloadError(f"{repo_id} was not found or needs a login: {how}; {where}. ({_first_line(err)})")
    return DownloadError(f"Could not download {what} ({_first_line(err)}). To get it, {how}; {where}.")


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


#: whole words of the local tokenizers' vocabularies (the rest is spelled letter by letter)
WORDS = (
    "a",
    "an",
    "the",
    "of",
    "and",
    "dog",
    "cat",
    "person",
    "car",
    "bird",
    "horse",
    "bus",
    "truck",
    "boat",
    "chair",
    "table",
    "cup",
    "bottle",
    "tree",
    "sky",
    "road",
    "grass",
)


def bert_tokenizer() -> Any:
    """A BERT WordPiece tokenizer (Grounding DINO's kind) over a small local vocabulary."""
    T = transformers_module()
    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *string.punctuation,
        *WORDS,
        *[c for c in string.ascii_lowercase if c not in WORDS],
        *[f"##{c}" for c in string.ascii_lowercase + string.digits],
        *string.digits,
    ]
    return T.BertTokenizerFast(vocab={w: i for i, w in enumerate(dict.fromkeys(vocab))})


def clip_tokenizer(max_length: int = 16) -> Any:
    """A CLIP BPE tokenizer (OWLv2's kind) over a small local vocabulary, no merges.

    Start and end of text get the two highest ids: CLIP's text model pools at the highest id
    and OWLv2 treats a query whose first id is 0 as padding.
    """
    T = transformers_module()
    vocab: dict[str, int] = {}
    for c in string.ascii_lowercase + string.digits + string.punctuation:
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + "</w>", len(vocab))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return T.CLIPTokenizerFast(vocab=vocab, merges=[], model_max_length=max_length)


def load_folder(model_class: Any, processor_class: Any, path: str, name: str) -> tuple[Any, Any]:
    """``(model, processor)`` from a hub folder, locally; missing or unexpected weights are errors."""
    folder = check_folder(path)
    transformers_module()
    try:
        model, info = model_class.from_pretrained(str(folder), local_files_only=True, output_loading_info=True)
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise CheckpointError(
            f"{folder} is not a {name} checkpoint transformers can read: "
            f"{(str(err).splitlines() or [type(err).__name__])[0]}"
        ) from None
    bad = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    if bad:
        raise CheckpointError(
            f"{folder} does not fit {name}: "
            + "; ".join(f"{len(v)} {k.replace('_', ' ')} (e.g. {list(v)[:3]})" for k, v in bad.items())
            + ". Nothing was loaded."
        )
    try:
        processor = processor_class.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(
            f"{folder} has no readable processor / tokenizer files for {name} "
            f"({(str(err).splitlines() or [type(err).__name__])[0]}); download the "
            f"whole repo with `samkit weights download {name}`."
        ) from None
    return model, processor


def save_folder(model: Any, processor: Any, path: str | Path) -> Path:
    """Save ``model`` and ``processor`` as a hub folder (the layout `load_folder` and the hub use)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    processor.save_pretrained(str(folder))
    return folder
