"""samkit's exception types: each names the problem and, where there is one, the fix."""

from __future__ import annotations


class SamkitError(Exception):
    """Base class of samkit's own errors."""


class ImageError(SamkitError, ValueError):
    """An image samkit cannot use as given (shape, dtype, size)."""


class PromptError(SamkitError, ValueError):
    """A prompt that is malformed or does not fit the image (points, labels, boxes, mask input)."""


class NotReadyError(SamkitError, RuntimeError):
    """A call made out of order, e.g. `predict` before `set_image`."""


class CheckpointError(SamkitError, RuntimeError):
    """A checkpoint that is missing, unreadable, unsafe or for another model."""


class ChecksumError(CheckpointError):
    """A checkpoint whose SHA-256 differs from the registry's published value."""


class DownloadError(CheckpointError):
    """A checkpoint that could not be downloaded (offline, refused, interrupted)."""


class ImageConversionWarning(UserWarning):
    """An image was converted (grayscale or RGBA to RGB); the message says how."""
