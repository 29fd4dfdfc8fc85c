"""``ff-otel``: the operator's command line over a store.

Every command takes ``--base-path`` (default ``./ff_data`` or
``FF_OTEL_BASE_PATH``) and, where it prints data, ``--json``. See
:mod:`ff_otel.cli._common` for the exit codes. The top layer: it may import
anything in ff-otel, and nothing imports it.
"""

from __future__ import annotations

import click

from ff_otel import __version__
from ff_otel.cli._common import CommandGroup
from ff_otel.cli.alerts import alerts
from ff_otel.cli.bi import bi, report
from ff_otel.cli.compliance import audit, erase_user, retention
from ff_otel.cli.dashboard import dashboard
from ff_otel.cli.data import export, query
from ff_otel.cli.init import init
from ff_otel.cli.monitor import monitor
from ff_otel.cli.replay import replay
from ff_otel.cli.sql import compact, sql
from ff_otel.cli.status import status


@click.group(
    cls=CommandGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="ff-otel")
def main() -> None:
    """Inspect and operate an ff-otel store: health, alerts, BI, compliance, replay."""


main.add_command(init)
main.add_command(status)
main.add_command(alerts)
main.add_command(monitor)
main.add_command(bi)
main.add_command(report)
main.add_command(query)
main.add_command(export)
main.add_command(audit)
main.add_command(retention)
main.add_command(erase_user)
main.add_command(replay)
main.add_command(sql)
main.add_command(compact)
main.add_command(dashboard)
