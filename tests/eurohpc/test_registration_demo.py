"""The demo's registrations: two verified registrants wait in the programme office's queue, seeded once, in the past,
and every form of their pages is one the services accept."""

import io

import pytest
from django.db import transaction
from django.utils import timezone

from eurohpc.models import MembershipRequest, Notification, User
from eurohpc.seed import demo, demo_registration
from tests.eurohpc.test_demo_actions import FORM, _attrs, _fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(db):
    out = io.StringIO()
    demo.seed(out=out.write)
    demo_registration.seed(out=out.write)
    return out.getvalue()


def test_the_demo_queue_holds_a_request_for_the_register_and_a_proposed_organisation(seeded):
    assert "registrations awaiting confirmation: 2 created" in seeded
    requests = list(MembershipRequest.objects.select_related("user", "organisation").order_by("created_at"))
    found = [(r.user.username, r.status, r.organisation and r.organisation.short_name, r.proposed_short_name)
             for r in requests]  # fmt: skip
    assert found == [("registrant", "pending", "HLRS", ""), ("registrant2", "pending", None, "LIST")]
    now = timezone.now()
    for r in requests:
        assert r.user.is_active and r.user.email_verified_at is not None and r.user.roles == frozenset()
        assert r.created_at < r.user.email_verified_at < now
    assert not Notification.objects.filter(created_at__gt=now).exists()


def test_seeding_the_registrations_again_changes_nothing(seeded):
    out = io.StringIO()
    demo_registration.seed(out=out.write)
    assert "registrations awaiting confirmation: 0 created" in out.getvalue()
    assert (
        MembershipRequest.objects.count() == 2 and User.objects.filter(username__startswith="registrant").count() == 2
    )


@pytest.mark.parametrize("username", ["officer", "admin"])
def test_every_form_of_the_demo_registrations_is_accepted(seeded, client, username):
    client.force_login(User.objects.get(username=username))
    refused, sent = [], 0
    for request in MembershipRequest.objects.all():
        page = client.get(f"/officer/registrations/{request.pk}/").content.decode()
        for tag, body in FORM.findall(page):
            a = _attrs(tag)
            if a.get("method") != "post" or "logout" in a.get("action", ""):
                continue
            savepoint = transaction.savepoint()
            try:
                response = client.post(a["action"], _fill(body))
                sent += 1
                if response.status_code != 302:
                    refused.append(f"{a['action']}: {response.status_code}")
            finally:
                transaction.savepoint_rollback(savepoint)
    assert sent == 4 and refused == []
