"""The running configuration's store and settings, for the layers below ``configure()``.

``configure()`` hands its store and settings over with :func:`activate` (and
``shutdown()`` takes them back), so that what runs below it (the query
engine, the ClickHouse client, the exporters' replay) reads the running
configuration from here instead of reaching up to the module that
configures everything.
"""

from __future__ import annotations

from pathlib import Path

from ff_otel.settings.model import FFOtelSettings
from ff_otel.store.layout import StoreError, StoreLayout

_active: tuple[StoreLayout, FFOtelSettings] | None = None


def activate(layout: StoreLayout, settings: FFOtelSettings) -> None:
    """``layout`` and ``settings`` are the running configuration's from now on."""
    global _active
    _active = (layout, settings)


def deactivate() -> None:
    """Nothing is configured any more (``shutdown()``)."""
    global _active
    _active = None


def active_settings() -> FFOtelSettings | None:
    """The running configuration's settings; None when nothing is configured."""
    active = _active
    return active[1] if active is not None else None


def store_layout(base_path: str | Path | None = None) -> StoreLayout:
    """The store at ``base_path``, or the configured one; clear errors when there is none."""
    if base_path is not None:
        layout = StoreLayout(base_path)
    elif _active is not None:
        layout = _active[0]
    else:
        raise RuntimeError("ff-otel is not configured: call configure() or pass base_path")
    if not layout.analytics_path.is_dir():
        raise StoreError(f"no ff-otel store at {layout.base_path}")
    return layout
