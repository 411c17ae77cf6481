"""Shared by the detectors that run through ``transformers`` (Grounding DINO, OWLv2).

Hub access stays off (`samkit.models._transformers.transformers_module`); checkpoints are hub
folders read with ``local_files_only``. Random builds need no hub either: their tokenizer is a
small one built here from a letter-level vocabulary (any lower-case English prompt tokenizes,
letter by letter where a word is not in the vocabulary).
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

from samkit.errors import CheckpointError
from samkit.models._transformers import check_folder, seeded_build, transformers_module

__all__ = ["bert_tokenizer", "clip_tokenizer", "load_folder", "save_folder", "seeded_build",
           "WORDS", "center_to_corners"]

#: whole words of the local tokenizers' vocabularies (the rest is spelled letter by letter)
WORDS = ("a", "an", "the", "of", "and", "dog", "cat", "person", "car", "bird", "horse", "bus",
         "truck", "boat", "chair", "table", "cup", "bottle", "tree", "sky", "road", "grass")


def bert_tokenizer() -> Any:
    """A BERT WordPiece tokenizer (Grounding DINO's kind) over a small local vocabulary."""
    T = transformers_module()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.punctuation, *WORDS,
             *[c for c in string.ascii_lowercase if c not in WORDS],
             *[f"##{c}" for c in string.ascii_lowercase + string.digits], *string.digits]
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
        model, info = model_class.from_pretrained(str(folder), local_files_only=True,
                                                  output_loading_info=True)
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise CheckpointError(f"{folder} is not a {name} checkpoint transformers can read: "
                              f"{(str(err).splitlines() or [type(err).__name__])[0]}") from None
    bad = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    if bad:
        raise CheckpointError(f"{folder} does not fit {name}: "
                              + "; ".join(f"{len(v)} {k.replace('_', ' ')} (e.g. {list(v)[:3]})"
                                          for k, v in bad.items()) + ". Nothing was loaded.")
    try:
        processor = processor_class.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{folder} has no readable processor / tokenizer files for {name} "
                              f"({(str(err).splitlines() or [type(err).__name__])[0]}); download the "
                              f"whole repo with `samkit weights download {name}`.") from None
    return model, processor


def save_folder(model: Any, processor: Any, path: str | Path) -> Path:
    """Save ``model`` and ``processor`` as a hub folder (the layout `load_folder` and the hub use)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    processor.save_pretrained(str(folder))
    return folder


def center_to_corners(boxes: Any) -> Any:
    """``(..., 4)`` (cx, cy, w, h) -> (x0, y0, x1, y1), same units."""
    import torch

    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)
