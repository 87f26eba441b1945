"""A real OpenID Connect provider on loopback for the single sign-on tests (tests/oidc_provider, django-oidc-provider).

`oidc_provider` starts it once per test process (each pytest-xdist worker its own): its own SQLite file under the
session's temporary folder, `migrate`, a signing key, the clients and accounts of tests/oidc_provider/people.py,
then `runserver` on a free 127.0.0.1 port, polled until its discovery document answers. Nothing is mocked: our
side talks HTTP to it. `sso` points our settings at it for one test. `LoopbackProvider.sign_in` plays the browser
at the provider (its login form) and returns where the provider sends the browser back to.
"""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from eurohpc.identity.oidc import discovery_cache_clear
from tests.oidc_provider.people import CLIENT_ID, CLIENT_SECRET, PASSWORD

ROOT = Path(__file__).resolve().parents[2]
TEST_HOST = "http://testserver"  # Django's test client
CALLBACK_PATH = "/accounts/sso/callback/"
READY_SECONDS = 60
HTTP_TIMEOUT = 15


@dataclass
class LoopbackProvider:
    base_url: str
    env: dict
    log: Path

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/openid"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def manage(self, *args: str) -> str:
        command = [sys.executable, "-m", "django", *args]
        done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=180)  # noqa: S603
        assert done.returncode == 0, f"loopback provider: {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def allow(self, *, redirect_uri: str, post_logout_uri: str) -> None:
        """Let the clients send the browser back to another address (a live server's)."""
        self.manage("loopback", "allow", "--redirect-uri", redirect_uri, "--post-logout-uri", post_logout_uri)

    def sign_in(self, authorize_url: str, username: str, *, browser: requests.Session | None = None) -> str:
        """The provider's side of a sign-in, as a browser does it: the authorization request sends it to the login
        form; signed in, the authorization request again, which redirects back to the client. Returns that
        address (the client's callback with the code and the state, or with an error)."""
        browser = browser or requests.Session()
        answer = browser.get(authorize_url, allow_redirects=False, timeout=HTTP_TIMEOUT)
        assert answer.status_code == 302, answer.text[:500]
        login_url = urljoin(authorize_url, answer.headers["Location"])
        if urlsplit(login_url).path == "/login/":
            form = browser.get(login_url, timeout=HTTP_TIMEOUT)
            assert form.status_code == 200
            next_page = parse_qs(urlsplit(login_url).query)["next"][0]
            answer = browser.post(
                self.url("/login/"), allow_redirects=False, timeout=HTTP_TIMEOUT,
                data={"username": username, "password": PASSWORD, "next": next_page,
                      "csrfmiddlewaretoken": browser.cookies["loopback_op_csrftoken"]},
            )  # fmt: skip
            assert answer.status_code == 302, f"the provider refused {username}'s password"
            answer = browser.get(self.url(answer.headers["Location"]), allow_redirects=False, timeout=HTTP_TIMEOUT)
            assert answer.status_code == 302, answer.text[:500]
            return answer.headers["Location"]
        return login_url  # already signed in there (or an error): straight back


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the loopback provider stopped (exit {process.returncode}):\n{log.read_text()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the loopback provider did not answer {url} within {READY_SECONDS} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    folder = tmp_path_factory.mktemp("oidc-provider")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
        "LOOPBACK_OIDC_DB": str(folder / "provider.sqlite3"),
        "LOOPBACK_OIDC_SITE_URL": base_url,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    provider = LoopbackProvider(base_url=base_url, env=env, log=folder / "server.log")
    provider.manage("migrate", "--no-input")
    provider.manage(
        "loopback", "setup", "--redirect-uri", TEST_HOST + CALLBACK_PATH, "--post-logout-uri", TEST_HOST + "/"
    )
    with provider.log.open("w") as log:
        process = subprocess.Popen(  # noqa: S603  (this interpreter, fixed arguments)
            [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_ready(process, f"{provider.issuer}/.well-known/openid-configuration", provider.log)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def sso(settings, oidc_provider):
    """Our settings pointed at the loopback provider, with a fresh discovery cache."""
    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "EU Login"
    settings.OIDC_ROLES_CLAIM = ""
    settings.OIDC_ROLE_MAP = {}
    discovery_cache_clear()
    yield oidc_provider
    discovery_cache_clear()


def sso_start(client, path: str = "/accounts/sso/start/") -> str:
    """Our start page: a redirect to the provider's authorization endpoint; its address."""
    response = client.get(path)
    assert response.status_code == 302, response.content.decode()[:500]
    return response["Location"]


def callback_path(url: str) -> str:
    """The path and query of an address on the test host (where the provider sends the browser back)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == TEST_HOST, url
    return f"{parts.path}?{parts.query}"


def sso_sign_in(client, provider: LoopbackProvider, username: str, *, browser: requests.Session | None = None):
    """The whole code flow: our start, the provider's login form, our callback; our callback's response."""
    back = provider.sign_in(sso_start(client), username, browser=browser)
    return client.get(callback_path(back))
