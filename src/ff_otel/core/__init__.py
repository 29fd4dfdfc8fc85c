"""The leaves every layer stands on: the one clock and the store's timestamp form
(:mod:`~ff_otel.core.clock`), and the garbage-collector pause of the bulk folds
(:mod:`~ff_otel.core.gc`). It imports nothing of ff-otel, so anything may import it.
"""
