"""Browser sessions: recorded at sign-in, listed on the profile page, ended by their user, by a password change,
by an administrator's reset of the second factor, or by the timeouts (eurohpc.identity.middleware)."""

import time
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from eurohpc.errors import RuleViolation
from eurohpc.models import User, UserSession
from eurohpc.services import audit_record

# Keys this product keeps in a signed-in session.
SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
# How often a session's "last seen" is written (not on every request).
SEEN_EVERY_SECONDS = 60


def _store(session_key: str):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)


def user_session_start(*, request, user: User, method: str) -> UserSession | None:
    """Record the session a sign-in opened (the user_logged_in signal calls this)."""
    session = request.session
    now = timezone.now()
    session[SIGNED_IN_AT] = session[SEEN_AT] = time.time()  # the machine's clock (see the timeout middleware)
    if session.session_key is None:
        session.save()
    agent = request.META.get("HTTP_USER_AGENT", "")[:300]
    address = request.META.get("REMOTE_ADDR") or None
    with transaction.atomic():
        record, _ = UserSession.objects.update_or_create(
            session_key=session.session_key,
            defaults={"user": user, "created_at": now, "last_seen_at": now, "ip_address": address,
                      "user_agent": agent, "method": method},
        )  # fmt: skip
    return record


def user_session_seen(*, session_key: str) -> None:
    UserSession.objects.filter(session_key=session_key).update(last_seen_at=timezone.now())


def user_session_forget(*, session_key: str | None) -> None:
    """The session ended (sign-out, timeout): its row goes."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


@transaction.atomic
def user_session_revoke(*, user: User, session_id: int, actor: User) -> UserSession:
    """End one of the user's sessions (another browser, a lost laptop)."""
    record = UserSession.objects.select_for_update().filter(user=user, pk=session_id).first()
    if record is None:
        from django.http import Http404

        raise Http404("No such session.")
    _store(record.session_key).delete()
    record.delete()
    audit_record(actor=actor, verb="user.session_revoke", target=user,
                 changes={"signed_in": record.created_at.isoformat(), "address": record.ip_address or ""})  # fmt: skip
    return record


@transaction.atomic
def user_sessions_end(*, user: User, except_key: str | None) -> int:
    """End every session of the user but `except_key` (the one making the request, if any)."""
    records = UserSession.objects.select_for_update().filter(user=user)
    if except_key:
        records = records.exclude(session_key=except_key)
    ended = 0
    for record in list(records):
        _store(record.session_key).delete()
        record.delete()
        ended += 1
    return ended


@transaction.atomic
def password_change(*, request, user: User, old_password: str, new_password: str) -> int:
    """Change the password; every other session of the user ends (this one continues). Returns how many ended."""
    if not user.check_password(old_password):
        raise RuleViolation("Your current password is not the one entered.", code="password_wrong",
                            errors={"old_password": ["This is not your current password."]})  # fmt: skip
    try:
        validate_password(new_password, user)
    except ValidationError as error:
        raise RuleViolation("The new password is refused: " + " ".join(error.messages), code="password_weak",
                            errors={"new_password1": list(error.messages)}) from error  # fmt: skip
    user.set_password(new_password)
    user.save(update_fields=["password"])
    old_key = request.session.session_key
    update_session_auth_hash(request, user)  # a new key for this session; the others no longer match the hash
    UserSession.objects.filter(session_key=old_key).update(session_key=request.session.session_key)
    ended = user_sessions_end(user=user, except_key=request.session.session_key)
    audit_record(actor=user, verb="user.password_change", target=user, changes={"sessions_ended": ended})
    return ended


@transaction.atomic
def user_sessions_forget_ended() -> int:
    """Delete the records of sessions that ended without signing out (the absolute timeout passed, or the session
    store no longer holds them: expired, `clearsessions`). Returns how many went; a second run finds none."""
    oldest = timezone.now() - timedelta(hours=settings.SESSION_ABSOLUTE_HOURS)
    ended = UserSession.objects.filter(created_at__lt=oldest)
    count = ended.delete()[0]
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for record in UserSession.objects.only("pk", "session_key").iterator(chunk_size=500):
        if not store().exists(record.session_key):
            record.delete()
            count += 1
    return count
