"""samkit's exception types: each names the problem and, where there is one, the fix."""

from __future__ import annotations

from types import ModuleType


class SamkitError(Exception):
    """Base class of samkit's own errors."""


class ImageError(SamkitError, ValueError):
    """An image samkit cannot use as given (shape, dtype, size)."""


class PromptError(SamkitError, ValueError):
    """A prompt that is malformed or does not fit the image (points, labels, boxes, mask input)."""


class ParameterError(SamkitError, ValueError, TypeError):
    """A parameter of the wrong type or outside its range; the message names the parameter, the
    value given and what is allowed. A ``ValueError`` and a ``TypeError`` both, so either except
    clause catches it; the service answers it with HTTP 422."""


class VideoError(SamkitError, ValueError):
    """A video samkit cannot read as given: missing or corrupt file, no frames, frames of different
    sizes, wrong array shape or dtype."""


class DatasetError(SamkitError, ValueError):
    """A dataset record samkit refuses to read: a path taken from an annotation file, a list file or
    a folder listing that leads outside the dataset's root (``..``, an absolute path, a symlink).
    The message names the record, the path and the root."""


class NotReadyError(SamkitError, RuntimeError):
    """A call made out of order, e.g. `predict` before `set_image`."""


class CheckpointError(SamkitError, RuntimeError):
    """A checkpoint that is missing, unreadable, unsafe or for another model."""


class ChecksumError(CheckpointError):
    """A checkpoint whose SHA-256 differs from the registry's published value."""


class DownloadError(CheckpointError):
    """A checkpoint that could not be downloaded (offline, refused, interrupted)."""


class UnsupportedError(SamkitError, NotImplementedError):
    """A prompt, feature or protocol that the model does not support; the message names those that do."""


class MissingExtraError(SamkitError, ImportError):
    """An optional dependency that is not installed; the message names the samkit extra that
    installs it (``pip install 'samkit[hf]'``). ``module`` and ``extra`` are attributes too."""

    def __init__(self, message: str, *, module: str | None = None, extra: str | None = None) -> None:
        super().__init__(message, name=module)  # the defaults let it unpickle (args is only the message)
        self.module, self.extra = module, extra


def check_extra(module: str, extra: str, what: str) -> None:
    """`MissingExtraError` unless ``module`` can be found, without importing it (a cheap early check)."""
    import importlib.util

    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module without a spec
        found = False
    if not found:
        raise MissingExtraError(
            f"{what} needs {module}, which is not installed: pip install 'samkit[{extra}]'", module=module, extra=extra
        )


def require_extra(module: str, extra: str, what: str) -> ModuleType:
    """``import module``, or `MissingExtraError` saying ``pip install 'samkit[<extra>]'``.

    ``what`` names what needs it ("Reading video files"). A module of ``module``'s own package that
    is missing counts as ``module`` missing; a missing dependency of it is named in the message.
    Any other import failure propagates unchanged.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        missing = err.name or module
        if missing.partition(".")[0] == module.partition(".")[0]:
            message = f"{what} needs {module}, which is not installed: pip install 'samkit[{extra}]'"
        else:
            message = (
                f"{what} needs {module}, whose dependency {missing} is not installed: pip install 'samkit[{extra}]'"
            )
        raise MissingExtraError(message, module=module, extra=extra) from err


class UnknownNameError(KeyError):
    """A name that is not registered (a model, detector or protocol); the message suggests the closest."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def did_you_mean(name: object, known: list[str]) -> str:
    """``" Did you mean 'a', 'b'?"`` for the up to 3 known names closest to ``name``, else ``""``."""
    import difflib

    close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


class UnknownProtocolError(SamkitError, UnknownNameError):
    """A protocol name that is not registered; the message suggests the closest names."""


class ImageConversionWarning(UserWarning):
    """An image was converted (grayscale or RGBA to RGB); the message says how."""


FAILURE_STATUSES = ("missing_checkpoint", "bad_checkpoint", "oom", "unsupported", "error")
"""The ``status`` values of failure rows, as `failure_status` gives them."""


def failure_status(err: BaseException) -> str:
    """The row status of a failure, the same in every protocol, benchmark and job.

    ``missing_checkpoint`` (a checkpoint that is absent or could not be downloaded),
    ``bad_checkpoint`` (corrupt, unsafe, mismatched or for another model), ``oom`` (out of memory,
    CUDA or host), ``unsupported`` (`UnsupportedError` or any ``NotImplementedError``), else ``error``.
    """
    text = str(err).lower()
    if isinstance(err, CheckpointError):
        missing = not isinstance(err, ChecksumError) and (
            isinstance(err, DownloadError)
            or any(phrase in text for phrase in ("download", "no checkpoint", "does not exist"))
        )
        return "missing_checkpoint" if missing else "bad_checkpoint"
    if isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError" or "out of memory" in text:
        return "oom"
    if isinstance(err, NotImplementedError):
        return "unsupported"
    return "error"
