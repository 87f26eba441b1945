"""The second factor: a TOTP authenticator app, with ten single-use recovery codes.

Staff (`STAFF_ROLES`) must pass it before anything but enrolment where `STAFF_REQUIRE_2FA` is on; anyone may
enable it, and once enabled it is asked at every sign-in.
"""

from base64 import b32encode
from binascii import unhexlify

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from eurohpc.errors import DomainError, NotPermitted, RuleViolation, StateConflict
from eurohpc.models import STAFF_ROLES, User
from eurohpc.services import audit_record, notification_queue

RECOVERY_CODES = 10
# What the authenticator app lists the account under.
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


class SecondFactorRefused(StateConflict):
    """Too many wrong codes in a row: verification waits (django-otp's doubling delay)."""

    status_code = 429
    default_code = "otp_throttled"


def second_factor_required(user: User) -> bool:
    """Whether the user must pass a second factor: staff where the installation requires it."""
    return bool(settings.STAFF_REQUIRE_2FA and user.is_authenticated and user.roles & STAFF_ROLES)


def second_factor_enrolled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def _normalise(code: str) -> str:
    return "".join(str(code or "").split()).lower()


def second_factor_match(*, user: User, code: str):
    """The device that accepts `code` (the authenticator app's 6 digits or one recovery code, which it uses up),
    or None. Raises SecondFactorRefused while wrong codes in a row make verification wait."""
    code = _normalise(code)
    if not code:
        return None
    with transaction.atomic():
        # Six digits go to the app; anything else is a recovery code (a wrong guess counts against that device only).
        if code.isdigit() and len(code) == 6:
            candidates = list(TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True))
        else:
            candidates = list(StaticDevice.objects.select_for_update().filter(user=user, confirmed=True))
        for device in candidates:
            allowed, data = device.verify_is_allowed()
            if not allowed and data and data.get("locked_until"):
                wait = max(1, int((data["locked_until"] - timezone.now()).total_seconds()) + 1)
                raise SecondFactorRefused(
                    f"Too many wrong codes in a row: wait {wait} seconds before trying again.", code="otp_throttled"
                )
        for device in candidates:
            if device.verify_token(code):
                if isinstance(device, StaticDevice):
                    audit_record(actor=user, verb="user.second_factor_recovery_use", target=user,
                                 changes={"recovery_codes_left": device.token_set.count()})  # fmt: skip
                return device
    return None


def second_factor_check(*, user: User, code: str) -> bool:
    return second_factor_match(user=user, code=code) is not None


class SecondFactorMissing(DomainError):
    """The second factor's code is missing or wrong where a credential needs it (401)."""

    status_code = 401
    default_code = "otp_required"


def second_factor_for_credential(*, user: User, code: str) -> bool:
    """Check the second factor where a credential (an API token asked for with the password) needs it: an enrolled
    account, or staff where STAFF_REQUIRE_2FA is on. Returns whether it was passed (False where none is asked)."""
    enrolled = second_factor_enrolled(user)
    if not enrolled and not second_factor_required(user):
        return False
    if not enrolled:
        raise NotPermitted(
            "Staff accounts need a second factor on this installation (STAFF_REQUIRE_2FA): enrol an authenticator "
            "app on your profile page (/accounts/profile/) first.",
            code="otp_not_enrolled",
        )
    if not code.strip():
        raise SecondFactorMissing(
            "This account has a second factor: give the current code of your authenticator app (or a recovery "
            "code) in `otp`.",
            code="otp_required",
        )
    if not second_factor_check(user=user, code=code):
        raise SecondFactorMissing(
            "The code in `otp` is neither the one your authenticator app shows now nor an unused recovery code.",
            code="otp_invalid",
        )
    return True


def second_factor_passed(request) -> bool:
    """Whether a request comes after the second factor: a session verified with it, or an API token created
    with it."""
    from eurohpc.models import ApiToken

    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiToken):
        return auth.second_factor
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


@transaction.atomic
def totp_enrolment_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator for the user to scan; replaces an unfinished enrolment."""
    if second_factor_enrolled(user):
        raise StateConflict(
            "A second factor is already enabled for this account: disable it first to enrol another device.",
            code="otp_enrolled",
        )
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


def totp_pending(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def _recovery_codes_issue(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = []
    while len(codes) < RECOVERY_CODES:
        code = StaticToken.random_token()
        if code not in codes:
            codes.append(code)
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def totp_enrolment_confirm(*, user: User, code: str, keep_session: str | None = None) -> tuple[TOTPDevice, list[str]]:
    """Confirm the scanned authenticator with one of its codes; returns it and ten new recovery codes. The user's
    other sessions end (they signed in without the factor); `keep_session` is the one enrolling."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        raise StateConflict("There is no enrolment in progress: start again from the second factor page.",
                            code="otp_no_enrolment")  # fmt: skip
    if not device.verify_token(_normalise(code)):
        raise RuleViolation(
            "That code is not the one your authenticator app shows now: enter the 6 digits it shows for this account.",
            code="otp_invalid", errors={"code": ["The code does not match."]},
        )  # fmt: skip
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _recovery_codes_issue(user)
    from eurohpc.identity.services.sessions import user_sessions_end

    ended = user_sessions_end(user=user, except_key=keep_session)
    audit_record(actor=user, verb="user.second_factor_enrol", target=user,
                 changes={"device": device.name, "sessions_ended": ended})  # fmt: skip
    return device, codes


@transaction.atomic
def recovery_codes_regenerate(*, user: User) -> list[str]:
    """Ten new recovery codes; the old ones stop working."""
    if not second_factor_enrolled(user):
        raise StateConflict("Recovery codes come with a second factor: enable one first.", code="otp_not_enrolled")
    codes = _recovery_codes_issue(user)
    audit_record(actor=user, verb="user.second_factor_recovery_regenerate", target=user)
    return codes


def _devices_delete(user: User) -> int:
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    removed += StaticDevice.objects.filter(user=user).delete()[0]
    return removed


@transaction.atomic
def second_factor_disable(*, user: User) -> None:
    """The user turns the second factor off (not allowed for staff who must have one)."""
    if second_factor_required(user):
        raise StateConflict(
            "Staff accounts must keep a second factor on this installation: it cannot be turned off. "
            "An administrator can reset it if the device is lost.",
            code="otp_required",
        )
    if not second_factor_enrolled(user):
        raise StateConflict("No second factor is enabled for this account.", code="otp_not_enrolled")
    _devices_delete(user)
    audit_record(actor=user, verb="user.second_factor_disable", target=user)


@transaction.atomic
def second_factor_reset(*, user: User, actor: User, reason: str) -> None:
    """An administrator removes a user's authenticator and recovery codes (a lost phone); the user enrols again
    at the next sign-in. Audited with the reason, and the user is told."""
    if not actor.has_perm("eurohpc.reset_second_factor"):
        raise StateConflict("Only an administrator can reset another user's second factor.", code="not_admin")
    reason = reason.strip()
    if not reason:
        raise RuleViolation("Say why the second factor is reset (it goes into the audit trail).", code="reason",
                            errors={"reason": ["This field is required."]})  # fmt: skip
    user = User.objects.select_for_update().get(pk=user.pk)
    if not _devices_delete(user):
        raise StateConflict(f"{user.username} has no second factor to reset.", code="otp_not_enrolled")
    # The user's signed-in sessions passed the factor that is gone: they end.
    from eurohpc.identity.services.sessions import user_sessions_end

    user_sessions_end(user=user, except_key=None)
    audit_record(actor=actor, verb="user.second_factor_reset", target=user, changes={"reason": reason})
    notification_queue(
        recipient=user,
        subject="Your second factor was reset",
        body=(
            f"{actor.display_name}, an administrator of AI Factories Grants, removed the authenticator app and the "
            f"recovery codes of your account ({user.username}) on "
            f"{timezone.localtime():%d %B %Y at %H:%M} (Europe/Luxembourg).\n\nReason: {reason}\n\n"
            "Enrol an authenticator app again at your next sign-in. If you did not ask for this, tell the "
            "programme office at once."
        ),
    )


def totp_secret_base32(device: TOTPDevice) -> str:
    """The key as the authenticator apps accept it when typed in, in groups of four."""
    raw = b32encode(unhexlify(device.key.encode())).decode().rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def totp_config_url(device: TOTPDevice) -> str:
    return device.config_url
