"""Self-registration: an applicant opens an account, proves the e-mail address, and asks to act for an organisation
of the register or proposes a new one; the programme office confirms (the user becomes an applicant of it) or
refuses with a reason.

A verification link is signed (`django.core.signing`) and holds the user, the address and when it was sent; it
works for `VERIFICATION_HOURS` and only while the address is unverified, so it stops working once used. Locks, in
the order of eurohpc/locking.py: the user, then the membership request.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from eurohpc.countries import COUNTRIES
from eurohpc.errors import RuleViolation, StateConflict
from eurohpc.formatting import local
from eurohpc.models import MembershipRequest, Notification, Organisation, Role, User
from eurohpc.services import audit_record, notification_queue, organisation_create, user_grant_role

VERIFICATION_HOURS = 48
# New links one address may be sent within an hour (the first one included): enough for a lost e-mail, not a flood.
VERIFICATION_LINKS_PER_HOUR = 3
VERIFICATION_SUBJECT = "Verify your e-mail address: AI Factories Grants"
_SALT = "eurohpc.identity.email-verification"
PIC_DIGITS = 9

R = MembershipRequest.Status


@dataclass(frozen=True)
class ProposedOrganisation:
    """An organisation a registrant asks the programme office to add to the register."""

    legal_name: str
    short_name: str
    country: str
    kind: str
    pic: str = ""

    def cleaned(self) -> "ProposedOrganisation":
        return ProposedOrganisation(
            legal_name=" ".join(self.legal_name.split()), short_name=" ".join(self.short_name.split()),
            country=self.country.strip().upper(), kind=self.kind.strip(), pic=self.pic.strip().replace(" ", ""),
        )  # fmt: skip


def _site(path: str) -> str:
    """An absolute address of this service for an e-mail (GRANTS_PUBLIC_BASE_URL)."""
    return f"{settings.GRANTS_PUBLIC_BASE_URL.rstrip('/')}{path}"


class _Refusal:
    """Problems of one form, gathered so that the person sees them all at once; each names its rule."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.codes: list[str] = []

    def add(self, field: str, message: str, code: str) -> None:
        self.errors.setdefault(field, []).append(message)
        self.codes.append(code)

    def raise_if_any(self) -> None:
        if self.errors:
            messages = [m for problems in self.errors.values() for m in problems]
            raise RuleViolation(" ".join(messages), code=self.codes[0], errors=self.errors)


def _check_proposed(proposed: ProposedOrganisation, refusal: _Refusal, *, prefix: str = "proposed_") -> None:
    """A proposed organisation's fields, and that it is not in the register already (by short name or PIC)."""
    if not proposed.legal_name:
        refusal.add(f"{prefix}legal_name", "A proposed organisation needs its legal name.", "legal_name_required")
    if not proposed.short_name:
        refusal.add(f"{prefix}short_name", "A proposed organisation needs a short name.", "short_name_required")
    if proposed.country not in COUNTRIES:
        refusal.add(f"{prefix}country", f"Country must be an ISO 3166-1 alpha-2 code, got {proposed.country!r}.",
                    "country")  # fmt: skip
    if proposed.kind not in Organisation.Kind.values:
        kinds = ", ".join(str(label).lower() for label in Organisation.Kind.labels)
        refusal.add(f"{prefix}kind", f"The kind of organisation is one of: {kinds}.", "kind")
    if proposed.pic and not (proposed.pic.isascii() and proposed.pic.isdigit() and len(proposed.pic) == PIC_DIGITS):
        refusal.add(f"{prefix}pic", f"A PIC (EU Participant Identification Code) is 9 digits, got {proposed.pic!r}.",
                    "pic_format")  # fmt: skip
    if proposed.short_name:
        known = Organisation.objects.filter(short_name__iexact=proposed.short_name).first()
        if known is not None:
            refusal.add(f"{prefix}short_name", f"{known.short_name} is already in the register: choose it from the "
                        "list.", "organisation_in_register")  # fmt: skip
    if proposed.pic and "pic_format" not in refusal.codes:
        known = Organisation.objects.filter(pic=proposed.pic).first()
        if known is not None:
            refusal.add(f"{prefix}pic", f"The PIC {proposed.pic} is already in the register, as {known.short_name}: "
                        "choose it from the list.", "pic_in_register")  # fmt: skip


def _organisation_named(request: MembershipRequest) -> str:
    if request.organisation_id:
        return f"{request.organisation.legal_name} ({request.organisation.short_name})"
    return f"{request.proposed_legal_name} ({request.proposed_short_name}), proposed for the register"


# --- registration and the e-mail address ------------------------------------------------------------------------


@transaction.atomic
def user_register(
    *,
    username: str,
    email: str,
    first_name: str,
    last_name: str,
    password: str,
    organisation: Organisation | None = None,
    proposed: ProposedOrganisation | None = None,
) -> MembershipRequest:
    """Open an inactive account (no role, no organisation) with its pending membership request, and e-mail the
    link that verifies the address. Every refusal names its field and rule."""
    username, email = username.strip(), email.strip()
    refusal = _Refusal()
    if User.objects.filter(username__iexact=username).exists():
        refusal.add("username", f"The username {username!r} is taken: choose another.", "username_taken")
    if User.objects.filter(email__iexact=email).exists():
        refusal.add("email", f"The e-mail address {email} is already registered: log in, or ask for a new "
                    "verification link if you have not used yours.", "email_registered")  # fmt: skip
    candidate = User(username=username, email=email, first_name=first_name, last_name=last_name)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        for message in exc.messages:
            refusal.add("password", f"The password is refused: {message}", "password_weak")
    if (organisation is None) == (proposed is None):
        refusal.add("organisation", "Choose your organisation from the register, or propose it: one of the two.",
                    "organisation_required")  # fmt: skip
    if proposed is not None:
        proposed = proposed.cleaned()
        _check_proposed(proposed, refusal)
    refusal.raise_if_any()

    user = User(username=username, email=email, first_name=first_name.strip(), last_name=last_name.strip(),
                is_active=False)  # fmt: skip
    user.set_password(password)
    try:
        with transaction.atomic():  # a savepoint: two registrations racing for one username
            user.save()
    except IntegrityError as exc:
        raise RuleViolation(
            f"The username {username!r} is taken: choose another.",
            code="username_taken",
            errors={"username": [f"The username {username!r} is taken: choose another."]},
        ) from exc
    audit_record(actor=user, verb="user.register", target=user, changes={"email": email})
    request = membership_request_create(user=user, organisation=organisation, proposed=proposed, actor=user)
    email_verification_send(user=user, request=request)
    return request


def verification_token(*, user: User, sent_at: datetime | None = None) -> str:
    """The signed token of a verification link: the user, the address and when it was sent."""
    sent_at = sent_at or timezone.now()
    return signing.Signer(salt=_SALT).sign_object({"u": user.pk, "e": user.email.lower(), "t": sent_at.timestamp()})


def verification_link(*, user: User) -> str:
    return _site(reverse("verify-email", args=[verification_token(user=user)]))


def email_verification_send(*, user: User, request: MembershipRequest | None = None) -> Notification:
    """E-mail the link that verifies `user`'s address (valid VERIFICATION_HOURS)."""
    joining = f"\nThe programme office then confirms that you act for {_organisation_named(request)}; you are told " \
        "by e-mail.\n" if request is not None else ""  # fmt: skip
    body = (
        f"Hello {user.first_name or user.username},\n\n"
        f"You registered on AI Factories Grants with the username {user.username}. Open this link within "
        f"{VERIFICATION_HOURS} hours to verify your e-mail address and activate your account:\n\n"
        f"{verification_link(user=user)}\n"
        f"{joining}\n"
        "If you did not register, ignore this message: the account stays inactive.\n"
    )
    return notification_queue(recipient=user, subject=VERIFICATION_SUBJECT, body=body)


@transaction.atomic
def verification_link_resend(*, email: str) -> bool:
    """Send a new link to an account that registered with `email` and has not verified it, at most
    VERIFICATION_LINKS_PER_HOUR an hour. Returns whether it sent one; the page answers the same either way, so
    that nobody learns from it which addresses have an account."""
    user = (
        User.objects.select_for_update()
        .filter(email__iexact=email.strip(), email_verified_at__isnull=True, is_active=False)
        .order_by("pk")
        .first()
    )
    if user is None:
        return False
    recent = Notification.objects.filter(
        recipient=user, subject=VERIFICATION_SUBJECT, created_at__gte=timezone.now() - timedelta(hours=1)
    ).count()
    if recent >= VERIFICATION_LINKS_PER_HOUR:
        return False
    email_verification_send(user=user, request=user.membership_requests.filter(status=R.PENDING).first())
    return True


LINK_INVALID = (
    "This verification link is not valid: it was changed or cut short. Open the whole link from the e-mail, or ask "
    "for a new one."
)


@transaction.atomic
def email_verify(*, token: str) -> User:
    """Verify the address a link was sent to and activate the account (it does not sign the person in)."""
    try:
        payload = signing.Signer(salt=_SALT).unsign_object(token)
        user_id, email, sent = int(payload["u"]), str(payload["e"]), float(payload["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise RuleViolation(LINK_INVALID, code="link_invalid") from None
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None or user.email.lower() != email:
        raise RuleViolation(LINK_INVALID, code="link_invalid")
    if user.email_verified_at is not None:
        raise RuleViolation(
            "This verification link has been used already: your e-mail address is verified. Log in.", code="link_used"
        )
    if timezone.now().timestamp() - sent > VERIFICATION_HOURS * 3600:
        raise RuleViolation(
            f"This verification link has expired: a link works for {VERIFICATION_HOURS} hours after it is sent. "
            "Ask for a new one.",
            code="link_expired",
        )
    user.email_verified_at = timezone.now()
    user.is_active = True
    user.save(update_fields=["email_verified_at", "is_active"])
    audit_record(actor=user, verb="user.verify_email", target=user, changes={"email": user.email})
    return user


# --- membership requests ----------------------------------------------------------------------------------------


@transaction.atomic
def membership_request_create(
    *,
    user: User,
    organisation: Organisation | None = None,
    proposed: ProposedOrganisation | None = None,
    actor: User,
) -> MembershipRequest:
    """Ask to act for `organisation` of the register, or for a `proposed` new one; one pending request at a time,
    and only for an account without an organisation."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.organisation_id is not None:
        raise StateConflict(
            f"You already act for {user.organisation.short_name}: a request to join an organisation is for accounts "
            "without one.",
            code="already_member",
        )
    pending = user.membership_requests.filter(status=R.PENDING).select_related("organisation").first()
    if pending is not None:
        raise StateConflict(
            f"Your request for {pending.organisation or pending.proposed_short_name} of {local(pending.created_at)} "
            "awaits the programme office: one request at a time.",
            code="request_pending",
        )
    refusal = _Refusal()
    if (organisation is None) == (proposed is None):
        refusal.add("organisation", "Choose your organisation from the register, or propose it: one of the two.",
                    "organisation_required")  # fmt: skip
    if proposed is not None:
        proposed = proposed.cleaned()
        _check_proposed(proposed, refusal)
    refusal.raise_if_any()
    fields = (
        {"organisation": organisation}
        if organisation is not None
        else {f"proposed_{name}": getattr(proposed, name) for name in ("legal_name", "short_name", "country", "kind",
                                                                        "pic")}
    )  # fmt: skip
    request = MembershipRequest.objects.create(user=user, status=R.PENDING, created_at=timezone.now(), **fields)
    audit_record(actor=actor, verb="membership.request", target=request,
                 changes={"organisation": organisation.short_name if organisation else None,
                          "proposed": proposed.short_name if proposed else None})  # fmt: skip
    return request


def _lock(request: MembershipRequest) -> tuple[User, MembershipRequest]:
    """The user, then the request (eurohpc/locking.py), and the request's state as it is now."""
    user_id = MembershipRequest.objects.values_list("user_id", flat=True).get(pk=request.pk)
    user = User.objects.select_for_update().get(pk=user_id)
    locked = MembershipRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != R.PENDING:
        decided_by = locked.decided_by.display_name if locked.decided_by_id else "the programme office"
        raise StateConflict(
            f"This request was {locked.get_status_display().lower()} on {local(locked.decided_at)} by {decided_by}: "
            "a request is decided once.",
            code="not_pending",
        )
    locked.user = user
    return user, locked


@transaction.atomic
def membership_request_confirm(
    *, request: MembershipRequest, actor: User, correction: ProposedOrganisation | None = None
) -> MembershipRequest:
    """Confirm that the user acts for the organisation: one of the register, or the proposed one, which the
    officer may correct (`correction`) and which is then added to the register. The user becomes an applicant."""
    user, request = _lock(request)
    if user.email_verified_at is None:
        raise StateConflict(
            f"{user.display_name} has not verified the e-mail address {user.email} yet: a request is confirmed once "
            "its address is verified.",
            code="email_not_verified",
        )
    if user.organisation_id is not None:
        raise StateConflict(
            f"{user.display_name} already acts for {user.organisation.short_name}: refuse this request.",
            code="already_member",
        )
    created = request.organisation_id is None
    if created:
        proposed = (correction or ProposedOrganisation(
            legal_name=request.proposed_legal_name, short_name=request.proposed_short_name,
            country=request.proposed_country, kind=request.proposed_kind, pic=request.proposed_pic,
        )).cleaned()  # fmt: skip
        refusal = _Refusal()
        _check_proposed(proposed, refusal, prefix="")
        refusal.raise_if_any()
        organisation = organisation_create(
            legal_name=proposed.legal_name, short_name=proposed.short_name, country=proposed.country,
            kind=proposed.kind, pic=proposed.pic, actor=actor,
        )  # fmt: skip
    else:
        organisation = request.organisation
    user.organisation = organisation
    user.save(update_fields=["organisation"])
    user_grant_role(user=user, role=Role.APPLICANT, actor=actor)
    request.status, request.decided_at, request.decided_by = R.CONFIRMED, timezone.now(), actor
    request.save(update_fields=["status", "decided_at", "decided_by"])
    audit_record(actor=actor, verb="membership.confirm", target=request,
                 changes={"organisation": organisation.short_name, "added_to_register": created})  # fmt: skip
    notification_queue(
        recipient=user,
        subject=f"Your account is confirmed for {organisation.short_name}",
        body=(
            f"Hello {user.first_name or user.username},\n\n"
            f"The programme office confirmed that you act for {organisation.legal_name} ({organisation.short_name})"
            f"{', now in the register' if created else ''}. You are an applicant: log in to prepare proposals and "
            f"access applications for it.\n\n{_site(reverse('login'))}\n"
        ),
    )
    return request


@transaction.atomic
def membership_request_refuse(*, request: MembershipRequest, reason: str, actor: User) -> MembershipRequest:
    """Refuse the request with a reason, which the user reads; the account stays, without an organisation."""
    reason = reason.strip()
    if not reason:
        raise RuleViolation("A refusal gives its reason: the applicant reads it.", code="reason_required",
                            errors={"reason": ["Give the reason for the refusal."]})  # fmt: skip
    user, request = _lock(request)
    request.status, request.decided_at, request.decided_by, request.reason = R.REFUSED, timezone.now(), actor, reason
    request.save(update_fields=["status", "decided_at", "decided_by", "reason"])
    audit_record(actor=actor, verb="membership.refuse", target=request, changes={"reason": reason})
    named = request.organisation.short_name if request.organisation_id else request.proposed_short_name
    notification_queue(
        recipient=user,
        subject=f"Your request to act for {named} is refused",
        body=(
            f"Hello {user.first_name or user.username},\n\n"
            f"The programme office refused your request to act for {_organisation_named(request)}, for this "
            f"reason:\n\n{reason}\n\n"
            "Your account stays open without an organisation. Once signed in you may send another request:\n\n"
            f"{_site(reverse('membership-request'))}\n"
        ),
    )
    return request
