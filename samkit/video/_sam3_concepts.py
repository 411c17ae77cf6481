"""The parts of SAM 3's concept tracking (text -> every instance, tracked through the video):
transformers' ``Sam3VideoModel`` assembled from the tensors samkit already holds, and its
``Sam3VideoProcessor``.

``Sam3VideoModel`` is the hub file's own class: ``detector_model`` (``Sam3Model``, the text
detector), ``tracker_model`` (``Sam3TrackerVideoModel`` without a vision encoder: memory
attention, memory encoder, object pointers, prompt encoder, mask decoder) and ``tracker_neck``
(the tracker's FPN neck on the shared ViT). samkit builds an empty one (on the ``meta`` device,
no memory) from the checkpoint's ``Sam3VideoConfig`` and puts in:

- ``detector_model``: the segmenter's ``Sam3Model`` (the module itself);
- ``tracker_neck``: the segmenter's tracker neck (the module itself);
- ``tracker_model``: a ``Sam3TrackerVideoModel(remove_vision_encoder=True)`` whose parameters and
  buffers are those of the point tracker's video model (`samkit.video.sam3_tracker`: loaded
  strictly from the checkpoint, or seeded random weights), shared, not copied.

So one checkpoint gives one set of weights for images, point tracking and concept tracking, and
a pretrained folder gives exactly ``Sam3VideoModel.from_pretrained``'s model (tested).

The processor is ``Sam3VideoProcessor`` of the point tracker's image and video processors (SAM 3's
preprocessing at the model's input side) and the checkpoint's tokenizer (random weights without
tokenizer files: samkit's stand-in tokenizer, `samkit.models.sam3.stand_in_tokenizer`).
"""

from __future__ import annotations

from typing import Any

from samkit.errors import CheckpointError

__all__ = ["concept_config", "build_concept_model", "build_concept_processor"]


def concept_config(segmenter: Any) -> Any:
    """The ``Sam3VideoConfig`` of ``segmenter``'s weights: the checkpoint folder's ``config.json``,
    or (random weights) the family's named config (``"tiny"`` / ``"full"``)."""
    from samkit.backends.transformers import transformers_module

    weights = segmenter.weights
    if weights.kind == "random":
        return type(segmenter).hub_config(weights.config or "full")
    try:
        config = transformers_module().AutoConfig.from_pretrained(weights.path, local_files_only=True)
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{weights.path} has no readable config.json for {segmenter.name}: {err}") from err
    if getattr(config, "detector_config", None) is None or getattr(config, "tracker_config", None) is None:
        raise CheckpointError(
            f"{weights.path}'s config.json is not a Sam3VideoConfig (model_type {config.model_type!r}): "
            f"concept tracking needs the hub file's detector_config and tracker_config."
        )
    return config


def _meta_tensors(module: Any) -> list[str]:
    """Names of ``module``'s parameters and buffers still on the ``meta`` device."""
    tensors = list(module.named_parameters()) + list(module.named_buffers())
    return [name for name, t in tensors if t.is_meta]


def build_concept_model(segmenter: Any, tracker_video_model: Any) -> Any:
    """``Sam3VideoModel`` holding ``segmenter``'s detector and tracker neck and the tensors of
    ``tracker_video_model`` (the point tracker's ``Sam3TrackerVideoModel``); see the module
    docstring. Thresholds and heuristics are the config's (``score_threshold_detection``...)."""
    import torch

    from samkit.backends.transformers import transformers_module

    transformers = transformers_module()
    config = concept_config(segmenter)
    image = segmenter.model  # samkit.models.sam3.Sam3Image
    with torch.device("meta"):
        model = transformers.Sam3VideoModel(config)
        tracker = transformers.Sam3TrackerVideoModel(config.tracker_config, remove_vision_encoder=True)
    state = {
        k: v for k, v in tracker_video_model.state_dict(keep_vars=True).items() if not k.startswith("vision_encoder.")
    }
    result = tracker.load_state_dict(state, strict=False, assign=True)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(
            f"{segmenter.name}: the video tracker's weights do not fit Sam3VideoModel's tracker "
            f"(missing {result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]})"
        )
    # buffers that are not in a state dict (rotary frequencies, position ids) come from the module
    # that computed them at construction
    source_buffers = dict(tracker_video_model.named_buffers())
    for name, buffer in list(tracker.named_buffers()):
        if buffer.is_meta:
            owner, _, leaf = name.rpartition(".")
            tracker.get_submodule(owner)._buffers[leaf] = source_buffers[name]
    model.detector_model = image.detector
    model.tracker_neck = image.tracker.vision_encoder.neck
    model.tracker_model = tracker
    left = _meta_tensors(model)
    if left:
        raise CheckpointError(f"{segmenter.name}: Sam3VideoModel parts left unset: {left[:5]}")
    return model.eval()


def build_concept_processor(segmenter: Any, tracker_processor: Any) -> Any:
    """``Sam3VideoProcessor`` of ``tracker_processor``'s (``Sam3TrackerVideoProcessor``) image and
    video processors and ``segmenter``'s tokenizer (see the module docstring)."""
    from samkit.backends.transformers import transformers_module

    transformers = transformers_module()
    tokenizer = segmenter._text_processor().tokenizer
    return transformers.Sam3VideoProcessor(
        image_processor=tracker_processor.image_processor,
        video_processor=tracker_processor.video_processor,
        tokenizer=tokenizer,
        target_size=tracker_processor.target_size,
    )
