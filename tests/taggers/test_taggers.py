"""samkit.taggers: registry, vocabulary data, the Tags record, and ClipTagger on a tiny random
CLIP -- its scores must be transformers' own ``CLIPModel(...).logits_per_image.softmax(-1)`` on
the same saved checkpoint folder."""

from __future__ import annotations

import os
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest
import tomllib

from samkit.errors import CheckpointError, ImageError, UnknownNameError
from samkit.taggers import (
    Tags,
    UnknownTaggerError,
    build_vocabulary,
    coco_names,
    default_vocabulary,
    get_tagger_spec,
    list_taggers,
    load_tagger,
    lvis_names,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]
VOCAB_DIR = ROOT / "samkit" / "taggers" / "vocabulary"
_CACHE: dict[tuple, object] = {}


def _tagger(seed: int = 0, vocabulary: tuple[str, ...] | None = None):
    key = (seed, vocabulary)
    if key not in _CACHE:
        _CACHE[key] = load_tagger(
            "clip_vit_b32",
            "random",
            config="tiny",
            device="cpu",
            seed=seed,
            vocabulary=None if vocabulary is None else list(vocabulary),
        )
    return _CACHE[key]


# ---------------------------------------------------------------------- registry
def test_registry_specs_and_unknown_names():
    assert list_taggers() == ["clip_vit_b32", "clip_vit_l14"]
    assert list_taggers("*l14") == ["clip_vit_l14"]
    spec = get_tagger_spec("clip_vit_b32")
    assert spec.layout == "hf" and spec.hub_repo == "openai/clip-vit-base-patch32"
    assert spec.sha256 is None and spec.checkpoint == "clip-vit-base-patch32" and not spec.gated
    assert get_tagger_spec(spec) is spec
    assert get_tagger_spec("clip_vit_l14").hub_repo == "openai/clip-vit-large-patch14"
    with pytest.raises(UnknownTaggerError, match="Did you mean 'clip_vit_b32'") as info:
        get_tagger_spec("clip_vit_b23")
    assert isinstance(info.value, UnknownNameError) and isinstance(info.value, KeyError)
    with pytest.raises(UnknownTaggerError, match="Did you mean"):
        load_tagger("clip_vit_l41", "random", config="tiny")


def test_importing_taggers_imports_nothing_heavy():
    code = (
        "import sys, samkit.taggers, samkit.taggers.registry; "
        "heavy = [m for m in ('torch', 'transformers', 'ultralytics') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ---------------------------------------------------------------------- vocabulary
def test_vocabulary_counts_and_dedup():
    from samkit.taggers.vocabulary import normalize_tag, read_file

    assert len(read_file("coco.txt")) == len(coco_names()) == 80
    assert len(read_file("lvis_v1.txt")) == len(lvis_names()) == 1203
    assert coco_names()[:3] == ["person", "bicycle", "car"] and coco_names()[-1] == "toothbrush"
    assert lvis_names()[0] == "aerosol can" and lvis_names()[-1] == "zucchini"  # first synonym
    vocab = default_vocabulary()
    assert len(vocab) == len(set(vocab)) == len(set(coco_names()) | set(lvis_names())) == 1213
    assert vocab[:80] == coco_names() and "baseball bat" in vocab and "band aid" in vocab
    assert all(t == normalize_tag(t) and "." not in t and "_" not in t for t in vocab)
    # LVIS's own spelling (underscores, capitals) normalises to the same tag
    assert normalize_tag("Baseball_Bat ") == "baseball bat" and normalize_tag("St. Bernard") == "st bernard"
    assert build_vocabulary(["Dog", "dog", "hot_dog", "hot dog", " cat "]) == ["dog", "hot dog", "cat"]


def test_vocabulary_files_match_ultralytics_yamls():
    """The committed files are what make_vocabulary.py writes from the installed ultralytics."""
    pytest.importorskip("yaml")
    from samkit.taggers.vocabulary import make_vocabulary as script

    try:
        script.ultralytics_datasets_dir()
    except FileNotFoundError:
        pytest.skip("ultralytics is not installed")
    for out, (yaml_name, expected) in script.FILES.items():
        lines = (VOCAB_DIR / out).read_text(encoding="utf-8").splitlines()
        assert lines == script.read_names(yaml_name, expected)


def test_vocabulary_files_are_package_data():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = setuptools["package-data"]["samkit"]
    files = sorted(p.relative_to(ROOT / "samkit").as_posix() for p in VOCAB_DIR.glob("*.txt"))
    assert files == ["taggers/vocabulary/coco.txt", "taggers/vocabulary/lvis_v1.txt"]
    for f in files:
        assert any(fnmatch(f, g) for g in globs), f"{f} is not in package-data {globs}"


# ---------------------------------------------------------------------- Tags
def test_tags_record():
    from samkit.detectors import split_phrases

    tags = Tags(["dog", "hot dog"], [0.5, 0.25])
    assert len(tags) == 2 and list(tags) == ["dog", "hot dog"]
    assert tags.scores.dtype == np.float32 and not tags.scores.flags.writeable
    assert tags.as_prompt() == "dog. hot dog." and split_phrases(tags.as_prompt()) == ["dog", "hot dog"]
    df = tags.to_dataframe()
    assert list(df.columns) == ["tag", "score"] and df["tag"].tolist() == ["dog", "hot dog"]
    assert df["score"].tolist() == [0.5, 0.25] and "'dog': 0.500" in repr(tags)
    empty = Tags([], np.zeros(0))
    assert len(empty) == 0 and empty.as_prompt() == "" and len(empty.to_dataframe()) == 0
    with pytest.raises(ValueError, match="same length"):
        Tags(["a"], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Tags(["a"], [1.5])
    with pytest.raises(ValueError, match="best first"):
        Tags(["a", "b"], [0.1, 0.2])


# ---------------------------------------------------------------------- ClipTagger (tiny, random)
def test_tiny_tagger_tags(photo):
    tagger = _tagger()
    assert tagger.weights.kind == "random" and tagger.weights.config == "tiny"
    assert tagger.vocabulary == default_vocabulary() and "1213 tags" in repr(tagger)
    scores = tagger.scores(photo)
    assert scores.shape == (1213,) and scores.dtype == np.float32
    assert ((scores >= 0) & (scores <= 1)).all() and scores.sum() == pytest.approx(1.0, abs=1e-4)  # softmax
    tags = tagger.tag(photo, top_k=7)
    assert len(tags) == 7 and tags.scores.shape == (7,) and (np.diff(tags.scores) <= 0).all()
    best = np.argsort(-scores, kind="stable")[:7]
    assert tags.names == [tagger.vocabulary[i] for i in best]
    np.testing.assert_array_equal(tags.scores, scores[best])
    assert tagger.tag(photo).names == tags.names[:5]  # default top_k = 5, threshold 0
    thr = float((tags.scores[2] + tags.scores[3]) / 2)
    assert tagger.tag(photo, top_k=7, threshold=thr).names == tags.names[:3]
    assert len(tagger.tag(photo, threshold=1.0)) == 0  # nothing above: empty, not an error


def test_tiny_tagger_is_deterministic_under_seed(photo):
    a = _tagger(seed=0).scores(photo)
    b = load_tagger("clip_vit_b32", "random", config="tiny", device="cpu", seed=0).scores(photo)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, _tagger(seed=1).scores(photo))


def test_text_embeddings_computed_once(photo, monkeypatch):
    tagger = load_tagger("clip_vit_b32", "random", config="tiny", device="cpu", seed=0)
    calls = []
    encode = tagger.model.get_text_features
    monkeypatch.setattr(tagger.model, "get_text_features", lambda **kw: calls.append(1) or encode(**kw))
    tagger.tag(photo)
    first = len(calls)
    assert first == -(-1213 // 256)  # the vocabulary in batches of 256 prompts
    tagger.tag(photo[::-1])
    tagger.scores(photo)
    assert len(calls) == first
    assert tuple(tagger.text_embeddings().shape) == (1213, 32)


def test_custom_vocabulary(photo):
    tagger = _tagger(vocabulary=("Dog", "cat", "dog", "hot_dog"))
    assert tagger.vocabulary == ["dog", "cat", "hot dog"]
    assert tagger.prompts() == ["a photo of a dog.", "a photo of a cat.", "a photo of a hot dog."]
    tags = tagger.tag(photo, top_k=10)  # more than the vocabulary: all of it
    assert sorted(tags.names) == ["cat", "dog", "hot dog"]
    assert tags.scores.sum() == pytest.approx(1.0, abs=1e-5)


def test_bad_input(photo):
    tagger = _tagger()
    for vocab, match in (([], "empty"), (["dog", " _ "], "empty once normalised"), ("dog", "list")):
        with pytest.raises(ValueError, match=match):
            load_tagger("clip_vit_b32", "random", config="tiny", vocabulary=vocab)
    with pytest.raises(TypeError, match="string"):
        build_vocabulary(["dog", 3])
    for k in (0, -1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="top_k"):
            tagger.tag(photo, top_k=k)
    for t in (-0.1, 1.5, float("nan"), "0.5"):
        with pytest.raises(ValueError, match="threshold"):
            tagger.tag(photo, threshold=t)
    with pytest.raises(ImageError, match="float"):
        tagger.tag(photo.astype(np.float32) / 255)
    with pytest.raises(ImageError):
        tagger.tag(photo[None])
    with pytest.raises(ValueError, match="weights"):
        load_tagger("clip_vit_b32", weights="imagenet")
    assert load_tagger("clip_vit_b32", weights="auto", config="tiny").weights.kind == "random"
    with pytest.raises(ValueError, match="config"):
        load_tagger("clip_vit_b32", "random", config="huge")
    with pytest.raises(ValueError, match="random"):
        load_tagger("clip_vit_b32", config="tiny")
    with pytest.raises(ValueError, match="contradict"):
        load_tagger("clip_vit_b32", "random", checkpoint="x")


# ---------------------------------------------------------------------- checkpoints
def test_scores_equal_transformers_clip_on_the_saved_checkpoint(photo, tmp_path):
    import torch
    import transformers as T

    from samkit.backends.transformers import save_folder

    folder = save_folder(_tagger().model, _tagger().processor, tmp_path / "clip")
    tagger = load_tagger("clip_vit_b32", checkpoint=folder, device="cpu")
    assert tagger.weights.kind == "pretrained" and tagger.weights.path == str(folder)
    assert tagger.weights.official is None  # no published SHA-256 to compare with
    ours = tagger.scores(photo)

    model = T.CLIPModel.from_pretrained(str(folder), local_files_only=True).eval()
    processor = T.CLIPProcessor.from_pretrained(str(folder), local_files_only=True)
    prompts = [f"a photo of a {t}." for t in default_vocabulary()]
    inputs = processor(text=prompts, images=photo, return_tensors="pt", padding=True, truncation=True)
    with torch.inference_mode():
        ref = model(**inputs).logits_per_image.softmax(-1)[0].numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(ours, _tagger().scores(photo), rtol=1e-5, atol=1e-8)
    ref_best = np.argsort(-ref, kind="stable")[:5]
    assert tagger.tag(photo).names == [default_vocabulary()[i] for i in ref_best]


def test_missing_checkpoint_is_a_clear_error(isolated_checkpoints, tmp_path):
    with pytest.raises(CheckpointError, match="samkit weights download clip_vit_b32"):
        load_tagger("clip_vit_b32", download=False)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_tagger("clip_vit_b32", checkpoint=tmp_path / "nowhere")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_tagger("clip_vit_b32", checkpoint=tmp_path / "half")


def test_checkpoint_of_another_model_is_refused(tmp_path):
    from samkit.backends.transformers import save_folder
    from samkit.detectors import load_detector

    owl = load_detector("owlv2_base", "random", config="tiny", device="cpu")
    folder = save_folder(owl.model, owl.processor, tmp_path / "owl")
    with pytest.raises(CheckpointError, match="clip_vit_b32"):
        load_tagger("clip_vit_b32", checkpoint=folder)


def test_cli_lists_and_verifies_taggers(capsys):
    from samkit import cli

    assert cli.main(["taggers"]) == 0
    out = capsys.readouterr().out
    assert "clip_vit_b32" in out and "openai/clip-vit-large-patch14" in out and "missing" in out
    assert cli.main(["taggers", "*b32"]) == 0
    assert "clip_vit_l14" not in capsys.readouterr().out
    assert cli.main(["weights", "verify", "clip_vit_b32", "clip*"]) == 0
    assert "clip-vit-base-patch32" in capsys.readouterr().out
    assert cli.main(["weights", "verify", "--strict", "clip_vit_l14"]) == 1


# ---------------------------------------------------------------------- full size
def test_full_architectures_count_the_released_parameters():
    """clip-vit-base-patch32 / large-patch14 as their hub config.json: 151,277,313 and
    427,616,513 weights (built on the meta device: no memory, no init)."""
    import torch
    import transformers as T

    from samkit.taggers.clip import full_config

    for name, count in (("clip_vit_b32", 151_277_313), ("clip_vit_l14", 427_616_513)):
        with torch.device("meta"):
            model = T.CLIPModel(full_config(get_tagger_spec(name)))
        assert sum(p.numel() for p in model.parameters()) == count


@pytest.mark.slow
def test_full_random_clip_vit_b32(photo):
    tagger = load_tagger("clip_vit_b32", "random", device="cpu")
    assert tagger.num_parameters() == 151_277_313 and tagger.weights.config == "full"
    cfg = tagger.model.config
    assert (cfg.vision_config.patch_size, cfg.vision_config.image_size, cfg.projection_dim) == (32, 224, 512)
    tags = tagger.tag(photo, top_k=3)
    assert len(tags) == 3 and ((tags.scores > 0) & (tags.scores <= 1)).all()
