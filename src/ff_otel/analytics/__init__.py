"""User analytics: events, sessions, segments and engagement."""

from ff_otel.analytics.mapping import SPEC_EVENT_TYPES, USER_EVENT
from ff_otel.analytics.recorder import UserEventRecorder

__all__ = ["SPEC_EVENT_TYPES", "USER_EVENT", "UserEventRecorder"]
