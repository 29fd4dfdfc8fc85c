"""Compliance: the tamper-evident audit trail, its spool for a full disk,
security events, retention, export and the regulatory report. It may import
:mod:`ff_otel.sql` (compaction, inventory), :mod:`ff_otel.settings`,
:mod:`ff_otel.store`, :mod:`ff_otel.spec`, :mod:`ff_otel.core` and
:mod:`ff_otel.environment_variables`; the public calls over the running
configuration (``ff_otel.audit``, ``record_security_event``...) are
:mod:`ff_otel.sdk.compliance`.
"""
