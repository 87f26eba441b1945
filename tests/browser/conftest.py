"""Real-browser journeys: Playwright's sync API drives Debian's Chromium (/usr/bin/chromium) against a live server.

Every page a journey visits goes through `Browser.audit()`, at a laptop's width (1366 px) and a phone's
(390 px): at each it fails when the page scrolls sideways (naming the element that sticks out furthest), runs the
vendored axe-core (tests/browser/vendor/axe.min.js, from the npm package axe-core) and fails on any serious or
critical violation; every finding (moderate and minor too) is appended to var/axe-findings.jsonl. The journey
then goes on at the size it had. A failing test leaves a screenshot of the page in var/screenshots/.
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
WIDTHS = (1366, 390)  # a laptop, then a phone; the journey itself runs at the first
VIEWPORT = {"width": WIDTHS[0], "height": 900}

# After a resize, two frames let the page's own resize handlers run (app.js marks the table boxes that scroll).
TWO_FRAMES_JS = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
# When the page is wider than the window, name the element whose right edge lies furthest beyond it, skipping those
# clipped by a scrolling box that itself fits (a wide table in its .table-scroll box is fine) and following
# absolutely positioned elements out of the boxes that do not contain them.
OVERFLOW_JS = """() => {
  const width = window.innerWidth, scrollWidth = document.documentElement.scrollWidth;
  if (scrollWidth <= width) return {width, scrollWidth, culprit: null};
  const clipped = (el) => {
    let escaping = getComputedStyle(el).position;
    for (let box = el.parentElement; box && box !== document.documentElement; box = box.parentElement) {
      if (escaping === "fixed") return false;
      const style = getComputedStyle(box);
      if (escaping === "absolute" && style.position === "static" && style.transform === "none") continue;
      if (style.overflowX !== "visible") return box.getBoundingClientRect().right <= width + 0.5;
      escaping = style.position;
    }
    return false;
  };
  let culprit = null, right = width + 0.5;
  for (const el of document.body.querySelectorAll("*")) {
    const rect = el.getBoundingClientRect();
    if (rect.right > right && rect.width && rect.height && !clipped(el)) { culprit = el; right = rect.right; }
  }
  if (!culprit) return {width, scrollWidth, culprit: "(none found)"};
  const classes = typeof culprit.className === "string" ? culprit.className.trim().split(/\\s+/).filter(Boolean) : [];
  const id = culprit.id ? "#" + culprit.id : "";
  const name = culprit.tagName.toLowerCase() + id + classes.map((c) => "." + c).join("");
  const text = culprit.textContent.replace(/\\s+/g, " ").trim().slice(0, 60);
  return {width, scrollWidth, culprit: `${name} (right edge at ${Math.round(right)} px${text ? `, "${text}"` : ""})`};
}"""


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
    """One person's browser: a page, the live server's address, and an accessibility audit of each page seen.

    `script=False` for a context with JavaScript switched off: timers and frames never fire there, so the audit only
    checks the width (axe-core needs them).
    """

    def __init__(self, page, base_url: str, *, script: bool = True):
        self.page = page
        self.base_url = base_url
        self.script = script
        self.audited: list[str] = []
        self.dialogs: list[str] = []

    def goto(self, path: str):
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.ok, f"GET {path} answered {response and response.status}"
        self.audit()
        return response

    def audit(self) -> None:
        """At each of WIDTHS: fail if the page scrolls sideways, then run axe-core and fail on serious or critical
        violations, naming rules and nodes. The window is then given back the size it had."""
        page = self.page
        page.wait_for_load_state("load")
        path = page.url.removeprefix(self.base_url)
        self.audited.append(path)
        size = page.viewport_size or VIEWPORT
        try:
            for width in WIDTHS:
                page.set_viewport_size({**size, "width": width})
                if self.script:
                    page.evaluate(TWO_FRAMES_JS)
                self._check_fits(path)
                if self.script:
                    self._axe(path, width)
        finally:
            page.set_viewport_size(size)

    def _check_fits(self, path: str) -> None:
        fit = self.page.evaluate(OVERFLOW_JS)
        assert fit["culprit"] is None, (
            f"{path} scrolls sideways at {fit['width']} px: the page is {fit['scrollWidth']} px wide; "
            f"furthest out: {fit['culprit']}"
        )

    def _axe(self, path: str, width: int) -> None:
        page = self.page
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(AXE_SOURCE.read_text())
        results = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
        blocking = [v for v in results["violations"] if v["impact"] in BLOCKING_IMPACTS]
        with AXE_LOG.open("a") as log:  # every finding, moderate and minor included, for whoever looks
            for v in results["violations"]:
                nodes = [" ".join(node["target"]) for node in v["nodes"]]
                entry = {"page": path, "width": width, "rule": v["id"], "impact": v["impact"], "nodes": nodes}
                log.write(json.dumps(entry) + "\n")
        assert not blocking, f"axe-core on {path} at {width} px: " + "; ".join(
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
    context = chromium.new_context(viewport=VIEWPORT, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield Browser(page, live_server.url)
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    context.close()
