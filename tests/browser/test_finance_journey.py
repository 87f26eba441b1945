"""Journey 4: a finance officer prepares the grant of a selected proposal, commits it, signs it and downloads
the award letter."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from eurohpc.models import Role
from tests.calls.factories import make_call
from tests.conftest import clock_moved_back
from tests.factories import OrganisationFactory, UserFactory
from tests.grants.factories import CALL_BUDGET, make_selected, make_tree

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def selected(db, monkeypatch):
    """NORDAI selected (three reviews, consensus, decision) in a batch whose cut-off passed, and the envelopes.

    Built through the services on a clock moved two days back (the factories move it to just past the
    cut-off), before the live server handles any request; real time again afterwards.
    """
    csc = OrganisationFactory(short_name="CSC", legal_name="CSC - IT Center for Science Ltd.", country="FI")
    applicant = UserFactory(username="applicant", organisation=csc, roles=[Role.APPLICANT])
    officer = UserFactory(username="officer", roles=[Role.PROGRAMME_OFFICER])
    UserFactory(username="finance", first_name="Fiona", last_name="Finance", roles=[Role.FINANCE_OFFICER])
    with clock_moved_back(monkeypatch, days=2) as (then, freezer):
        call = make_call(indicative_budget=CALL_BUDGET, opens_at=then - timedelta(days=30),
                         cut_offs=[then + timedelta(hours=1)])  # fmt: skip
        proposal = make_selected(applicant=applicant, officer=officer, freezer=freezer, call=call)
    _all_years, year_2024 = make_tree()
    return proposal, year_2024


def test_finance_officer_prepares_commits_signs_and_downloads_the_award_letter(browser, selected):
    selected, envelope = selected
    page = browser.page
    browser.accept_dialogs()

    browser.log_in("finance")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Grants", exact=True).click()
    browser.audit()
    page.get_by_role("link", name="Prepare a grant from a selected proposal").click()
    browser.audit()
    row = page.locator("table.table tbody tr").filter(has_text=selected.reference)
    expect(row).to_contain_text("EUR 140,000,000.00")
    row.get_by_role("button", name="Prepare grant").click()
    browser.audit()
    expect(page.locator(".message-success")).to_have_text(
        re.compile(rf"^Grant \S+ prepared from proposal {re.escape(selected.reference)}\.$")
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("Prepared")

    # The budget commitment against the 2024 envelope.
    page.get_by_label("Envelope").select_option(value=str(envelope.pk))
    page.get_by_label("Amount (EUR)").first.fill("140000000.00")
    page.get_by_role("button", name="Commit").click()
    browser.audit()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Budget committed")

    # The signature (a confirm dialog), which issues the award letter.
    page.get_by_role("button", name="Record signature").click()
    browser.audit()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Signed")
    assert any(message.startswith("Record the signature of ") for message in browser.dialogs)

    download_link = page.get_by_role("link", name="Download PDF")
    expect(download_link).to_be_visible(timeout=30_000)
    with page.expect_download() as info:
        download_link.click()
    download = info.value
    path = download.path()
    assert download.suggested_filename.endswith(".pdf")
    with open(path, "rb") as fh:
        assert fh.read(5) == b"%PDF-"
