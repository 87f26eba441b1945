"""Journey: single sign-on through a real OpenID Connect provider on loopback (tests/oidc_provider). A newcomer
clicks "Sign in with EU Login" on the login page, signs in on the provider's own form, lands on the dashboard with
a new account that has no role; logging out ends the provider's session too and comes back home. Our pages at
1366 and 390 px."""

import copy
import re

import pytest
from playwright.sync_api import expect

from eurohpc.models import ExternalIdentity, User
from tests.oidc_provider.people import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def provider_for_live_server(sso, live_server, settings):
    sso.allow(redirect_uri=f"{live_server.url}/accounts/sso/callback/", post_logout_uri=f"{live_server.url}/")
    # As the settings do for OIDC_ISSUER from the environment: the logout form may lead to the provider.
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"].append(sso.base_url)
    settings.CONTENT_SECURITY_POLICY = policy
    return sso


def test_sso_sign_in_and_logout_through_the_identity_provider(browser, provider_for_live_server):
    page = browser.page
    browser.goto("/accounts/login/")
    page.get_by_role("link", name="Sign in with EU Login").click()

    # The provider's own login form.
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/login/"))
    page.get_by_label("Username").fill("jonas")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(re.compile(r"/dashboard/$"))
    browser.audit()
    expect(page.get_by_text("Your account was opened from your EU Login sign-in.")).to_be_visible()
    expect(page.locator(".account .who")).to_have_text("Jonas Keller")
    user = User.objects.get(email="jonas.keller@example.eu")
    assert (set(user.roles), user.organisation) == (set(), None)
    assert ExternalIdentity.objects.filter(user=user, issuer=provider_for_live_server.issuer).exists()

    # Logging out goes through the provider's end of session and back home, signed out of both.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{browser.base_url}/")
    expect(page.locator(".account").get_by_role("link", name="Log in")).to_be_visible()
    browser.goto("/accounts/login/")
    page.get_by_role("link", name="Sign in with EU Login").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/login/"))
