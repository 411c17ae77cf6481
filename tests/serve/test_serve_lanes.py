"""The generate lane: a running ``/generate`` hands the model to waiting clicks between its chunks.

No wall-clock thresholds: the order of events is forced with events and the lock's own
``wait_for_interactive`` (the timeouts below only turn a deadlock into a failure). Checked: the
`ModelLock` handoff order, the grid generator's `between_batches` hook (called between chunks,
masks unchanged), and through HTTP a click that completes while a generate is in progress, the
generate's masks equal to a generate without clicks, every click's mask equal to a direct predict.
mobile_sam with random weights, 48x64 images, a 2x2 grid decoded one point a batch (4 chunks).
"""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image

from samkit.models.grid_generator import between_batches
from samkit.serve.codecs import rle_to_mask
from samkit.serve.lanes import ModelLock

H, W = 48, 64
#: 4 decoder batches of one point after the image's encoder pass: 5 hook calls
GEN = {"points_per_side": 2, "points_per_batch": 1, "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}
HOOK_CALLS = 1 + 4
CLICKS = [{"points": [[20, 10]], "labels": [1]}, {"box": [5, 5, 50, 40]}]
DEADLOCK_S = 600  # failsafe only


def make_image(i: int) -> np.ndarray:
    rng = np.random.default_rng(300 + i)
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    image[10 + 5 * i : 30, 8 + 10 * i : 40] = (240, 200 - 60 * i, 40)
    return image


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def start(fn, *args) -> tuple[threading.Thread, dict]:
    """Run ``fn(*args)`` in a thread; the dict gets its ``result`` or ``error``."""
    out: dict = {}

    def run() -> None:
        try:
            out["result"] = fn(*args)
        except BaseException as err:  # re-raised by `join`
            out["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def join(thread: threading.Thread, out: dict):
    thread.join(DEADLOCK_S)
    assert not thread.is_alive(), "deadlock"
    if "error" in out:
        raise out["error"]
    return out.get("result")


# ----------------------------------------------------------------------------- ModelLock alone
def test_handoff_without_waiting_clicks_keeps_the_model():
    lock = ModelLock()
    with lock.generate() as handoff:
        assert lock.locked()
        assert handoff() is False
        assert lock.locked() and lock.handoffs == 0
    assert not lock.locked()
    with lock:  # the interactive lane is free again
        assert lock.locked()


def test_handoff_serves_the_clicks_waiting_then_resumes_before_later_ones():
    """Clicks 1 and 2 wait while a generate holds the model; at its handoff both run, in their
    order; click 3, arriving during the handoff, waits for the generate's next chunk."""
    lock, order = ModelLock(), []
    arrived_3 = threading.Event()

    def click(name: str, during: threading.Event | None = None) -> None:
        with lock:
            order.append(name)
            if during is not None:  # click 1: click 3 arrives while it runs
                during.set()
                assert lock.wait_for_interactive(2, DEADLOCK_S)  # clicks 2 and 3 queued

    def late_click() -> None:
        arrived_3.wait(DEADLOCK_S)
        click("click 3")

    with lock.generate() as handoff:
        t1, o1 = start(click, "click 1", arrived_3)
        assert lock.wait_for_interactive(1, DEADLOCK_S)
        t2, o2 = start(click, "click 2")
        assert lock.wait_for_interactive(2, DEADLOCK_S)
        t3, o3 = start(late_click)
        assert handoff() is True
        order.append("generate resumes")
        join(t1, o1), join(t2, o2)
        assert lock.wait_for_interactive(1, DEADLOCK_S)  # click 3 waits for the generate's chunk
        order.append("generate's next chunk")
    join(t3, o3)
    assert order == ["click 1", "click 2", "generate resumes", "generate's next chunk", "click 3"]
    assert lock.handoffs == 1 and not lock.locked()


def test_a_generate_starts_after_the_clicks_already_waiting():
    lock, order = ModelLock(), []
    lock.acquire()  # a click in progress

    def click() -> None:
        with lock:
            order.append("click")

    t1, o1 = start(click)
    assert lock.wait_for_interactive(1, DEADLOCK_S)

    def generate() -> None:
        with lock.generate():
            order.append("generate")

    tg, og = start(generate)
    lock.release()
    join(t1, o1), join(tg, og)
    assert order == ["click", "generate"]


def test_one_generate_at_a_time_in_the_lane():
    lock, inside, order = ModelLock(), threading.Event(), []
    release_first = threading.Event()

    def first() -> None:
        with lock.generate() as handoff:
            inside.set()
            release_first.wait(DEADLOCK_S)
            handoff()
            order.append("first done")

    def second() -> None:
        with lock.generate():
            order.append("second")

    t1, o1 = start(first)
    inside.wait(DEADLOCK_S)
    t2, o2 = start(second)
    release_first.set()
    join(t1, o1), join(t2, o2)
    assert order == ["first done", "second"]


# ----------------------------------------------------------------------------- the generator's hook
@pytest.fixture(scope="module")
def model(random_model):
    return random_model("mobile_sam")


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return [make_image(i) for i in range(2)]


def same_records(a: list[dict], b: list[dict]) -> bool:
    keys = ("area", "bbox", "predicted_iou", "point_coords", "stability_score", "crop_box")
    return len(a) == len(b) and all(
        np.array_equal(x["segmentation"], y["segmentation"]) and all(x[k] == y[k] for k in keys) for x, y in zip(a, b)
    )


def test_between_batches_is_called_between_chunks_and_changes_no_mask(model, images):
    assert between_batches.get() is None  # the default: nothing is called
    reference = model.generate(images[0], **GEN)
    assert len(reference) > 0
    other = model._sibling()
    other.set_image(images[1])
    clicks = []

    def hook() -> None:  # what the service's handoff lets happen: model work on other segmenters
        clicks.append(other.predict(point_coords=[[10, 10]], point_labels=[1])[1])

    token = between_batches.set(hook)
    try:
        hooked = model.generate(images[0], **GEN)
    finally:
        between_batches.reset(token)
    assert len(clicks) == HOOK_CALLS
    assert same_records(hooked, reference)
    assert all(np.array_equal(c, clicks[0]) for c in clicks)  # the other segmenter was not disturbed either


# ----------------------------------------------------------------------------- through the service
@pytest.fixture(scope="module")
def client(model):
    from fastapi.testclient import TestClient

    from samkit.serve import create_app

    with TestClient(create_app(model, cache_mib=64)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def ids(client, images) -> list[str]:
    out = []
    for image in images:
        r = client.post("/images", files={"file": ("i.png", png_bytes(image), "image/png")})
        assert r.status_code == 200, r.text
        out.append(r.json()["image_id"])
    return out


def test_a_click_is_served_while_a_generate_runs_and_the_masks_do_not_change(client, ids, model, images, monkeypatch):
    """A generate on image 0 starts; at its first chunk boundary two clicks are waiting (one on
    image 1, one on image 0 itself): the generate hands the model over, both clicks complete
    (responses received), and only then does the generate go on with its remaining chunks."""
    service = client.app.state.service
    lock = service.model_lock
    reference = client.post(f"/images/{ids[0]}/generate", json={"params": GEN})
    assert reference.status_code == 200, reference.text
    direct = []
    for i, image in enumerate(images):
        sibling = model._sibling()
        sibling.set_image(image)
        direct.append(sibling.predict(**_kwargs(CLICKS[i]), multimask_output=True))

    generate_running, clicks_done = threading.Event(), [threading.Event() for _ in CLICKS]
    events, calls = [], []
    handoff = lock._handoff

    def spy(holding):
        calls.append(len(calls))
        if len(calls) == 1:  # the first chunk boundary: the image's encoder pass is done
            generate_running.set()
            assert lock.wait_for_interactive(len(CLICKS), DEADLOCK_S)
            assert handoff(holding) is True  # both clicks have run their decoder pass
            for done in clicks_done:
                assert done.wait(DEADLOCK_S)  # and were answered, while this generate waits
            events.append("generate resumes")
            return True
        return handoff(holding)

    monkeypatch.setattr(lock, "_handoff", spy)

    def click(i: int) -> dict:
        assert generate_running.wait(DEADLOCK_S)
        # image 1, then image 0: the generate's own image (its entry's segmenter) is clicked too
        image_id = ids[1 - i]
        r = client.post(f"/images/{image_id}/predict", json={**CLICKS[1 - i], "multimask": True})
        events.append(f"click on image {1 - i} answered")
        clicks_done[i].set()
        return r

    def generate() -> object:
        r = client.post(f"/images/{ids[0]}/generate", json={"params": GEN})
        events.append("generate answered")
        return r

    handoffs_before = client.get("/metrics").json()["generate_handoffs"]
    tg, og = start(generate)
    threads = [start(click, i) for i in range(len(CLICKS))]
    responses = [join(t, o) for t, o in threads]
    concurrent = join(tg, og)

    assert len(calls) == HOOK_CALLS  # the handoff came at the first of the generate's chunk boundaries
    assert events[-2:] == ["generate resumes", "generate answered"]
    assert sorted(events[:2]) == ["click on image 0 answered", "click on image 1 answered"]
    for i, r in enumerate(responses):
        image = 1 - i
        assert r.status_code == 200, r.text
        got = np.stack([rle_to_mask(m) for m in r.json()["masks"]])
        assert np.array_equal(got, direct[image][0])
        assert r.json()["scores"] == [float(s) for s in direct[image][1]]
    assert concurrent.status_code == 200, concurrent.text
    assert concurrent.json()["masks"] == reference.json()["masks"]  # identical RLEs, scores, boxes, points
    assert client.get("/metrics").json()["generate_handoffs"] == handoffs_before + 1


def test_the_service_sets_its_hook_for_the_call_only(client, ids):
    service = client.app.state.service
    seen = []

    def callers_hook() -> None:
        seen.append("called")

    token = between_batches.set(callers_hook)
    try:
        out = service.generate(ids[1], dict(GEN))
        assert between_batches.get() is callers_hook  # restored after the call
    finally:
        between_batches.reset(token)
    assert out["masks"] and not seen  # the service's handoff ran instead of the caller's hook
    assert not service.model_lock.locked()


def _kwargs(prompt: dict) -> dict:
    return {"point_coords": prompt.get("points"), "point_labels": prompt.get("labels"), "box": prompt.get("box")}
