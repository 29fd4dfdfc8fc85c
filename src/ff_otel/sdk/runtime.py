"""The process's current ff-otel state, read on the hot path of every decorated call.

``tracer`` is ``None`` until ``configure()`` succeeds and again after
``shutdown()``; decorators then call straight through.
"""

from __future__ import annotations

from opentelemetry.trace import Tracer

tracer: Tracer | None = None
