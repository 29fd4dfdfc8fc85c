"""Compliance records name data subjects by subject references, never by pseudonyms.

The audit trail and the security events must outlive an erasure (GDPR Art.
17(3)(b) and (e): a legal obligation, and the defence of legal claims), and
the audit trail is hash-chained, so erasure cannot rewrite them. So nothing in
them is erasable: wherever the scrubber would write a user's pseudonym
(``u_...``), a compliance record gets ``subject:<32 hex>``, a keyed hash of the
pseudonym under its own label (:meth:`Pseudonymizer.subject`). After
``erase_user`` no other record holds the pseudonym, so the reference joins
the trail to nothing; only someone holding both the store's key and the raw
user id can recompute it, as with consent and erasure references.

The same goes for who acted and on what: :meth:`SubjectScrubber.actor` keeps
roles and system actors (``system``, ``admin``, ``ff-otel``, ``system:<os
user>``, ``role:...``, ``service:...``) and replaces any other actor by its
subject reference; :meth:`SubjectScrubber.resource` replaces the id of a
user-like resource (``user:alice``, ``customers/42``) and scrubs the rest as
free text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ff_otel.privacy.pseudonym import PSEUDONYM, Pseudonymizer
from ff_otel.privacy.scrubber import Scrubber

ROLE_ACTORS = frozenset(
    {
        "system",
        "admin",
        "administrator",
        "root",
        "operator",
        "auditor",
        "support",
        "service",
        "scheduler",
        "cron",
        "ff-otel",
        "ff_otel",
        "data_subject",
        "anonymous",
        "unknown",
    }
)
"""Actors that name a role or ff-otel itself, not a person: kept as they are."""
_ROLE_PREFIXES = ("system:", "service:", "role:")
_SUBJECT_RESOURCE = re.compile(
    r"((?:end)?users?|customers?|accounts?|members?|persons?|people|subjects?)([:/])(.+)",
    re.IGNORECASE,
)
_USER_PSEUDONYM = re.compile(rf"(?<![\w]){PSEUDONYM.pattern.replace('[us]', 'u')}(?![\w])")


class SubjectScrubber(Scrubber):
    """A :class:`Scrubber` whose user identifiers become subject references."""

    @staticmethod
    def _naming(pseudonymizer: Pseudonymizer) -> Callable[[str], str]:
        return pseudonymizer.subject

    def actor(self, actor: str) -> str:
        """Who acted, for an audit record: a role as it is, a person by subject reference."""
        if not self._pseudonymize or _is_role(actor):
            return self.free_text(actor)
        return self._user(actor)

    def resource(self, resource: str) -> str:
        """What was acted on: a user-like resource's id by subject reference, the rest scrubbed."""
        found = _SUBJECT_RESOURCE.fullmatch(resource)
        if found is not None and self._pseudonymize:
            kind, separator, identifier = found.groups()
            return f"{kind}{separator}{self._user(identifier)}"
        return self.free_text(resource)

    def _patterns(self, text: str) -> str:
        text = super()._patterns(text)
        if "u_" in text and self._pseudonymizer is not None:
            # A pseudonym the caller passed on: its reference, so erasure leaves nothing here.
            subject = self._pseudonymizer.subject
            text = _USER_PSEUDONYM.sub(lambda match: subject(match.group()), text)
        return text


def _is_role(actor: str) -> bool:
    lowered = actor.lower()
    return lowered in ROLE_ACTORS or lowered.startswith(_ROLE_PREFIXES)
