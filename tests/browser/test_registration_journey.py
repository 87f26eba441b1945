"""Journey: self-registration. A researcher registers from the login page for an organisation of the register, opens
the verification link of the e-mail, and waits; the programme office confirms in its queue; the new applicant logs
in to the applicant's dashboard. Every page at 1366 and 390 px.

With REGISTRATION_SCREENSHOTS set, the register form and the office's queue are also saved as PNG at both widths
in var/screenshots/ (to look at them)."""

import os
import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from eurohpc.models import MembershipRequest, Organisation, Role, User
from tests.browser.conftest import SCREENSHOTS, WIDTHS
from tests.factories import OrganisationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-registration-passphrase"


@pytest.fixture
def register_and_office(db):
    csc = OrganisationFactory(short_name="CSC", legal_name="CSC - IT Center for Science Ltd.", country="FI")
    OrganisationFactory(short_name="CINECA", legal_name="CINECA Consorzio Interuniversitario", country="IT")
    UserFactory(username="officer", first_name="Pierre", last_name="Lambert", roles=[Role.PROGRAMME_OFFICER])
    return csc


def _screenshots(page, name: str) -> None:
    if not os.environ.get("REGISTRATION_SCREENSHOTS"):
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for width in WIDTHS:
        page.set_viewport_size({**size, "width": width})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(size)


def _log_out(browser) -> None:
    browser.page.get_by_role("button", name="Log out").click()
    browser.page.wait_for_load_state("load")


def test_a_researcher_registers_verifies_and_is_confirmed_as_an_applicant(browser, register_and_office):
    page = browser.page

    # From the login page to the form.
    browser.goto("/accounts/login/")
    page.get_by_role("link", name="Register as staff of your organisation").click()
    browser.audit()
    expect(page.get_by_role("heading", name="Register", level=1)).to_be_visible()
    _screenshots(page, "registration-form")

    # The organisation part shows the fields of the choice made.
    expect(page.get_by_label("Legal name")).to_be_hidden()
    page.get_by_label("It is not in the register: I propose it").check()
    expect(page.get_by_label("Legal name")).to_be_visible()
    expect(page.get_by_label("Organisation in the register")).to_be_hidden()
    browser.audit()
    _screenshots(page, "registration-form-proposed")
    page.get_by_label("It is in the register: I choose it from the list").check()

    page.get_by_label("Username").fill("lena")
    page.get_by_label("First name").fill("Lena")
    page.get_by_label("Last name").fill("Hoffmann")
    page.get_by_label("E-mail address").fill("lena@example.eu")
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_label("Organisation in the register").select_option(
        label="CSC — CSC - IT Center for Science Ltd. (Finland)"
    )
    page.get_by_role("button", name="Register").click()
    browser.audit()
    expect(page.get_by_role("heading", name="Check your e-mail", level=1)).to_be_visible()
    expect(page.locator(".message-success")).to_contain_text("We sent a link to lena@example.eu")
    assert User.objects.get(username="lena").is_active is False

    # The link of the e-mail activates the account; the person then logs in and sees the request waiting.
    link = re.search(r"https?://\S+?(/accounts/verify/\S+/)$", mail.outbox[-1].body, re.M).group(1)
    browser.goto(link)
    expect(page.locator(".message-success")).to_contain_text("Your e-mail address lena@example.eu is verified")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))
    browser.audit()
    expect(page.get_by_text("Your request to act for an organisation awaits the programme office.")).to_be_visible()
    _screenshots(page, "registration-dashboard-waiting")
    _log_out(browser)

    # The programme office confirms from its queue.
    browser.log_in("officer")
    page.get_by_role("link", name="1 registration to confirm").click()
    browser.audit()
    expect(page.get_by_role("heading", name="Registrations to confirm", level=1)).to_be_visible()
    _screenshots(page, "registration-queue")
    page.get_by_role("link", name="Lena Hoffmann").click()
    browser.audit()
    page.get_by_role("button", name="Confirm", exact=True).click()
    browser.audit()
    expect(page.locator(".message-success")).to_have_text(
        "Lena Hoffmann now acts for CSC as an applicant; they are told by e-mail."
    )
    expect(page.get_by_text("No registration waits for confirmation.")).to_be_visible()
    assert MembershipRequest.objects.get().status == "confirmed"
    assert mail.outbox[-1].subject == "Your account is confirmed for CSC"
    _log_out(browser)

    # The new applicant's dashboard.
    browser.log_in("lena", PASSWORD)
    expect(page.get_by_role("heading", name="Applicant", level=2)).to_be_visible()
    expect(page.locator(".account .who")).to_have_text("Lena Hoffmann · CSC")
    assert User.objects.get(username="lena").organisation == Organisation.objects.get(short_name="CSC")


def test_the_office_sees_a_proposed_organisation_and_what_looks_like_it(browser, register_and_office):
    """A second registrant proposes an organisation; the office's queue shows it beside the register's look-alike."""
    from eurohpc.identity.services.registration import (
        ProposedOrganisation,
        email_verify,
        user_register,
        verification_token,
    )

    request = user_register(
        username="luc", email="luc@example.eu", first_name="Luc", last_name="Reuter", password=PASSWORD,
        proposed=ProposedOrganisation(legal_name="CSC IT Centre for Science", short_name="CSC-IT", country="FI",
                                      kind="company"),
    )  # fmt: skip
    email_verify(token=verification_token(user=request.user))
    user_register(username="ana", email="ana@example.eu", first_name="Ana", last_name="Silva", password=PASSWORD,
                  organisation=Organisation.objects.get(short_name="CINECA"))  # fmt: skip
    page = browser.page
    browser.log_in("officer")
    browser.goto("/officer/registrations/")
    expect(page.get_by_text("Same PIC or a similar name: CSC")).to_be_visible()
    expect(page.get_by_text("not verified yet")).to_have_count(1)
    _screenshots(page, "registration-queue-two")
    page.get_by_role("link", name="Luc Reuter").click()
    browser.audit()
    _screenshots(page, "registration-detail-proposed")
    page.get_by_label("Short name").fill("CSC-IT-C")
    page.get_by_role("button", name="Confirm and add to the register").click()
    browser.audit()
    expect(page.locator(".message-success")).to_have_text(
        "Luc Reuter now acts for CSC-IT-C as an applicant; they are told by e-mail."
    )
