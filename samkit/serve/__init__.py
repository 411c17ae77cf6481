"""The segmentation service: any registered model over HTTP (FastAPI + uvicorn), as labelling
tools (CVAT, Label Studio) use SAM: upload an image once, then one decoder pass per click.

``samkit serve --model NAME`` starts it; `create_app` (in `samkit.serve.app`) builds the app for
tests or another ASGI server. Nothing here is imported by ``import samkit``; FastAPI is imported
only by `samkit.serve.app`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "run"]


def create_app(model: Any, cache_mib: float = 2048, max_upload_mib: float = 32, **kwargs: Any):
    """The FastAPI app serving ``model``; see `samkit.serve.app.create_app`."""
    from samkit.serve.app import create_app as _create_app

    return _create_app(model, cache_mib, max_upload_mib, **kwargs)


def run(model: Any, **kwargs: Any) -> None:
    """Serve ``model`` with uvicorn; see `samkit.serve.app.run`."""
    from samkit.serve.app import run as _run

    _run(model, **kwargs)
