"""The segmentation service: any registered model over HTTP (FastAPI + uvicorn), as labelling
tools (CVAT, Label Studio) use SAM: upload an image once, then one decoder pass per click.

``samkit serve --model NAME`` starts it; `create_app` (in `samkit.serve.app`) builds the app for
tests or another ASGI server. Nothing here is imported by ``import samkit``; FastAPI is imported
only by `samkit.serve.app`. It is the ``serve`` extra (``pip install 'samkit[serve]'``: FastAPI,
uvicorn, python-multipart); without it, importing this package is a `MissingExtraError`.
"""

from __future__ import annotations

from typing import Any

from samkit.errors import check_extra

__all__ = ["create_app", "run"]

# found here, not imported (FastAPI is imported by .app): `samkit serve` fails before loading a model
check_extra("fastapi", "serve", "The segmentation service (samkit serve)")
check_extra("python_multipart", "serve", "The segmentation service (samkit serve)")
check_extra("uvicorn", "serve", "The segmentation service (samkit serve)")


def create_app(model: Any, cache_mib: float = 2048, max_upload_mib: float = 32, **kwargs: Any):
    """The FastAPI app serving ``model``; see `samkit.serve.app.create_app`."""
    from samkit.serve.app import create_app as _create_app

    return _create_app(model, cache_mib, max_upload_mib, **kwargs)


def run(model: Any, **kwargs: Any) -> None:
    """Serve ``model`` with uvicorn; see `samkit.serve.app.run`."""
    from samkit.serve.app import run as _run

    _run(model, **kwargs)
