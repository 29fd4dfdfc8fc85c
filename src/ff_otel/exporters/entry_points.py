"""The ``ff_flatfile`` exporters that ``OTEL_TRACES_EXPORTER`` and friends can name.

A service that keeps another distro, or the SDK's own configurator, can still
write the ff-otel store: ``OTEL_TRACES_EXPORTER=ff_flatfile`` (and the same for
``OTEL_METRICS_EXPORTER`` and ``OTEL_LOGS_EXPORTER``) makes the SDK build these
with no arguments. Each resolves the settings as ``configure()`` would (the
``FF_OTEL_*`` variables and the ``FF_OTEL_CONFIG`` file), creates the store
and builds the scrubber, then is the ordinary flatfile exporter.

Only the exporters run that way: no pipeline (interval snapshots,
alerts) and no system metrics. Those come with ``configure()``, which the
``ff_otel`` configurator calls.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ff_otel.exporters.logs import FlatfileLogExporter
from ff_otel.exporters.metrics import FlatfileMetricExporter
from ff_otel.exporters.spans import FlatfileSpanExporter
from ff_otel.privacy.scrubber import Scrubber
from ff_otel.privacy.tools import privacy_tools
from ff_otel.settings.resolution import resolve_settings
from ff_otel.store.layout import StoreLayout

FLATFILE_EXPORTER = "ff_flatfile"
"""The entry-point name of these exporters in all three signal groups."""

_stores: dict[tuple[Path, str], tuple[StoreLayout, Scrubber]] = {}
_lock = threading.Lock()


class FlatfileSpanExporterFromEnv(FlatfileSpanExporter):
    """``OTEL_TRACES_EXPORTER=ff_flatfile``: spans to the store the environment names."""

    def __init__(self) -> None:
        super().__init__(*store_from_environment())


class FlatfileMetricExporterFromEnv(FlatfileMetricExporter):
    """``OTEL_METRICS_EXPORTER=ff_flatfile``: metric points to the store the environment names."""

    def __init__(self) -> None:
        super().__init__(*store_from_environment())


class FlatfileLogExporterFromEnv(FlatfileLogExporter):
    """``OTEL_LOGS_EXPORTER=ff_flatfile``: log records to the store the environment names."""

    def __init__(self) -> None:
        super().__init__(*store_from_environment())


def store_from_environment() -> tuple[StoreLayout, Scrubber]:
    """The store and scrubber the environment configures, created on first use.

    The three exporters of one process share them (one pseudonymisation key
    read, one scrubber's caches). Raises :class:`~ff_otel.ConfigError` for an
    invalid setting and :class:`~ff_otel.StoreError` for a store that cannot
    be created or written, naming what was wrong.
    """
    settings = resolve_settings({})
    key = (settings.base_path.resolve(), settings.analytics.privacy_config.model_dump_json())
    with _lock:
        found = _stores.get(key)
        if found is not None:
            return found
        layout = StoreLayout(settings.base_path)
        # OTEL_SDK_DISABLED is the SDK's to honour here (its providers then
        # hand nothing to exporters); FF_OTEL_DISABLED is configure()'s switch.
        layout.initialize(settings.analytics)
        layout.check_writable()
        _, scrubber = privacy_tools(settings.analytics.privacy_config, layout)
        _stores[key] = (layout, scrubber)
        return layout, scrubber
