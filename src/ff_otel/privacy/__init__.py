"""Privacy by construction: pseudonyms, scrubbing, consent and erasure."""

from ff_otel.privacy.pseudonym import Pseudonymizer
from ff_otel.privacy.scrubber import Scrubber, ScrubbingOptions, ScrubMatch

__all__ = ["Pseudonymizer", "ScrubMatch", "Scrubber", "ScrubbingOptions"]
