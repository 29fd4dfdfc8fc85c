"""``ff-otel dashboard``: a live local web dashboard over a store.

Health by component, alerts with acknowledge / resolve / silence, request,
component and resource charts over 1 h to 7 d, slow operations with their
traces, recent errors, a BI summary and the compliance status. Everything the
page needs (HTML, CSS, JavaScript, the chart code) is served by the package. It
may import the public modules at the package root (:mod:`ff_otel.query`) and
every layer below them; only :mod:`ff_otel.cli` imports it.
"""

from ff_otel.dashboard.security import TOKEN_ENV, BindRefused
from ff_otel.dashboard.server import DashboardServer, create_server

__all__ = ["TOKEN_ENV", "BindRefused", "DashboardServer", "create_server"]
