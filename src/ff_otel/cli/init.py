"""``ff-otel init``: create a store's hierarchy and metadata."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from ff_otel.cli._common import (
    base_path_option,
    console,
    examples,
    json_option,
    load_settings,
    print_json,
)
from ff_otel.store.documents import read_json
from ff_otel.store.layout import StoreLayout


@click.command(
    epilog=examples(
        "ff-otel init",
        "ff-otel init --base-path /var/lib/chat/ff_data --json",
        "FF_OTEL_ANALYTICS_LEVEL=full ff-otel init   # the level recorded in the metadata",
    )
)
@base_path_option
@json_option
def init(base_path: Path, as_json: bool) -> None:
    """Create the store under BASE_PATH/analytics/ (folders, empty streams, metadata).

    The configuration recorded in analytics_metadata.json comes from the
    environment (FF_OTEL_*, FF_OTEL_CONFIG), as configure() resolves it. An
    existing store is left as it is (a running service keeps what it recorded)
    and its metadata is shown.
    """
    layout = StoreLayout(base_path)
    existed = layout.metadata_path.exists()
    if existed:
        metadata = read_json(layout.metadata_path)
    else:
        metadata = layout.initialize(load_settings(base_path).analytics)
    if as_json:
        print_json(
            {
                "analytics_path": str(layout.analytics_path),
                "created": not existed,
                "metadata": metadata,
            }
        )
        return
    verb = "A store already exists (left as it is)" if existed else "Created the store"
    console.print(f"{verb}: [bold]{layout.analytics_path}[/bold]")
    collection = metadata["collection_config"]
    privacy = metadata["privacy_config"]
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_row("store id", metadata["analytics_system_id"])
    table.add_row("initialized at", metadata["initialized_at"])
    table.add_row("analytics level", str(metadata["analytics_level"]))
    table.add_row("collection interval", f"{collection['interval_seconds']} s")
    table.add_row("aggregation periods", ", ".join(collection["aggregation_periods"]))
    retention = (
        f"raw {privacy.get('raw_data_retention_days')} d, "
        f"aggregated {privacy.get('aggregated_data_retention_days')} d, "
        f"compliance {privacy.get('compliance_data_retention_days')} d"
    )
    table.add_row("retention", retention)
    console.print(table)
