"""What a store exporter built from a path alone needs: the store, the default scrubber, limits.

``FlatfileSpanExporter("./ff_data")`` (and the log and metric exporters) is the
way to plug the store into providers the application builds itself. The store
is created when it does not exist (an existing one is left as it is), and the
scrubber is the one ``configure()`` would build from the environment and the
``FF_OTEL_CONFIG`` file, with the store's own pseudonym key.
"""

from __future__ import annotations

import os
from pathlib import Path

from ff_otel.privacy.scrubber import Scrubber
from ff_otel.privacy.tools import privacy_tools
from ff_otel.settings.resolution import resolve_settings
from ff_otel.store.layout import SPEC_STREAMS, StoreLayout
from ff_otel.store.limits import RecordLimits

StoreTarget = StoreLayout | str | os.PathLike[str]
"""A store exporter's first argument: a base path, or the assembly's layout."""


def exporter_store(
    target: StoreTarget, scrubber: Scrubber | None, limits: RecordLimits | None
) -> tuple[StoreLayout, Scrubber, RecordLimits]:
    """The layout, scrubber and limits of an exporter for ``target``.

    Raises ``TypeError`` for a target that is neither, and
    :class:`~ff_otel.StoreError` when a store cannot be created at the path.
    """
    if isinstance(target, StoreLayout):
        if scrubber is None:
            raise TypeError("an exporter built on a StoreLayout needs its Scrubber; pass a path")
        return target, scrubber, limits or resolve_settings({}).limits
    if not isinstance(target, (str, os.PathLike)):
        raise TypeError(f"base_path must be a path, got {type(target).__name__}")
    layout = StoreLayout(Path(target))
    settings = resolve_settings({"base_path": layout.base_path})
    if layout.metadata_path.exists():
        for folder in SPEC_STREAMS:
            (layout.analytics_path / folder).mkdir(parents=True, exist_ok=True)
    else:
        layout.initialize(settings.analytics)
    if scrubber is None:
        scrubber = privacy_tools(settings.analytics.privacy_config, layout)[1]
    return layout, scrubber, limits or settings.limits
