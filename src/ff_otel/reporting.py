"""Reports on demand: ``ff_otel.generate_report("week")``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ff_otel import setup
from ff_otel.config import FFAnalyticsConfigDTO, FFBusinessInputsDTO
from ff_otel.pipeline import reports


def generate_report(
    period: str = "day",
    end: datetime | str | None = None,
    base_path: str | Path | None = None,
    analytics: FFAnalyticsConfigDTO | None = None,
    business: FFBusinessInputsDTO | None = None,
) -> list[Path]:
    """Write the report of the calendar ``period`` (day, week, month) containing ``end``.

    Defaults: the period now under way, the configured store and its analytics
    settings and business inputs. Returns the files written, one per
    ``report_output_formats`` entry.
    """
    start, stop = reports.report_window(period, end)
    handle = setup.current()
    layout = setup.store_layout(base_path)
    config = analytics or (handle.settings.analytics if handle else FFAnalyticsConfigDTO())
    if business is None and handle is not None:
        business = handle.settings.business
    report = reports.build_report(layout, config, period, start, stop, business)
    return reports.write_report(layout, report, config.report_output_formats)
