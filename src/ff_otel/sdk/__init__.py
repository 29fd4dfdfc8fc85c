"""The running configuration and its entry points: ``configure()`` /
``shutdown()`` / ``current()`` (:mod:`~ff_otel.sdk.setup`), the handle it
returns (:mod:`~ff_otel.sdk.handle`), the assembly of providers, exporters,
OTLP and pipeline (:mod:`~ff_otel.sdk.assembly`), the switchable OTel globals
(:mod:`~ff_otel.sdk.global_providers`), the decorators and meters
(:mod:`~ff_otel.sdk.tracing`, :mod:`~ff_otel.sdk.meters`), the OpenTelemetry
distro and configurator and the ``ff-otel-instrument`` launcher
(:mod:`~ff_otel.sdk.distro`, :mod:`~ff_otel.sdk.launcher`), and the public calls
that act on the running handle (:mod:`~ff_otel.sdk.compliance`,
:mod:`~ff_otel.sdk.alerts`). It may import every layer below it (pipeline down to
core); nothing below imports it: a lower layer that reports upward is handed a
callback or an object when :mod:`~ff_otel.sdk.assembly` builds it.
"""
