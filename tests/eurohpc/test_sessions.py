"""Signed-in sessions: the absolute and the staff idle timeout, the list on the profile page, ending one, and the
password change that ends the others."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from eurohpc.identity.services.sessions import SEEN_AT, SIGNED_IN_AT
from eurohpc.models import AuditEvent, UserSession
from eurohpc.tasks import forget_ended_sessions
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(user, agent="Firefox/140.0") -> Client:
    client = Client(HTTP_USER_AGENT=agent)
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def age(client, **seconds):
    session = client.session
    for key, value in seconds.items():
        session[{"signed_in": SIGNED_IN_AT, "seen": SEEN_AT}[key]] -= value
    session.save()


def test_session_recorded_at_sign_in(programme_officer):
    signed_in(programme_officer, agent="Chromium/156")
    record = UserSession.objects.get(user=programme_officer)
    assert (record.user_agent, record.ip_address, record.method) == ("Chromium/156", "127.0.0.1", "password")


def test_session_absolute_timeout_signs_out_after_12_hours(applicant):
    client = signed_in(applicant)
    age(client, signed_in=12 * 3600 + 1)
    response = client.get("/dashboard/", follow=True)
    assert response.redirect_chain[0] == ("/accounts/login/?next=%2Fdashboard%2F", 302)
    assert "Your session ended 12 hours after you signed in: sign in again." in response.content.decode()
    assert UserSession.objects.filter(user=applicant).count() == 0


def test_session_absolute_timeout_api_call_answers_401(applicant):
    client = signed_in(applicant)
    age(client, signed_in=12 * 3600 + 1)
    response = client.get("/api/v1/users/me/")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Your session ended 12 hours after you signed in: sign in again.",
        "code": "session_expired",
        "errors": {},
    }


def test_session_staff_idle_timeout_after_30_minutes(finance_officer):
    client = signed_in(finance_officer)
    age(client, seen=30 * 60 + 1)
    response = client.get("/dashboard/", follow=True)
    assert response.redirect_chain[0][0] == "/accounts/login/?next=%2Fdashboard%2F"
    assert ("Your session ended after 30 minutes without activity (staff accounts): sign in again."
            in response.content.decode())  # fmt: skip


def test_session_staff_idle_limit_is_a_setting(settings, programme_officer):
    settings.STAFF_SESSION_IDLE_MINUTES = 10
    client = signed_in(programme_officer)
    age(client, seen=10 * 60 + 1)
    assert client.get("/dashboard/").status_code == 302


def test_session_applicant_not_signed_out_when_idle(applicant):
    client = signed_in(applicant)
    age(client, seen=3 * 3600)
    assert client.get("/dashboard/").status_code == 200


def test_session_activity_keeps_staff_signed_in(programme_officer):
    client = signed_in(programme_officer)
    age(client, seen=29 * 60)
    assert client.get("/dashboard/").status_code == 200
    age(client, seen=29 * 60)  # 58 minutes after sign-in, 29 since the last request
    assert client.get("/dashboard/").status_code == 200


def test_session_list_on_profile_marks_this_browser(programme_officer):
    laptop = signed_in(programme_officer, agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
    signed_in(programme_officer, agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/605.1")
    page = laptop.get("/accounts/profile/").content.decode()
    assert ">Firefox on Linux</td>" in page and ">Safari on iPhone</td>" in page
    assert page.count("this browser") == 1
    assert page.count(">End</button>") == 1


def test_session_revoke_ends_the_other_browser(programme_officer):
    laptop = signed_in(programme_officer, agent="Laptop")
    phone = signed_in(programme_officer, agent="Phone")
    other = UserSession.objects.get(user=programme_officer, user_agent="Phone")
    response = laptop.post(f"/accounts/sessions/{other.pk}/end/")
    assert response.status_code == 302
    assert phone.get("/dashboard/").status_code == 302
    assert laptop.get("/dashboard/").status_code == 200
    assert AuditEvent.objects.filter(verb="user.session_revoke", actor=programme_officer).count() == 1


def test_session_revoke_of_another_users_session_is_404(programme_officer, applicant):
    signed_in(applicant)
    theirs = UserSession.objects.get(user=applicant)
    client = signed_in(programme_officer)
    assert client.post(f"/accounts/sessions/{theirs.pk}/end/").status_code == 404
    assert UserSession.objects.filter(pk=theirs.pk).exists()


def test_password_change_ends_other_sessions_and_keeps_this_one(applicant):
    laptop, phone = signed_in(applicant, agent="Laptop"), signed_in(applicant, agent="Phone")
    response = laptop.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "Quantum-Annealer-42",
                                                   "new_password2": "Quantum-Annealer-42"}, follow=True)  # fmt: skip
    assert "Your password is changed. 1 other session ended." in response.content.decode()
    assert laptop.get("/dashboard/").status_code == 200
    assert phone.get("/dashboard/").status_code == 302
    assert list(UserSession.objects.filter(user=applicant).values_list("user_agent", flat=True)) == ["Laptop"]
    assert AuditEvent.objects.get(verb="user.password_change").changes == {"sessions_ended": 1}


def test_password_change_refused_with_wrong_current_password(applicant):
    client = signed_in(applicant)
    response = client.post("/accounts/password/", {"old_password": "nope", "new_password1": "Quantum-Annealer-42",
                                                   "new_password2": "Quantum-Annealer-42"})  # fmt: skip
    assert response.status_code == 400
    assert "This is not your current password." in response.content.decode()


def test_password_change_refused_when_weak_or_different(applicant):
    client = signed_in(applicant)
    weak = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "123",
                                               "new_password2": "123"})  # fmt: skip
    assert weak.status_code == 400
    assert "This password is too short. It must contain at least 8 characters." in weak.content.decode()
    different = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "Quantum-Annealer-42",
                                                    "new_password2": "Quantum-Annealer-43"})  # fmt: skip
    assert different.status_code == 400
    assert "The two new passwords differ." in different.content.decode()


def test_profile_queries_do_not_grow_with_sessions(django_assert_num_queries, applicant):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = signed_in(applicant)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/accounts/profile/").status_code == 200
    for n in range(4):
        signed_in(applicant, agent=f"Browser {n}")
    with CaptureQueriesContext(connection) as several:
        page = client.get("/accounts/profile/")
    assert page.content.decode().count(">End</button>") == 4
    assert len(several) == len(one)


@pytest.mark.parametrize(
    ("agent", "summary"),
    [
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36",
         "Chrome on Linux"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36 Edg/156.0",
         "Edge on Windows"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/18.0 Safari/605.1.15",
         "Safari on macOS"),
        ("curl/8.5.0", "curl/8.5.0"),
        ("", "Unknown browser"),
    ],
)  # fmt: skip
def test_session_browser_named_from_its_user_agent(agent, summary):
    from eurohpc.identity.selectors.account import browser_summary

    assert browser_summary(agent) == summary


def test_sessions_ended_on_their_own_are_forgotten(applicant, programme_officer):
    current = signed_in(applicant, agent="Current")
    signed_in(applicant, agent="Store cleared")
    signed_in(programme_officer, agent="Old")
    UserSession.objects.filter(user_agent="Old").update(created_at=timezone.now() - timedelta(hours=12, seconds=1))
    gone = UserSession.objects.get(user_agent="Store cleared")
    import_module(settings.SESSION_ENGINE).SessionStore(session_key=gone.session_key).delete()
    assert forget_ended_sessions.delay().get() == 2
    assert list(UserSession.objects.values_list("user_agent", flat=True)) == ["Current"]
    assert forget_ended_sessions.delay().get() == 0
    assert current.get("/dashboard/").status_code == 200
