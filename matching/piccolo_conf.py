"""Piccolo's configuration module.

Piccolo looks its engine up here (``DB``). The engine is not built from the
environment at import time: :func:`matching.db.bind` sets ``DB`` from the
settings read at start-up.
"""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine

DB: Engine | None = None

APP_REGISTRY = AppRegistry(apps=["matching.piccolo_app"])
