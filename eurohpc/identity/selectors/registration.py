"""Reads of self-registration: the programme office's queue of membership requests, what the register holds that
looks like a proposed organisation, and a user's latest request."""

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from django.db.models import QuerySet

from eurohpc.models import MembershipRequest, Organisation, User

# Words that say what kind of body an organisation is, not which one: left out when names are compared.
_LEGAL_FORMS = {
    "ab", "ag", "as", "asbl", "bv", "co", "eg", "ev", "gmbh", "inc", "jsc", "ltd", "nv", "oy", "plc", "sa", "sas",
    "sl", "spa", "srl", "the", "of", "and", "de", "di", "du", "la", "le", "der", "des", "del",
}  # fmt: skip
SIMILAR_RATIO = 0.85


def membership_requests_pending() -> QuerySet[MembershipRequest]:
    """The programme office's queue: pending requests, oldest first, each with its user and organisation."""
    return (
        MembershipRequest.objects.filter(status=MembershipRequest.Status.PENDING)
        .select_related("user", "organisation")
        .order_by("created_at", "pk")
    )


def membership_request_detail(*, pk: int) -> MembershipRequest | None:
    return (
        MembershipRequest.objects.select_related("user__organisation", "organisation", "decided_by")
        .filter(pk=pk)
        .first()
    )


def membership_requests_waiting() -> dict[str, int]:
    """How many requests wait, and how many of them can be decided now (the address is verified)."""
    pending = MembershipRequest.objects.filter(status=MembershipRequest.Status.PENDING)
    return {"pending": pending.count(), "verified": pending.filter(user__email_verified_at__isnull=False).count()}


def latest_membership_request(*, user: User) -> MembershipRequest | None:
    if not user.is_authenticated:
        return None
    return (
        MembershipRequest.objects.filter(user=user)
        .select_related("organisation")
        .order_by("-created_at", "-pk")
        .first()
    )


def organisation_register() -> QuerySet[Organisation]:
    """The register as a list to choose from: by short name."""
    return Organisation.objects.only("pk", "short_name", "legal_name", "country").order_by("short_name")


def _words(name: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().replace(".", "")
    return [w for w in re.split(r"[^a-z0-9]+", plain) if w and w not in _LEGAL_FORMS]


@dataclass
class _Name:
    organisation: Organisation
    short: str
    legal: str
    words: set[str] = field(default_factory=set)


def _similar(short: str, legal_words: list[str], known: _Name) -> bool:
    """Same short name; a short name that is a word of the other's legal name; legal names alike."""
    legal = " ".join(legal_words)
    if short and (short == known.short or short in known.words):
        return True
    if known.short and known.short in legal_words:
        return True
    return bool(legal and known.legal and SequenceMatcher(None, legal, known.legal).ratio() >= SIMILAR_RATIO)


def register_matches(requests: list[MembershipRequest]) -> dict[int, list[Organisation]]:
    """For each proposed organisation among `requests`: the register's organisations with the same PIC or a similar
    name (same short name, one's short name a word of the other's legal name, or legal names alike once legal forms
    are left out). One query for the whole list, whatever its length."""
    proposed = [r for r in requests if r.organisation_id is None]
    if not proposed:
        return {}
    register = [
        _Name(o, " ".join(_words(o.short_name)), " ".join(_words(o.legal_name)), set(_words(o.legal_name)))
        for o in Organisation.objects.only("pk", "short_name", "legal_name", "pic", "country").order_by("short_name")
    ]
    found: dict[int, list[Organisation]] = {}
    for request in proposed:
        short, legal_words = " ".join(_words(request.proposed_short_name)), _words(request.proposed_legal_name)
        found[request.pk] = [
            known.organisation
            for known in register
            if (request.proposed_pic and known.organisation.pic == request.proposed_pic)
            or _similar(short, legal_words, known)
        ]
    return found
