"""The requests session behind the OTLP/HTTP exporters: the OTLP certificate variable wins.

Imported only when OTLP/HTTP is used (requests is not a cheap import).
"""

from __future__ import annotations

import os
from typing import Any

import requests

_CREDENTIAL_PROVIDER = "OTEL_PYTHON_EXPORTER_OTLP_HTTP_CREDENTIAL_PROVIDER"


class _OtlpCertificateSession(requests.Session):
    """A requests session that keeps the CA file the OTLP exporter gave it.

    The HTTP exporter puts ``OTEL_EXPORTER_OTLP_CERTIFICATE`` on its session,
    but requests lets ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` replace a
    session's CA file on every request (psf/requests#3829), so on hosts that
    set those (common in containers) the OTLP certificate was silently
    ignored. The OTLP-specific variable wins here; proxies and everything else
    still come from the environment.
    """

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if isinstance(self.verify, str) and verify is None:
            settings["verify"] = self.verify
        return settings


def http_session(signal: str) -> requests.Session | None:
    """The session for one signal's exporter (``traces``, ``metrics``, ``logs``), or None."""
    # A credential provider named by the SDK's variables brings its own
    # session; the exporter loads it when given none.
    if os.environ.get(_CREDENTIAL_PROVIDER) or os.environ.get(
        f"OTEL_PYTHON_EXPORTER_OTLP_HTTP_{signal.upper()}_CREDENTIAL_PROVIDER"
    ):
        return None
    return _OtlpCertificateSession()
