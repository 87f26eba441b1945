"""Journey 1: an applicant drafts a proposal to an open call, fills the budget, uploads a PDF and submits it."""

import re

import pytest
from playwright.sync_api import expect

from calls.models import Proposal
from eurohpc.models import Role
from tests.calls.factories import make_call, pdf_bytes
from tests.factories import OrganisationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def call(db):
    """An open call (cut-offs in 10 and 100 days) and an applicant of CSC."""
    csc = OrganisationFactory(short_name="CSC", legal_name="CSC - IT Center for Science Ltd.", country="FI")
    UserFactory(username="applicant", first_name="Aino", last_name="Virtanen", organisation=csc, roles=[Role.APPLICANT])
    return make_call()


def test_applicant_drafts_budgets_uploads_and_submits_a_proposal(browser, call):
    page = browser.page
    browser.accept_dialogs()

    browser.log_in("applicant")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.locator(".account .who")).to_have_text("Aino Virtanen · CSC")

    # The open call, from the public list.
    page.get_by_role("link", name="Calls", exact=True).click()
    browser.audit()
    expect(page.get_by_role("heading", name="Open calls")).to_be_visible()
    page.get_by_role("link", name=call.identifier).click()
    browser.audit()
    expect(page.get_by_role("heading", name=call.identifier, level=1)).to_be_visible()
    expect(page.locator(".countdown")).to_have_text(re.compile(r"^\d+ d \d+ h \d+ min \d+ s$"))
    page.get_by_role("link", name="Start a proposal").click()
    browser.audit()

    # 1 Details.
    expect(page.get_by_role("heading", name=f"New proposal to {call.identifier}")).to_be_visible()
    page.get_by_label("Acquisition of a new AI-optimised supercomputer").check()
    page.get_by_label("Acronym").fill("NORDAI")
    page.get_by_label("Title").fill("A new AI-optimised supercomputer for the Nordics")
    page.get_by_label("Abstract").fill("Training large models for European science and industry.")
    page.get_by_label("Planned machine (new system)").fill("NORDAI-1")
    page.get_by_label("Country where the new system will be sited").select_option("FI")
    page.get_by_role("button", name="Create draft").click()
    browser.audit()
    expect(page.locator(".message-success")).to_have_text(
        "Draft created. Next: the consortium, the budget and the documents."
    )
    expect(page.get_by_role("heading", name=re.compile(r"^NORDAI\s+Draft$"), level=1)).to_be_visible()
    proposal = Proposal.objects.get(acronym="NORDAI")

    # 3 Budget: the totals and the co-funding check update while the applicant types.
    page.get_by_role("link", name="3 Budget").click()
    browser.audit()
    totals = page.locator("tfoot [data-total]")
    expect(totals).to_have_text(["EUR 0.00", "EUR 0.00", "EUR 0.00"])
    page.locator("#id_acquisition-total_cost").fill("200000000")
    page.locator("#id_acquisition-eu_contribution").fill("100000000")
    expect(page.locator("#id_acquisition-national_contribution")).to_have_value("100,000,000.00")
    expect(page.locator('[data-check="acquisition"]')).to_have_text("OK")
    page.locator("#id_operations-total_cost").fill("60000000")
    page.locator("#id_operations-eu_contribution").fill("40000000")
    expect(page.locator('[data-check="operations"]')).to_have_text("EU share above 50% (max EUR 30,000,000.00)")
    page.locator("#id_operations-eu_contribution").fill("30000000")
    expect(page.locator('[data-check="operations"]')).to_have_text("OK")
    page.locator("#id_activities-total_cost").fill("20000000")
    page.locator("#id_activities-eu_contribution").fill("10000000")
    expect(totals).to_have_text(["EUR 280,000,000.00", "EUR 140,000,000.00", "EUR 140,000,000.00"])
    browser.audit()  # with the live checks shown
    page.get_by_role("button", name="Save budget").click()
    browser.audit()
    expect(page.locator(".message-success")).to_have_text("Budget saved.")
    budget = page.locator("section.panel").filter(has=page.get_by_role("heading", name="Budget", exact=True))
    expect(budget.locator("tfoot td")).to_have_text(
        ["Total", "EUR 280,000,000.00", "EUR 140,000,000.00", "EUR 140,000,000.00"]
    )

    # 4 Documents: the proposal form as a PDF.
    page.get_by_role("link", name="4 Documents").click()
    browser.audit()
    expect(page.get_by_role("cell", name="No document yet.")).to_be_visible()
    page.get_by_label("Kind").select_option("proposal_form")
    page.get_by_label("File").set_input_files(
        {"name": "nordai-proposal.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(2)}
    )
    page.get_by_role("button", name="Upload").click()
    browser.audit()
    expect(page.locator(".message-success")).to_have_text(re.compile(r"^nordai-proposal\.pdf uploaded \(SHA-256 "))
    expect(page.get_by_role("link", name="nordai-proposal.pdf")).to_be_visible()

    # 5 Review and submit: every rule met, confirm the dialog, see the reference.
    page.get_by_role("link", name="Next: review and submit →").click()
    browser.audit()
    expect(page.locator(".badge-bad")).to_have_count(0)
    page.get_by_role("button", name="Submit proposal").click()
    expect(page.locator(".message-success")).to_contain_text("Submitted. Your reference is ")
    browser.audit()
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.SUBMITTED
    assert browser.dialogs == [
        "Submit NORDAI? A submitted proposal can no longer be changed; you may withdraw it until the cut-off."
    ]
    expect(page.locator(".message-success")).to_have_text(
        f"Submitted. Your reference is {proposal.reference}; a receipt is on its way."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"NORDAI\s+Submitted"))
    expect(page.locator("p.muted strong")).to_have_text(proposal.reference)
    expect(page.get_by_role("button", name="Withdraw")).to_be_visible()
