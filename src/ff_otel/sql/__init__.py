"""The embedded SQL engine: DuckDB over the store's files, read-only.

- :mod:`ff_otel.sql.schema`: the logical views and their typed columns (one
  definition, rendered per dialect);
- :mod:`ff_otel.sql.dialect`: what a backend's SQL must offer to render them;
- :mod:`ff_otel.sql.views`: those views rendered as DuckDB SQL over the
  stream's Parquet segments and JSONL files;
- :mod:`ff_otel.sql.safety`: one read-only statement, checked with DuckDB's parser;
- :mod:`ff_otel.sql.engine`: the sandboxed connection, :func:`sql`, :func:`sql_arrow`.

``ff_otel.sql`` at the package top is the function :func:`sql`; import this
package's modules by their full name (``from ff_otel.sql.engine import ...``).
"""

from ff_otel.sql.engine import skipped_lines, sql, sql_arrow, tables
from ff_otel.sql.safety import QueryError

__all__ = ["QueryError", "skipped_lines", "sql", "sql_arrow", "tables"]
