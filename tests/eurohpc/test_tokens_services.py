"""API tokens through their services: creation (hashed, named, scoped, expiring; the second factor where it is
asked), revocation, the list with each token's state, and the audit trail (never the secret)."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.db import models
from django_otp.plugins.otp_totp.models import TOTPDevice

from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.identity.selectors.tokens import api_token_list
from eurohpc.identity.services.tokens import api_token_create, api_token_revoke
from eurohpc.models import ApiToken, AuditEvent

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)  # 12:00 in Luxembourg


def create(user, **kwargs):
    options = {"name": "reporting", "scope": "read", "second_factor": False, "actor": user, **kwargs}
    return api_token_create(user=user, **options)


def test_api_token_create_stores_only_the_sha256_of_the_secret(applicant):
    token, secret = create(applicant)
    token.refresh_from_db()
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:8]
    assert len(secret) >= 40
    assert secret not in {token.digest, token.name, token.prefix}


def test_api_token_create_leaves_the_secret_in_no_table(applicant):
    _, secret = create(applicant)
    found = []
    for model in apps.get_models():
        text = [f.name for f in model._meta.concrete_fields if isinstance(f, models.CharField | models.TextField)]
        json = [f.name for f in model._meta.concrete_fields if isinstance(f, models.JSONField)]
        for row in model.objects.values_list(*(text + json)) if text or json else []:
            if any(secret in str(value) for value in row):
                found.append(model._meta.label)
    assert found == []


def test_api_token_create_records_an_audit_event_without_the_secret(applicant, freezer):
    freezer(NOON)
    token, secret = create(applicant, scope="write", days=30)
    event = AuditEvent.objects.get(verb="api_token.create")
    assert (event.actor_id, event.target_type, event.target_id) == (applicant.pk, "eurohpc.apitoken", str(token.pk))
    assert event.target_repr == f"reporting ({secret[:8]}…)"
    assert event.changes == {"user": "applicant", "scope": "write", "expires_at": "2027-01-06T11:00:00+00:00",
                             "second_factor": False}  # fmt: skip
    assert secret not in str(event.changes) + event.target_repr


def test_api_token_create_expires_after_the_default_90_days(applicant, freezer):
    freezer(NOON)
    token, _ = create(applicant)
    assert (token.created_at, token.expires_at) == (NOON, NOON + timedelta(days=90))


def test_api_token_create_takes_the_days_chosen(applicant, freezer):
    freezer(NOON)
    token, _ = create(applicant, days=365)
    assert token.expires_at == NOON + timedelta(days=365)


@pytest.mark.parametrize("days", [0, 366, -5])
def test_api_token_create_refuses_a_lifetime_out_of_bounds(applicant, days):
    with pytest.raises(RuleViolation) as refused:
        create(applicant, days=days)
    assert refused.value.message == f"A token lives 1 to 365 days; {days} is outside."
    assert (refused.value.code, refused.value.errors) == ("token_days", {"days": ["Between 1 and 365."]})


def test_api_token_create_refuses_an_unknown_scope(applicant):
    with pytest.raises(RuleViolation, match=r"^A token's scope is read \(look only\) or write \(look and change\)\.$"):
        create(applicant, scope="admin")


def test_api_token_create_refuses_a_name_of_an_active_token(applicant):
    create(applicant, name="CI pipeline")
    with pytest.raises(StateConflict) as refused:
        create(applicant, name="  CI   pipeline ")
    assert refused.value.message == (
        "You already have a token named “CI pipeline” that is not revoked: choose another name, or revoke that "
        "token first."
    )
    assert refused.value.code == "token_name_taken"
    assert refused.value.errors == {"name": ["A token of yours that is not revoked has this name."]}


def test_api_token_create_refuses_the_name_of_an_expired_token_saying_so(applicant, freezer):
    freezer(NOON)
    create(applicant, name="CI", days=1)
    freezer(NOON + timedelta(days=2))
    with pytest.raises(StateConflict) as refused:
        create(applicant, name="CI")
    assert refused.value.message == (
        "You already have a token named “CI” that is not revoked (it expired on 08 Dec 2026 12:00 CET): choose "
        "another name, or revoke that token first."
    )


def test_api_token_create_takes_the_name_of_a_revoked_token(applicant):
    token, _ = create(applicant, name="CI")
    api_token_revoke(token=token, actor=applicant)
    again, _ = create(applicant, name="CI")
    assert again.name == "CI" and again.pk != token.pk


def test_api_token_create_takes_a_name_another_user_has(applicant, other_applicant):
    create(applicant, name="CI")
    token, _ = create(other_applicant, name="CI")
    assert token.user == other_applicant


def test_api_token_create_names_a_nameless_token_by_its_date(applicant, freezer):
    freezer(NOON)
    names = [create(applicant, name="")[0].name for _ in range(3)]
    assert names == ["API token 2026-12-07 12:00", "API token 2026-12-07 12:00 (2)", "API token 2026-12-07 12:00 (3)"]


def test_api_token_create_refuses_staff_without_the_second_factor_where_required(programme_officer, settings):
    settings.STAFF_REQUIRE_2FA = True
    with pytest.raises(NotPermitted) as refused:
        create(programme_officer)
    assert refused.value.message == (
        "Staff tokens need the second factor at creation on this installation (STAFF_REQUIRE_2FA): sign in with "
        "your second factor, or give the token endpoint your current code in `otp`."
    )
    assert (refused.value.status_code, refused.value.code) == (403, "token_second_factor")
    assert not ApiToken.objects.exists()


def test_api_token_create_gives_staff_a_token_after_the_second_factor(programme_officer, settings):
    settings.STAFF_REQUIRE_2FA = True
    token, _ = create(programme_officer, second_factor=True)
    assert token.second_factor is True


def test_api_token_create_gives_staff_a_token_where_the_second_factor_is_not_required(finance_officer):
    token, _ = create(finance_officer)
    assert token.second_factor is False


def test_api_token_create_refuses_anyone_enrolled_without_the_second_factor(applicant):
    TOTPDevice.objects.create(user=applicant, name="app", confirmed=True)
    with pytest.raises(NotPermitted) as refused:
        create(applicant)
    assert refused.value.message == (
        "Your account has a second factor: a token is created only after it is checked. Sign in with your second "
        "factor, or give the token endpoint your current code in `otp`."
    )


def test_api_token_revoke_records_when_and_by_whom(applicant, freezer):
    token, _ = create(applicant)
    freezer(NOON)
    api_token_revoke(token=token, actor=applicant)
    token.refresh_from_db()
    assert (token.revoked_at, token.revoked_by) == (NOON, applicant)
    event = AuditEvent.objects.get(verb="api_token.revoke")
    assert (event.actor_id, event.target_id, event.changes) == (applicant.pk, str(token.pk), {"user": "applicant"})


def test_api_token_revoke_refuses_a_revoked_token(applicant, freezer):
    token, _ = create(applicant)
    freezer(NOON)
    api_token_revoke(token=token, actor=applicant)
    with pytest.raises(StateConflict) as refused:
        api_token_revoke(token=token, actor=applicant)
    assert refused.value.message == "The token “reporting” was already revoked on 07 Dec 2026 12:00 CET."
    assert (refused.value.status_code, refused.value.code) == (409, "token_revoked")


def test_api_token_list_gives_each_token_its_state(applicant, other_applicant, freezer):
    freezer(NOON)
    create(applicant, name="active")
    create(applicant, name="expired", days=1)
    revoked, _ = create(applicant, name="revoked")
    api_token_revoke(token=revoked, actor=applicant)
    create(other_applicant, name="theirs")
    freezer(NOON + timedelta(days=1))  # the one-day token expires at this very moment
    assert [(t.name, t.state) for t in api_token_list(user=applicant)] == [
        ("revoked", "revoked"), ("expired", "expired"), ("active", "active"),
    ]  # fmt: skip
