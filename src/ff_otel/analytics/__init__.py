"""User analytics: events as store records, their recorder and writer, sessions,
segments and engagement. It may import :mod:`ff_otel.exporters` (the export guard
and resource mapping its writer shares), :mod:`ff_otel.privacy`,
:mod:`ff_otel.store`, :mod:`ff_otel.spec` and :mod:`ff_otel.core`.
"""

from ff_otel.analytics.mapping import SPEC_EVENT_TYPES
from ff_otel.analytics.recorder import UserEventRecorder

__all__ = ["SPEC_EVENT_TYPES", "UserEventRecorder"]
