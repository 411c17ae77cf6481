"""`Sam3VideoTracker`: SAM 3 on video, both of its modes, behind `samkit.video.VideoTracker`.

**Prompted objects** (SAM 3's "PVS" on video: points, a box, a mask per object id) through
transformers' ``Sam3TrackerVideoModel`` and ``Sam3TrackerVideoProcessor``. The video model is
transformers' tracker of the hub file: pretrained, ``Sam3TrackerVideoModel.from_pretrained`` of the
checkpoint folder (strict; transformers maps the ``Sam3VideoModel`` file's tracker keys and skips
its ``detector_model.`` keys); random weights, ``Sam3TrackerVideoModel`` of the hub config's
``tracker_config`` (`samkit.models.sam3.hub_config`) built under the segmenter's seed. Its image
parts (ViT backbone, tracker neck, prompt encoder, mask decoder) share the segmenter's
``Sam3TrackerModel`` tensors. Sessions, prompts, propagation and masks are transformers' (see
`samkit.video._hub_tracker`); frames stream by default.

**Concepts** (SAM 3's "PCS" on video: a noun phrase -> every instance, each a masklet with its
own id) through transformers' ``Sam3VideoModel`` and ``Sam3VideoProcessor``, their documented
usage: ``init_video_session``, ``add_text_prompt``, ``propagate_in_video_iterator``,
``postprocess_outputs``. The model is assembled from the tensors above and the segmenter's text
detector (`samkit.video._sam3_concepts`), built on the first `Sam3VideoTracker.add_text`::

    tracker = samkit.load("sam3").video(frames)
    tracker.add_text("a person")               # several phrases: "a person. a dog." or a list
    for frame, masks in tracker.propagate():   # masks: {obj_id: HxW bool}
        ...
    tracker.object_info[obj_id]                # ConceptObject(phrase, score, first_frame)
    tracker.frame_scores[frame][obj_id]        # the tracker's object probability on that frame
    masklets = tracker.track_masklets()        # samkit.video.masklets.Masklets

Each `propagate` runs transformers' detect-and-track from a fresh session over every phrase given
so far (so it can be run again, and gives the same ids), detecting each phrase on every frame it
visits. Its thresholds are the checkpoint config's (``score_threshold_detection`` 0.5,
``new_det_thresh`` 0.7 in the released one), changed with `Sam3VideoTracker.detection_threshold`
and `Sam3VideoTracker.new_object_threshold`, as are the detections' mask NMS
(`Sam3VideoTracker.detection_nms_threshold`, ``det_nms_thresh``) and the cap on instances tracked
at once (`Sam3VideoTracker.max_objects`, ``max_num_objects``); the other heuristics (hot start: outputs held back
``hotstart_delay`` frames, 15, to drop unmatched or duplicate tracks; reconditioning; occlusion
suppression) are the config's too. Without the ``kernels`` package transformers skips its mask
NMS, hole filling and sprinkle removal (its warning says so).

Not in transformers 5.24's ``Sam3VideoModel`` API, so not here: box or point *exemplars* for a
concept, and refining one found instance with points / boxes (`add_prompt` after `add_text` is an
`UnsupportedError`; give the instance's mask to a separate tracker instead). Text and prompted
objects cannot share one tracker: use two (``model.video(frames)`` twice) or `reset` between.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from samkit.errors import UnsupportedError
from samkit.params import check_fraction, check_int
from samkit.prompts import split_phrases
from samkit.video._hub_tracker import HubVideoTracker, load_video_model
from samkit.video.masklets import ConceptObject, Masklets, collect_masklets

__all__ = ["Sam3VideoTracker"]

_MIXING = (
    "transformers 5.24's Sam3VideoModel (text concepts) and Sam3TrackerVideoModel (points, boxes, "
    "masks) keep separate sessions, so one tracker does one or the other"
)


class Sam3VideoTracker(HubVideoTracker):
    """`VideoTracker` of SAM 3: prompted objects, or every instance of text concepts (see the
    module docstring).

    Attributes (concepts):
        phrases: the noun phrases added so far (`add_text`), in order.
        object_info: ``{obj_id: ConceptObject(phrase, score, first_frame)}`` of every object the
            last `propagate` output so far, in the order they appeared.
        frame_scores: ``{frame: {obj_id: score}}``: per frame, the tracker's probability that
            each output object is present (upstream's ``obj_id_to_tracker_score``; a newly
            detected object has its detection score there).
    """

    def __init__(self, model: Any, frames: Any, **options: Any) -> None:
        super().__init__(model, frames, **options)
        self._phrases: dict[str, int] = {}  # phrase -> the frame it was added on
        self._concept_model: Any = None
        self._concept_processor: Any = None
        self._settings: dict[str, float | int] = {}  # Sam3VideoModel attributes set on propagate
        self.object_info: dict[int, ConceptObject] = {}
        self.frame_scores: dict[int, dict[int, float]] = {}

    # ------------------------------------------------------------------ prompted objects (PVS)
    @staticmethod
    def _image_part(segmenter: Any) -> Any:
        return segmenter.model.tracker

    @classmethod
    def build_video_model(cls, segmenter: Any) -> Any:
        from samkit.backends.transformers import seeded_build, transformers_module
        from samkit.models.sam3 import hub_config

        transformers = transformers_module()
        weights = segmenter.weights
        if weights.kind == "random":
            config = hub_config(weights.config or "full").tracker_config
            return seeded_build(lambda: transformers.Sam3TrackerVideoModel(config), int(weights.seed or 0))
        return load_video_model(
            transformers.Sam3TrackerVideoModel, weights.path, segmenter.name, ignored=("detector_model.",)
        )

    @classmethod
    def build_processor(cls, segmenter: Any) -> Any:
        """``Sam3TrackerVideoProcessor`` at the model's input side with SAM 3's image processing
        (transformers' ``Sam3ImageProcessor`` defaults: bilinear resize, mean = std = 0.5)."""
        from samkit.backends.transformers import transformers_module

        transformers = transformers_module()
        side = int(segmenter.model.tracker.config.prompt_encoder_config.image_size)
        size = {"height": side, "width": side}
        image_processor = transformers.Sam3ImageProcessor(size=size)
        video_processor = transformers.Sam2VideoVideoProcessor(
            size=size, image_mean=list(image_processor.image_mean), image_std=list(image_processor.image_std)
        )
        return transformers.Sam3TrackerVideoProcessor(
            image_processor=image_processor, video_processor=video_processor, target_size=side
        )

    def add_prompt(self, frame: int, obj_id: int, *args: Any, **kwargs: Any) -> dict[int, np.ndarray]:
        """`VideoTracker.add_prompt` (points, a box or a mask for one object); an
        `UnsupportedError` once the tracker tracks text concepts (see the module docstring)."""
        if self._phrases:
            raise UnsupportedError(
                f"add_prompt after add_text: {_MIXING}, and Sam3VideoModel has no point/box refinement "
                f"of a found instance. To refine one, give its mask (tracker.track_masklets()[obj_id]) "
                f"to a separate tracker: model.video(frames).add_prompt(frame, obj_id, mask=...); "
                f"or call reset() first."
            )
        return super().add_prompt(frame, obj_id, *args, **kwargs)

    # ------------------------------------------------------------------ concepts (PCS)
    @property
    def phrases(self) -> list[str]:
        return list(self._phrases)

    @property
    def concept_model(self) -> Any:
        """transformers' ``Sam3VideoModel`` (built on first use; see `samkit.video._sam3_concepts`)."""
        if self._concept_model is None:
            from samkit.video._sam3_concepts import build_concept_model, build_concept_processor

            self._concept_model = build_concept_model(self.model, self.video_model)
            self._concept_processor = build_concept_processor(self.model, self.processor)
        return self._concept_model

    @property
    def concept_processor(self) -> Any:
        """transformers' ``Sam3VideoProcessor`` of `concept_model`."""
        self.concept_model  # noqa: B018 (builds both)
        return self._concept_processor

    @property
    def detection_threshold(self) -> float:
        """Minimum detection score (``sigmoid(logit) * sigmoid(presence)``) of an instance on a
        frame: ``Sam3VideoConfig.score_threshold_detection`` (checkpoint default 0.5)."""
        return self._settings.get("score_threshold_detection", self.concept_model.config.score_threshold_detection)

    @detection_threshold.setter
    def detection_threshold(self, value: float) -> None:
        self._settings["score_threshold_detection"] = check_fraction("detection_threshold", value)

    @property
    def new_object_threshold(self) -> float:
        """Minimum detection score for an unmatched detection to start a new object:
        ``Sam3VideoConfig.new_det_thresh`` (checkpoint default 0.7)."""
        return self._settings.get("new_det_thresh", self.concept_model.config.new_det_thresh)

    @new_object_threshold.setter
    def new_object_threshold(self, value: float) -> None:
        self._settings["new_det_thresh"] = check_fraction("new_object_threshold", value)

    @property
    def detection_nms_threshold(self) -> float:
        """Mask IoU above which a frame's detections suppress each other before tracking, in
        [0, 1] (0: no suppression): ``Sam3VideoConfig.det_nms_thresh`` (checkpoint default 0.1).
        The suppression compares every pair of detections above `detection_threshold` at mask
        size (N x N x H x W bytes)."""
        return float(self._settings.get("det_nms_thresh", self.concept_model.config.det_nms_thresh))

    @detection_nms_threshold.setter
    def detection_nms_threshold(self, value: float) -> None:
        self._settings["det_nms_thresh"] = check_fraction("detection_nms_threshold", value)

    @property
    def max_objects(self) -> int:
        """The most instances tracked at once over all phrases (new detections past it are not
        added): ``Sam3VideoConfig.max_num_objects`` (checkpoint default 10000)."""
        return int(self._settings.get("max_num_objects", self.concept_model.config.max_num_objects))

    @max_objects.setter
    def max_objects(self, value: int) -> None:
        self._settings["max_num_objects"] = check_int("max_objects", value, low=1)

    def add_text(self, text: str | list[str], frame: int = 0) -> list[str]:
        """Track every instance of each noun phrase of ``text``, each phrase its own concept.

        Args:
            text: ``"a person"``, ``"a person. a dog."`` or ``["a person", "a dog"]`` (phrases
                are lower-cased and stripped, `samkit.prompts.split_phrases`; a phrase given
                again is the same concept).
            frame: where `propagate` starts by default (the earliest such frame). SAM 3 looks
                for every phrase on every frame it visits; the frame is not part of the prompt.

        Returns:
            every phrase tracked so far, in order. Nothing runs until `propagate`.
        """
        self.model.require("text_video", "text prompts on video")
        t = self._check_frame(frame)
        phrases = split_phrases(text)
        if self.session.obj_ids:
            raise UnsupportedError(
                f"add_text after add_prompt: {_MIXING}. Call reset() first, or use another tracker "
                f"(model.video(frames)) for the text."
            )
        for phrase in phrases:
            self._phrases[phrase] = min(t, self._phrases.get(phrase, t))
        self._prompted = True
        return self.phrases

    def _concept_session(self) -> Any:
        """A fresh ``Sam3VideoInferenceSession`` over this tracker's frames (those of the point
        session: streamed, or preprocessed once on the CPU / device) with every phrase added."""
        import torch

        device = self.model.device
        session = self.concept_processor.init_video_session(
            inference_device=device,
            inference_state_device="cpu" if self.offload_state_to_cpu else device,
            video_storage_device=device if self.video_storage != "cpu" else "cpu",
            dtype=torch.float32,
        )
        session.processed_frames = self.session.processed_frames
        session.video_height, session.video_width = self.size
        self.concept_processor.add_text_prompt(inference_session=session, text=self.phrases)
        return session

    def _propagate(
        self, reverse: bool, start_frame: int | None, max_frames: int | None
    ) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        if not self._phrases:
            return super()._propagate(reverse, start_frame, max_frames)
        return self._propagate_concepts(reverse, start_frame, max_frames)

    def _propagate_concepts(
        self, reverse: bool, start_frame: int | None, max_frames: int | None
    ) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        """transformers' ``propagate_in_video_iterator`` + ``postprocess_outputs``, frame by frame."""
        model, processor = self.concept_model, self.concept_processor
        for name, value in self._settings.items():
            setattr(model, name, value)  # Sam3VideoModel reads its thresholds from these attributes
        start = min(self._phrases.values()) if start_frame is None else start_frame
        self.object_info.clear()  # in place: a caller (track_masklets) may hold these dicts
        self.frame_scores.clear()
        with self._context():
            session = self._concept_session()
        steps = model.propagate_in_video_iterator(
            inference_session=session,
            start_frame_idx=start,
            max_frame_num_to_track=max_frames,
            reverse=reverse,
            show_progress_bar=self.progress,
        )
        while True:
            with self._context():  # held for one step at a time, never across the caller's loop
                output = next(steps, None)
                if output is None:
                    return
                found = processor.postprocess_outputs(session, output)
                frame = int(output.frame_idx)
                ids = [int(i) for i in found["object_ids"].tolist()]
                masks = found["masks"].cpu().numpy()
            phrase_of = {int(i): p for p, oids in found["prompt_to_obj_ids"].items() for i in oids}
            for oid, score in zip(ids, found["scores"].tolist()):
                if oid not in self.object_info:
                    self.object_info[oid] = ConceptObject(phrase_of[oid], float(score), frame)
            tracker_scores = output.obj_id_to_tracker_score or {}
            self.frame_scores[frame] = {oid: float(tracker_scores[oid]) for oid in ids if oid in tracker_scores}
            yield frame, {oid: masks[i] for i, oid in enumerate(ids)}

    def track_masklets(self, reverse: bool = False, **kwargs: Any) -> Masklets:
        """`propagate` collected as `samkit.video.masklets.Masklets` (one `Masklet` per object:
        its phrase, score, ``{frame: HxW bool}`` and per-frame scores). Holds every mask of the
        video (T x N x H x W bytes); `propagate` streams them instead. Text concepts only."""
        if not self._phrases:
            raise UnsupportedError(
                "track_masklets() needs text concepts (add_text); prompted objects have no phrase: use track()."
            )
        weights = self.model.weights
        return collect_masklets(
            self.propagate(reverse=reverse, **kwargs),
            self.object_info,
            size=self.size,
            num_frames=self.num_frames,
            weights=str(weights),
            random_weights=weights.kind == "random",
            method=f"{self.model.name} concept tracking (transformers Sam3VideoModel)",
            frame_scores=self.frame_scores,
        )

    @property
    def obj_ids(self) -> list[int]:
        if self._phrases:
            return list(self.object_info)
        return super().obj_ids

    def reset(self) -> None:
        super().reset()
        self._phrases.clear()
        self.object_info.clear()
        self.frame_scores.clear()
