"""Import ``ultralytics`` offline: no DNS look-ups, no pip installs, a private settings folder.

ultralytics (8.4.190) decides at import time whether it is online (``ultralytics.utils.ONLINE``:
DNS look-ups of one.one.one.one and dns.google unless ``YOLO_OFFLINE`` is set), reads and writes
its settings file in ``YOLO_CONFIG_DIR`` (default ``~/.config/Ultralytics``), sends usage events
when ``settings["sync"]`` and ``ONLINE``, and ``check_requirements`` pip-installs missing modules
unless ``YOLO_AUTOINSTALL`` is false. `import_ultralytics` sets, before the first import:

- ``YOLO_OFFLINE=1``: ``is_online()`` returns False without a look-up, so ``ONLINE`` is False
  (no PyPI version check, no events, ``check_requirements`` never installs: "AutoUpdate skipped
  (offline)"); downloads of missing assets fail instead of reaching the network.
- ``YOLO_AUTOINSTALL=false``: ``check_requirements`` and ``check_apt_requirements`` never install.
- ``YOLO_CONFIG_DIR`` (unless the user set it): ``<user cache dir>/samkit/ultralytics``, so the
  user's own ultralytics settings are neither read nor changed.

If ultralytics was imported before samkit, the same switches are applied to its module constants
(``ONLINE``, ``AUTOINSTALL``, the events sender), which is what those env variables control.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from samkit.errors import check_extra, require_extra

__all__ = ["import_ultralytics", "config_dir", "OFFLINE_ENV", "quiet_ultralytics"]

#: environment variables set before ultralytics is imported (YOLO_CONFIG_DIR only if unset)
OFFLINE_ENV = {"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "false"}


def config_dir() -> Path:
    """samkit's private ultralytics settings folder: ``$YOLO_CONFIG_DIR`` if set, else the user cache dir."""
    env = os.environ.get("YOLO_CONFIG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("samkit")) / "ultralytics"


#: what needs ultralytics, for the `MissingExtraError` of the ``ultralytics`` extra
NEEDS_ULTRALYTICS = "samkit's ultralytics part (FastSAM, YOLO, YOLOE; ultralytics is AGPL-3.0)"


def import_ultralytics(what: str = NEEDS_ULTRALYTICS) -> ModuleType:
    """The ``ultralytics`` package, imported (or patched, if already imported) to stay offline.

    Not installed: `MissingExtraError` naming ``pip install 'samkit[ultralytics]'`` and ``what``.
    """
    check_extra("ultralytics", "ultralytics", what)
    os.environ.update(OFFLINE_ENV)
    if "YOLO_CONFIG_DIR" not in os.environ:
        folder = config_dir()
        folder.mkdir(parents=True, exist_ok=True)
        os.environ["YOLO_CONFIG_DIR"] = str(folder)
    already = "ultralytics" in sys.modules
    ultralytics = require_extra("ultralytics", "ultralytics", what)
    import ultralytics.utils as utils
    import ultralytics.utils.checks as checks

    if already or utils.ONLINE or checks.AUTOINSTALL:  # imported before the env was set
        utils.ONLINE = checks.ONLINE = False
        utils.AUTOINSTALL = checks.AUTOINSTALL = False
        events = sys.modules.get("ultralytics.utils.events")
        if events is not None:
            events.ONLINE = False
            events.events.enabled = False
    return ultralytics


@contextlib.contextmanager
def quiet_ultralytics() -> Iterator[None]:
    """Hide ultralytics' INFO log lines (e.g. "Overriding model.yaml nc=80 with nc=1"); warnings stay."""
    logger = logging.getLogger("ultralytics")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)
