"""Privacy by construction: pseudonyms, scrubbing, consent, erasure and which
exporters may receive user events. It may import :mod:`ff_otel.compliance` (a
consent change is a compliance record), :mod:`ff_otel.sql` (erasure rewrites
Parquet segments), :mod:`ff_otel.settings`, :mod:`ff_otel.store`,
:mod:`ff_otel.spec`, :mod:`ff_otel.core` and :mod:`ff_otel.environment_variables`.
"""

from ff_otel.privacy.pseudonym import Pseudonymizer
from ff_otel.privacy.scrubber import Scrubber, ScrubbingOptions, ScrubMatch

__all__ = ["Pseudonymizer", "ScrubMatch", "Scrubber", "ScrubbingOptions"]
