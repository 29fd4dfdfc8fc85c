"""The contract's data, and nothing that acts on it: the spec's DTOs and enums
(:mod:`~ff_otel.spec.config`, :mod:`~ff_otel.spec.privacy_config`,
:mod:`~ff_otel.spec.enums`, :mod:`~ff_otel.spec.models`; their base
:mod:`~ff_otel.spec.config_model`), its protocol
interfaces (:mod:`~ff_otel.spec.protocols`), the record shapes of the store's
files, and ff-otel's own configuration models beside the spec's (alert rules and
notification settings, with the spec's alerting config in
:mod:`~ff_otel.spec.alerting_config`). It may import only
:mod:`ff_otel.core`; every other layer may import it. The spec's facade over all
of this, ``FFMetricsCollectionManager``, needs the whole stack below it and so is
:mod:`ff_otel.manager`, at the top.
"""
