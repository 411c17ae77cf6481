"""The registries: one generic `Registry` (`samkit.registry.core`) for models, detectors, taggers and
protocols, the shared `Checkpoint` record, and the model table (`samkit.registry.models`): one
`ModelSpec` per public model name. Importing it imports nothing heavy, so `samkit.list_models()` is
instant."""

from samkit.registry.core import Checkpoint, Published, Registry, published
from samkit.registry.models import CAPABILITIES, FAMILIES, REGISTRY, ModelSpec, UnknownModelError, get_spec, list_models

__all__ = [
    "Checkpoint",
    "Published",
    "Registry",
    "published",
    "CAPABILITIES",
    "FAMILIES",
    "REGISTRY",
    "ModelSpec",
    "UnknownModelError",
    "get_spec",
    "list_models",
]
