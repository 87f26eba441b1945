"""Real-browser journeys: Playwright's sync API drives Debian's Chromium (/usr/bin/chromium) against a live server.

Every page a journey visits goes through `Browser.audit()`, which runs the vendored axe-core
(tests/browser/vendor/axe.min.js, from the npm package axe-core) and fails on any serious or critical
violation; every finding (moderate and minor too) is appended to var/axe-findings.jsonl. A failing test leaves
a screenshot of the page in var/screenshots/.
"""

import json
import re
from pathlib import Path

import pytest
from django.db import connections

from tests.factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
AXE_SOURCE = Path(__file__).with_name("vendor").joinpath("axe.min.js")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
AXE_LOG = SCREENSHOTS.parent / "axe-findings.jsonl"
BLOCKING_IMPACTS = {"serious", "critical"}
TIMEOUT_MS = 15_000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def chromium(django_db_setup, live_server, monkeypatch):
    """Headless Chromium for one test. Playwright's sync API runs an event loop in this thread while it is
    started, so Django's async-safety guard is lifted for the test (its ORM calls stay synchronous)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements.lock)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # Greenlets have their own context, so ORM calls made while Playwright runs open a connection of their own
        # that the test database's teardown does not see: close it here, where it is visible.
        connections.close_all()


class Browser:
    """One person's browser: a page, the live server's address, and an accessibility audit of each page seen."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.audited: list[str] = []
        self.dialogs: list[str] = []

    def goto(self, path: str):
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.ok, f"GET {path} answered {response and response.status}"
        self.audit()
        return response

    def audit(self) -> None:
        """Run axe-core on the current page; fail on serious or critical violations, naming rules and nodes."""
        page = self.page
        page.wait_for_load_state("load")
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(AXE_SOURCE.read_text())
        results = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
        blocking = [v for v in results["violations"] if v["impact"] in BLOCKING_IMPACTS]
        path = page.url.removeprefix(self.base_url)
        self.audited.append(path)
        with AXE_LOG.open("a") as log:  # every finding, moderate and minor included, for whoever looks
            for v in results["violations"]:
                nodes = [" ".join(node["target"]) for node in v["nodes"]]
                log.write(json.dumps({"page": path, "rule": v["id"], "impact": v["impact"], "nodes": nodes}) + "\n")
        assert not blocking, f"axe-core on {path}: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} — "
            + ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
            for v in blocking
        )

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        self.goto("/accounts/login/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url(re.compile(r"/dashboard/$"))
        self.audit()

    def accept_dialogs(self) -> None:
        """Accept every confirm() (forms with data-confirm), remembering what each asked."""

        def accept(dialog):
            self.dialogs.append(dialog.message)
            dialog.accept()

        self.page.on("dialog", accept)


@pytest.fixture
def browser(chromium, live_server, request):
    AXE_LOG.parent.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield Browser(page, live_server.url)
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    context.close()
