"""What ``configure()`` runs with: :class:`~ff_otel.FFOtelSettings`
(:mod:`~ff_otel.settings.model`) resolved from code, the environment and the
``FF_OTEL_CONFIG`` file (:mod:`~ff_otel.settings.resolution`), and the running configuration's store and
settings (:mod:`~ff_otel.settings.running`), which ``configure()`` fills and
``shutdown()`` empties, so that the query engine, the exporters and the
compliance calls read them without reaching up to the SDK. It may import
:mod:`ff_otel.store`, :mod:`ff_otel.spec`, :mod:`ff_otel.core` and
:mod:`ff_otel.environment_variables`.
"""
