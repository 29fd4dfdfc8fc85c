"""Reports on demand: ``ff_otel.generate_report("week")``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ff_otel.pipeline import reports
from ff_otel.settings.running import active_settings, store_layout
from ff_otel.spec.config import FFAnalyticsConfigDTO, FFBusinessInputsDTO
from ff_otel.sql.engine import resolve_query_url


def generate_report(
    period: str = "day",
    end: datetime | str | None = None,
    base_path: str | Path | None = None,
    analytics: FFAnalyticsConfigDTO | None = None,
    business: FFBusinessInputsDTO | None = None,
    query_url: str | None = None,
) -> list[Path]:
    """Write the report of the calendar ``period`` (day, week, month) containing ``end``.

    Defaults: the period now under way, the configured store and its analytics
    settings and business inputs. Returns the files written, one per
    ``report_output_formats`` entry.

    ``query_url`` (else the configured one, else ``FF_OTEL_QUERY_URL``; ``"local"``
    for the store) makes the performance section and the users, features and
    insights the fleet's, from the ClickHouse the Collector writes to. Health and
    alerts are per host and stay the store's at ``base_path``, where the report
    is written: on a fleet, the store of ``ff-otel monitor --query-url``, which
    holds the fleet's alerts. The report's ``sources`` says which is which.
    """
    start, stop = reports.report_window(period, end)
    settings = active_settings()
    layout = store_layout(base_path)
    config = analytics or (settings.analytics if settings else FFAnalyticsConfigDTO())
    if business is None and settings is not None:
        business = settings.business
    url = resolve_query_url(query_url)
    report = reports.build_report(layout, config, period, start, stop, business, url)
    return reports.write_report(layout, report, config.report_output_formats)
