"""Family adapters behind the `Segmenter` interface; each is imported only when its family is loaded."""

from samkit.models.base import Segmenter

__all__ = ["Segmenter"]
