"""The flatfile store: the layout of ``analytics/`` and the stream names, the one
appender, the one reader, rotation, Parquet segments, record limits and atomic
documents. It may import :mod:`ff_otel.spec` and :mod:`ff_otel.core` only: the
store knows files and records, not who writes them.
"""

from ff_otel.store.appender import append_records
from ff_otel.store.documents import read_json, write_bytes_atomic, write_json_atomic
from ff_otel.store.layout import StoreError, StoreLayout
from ff_otel.store.limits import RecordLimits
from ff_otel.store.reader import ReadStats, RecordStream, read_records

__all__ = [
    "ReadStats",
    "RecordLimits",
    "RecordStream",
    "StoreError",
    "StoreLayout",
    "append_records",
    "read_json",
    "read_records",
    "write_bytes_atomic",
    "write_json_atomic",
]
