"""The store's pseudonymizer and scrubber, built once per configuration or exporter.

The pseudonymizer's key is the store's own (:func:`~ff_otel.privacy.keys.load_hash_key`);
the scrubber that runs before every exporter follows the privacy settings.
"""

from __future__ import annotations

from ff_otel.privacy.keys import load_hash_key
from ff_otel.privacy.pseudonym import Pseudonymizer
from ff_otel.privacy.scrubber import Scrubber, ScrubbingOptions
from ff_otel.spec.privacy_config import FFAnalyticsPrivacyConfigDTO
from ff_otel.store.layout import StoreLayout


def privacy_tools(
    privacy: FFAnalyticsPrivacyConfigDTO,
    layout: StoreLayout,
    scrubbing: ScrubbingOptions | None = None,
) -> tuple[Pseudonymizer, Scrubber]:
    """The store's pseudonymizer and the scrubber that runs before every exporter."""
    pseudonymizer = Pseudonymizer(load_hash_key(layout.analytics_path))
    scrubber = Scrubber(
        pseudonymizer,
        exclude_sensitive_content=privacy.exclude_sensitive_content,
        pseudonymize_identifiers=privacy.hash_user_identifiers,
        ip_addresses=privacy.ip_address_handling,
        options=scrubbing,
    )
    return pseudonymizer, scrubber
