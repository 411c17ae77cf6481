"""Bounded tracking state (``model.video(frames, bounded=True)``): the masks and every memory the
model attends to are exactly the unbounded tracker's (SAM 2.1 tiny at the small input, EdgeTAM and
SAM 3's tracker in tiny random configs; forward, a refinement prompt mid-video, reverse), the state
held stays within the reach, a call that would read dropped state is a clear error, and the
protocols pass the option. Default tests shrink the models' reach (3 memories, 3 object pointers:
2 frames back) so that a 7-frame video prunes; the slow test runs the released reach (15 frames)
on a longer video with two objects, a mask prompt mid-video and sam2's memory stride 2. Both runs
share the image encoder's output per frame (it does not depend on the tracking state)."""

from __future__ import annotations

import copy
import hashlib

import numpy as np
import pytest
import torch

import samkit
from samkit.errors import ParameterError, UnsupportedError
from samkit.video._bounded import BoundedState, MemoryReach, processing_order

SEEDS = {"edgetam": 2, "sam3": 3}
NAMES = ["sam2.1_hiera_tiny", "edgetam", "sam3"]
H, W = 48, 64


def _frames(num: int) -> np.ndarray:
    """A bright square moving right, then back, over a seeded texture."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 60, (num, H, W, 3), dtype=np.uint8)
    for t in range(num):
        x = 8 + (2 * t) % 32
        frames[t, 14:30, x : x + 16] = (230, 200, 40)
        frames[t, 32:44, 44:58] = (40, 90, 220)
    return frames


# ------------------------------------------------------------------------------ the reach rule


def test_reads_are_sam2s_memory_frames_and_object_pointers():
    reach = MemoryReach(num_maskmem=7, stride=1, max_obj_ptrs=16, num_frames=100)
    assert reach.reads(40, reverse=False) == set(range(25, 40))  # pointers reach 15 back, memories 6
    assert reach.reads(40, reverse=True) == set(range(41, 56))
    assert reach.reads(3, reverse=False) == {0, 1, 2} and reach.reads(98, reverse=True) == {99}
    assert reach.span == 15
    no_ptrs = MemoryReach(num_maskmem=7, stride=1, max_obj_ptrs=0, num_frames=100)
    assert no_ptrs.reads(40, False) == set(range(34, 40)) and no_ptrs.span == 6
    # stride 2: the last frame, then every 2nd frame (sam2's ((f - 2) // r) * r - k * r)
    strided = MemoryReach(num_maskmem=7, stride=2, max_obj_ptrs=0, num_frames=100)
    assert strided.reads(41, False) == {40, 38, 36, 34, 32, 30}
    assert strided.reads(41, True) == {42, 44, 46, 48, 50, 52}
    assert strided.span == 11
    short = MemoryReach(num_maskmem=7, stride=1, max_obj_ptrs=16, num_frames=5)  # pointers: min(T, 16) - 1
    assert short.reads(4, False) == {0, 1, 2, 3}


def test_processing_order_is_upstreams():
    assert processing_order(10, 3, None, False) == list(range(3, 10))
    assert processing_order(10, 3, 2, False) == [3, 4, 5]
    assert processing_order(10, 3, None, True) == [3, 2, 1, 0]
    assert processing_order(10, 0, None, True) == []  # sam2 skips reverse tracking from frame 0
    assert processing_order(10, 6, 2, True) == [6, 5, 4]


def _fake_pass(state: BoundedState, outputs: dict, frames: list[int], reverse: bool) -> None:
    state.begin(reverse)
    for t in frames:
        for out in outputs.values():
            if t not in out["cond_frame_outputs"]:
                out["non_cond_frame_outputs"][t] = {"frame": t}
        state.after_frame(t)


def test_state_stays_within_the_reach_and_keeps_prompted_neighbourhoods():
    reach = MemoryReach(num_maskmem=7, stride=1, max_obj_ptrs=16, num_frames=200)
    outputs = {0: {"cond_frame_outputs": {50: {}}, "non_cond_frame_outputs": {}}}
    state = BoundedState(reach, lambda: outputs)
    _fake_pass(state, outputs, list(range(50, 200)), reverse=False)
    held = sorted(outputs[0]["non_cond_frame_outputs"])
    # the 16 last frames (what frame 200 would read, and frame 199's own reads) and the 15 after the
    # prompt (what a reverse pass from frame 50 reads)
    assert held == list(range(51, 66)) + list(range(184, 200))
    assert state.dropped[0] == set(range(66, 184))
    _fake_pass(state, outputs, list(range(50, -1, -1)), reverse=True)  # reverse from the prompt: allowed
    held = list(range(0, 16)) + list(range(35, 50)) + list(range(51, 66)) + list(range(184, 200))
    assert sorted(outputs[0]["non_cond_frame_outputs"]) == held
    state.check_pass(50, None, False)  # from the prompted frame, both ways
    state.check_pass(50, None, True)
    state.check_pass(200 - 1, None, False)  # continuing where the forward pass stopped
    state.check_prompt(199)  # re-prompting its last frame
    with pytest.raises(UnsupportedError, match=r"frame\(s\) 7[0-9]-\d+.*bounded=True dropped.*bounded=False"):
        state.check_pass(90, None, False)
    with pytest.raises(UnsupportedError, match=r"prompt on frame 120 reads .* 105-135"):
        state.check_prompt(120)
    state.forget()
    state.check_prompt(120)


# ------------------------------------------------------------------------------ real trackers


@pytest.fixture(scope="module", params=NAMES)
def model(request):
    if request.param.startswith("sam2"):
        return request.getfixturevalue("small_sam2")
    return samkit.load(request.param, weights="random", config="tiny", seed=SEEDS[request.param], device="cpu")


def _upstream_model(tracker):
    return tracker.predictor if hasattr(tracker, "predictor") else tracker.video_model


def _shared_encoder(tracker, memo: dict) -> None:
    """The image encoder's output for a frame, computed once and shared by every tracker given the
    same ``memo`` (it depends on the frame alone, not on the tracking state): halves the test's cost."""
    up = _upstream_model(tracker)
    name = "forward_image" if hasattr(tracker, "predictor") else "get_image_features"
    encode = getattr(up, name)

    def shared(images, *args, **kwargs):
        key = (hashlib.sha1(images.detach().cpu().numpy().tobytes()).hexdigest(), repr(args), repr(kwargs))
        if key not in memo:
            memo[key] = encode(images, *args, **kwargs)
        return memo[key]

    setattr(up, name, shared)


def _instrument(
    tracker, maskmem: int | None, ptrs: int | None, stride: int | None = None, memo: dict | None = None
) -> list:
    """Set the reach (None: the model's own) and record every memory-attention input."""
    up = _upstream_model(tracker)
    if memo is not None:
        _shared_encoder(tracker, memo)
    if maskmem is not None:
        up.num_maskmem = maskmem
    if ptrs is not None:
        if hasattr(tracker, "predictor"):
            up.max_obj_ptrs_in_encoder = ptrs
        else:
            up.config = copy.deepcopy(up.config)  # never the config another model holds
            up.config.max_object_pointers_in_encoder = ptrs
    if stride is not None:
        up.memory_temporal_stride_for_eval = stride
    seen: list = []

    def copied(value):
        if torch.is_tensor(value):
            return value.clone()
        return [copied(v) for v in value] if isinstance(value, (list, tuple)) else value

    def hook(_module, _args, kwargs):
        seen.append({k: copied(v) for k, v in kwargs.items()})

    up.memory_attention.register_forward_pre_hook(hook, with_kwargs=True)
    return seen


def _run(tracker, script) -> list:
    """``script``: ("prompt", frame, obj_id, kwargs) | ("propagate", kwargs); every output, in order."""
    out = []
    for step in script:
        if step[0] == "prompt":
            out.append(("prompt", step[1], tracker.add_prompt(step[1], step[2], **step[3])))
        else:
            out += [("frame", t, masks) for t, masks in tracker.propagate(**step[1])]
    return out


def _assert_identical(ours: list, ref: list, seen_ours: list, seen_ref: list) -> None:
    assert [(kind, t, list(m)) for kind, t, m in ours] == [(kind, t, list(m)) for kind, t, m in ref]
    for (kind, t, a), (_, _, b) in zip(ours, ref):
        for oid in b:
            assert np.array_equal(a[oid], b[oid]), f"{kind} {t}: object {oid}"
    assert len(seen_ours) == len(seen_ref) > 0
    for i, (a, b) in enumerate(zip(seen_ours, seen_ref)):
        assert a.keys() == b.keys()
        for key in a:
            assert _same(a[key], b[key]), f"memory-attention call {i}: {key}"


def _same(a, b) -> bool:
    """Tensors bit-identical (dtype and shape included), lists of them item by item, others ==."""
    if torch.is_tensor(a):
        return torch.is_tensor(b) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


POINT = {"point_coords": [[16, 22]], "point_labels": [1]}
REFINE = {"point_coords": [[16, 22], [30, 22], [4, 4]], "point_labels": [1, 1, 0]}
SCRIPT = [  # T = 7: frames 0..3, refine frame 3, on to 6, then back from 5 to 2
    ("prompt", 0, 1, POINT),
    ("propagate", {"max_frames": 3}),
    ("prompt", 3, 1, REFINE),
    ("propagate", {"start_frame": 3}),
    # (not from 6: sam2 fails on CPU where a reverse frame has no object pointer, bounded or not)
    ("propagate", {"start_frame": 5, "reverse": True, "max_frames": 3}),
]


def test_masks_and_memories_identical_to_unbounded(model):
    frames = _frames(7)
    runs, memo = {}, {}
    for bounded in (False, True):
        tracker = model.video(frames, bounded=bounded)
        seen = _instrument(tracker, maskmem=3, ptrs=3, memo=memo)  # reach: 2 frames back
        runs[bounded] = (tracker, _run(tracker, SCRIPT), seen)
    (_, ref, seen_ref), (tracker, ours, seen_ours) = runs[False], runs[True]
    _assert_identical(ours, ref, seen_ours, seen_ref)
    assert [t for kind, t, _ in ours if kind == "frame"] == [0, 1, 2, 3, 3, 4, 5, 6, 5, 4, 3, 2]

    # held: the reverse pass's last frames (2-4), the first pass's (1-3) and the second's (4-6),
    # less 5, which the reverse pass rewrote and left behind (3 was dropped, then rewritten)
    state = tracker.bounded_state
    assert state.reach.span == 2
    assert runs[False][0].bounded_state is None
    assert state.held_frames() == {0: [1, 2, 3, 4, 6]}
    assert state.dropped == {0: {5}}
    with pytest.raises(UnsupportedError, match=r"prompt on frame 6 reads the tracking state of frame\(s\) 5"):
        tracker.add_prompt(6, 1, **POINT)
    with pytest.raises(UnsupportedError, match="a propagation from frame 6 .*bounded=False"):
        tracker.propagate(start_frame=6)
    tracker.propagate(start_frame=4)  # reads frames 2 and 3: kept (refused only where it must be)
    tracker.reset()
    assert not tracker.bounded_state.dropped and "bounded=True" in repr(tracker)


def test_bounded_is_checked(model):
    with pytest.raises(ParameterError, match="bounded must be True or False"):
        model.video(_frames(2), bounded="yes")


@pytest.mark.slow
def test_released_reach_refinement_mask_prompt_and_reverse(model):
    """48 frames, the released reach (15 frames back): object 1
    from frame 0 to 30, a refinement on frame 30, on to the end; object 2 joins on the last frame
    with a mask (EdgeTAM: a box; it cannot mix the two); both tracked back from frame 46 to 20 (not
    from 47: sam2 fails on CPU where a reverse frame has no object pointer, bounded or not)."""
    frames = _frames(48)
    mask = np.zeros((H, W), bool)
    mask[32:44, 44:58] = True
    script = [
        ("prompt", 0, 1, POINT),
        ("propagate", {"max_frames": 30}),
        ("prompt", 30, 1, REFINE),
        ("propagate", {"start_frame": 30}),
        ("prompt", 47, 2, {"box": [44, 32, 58, 44]} if model.name == "edgetam" else {"mask": mask}),
        ("propagate", {"start_frame": 46, "reverse": True, "max_frames": 26}),
    ]
    runs, memo = {}, {}
    for bounded in (False, True):
        tracker = model.video(frames, bounded=bounded)
        seen = _instrument(tracker, None, None, memo=memo)
        runs[bounded] = (tracker, _run(tracker, script), seen)
    (full, ref, seen_ref), (tracker, ours, seen_ours) = runs[False], runs[True]
    _assert_identical(ours, ref, seen_ours, seen_ref)
    state = tracker.bounded_state
    assert state.reach.span == 15
    # object 1: frames 15-19 (the first pass's last), 20-35 (the reverse pass's last), 32-46
    # (what a pass from the prompt on 47 reads) and 47 (the second pass's last); 1-14 dropped
    # (30 and 31 too, then tracked again by the reverse pass). The unbounded tracker: all 47.
    outputs = full.state["output_dict_per_obj"] if hasattr(full, "state") else full.session.output_dict_per_obj
    assert len(outputs[0]["non_cond_frame_outputs"]) == 47
    assert state.held_frames() == {0: list(range(15, 48)), 1: list(range(20, 47))}
    assert state.dropped == {0: set(range(1, 15))}


@pytest.mark.slow
def test_sam2_memory_stride_2(small_sam2):
    """sam2's ``memory_temporal_stride_for_eval`` 2 (memories: the last frame, then every 2nd one;
    4 memories, 3 object pointers: reach 5 frames back), 12 frames: the same script shape."""
    frames = _frames(12)
    script = [
        ("prompt", 0, 1, POINT),
        ("propagate", {"max_frames": 7}),
        ("prompt", 7, 1, REFINE),
        ("propagate", {"start_frame": 7}),
        ("propagate", {"start_frame": 10, "reverse": True, "max_frames": 8}),
    ]
    runs, memo = {}, {}
    for bounded in (False, True):
        tracker = small_sam2.video(frames, bounded=bounded)
        seen = _instrument(tracker, maskmem=4, ptrs=3, stride=2, memo=memo)
        runs[bounded] = (tracker, _run(tracker, script), seen)
    (_, ref, seen_ref), (tracker, ours, seen_ours) = runs[False], runs[True]
    _assert_identical(ours, ref, seen_ours, seen_ref)
    state = tracker.bounded_state
    assert state.reach.span == 5 and state.reach.reads(9, False) == {8, 6, 4, 7}
    assert state.dropped[0]  # it pruned


# ------------------------------------------------------------------------------ the protocols


class _RecordingModel:
    """A video model whose trackers answer with empty masks and record the tracker options."""

    name, family, dtype = "recording_video", "fake", "float32"
    capabilities = frozenset({"video", "points", "box"})

    def __init__(self):
        from samkit.weights import WeightsInfo

        self.model = torch.nn.Linear(1, 1)
        self.device = torch.device("cpu")
        self.weights = WeightsInfo("pretrained", sha256="0" * 64, official=True, path="fake.pt")
        self.options: list[dict] = []

    def video(self, frames, **options):
        self.options.append(options)
        return self

    def add_prompt(self, frame, obj_id, **_):
        return {obj_id: np.zeros((24, 32), bool)}

    def propagate(self, start_frame=0, **_):
        for t in range(start_frame, 3):
            yield t, {1: np.zeros((24, 32), bool)}


def test_the_vos_protocol_tracks_bounded_by_default(tmp_path):
    from samkit.data import DavisDataset
    from samkit.data.synthetic_video import write_davis
    from samkit.eval import get_protocol
    from samkit.eval.video import run_video

    write_davis(tmp_path, sequences=1, num_frames=3, size=(24, 32), num_objects=1, seed=0)
    dataset, model = DavisDataset(tmp_path), _RecordingModel()
    rows = get_protocol("video").run(model, dataset, progress=False)
    unbounded = run_video(model, dataset, bounded=False, progress=False)
    assert [o["bounded"] for o in model.options] == [True, False]
    assert rows["bounded"].tolist() == [True] and unbounded["bounded"].tolist() == [False]
    assert get_protocol("video").make_params().bounded is True
    with pytest.raises(ValueError, match="bounded"):
        run_video(model, dataset, bounded="no", progress=False)
