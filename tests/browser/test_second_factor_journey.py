"""Journey: a finance officer on an installation that requires a second factor of staff. The first sign-in leads to
the enrolment (QR code and key), then the ten recovery codes; the profile shows the factor and the session. The
next sign-in asks for the app's code; a recovery code works once when the phone is away. Every page at 1366 and
390 px."""

import re
import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from eurohpc.models import Role
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def app_code(secret: str, *, ahead: int = 0) -> str:
    """What an authenticator app shows for the key typed in from the page (`ahead` steps of 30 s later)."""
    raw = secret.replace(" ", "")
    counter = TOTP(b32decode(raw + "=" * (-len(raw) % 8)), step=30, t0=0, digits=6)
    counter.time = time.time() + 30 * ahead
    return f"{counter.token():06d}"


def sign_in(browser, username: str) -> None:
    page = browser.page
    browser.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("load")


def test_staff_enrol_an_authenticator_then_sign_in_with_it(browser, settings):
    settings.STAFF_REQUIRE_2FA = True
    UserFactory(username="finance", first_name="Marta", last_name="Kowalska", roles=[Role.FINANCE_OFFICER])
    page = browser.page

    sign_in(browser, "finance")
    page.wait_for_url(re.compile(r"/accounts/two-factor/\?next="))
    browser.audit()
    expect(page.get_by_text("Staff accounts need a second factor on this installation")).to_be_visible()
    expect(page.get_by_role("img", name="QR code to scan with an authenticator app")).to_be_visible()
    secret = page.locator("code.secret").inner_text()
    # A code from another moment is refused with the rule.
    page.get_by_label("Code from the app").fill(app_code(secret, ahead=20))
    page.get_by_role("button", name="Turn the second factor on").click()
    expect(page.get_by_text("That code is not the one your authenticator app shows now")).to_be_visible()
    browser.audit()
    page.get_by_label("Code from the app").fill(app_code(secret))
    page.get_by_role("button", name="Turn the second factor on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    browser.audit()
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have kept them: continue").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))

    # The profile shows the factor and this browser's session.
    page.get_by_role("link", name=re.compile("Marta Kowalska")).click()
    page.wait_for_url(re.compile(r"/accounts/profile/$"))
    browser.audit()
    expect(page.get_by_text("Recovery codes left:")).to_contain_text("10 of 10")
    expect(page.get_by_text("this browser")).to_be_visible()
    expect(page.get_by_role("button", name="Turn the second factor off")).to_have_count(0)

    # Next sign-in: the password, then the app's code (the next step's: this one was used at enrolment).
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state("load")
    sign_in(browser, "finance")
    page.wait_for_url(re.compile(r"/accounts/two-factor/verify/"))
    browser.audit()
    TOTPDevice.objects.filter(user__username="finance").update(last_t=-1)
    page.get_by_label("Code").fill(app_code(secret))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))

    # Phone away: a recovery code, once.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state("load")
    sign_in(browser, "finance")
    page.wait_for_url(re.compile(r"/accounts/two-factor/verify/"))
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_text("You signed in with a recovery code; it cannot be used again.")).to_be_visible()
    browser.goto("/accounts/profile/")
    expect(page.get_by_text("Recovery codes left:")).to_contain_text("9 of 10")
