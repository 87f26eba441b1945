"""The layout at a laptop's and a phone's width: no page scrolls sideways, and the main menu folds on a phone."""

import pytest
from playwright.sync_api import expect

from eurohpc.models import Role
from tests.browser.conftest import VIEWPORT, Browser
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
# Every entry a programme officer sees, the longest menu of any role.
OFFICER_MENU = [
    "Calls",
    "Access",
    "Dashboard",
    "Submissions",
    "Machines",
    "Projects",
    "Allocations",
    "Evaluation",
    "Finance",
    "Grants",
    "Audit trail",
    "API",
]


@pytest.fixture
def officer(db):
    return UserFactory(username="officer", first_name="Olga", last_name="Officer", roles=[Role.PROGRAMME_OFFICER])


def main_menu(page):
    return page.get_by_role("navigation", name="Main")


def test_the_audit_fails_a_page_wider_than_a_phone_and_names_what_sticks_out(browser):
    browser.goto("/calls/")
    browser.page.evaluate(
        """() => {
        const wide = document.createElement("div");
        wide.className = "too-wide";
        wide.style.width = "600px";
        wide.textContent = "A line as wide as a laptop screen";
        document.querySelector("main").append(wide);
    }"""
    )

    with pytest.raises(AssertionError, match=r"^/calls/ scrolls sideways at 390 px: .* div\.too-wide \(right edge at"):
        browser.audit()


def test_a_wide_table_scrolls_in_its_box_and_the_page_does_not(browser):
    browser.goto("/calls/")
    browser.page.evaluate(
        """() => {
        const box = document.createElement("div");
        box.className = "table-scroll";
        box.innerHTML = '<table class="table"><caption>Wide</caption><tr><th scope="row">Row</th>'
            + '<td style="min-width: 900px">wide cell</td></tr></table>';
        document.querySelector("main").append(box);
    }"""
    )

    browser.audit()  # the page fits at both widths and axe-core passes, the box focusable where it scrolls


def test_on_a_laptop_the_longest_menu_is_one_line(browser, officer):
    browser.log_in("officer")

    links = main_menu(browser.page).get_by_role("link")
    expect(links).to_have_text(OFFICER_MENU)
    tops = {round(links.nth(i).bounding_box()["y"]) for i in range(len(OFFICER_MENU))}
    assert len(tops) == 1, f"the menu takes {len(tops)} lines at {VIEWPORT['width']} px"


def test_on_a_phone_the_menu_folds_behind_a_button(browser, officer):
    page = browser.page
    browser.log_in("officer")
    page.set_viewport_size(PHONE)
    button = page.get_by_role("button", name="Menu")

    expect(button).to_have_attribute("aria-expanded", "false")
    expect(main_menu(page)).to_be_hidden()
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(main_menu(page).get_by_role("link")).to_have_text(OFFICER_MENU)
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()
    expect(main_menu(page)).to_be_hidden()


def test_on_a_phone_the_menu_opens_from_the_keyboard(browser, officer):
    page = browser.page
    browser.log_in("officer")
    page.set_viewport_size(PHONE)
    button = page.get_by_role("button", name="Menu")

    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    expect(main_menu(page).get_by_role("link", name="Calls")).to_be_focused()


def test_without_script_the_menu_stays_open_on_a_phone(chromium, live_server, officer):
    context = chromium.new_context(viewport=PHONE, locale="en-GB", java_script_enabled=False)
    try:
        browser = Browser(context.new_page(), live_server.url, script=False)
        browser.log_in("officer")

        expect(browser.page.get_by_role("button", name="Menu")).to_have_count(0)
        expect(main_menu(browser.page).get_by_role("link")).to_have_text(OFFICER_MENU)
        for i in range(len(OFFICER_MENU)):
            expect(main_menu(browser.page).get_by_role("link").nth(i)).to_be_visible()
    finally:
        context.close()
