"""Image taggers behind one interface: ``load_tagger(name).tag(image) -> Tags`` (what is in the
picture, as names and scores; ``tags.as_prompt()`` is a text prompt for the open-vocabulary
detectors, see `samkit.pipelines.TagThenSegment`).

``clip_vit_b32`` / ``clip_vit_l14``: zero-shot CLIP (transformers) over a vocabulary, by default
COCO's 80 and LVIS's 1203 category names (1213 tags once de-duplicated). Each loads its
official hub folder (in ``$SAMKIT_CHECKPOINTS``, fetched with ``samkit weights download NAME``)
or seeded random weights (``weights="random"``, ``config="tiny"`` for tests). Importing this
package imports nothing heavy.
"""

from samkit.taggers.base import Tagger, Tags, load_tagger
from samkit.taggers.registry import (
    TAGGERS,
    TaggerSpec,
    UnknownTaggerError,
    get_tagger_spec,
    list_taggers,
)
from samkit.taggers.vocabulary import build_vocabulary, coco_names, default_vocabulary, lvis_names

__all__ = [
    "Tagger",
    "Tags",
    "TaggerSpec",
    "TAGGERS",
    "UnknownTaggerError",
    "get_tagger_spec",
    "list_taggers",
    "load_tagger",
    "coco_names",
    "lvis_names",
    "default_vocabulary",
    "build_vocabulary",
]
