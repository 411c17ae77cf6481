"""Segmenter-shaped fakes for protocol tests: fast, deterministic, and able to fail on demand."""

from __future__ import annotations

import numpy as np
import torch

from samkit.weights import WeightsInfo


class FakeModel:
    """A tiny model with the Segmenter interface: every call runs one real ``nn.Linear`` (so
    FLOPs are countable) and records its arguments.

    ``capabilities``: what it claims to support; ``fail``: {method name: exception to raise}.
    ``predict`` returns masks whose low-res logits carry the call number (to follow feedback).
    """

    name, family, dtype = "fake", "fake", "float32"

    def __init__(self, capabilities=("points", "box", "automatic"), fail=None):
        self.capabilities = frozenset(capabilities)
        self.fail = dict(fail or {})
        self.model = torch.nn.Linear(4, 3)  # 15 parameters
        self.device = torch.device("cpu")
        self.weights = WeightsInfo("random", seed=3)
        self.calls: list[tuple[str, dict]] = []
        self.hw = (8, 8)

    def _run(self, method, **kwargs):
        self.calls.append((method, kwargs))
        if method in self.fail:
            raise self.fail[method]
        self.model(torch.ones(1, 4))

    def set_image(self, image):
        self._run("set_image")
        self.hw = np.asarray(image).shape[:2]

    def predict(
        self,
        point_coords=None,
        point_labels=None,
        box=None,
        mask_input=None,
        multimask_output=True,
        return_logits=False,
    ):
        self._run(
            "predict",
            point_coords=point_coords,
            point_labels=point_labels,
            box=box,
            mask_input=None if mask_input is None else np.array(mask_input),
            multimask_output=multimask_output,
        )
        n = 3 if multimask_output else 1
        masks = np.zeros((n, *self.hw), bool)
        masks[:, : self.hw[0] // 2] = True
        logits = np.full((n, 256, 256), float(len(self.calls)), np.float32) + np.arange(n)[:, None, None]
        return masks, np.linspace(0.9, 0.5, n).astype(np.float32), logits

    def predict_boxes(self, boxes):
        self._run("predict_boxes", boxes=boxes)
        return np.zeros((len(boxes), 1, *self.hw), bool), np.zeros((len(boxes), 1)), None

    def generate(self, image, **params):
        self._run("generate", **params)
        return []
