"""Environment variables ff-otel reads, as constants (the OTel SDK's convention).

Any field of :class:`~ff_otel.FFAnalyticsConfigDTO` is also read from
``FF_OTEL_<FIELD>`` (e.g. ``FF_OTEL_COLLECTION_INTERVAL_SECONDS``), of its
privacy config from ``FF_OTEL_PRIVACY_<FIELD>`` and of its alerting config from
``FF_OTEL_ALERTING_<FIELD>``. Lists are comma-separated.
"""

FF_OTEL_BASE_PATH = "FF_OTEL_BASE_PATH"
"""Store root; ``analytics/`` is created under it."""

FF_OTEL_SERVICE_NAME = "FF_OTEL_SERVICE_NAME"
"""Service name; the standard ``OTEL_SERVICE_NAME`` is read when this is unset."""

FF_OTEL_OTLP_ENDPOINT = "FF_OTEL_OTLP_ENDPOINT"
"""OTLP collector endpoint; the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` is read when unset."""

FF_OTEL_SYSTEM_METRICS = "FF_OTEL_SYSTEM_METRICS"
"""``true``/``false``: collect psutil system metrics."""

FF_OTEL_LOGGING = "FF_OTEL_LOGGING"
"""``true``/``false``: send standard ``logging`` records to the store (default false).

When unset, the standard ``OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED=true`` also
switches it on."""

FF_OTEL_LOGGING_LEVEL = "FF_OTEL_LOGGING_LEVEL"
"""Lowest level of ``logging`` records sent to the store (default ``INFO``)."""

FF_OTEL_SESSION_IDLE_TIMEOUT_MINUTES = "FF_OTEL_SESSION_IDLE_TIMEOUT_MINUTES"
"""Minutes without an event after which a user session counts as ended (default 30)."""

FF_OTEL_SQL_MEMORY_LIMIT_MB = "FF_OTEL_SQL_MEMORY_LIMIT_MB"
"""Memory limit of the embedded SQL engine in MiB (default 256); larger work spills to disk."""

FF_OTEL_SQL_THREADS = "FF_OTEL_SQL_THREADS"
"""Threads the embedded SQL engine may use (default 2)."""

FF_OTEL_QUERY_URL = "FF_OTEL_QUERY_URL"
"""Query backend of ``ff_otel.sql``, BI and the fleet monitor: unset or ``local`` for the
local store, ``chdb:///path?database=otel``, ``clickhouse://`` or ``clickhouses://``."""

FF_OTEL_QUERY_TIMEOUT_SECONDS = "FF_OTEL_QUERY_TIMEOUT_SECONDS"
"""Longest a remote query backend may take to connect or answer, in seconds (default 10)."""

FF_OTEL_HASH_KEY = "FF_OTEL_HASH_KEY"
"""Key for user and session pseudonyms (hex or text); else the store keeps one in .hash_key."""

FF_OTEL_AUDIT_KEY = "FF_OTEL_AUDIT_KEY"
"""Secret for sealing audit records (HMAC); keep it outside the store."""

FF_OTEL_AUDIT_ANCHOR_TO_OTLP = "FF_OTEL_AUDIT_ANCHOR_TO_OTLP"
"""``true``: each audit append also sends the chain's head to the OTLP collector as a log record."""

FF_OTEL_CONFIG = "FF_OTEL_CONFIG"
"""Path of a TOML file with the same settings (lowest precedence)."""

FF_OTEL_DISABLED = "FF_OTEL_DISABLED"
"""``true`` makes ``configure()`` install nothing; decorators stay no-ops."""

FF_OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT = "FF_OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"
"""Longest string value stored, in characters (default 32768); else
``OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT``."""

FF_OTEL_ATTRIBUTE_COUNT_LIMIT = "FF_OTEL_ATTRIBUTE_COUNT_LIMIT"
"""Most attributes (or keys of one mapping) stored per record (default 128); else
``OTEL_ATTRIBUTE_COUNT_LIMIT``."""

FF_OTEL_NESTING_DEPTH_LIMIT = "FF_OTEL_NESTING_DEPTH_LIMIT"
"""Deepest nesting stored of a log body or user event data (default 16)."""

FF_OTEL_METRIC_CARDINALITY_LIMIT = "FF_OTEL_METRIC_CARDINALITY_LIMIT"
"""Distinct attribute sets per metric instrument (default 2000); later ones join the
``otel.metric.overflow=true`` series."""

OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"
"""The SDK's value length limit; read when ``FF_OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`` is unset."""
OTEL_ATTRIBUTE_COUNT_LIMIT = "OTEL_ATTRIBUTE_COUNT_LIMIT"
"""The SDK's attribute count limit; read when ``FF_OTEL_ATTRIBUTE_COUNT_LIMIT`` is unset."""
OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
"""The standard service name; read when ``FF_OTEL_SERVICE_NAME`` is unset."""
OTEL_RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"
"""Standard resource attributes (``key=value,...``) of every signal; the store's records keep
``service.name``, OTLP and the exporters beside the store get them all."""
OTEL_EXPORTER_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
"""The standard collector endpoint; read when ``FF_OTEL_OTLP_ENDPOINT`` is unset."""
OTEL_EXPORTER_OTLP_PROTOCOL = "OTEL_EXPORTER_OTLP_PROTOCOL"
"""``grpc`` (the default) or ``http/protobuf``: how OTLP and ``ff-otel replay`` send."""
OTEL_SDK_DISABLED = "OTEL_SDK_DISABLED"
"""The standard off switch: ``true`` has the effect of ``FF_OTEL_DISABLED=true``."""
OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED = (
    "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED"
)
"""The SDK's switch for its logging handler; ``true`` turns on ff-otel's logging bridge."""
