"""The contract's data, and nothing that acts on it: the spec's DTOs and enums
(:mod:`~ff_otel.spec.config`, :mod:`~ff_otel.spec.models`), its protocol
interfaces (:mod:`~ff_otel.spec.protocols`), the record shapes of the store's
files, and ff-otel's own configuration models beside the spec's (alert rules and
notification settings, :mod:`~ff_otel.spec.alerting_config`). It may import only
:mod:`ff_otel.core`; every other layer may import it. The spec's facade over all
of this, ``FFMetricsCollectionManager``, needs the whole stack below it and so is
:mod:`ff_otel.manager`, at the top.
"""
