"""The second factor: enrolment by QR code, verification after the password, recovery codes, the staff
requirement (STAFF_REQUIRE_2FA), turning it off and an administrator's reset."""

import pytest
from django.core import mail
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from eurohpc.identity.services import second_factor as otp
from eurohpc.models import AuditEvent, Notification, UserSession
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client, user):
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return response


def current_code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def enrol(user) -> tuple[TOTPDevice, list[str]]:
    device = otp.totp_enrolment_start(user=user)
    return otp.totp_enrolment_confirm(user=user, code=current_code(device))


@pytest.fixture
def required(settings):
    settings.STAFF_REQUIRE_2FA = True


def test_second_factor_required_staff_sent_to_enrolment_before_any_page(client, programme_officer, required):
    sign_in(client, programme_officer)
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/two-factor/?next=%2Fdashboard%2F"


def test_second_factor_required_staff_api_call_by_session_refused(client, finance_officer, required):
    sign_in(client, finance_officer)
    response = client.get("/api/v1/users/me/")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Staff accounts need a second factor on this installation: enrol an authenticator app first.",
        "code": "otp_enrolment_required",
        "errors": {},
    }


@pytest.mark.parametrize("role_fixture", ["applicant", "evaluator"])
def test_second_factor_not_required_of_applicants_and_evaluators(client, request, required, role_fixture):
    user = request.getfixturevalue(role_fixture)
    sign_in(client, user)
    assert client.get("/dashboard/").status_code == 200


def test_second_factor_off_in_the_embedded_default(client, programme_officer, settings):
    assert settings.STAFF_REQUIRE_2FA is False
    sign_in(client, programme_officer)
    assert client.get("/dashboard/").status_code == 200


def test_second_factor_enrolment_shows_qr_and_key_then_recovery_codes(client, hosting_operator, required):
    sign_in(client, hosting_operator)
    page = client.get("/accounts/two-factor/?next=/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html
    device = TOTPDevice.objects.get(user=hosting_operator, confirmed=False)
    assert otp.totp_secret_base32(device) in html
    assert "otpauth://totp/" in device.config_url and "AI%20Factories%20Grants" in device.config_url

    wrong = client.post("/accounts/two-factor/", {"code": "000000" if current_code(device) != "000000" else "111111"})
    assert wrong.status_code == 400
    assert ("That code is not the one your authenticator app shows now: enter the 6 digits it shows for this account."
            in wrong.content.decode())  # fmt: skip

    done = client.post("/accounts/two-factor/", {"code": current_code(device), "next": "/dashboard/"})
    assert done.status_code == 200
    codes = list(StaticToken.objects.filter(device__user=hosting_operator).values_list("token", flat=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(code in done.content.decode() for code in codes)
    assert client.get("/dashboard/").status_code == 200  # this session passed the factor by enrolling
    assert AuditEvent.objects.filter(verb="user.second_factor_enrol", actor=hosting_operator).count() == 1


def test_second_factor_asked_after_password_and_wrong_code_refused(client, programme_officer, required):
    device, _ = enrol(programme_officer)
    sign_in(client, programme_officer)
    response = client.get("/grants/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/two-factor/verify/?next=%2Fgrants%2F"
    wrong = client.post("/accounts/two-factor/verify/", {"code": "12345x", "next": "/grants/"})
    assert wrong.status_code == 400
    assert ("That code is not valid: enter the 6 digits your authenticator app shows now, or one of your unused "
            "recovery codes.") in wrong.content.decode()  # fmt: skip
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    device.last_t = -1  # the enrolment used the current step; the next sign-in may use the same code once more
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    right = client.post("/accounts/two-factor/verify/", {"code": current_code(device), "next": "/grants/"})
    assert right.status_code == 302
    assert right["Location"] == "/grants/"
    assert client.get("/dashboard/").status_code == 200


def test_second_factor_asked_of_an_applicant_who_enabled_it(client, applicant):
    enrol(applicant)
    sign_in(client, applicant)
    assert client.get("/dashboard/")["Location"] == "/accounts/two-factor/verify/?next=%2Fdashboard%2F"


def test_second_factor_recovery_code_works_once(client, programme_officer, required):
    _, codes = enrol(programme_officer)
    sign_in(client, programme_officer)
    response = client.post("/accounts/two-factor/verify/", {"code": codes[0].upper(), "next": "/dashboard/"})
    assert response.status_code == 302
    assert StaticToken.objects.filter(device__user=programme_officer).count() == 9
    assert AuditEvent.objects.filter(verb="user.second_factor_recovery_use").get().changes == {"recovery_codes_left": 9}
    other = type(client)()
    sign_in(other, programme_officer)
    again = other.post("/accounts/two-factor/verify/", {"code": codes[0], "next": "/dashboard/"})
    assert again.status_code == 400


def test_second_factor_wrong_codes_in_a_row_make_verification_wait(client, applicant):
    enrol(applicant)
    sign_in(client, applicant)
    assert client.post("/accounts/two-factor/verify/", {"code": "000001"}).status_code == 400
    waiting = client.post("/accounts/two-factor/verify/", {"code": "000002"})
    assert waiting.status_code == 429
    assert "Too many wrong codes in a row: wait " in waiting.content.decode()


def test_second_factor_recovery_codes_regenerated_replace_the_old(client, applicant):
    _, old = enrol(applicant)
    new = otp.recovery_codes_regenerate(user=applicant)
    assert set(old).isdisjoint(new)
    assert otp.second_factor_check(user=applicant, code=old[1]) is False
    TOTPDevice.objects.filter(user=applicant).update(throttling_failure_count=0)
    from django_otp.plugins.otp_static.models import StaticDevice

    StaticDevice.objects.filter(user=applicant).update(throttling_failure_count=0)
    assert otp.second_factor_check(user=applicant, code=new[1]) is True


def test_second_factor_disable_refused_for_staff_who_must_keep_it(client, programme_officer, required):
    enrol(programme_officer)
    client.force_login(programme_officer)
    session = client.session
    session["otp_device_id"] = TOTPDevice.objects.get(user=programme_officer).persistent_id
    session.save()
    response = client.post("/accounts/two-factor/disable/")
    assert response.status_code == 409
    assert ("Staff accounts must keep a second factor on this installation: it cannot be turned off."
            in response.content.decode())  # fmt: skip
    assert TOTPDevice.objects.filter(user=programme_officer).count() == 1


def test_second_factor_disable_by_an_applicant(client, applicant):
    device, _ = enrol(applicant)
    client.force_login(applicant)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    response = client.post("/accounts/two-factor/disable/")
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=applicant).count() == 0
    assert StaticToken.objects.filter(device__user=applicant).count() == 0


def test_second_factor_enrolment_refused_when_already_enrolled(applicant):
    enrol(applicant)
    with pytest.raises(otp.StateConflict) as refused:
        otp.totp_enrolment_start(user=applicant)
    assert refused.value.message == (
        "A second factor is already enabled for this account: disable it first to enrol another device."
    )


def test_second_factor_reset_by_admin_audited_sessions_ended_user_told(client, admin_user, programme_officer):
    enrol(programme_officer)
    officer_browser = type(client)()
    officer_browser.force_login(programme_officer)
    assert UserSession.objects.filter(user=programme_officer).count() == 1
    client.force_login(admin_user)
    mail.outbox.clear()
    response = client.post("/accounts/second-factor-reset/", {"username": programme_officer.username,
                                                               "reason": "Phone lost, call-back 7 Dec"})  # fmt: skip
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=programme_officer).count() == 0
    assert UserSession.objects.filter(user=programme_officer).count() == 0
    assert officer_browser.get("/dashboard/").status_code == 302
    event = AuditEvent.objects.get(verb="user.second_factor_reset")
    assert (event.actor, event.target_id, event.changes) == (
        admin_user,
        str(programme_officer.pk),
        {"reason": "Phone lost, call-back 7 Dec"},
    )
    notice = Notification.objects.get(recipient=programme_officer)
    assert notice.subject == "Your second factor was reset"
    assert "Reason: Phone lost, call-back 7 Dec" in notice.body


def test_second_factor_reset_refused_for_non_admin(client, programme_officer, applicant):
    client.force_login(programme_officer)
    response = client.post("/accounts/second-factor-reset/", {"username": applicant.username, "reason": "x"})
    assert response.status_code == 403
    assert "Only administrators can reset another user&#x27;s second factor." in response.content.decode()


def test_second_factor_reset_refused_without_factor_or_user(client, admin_user, applicant):
    client.force_login(admin_user)
    nothing = client.post("/accounts/second-factor-reset/", {"username": applicant.username, "reason": "lost"})
    assert nothing.status_code == 409
    assert f"{applicant.username} has no second factor to reset." in nothing.content.decode()
    unknown = client.post("/accounts/second-factor-reset/", {"username": "nobody", "reason": "lost"})
    assert unknown.status_code == 400
    assert "There is no user named &#x27;nobody&#x27;." in unknown.content.decode()


def test_second_factor_enrolment_ends_the_other_sessions(client, applicant):
    phone = type(client)()
    phone.force_login(applicant)
    client.force_login(applicant)
    client.get("/accounts/two-factor/")
    device = TOTPDevice.objects.get(user=applicant, confirmed=False)
    assert client.post("/accounts/two-factor/", {"code": current_code(device)}).status_code == 200
    assert phone.get("/dashboard/").status_code == 302
    assert client.get("/dashboard/").status_code == 200
    assert AuditEvent.objects.get(verb="user.second_factor_enrol").changes == {
        "device": "Authenticator app",
        "sessions_ended": 1,
    }
