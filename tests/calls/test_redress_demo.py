"""The seeded demo shows an evaluation review in each state, within its window, none dated after seeding."""

import pytest
from django.utils import timezone

from calls.models import RedressRequest
from eurohpc.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_has_a_redress_in_each_state(seeded_demo, client):
    requests = list(RedressRequest.objects.select_related("proposal", "decision"))
    assert sorted(r.status for r in requests) == sorted(RedressRequest.Status.values)
    now = timezone.now()
    for r in requests:
        assert r.submitted_at <= r.deadline and r.submitted_at <= now
        assert all(moment is None or moment <= now for moment in (r.admissibility_at, r.opinion_at, r.closed_at))
    concluded = next(r for r in requests if r.status == "re_evaluated")
    assert (concluded.original_outcome, concluded.outcome_decision.outcome) == ("rejected", "reserve")
    for username, url in [
        ("officer", "/officer/evaluation/redress/"),
        ("officer2", f"/officer/evaluation/redress/{next(r.pk for r in requests if r.status == 'in_review')}/"),
        ("officer3", "/dashboard/"),
        ("applicant", f"/evaluation-reviews/{concluded.pk}/"),
    ]:
        client.force_login(User.objects.get(username=username))
        assert client.get(url).status_code == 200, (username, url)
