"""The login page's single sign-on button (only when configured), the `next` page, and the logout that ends the
provider's session too."""

import os
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from eurohpc.identity.oidc import discovery_cache_clear
from tests.eurohpc.oidc_fixtures import callback_path, free_port, sso_sign_in, sso_start
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BUTTON = '<a class="button secondary" href="/accounts/sso/start/">Sign in with EU Login</a>'


def test_login_page_shows_the_sso_button_when_configured(client, sso, settings):
    assert BUTTON in client.get("/accounts/login/").content.decode()
    settings.OIDC_PROVIDER_NAME = "the Commission's identity service"
    assert "Sign in with the Commission&#x27;s identity service</a>" in client.get("/accounts/login/").content.decode()


def test_login_page_has_no_sso_button_and_sso_pages_are_404_while_oidc_issuer_is_empty(client, settings):
    settings.OIDC_ISSUER = ""
    settings.OIDC_RP_CLIENT_ID = "aif-grants"
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and "Sign in with" not in page.content.decode()
    assert client.get("/accounts/sso/start/").status_code == 404
    assert client.get("/accounts/sso/callback/?code=a&state=b").status_code == 404


def test_sso_button_keeps_the_next_page_and_the_callback_goes_there(client, sso):
    page = client.get("/accounts/login/?next=/calls/").content.decode()
    assert 'href="/accounts/sso/start/?next=/calls/"' in page
    back = sso.sign_in(sso_start(client, "/accounts/sso/start/?next=/calls/"), "jonas")
    response = client.get(callback_path(back))
    assert (response.status_code, response["Location"]) == (302, "/calls/")


def test_password_login_still_works_with_sso_configured(client, sso):
    UserFactory(username="local")
    response = client.post("/accounts/login/", {"username": "local", "password": "correct-horse-battery"})
    assert (response.status_code, response["Location"]) == (302, "/dashboard/")


def test_logout_of_an_sso_session_goes_on_to_the_providers_end_session_with_the_id_token(client, sso):
    browser = requests.Session()  # the browser's side at the provider: signed in there too
    sso_sign_in(client, sso, "jonas", browser=browser)
    id_token = client.session["oidc_id_token"]
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{sso.issuer}/end-session"
    assert parse_qs(location.query) == {"id_token_hint": [id_token], "post_logout_redirect_uri": ["http://testserver/"]}
    assert "_auth_user_id" not in client.session
    # The provider ends its session and sends the browser home; a new sign-in asks for the password again.
    ended = browser.get(response["Location"], allow_redirects=False, timeout=10)
    assert (ended.status_code, ended.headers["Location"]) == (302, "http://testserver/")
    again = browser.get(sso_start(client), allow_redirects=False, timeout=10)
    assert urlsplit(again.headers["Location"]).path == "/login/"


def test_logout_of_a_password_session_goes_home(client, sso):
    client.force_login(UserFactory(username="local"))
    response = client.post("/accounts/logout/")
    assert (response.status_code, response["Location"]) == (302, "/")
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session_here_when_the_provider_cannot_be_reached(client, sso, settings):
    sso_sign_in(client, sso, "jonas")
    settings.OIDC_ISSUER = f"http://127.0.0.1:{free_port()}/openid"  # discovery fails: only the session here ends
    discovery_cache_clear()
    response = client.post("/accounts/logout/")
    assert (response.status_code, response["Location"]) == (302, "/")
    assert "_auth_user_id" not in client.session


def test_settings_let_the_logout_form_lead_to_the_provider_only_when_configured():
    show = "from eurohpc import settings; print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action'])"

    def form_action(issuer: str) -> str:
        env = {**os.environ, "OIDC_ISSUER": issuer}
        done = subprocess.run([sys.executable, "-c", show], env=env, capture_output=True, text=True, check=True)  # noqa: S603
        return done.stdout

    assert form_action("https://ecas.ec.europa.eu/cas/oauth2") == "[\"'self'\", 'https://ecas.ec.europa.eu']\n"
    assert form_action("") == "[\"'self'\"]\n"
