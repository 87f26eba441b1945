"""Journey 2: a programme officer filters the submissions of a passed cut-off and records eligibility."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from calls.models import Proposal
from calls.services import cut_off_process
from eurohpc.models import Role
from tests.calls.factories import make_call, make_submitted
from tests.conftest import clock_moved_back
from tests.factories import OrganisationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def passed_batch(db, monkeypatch):
    """Two proposals submitted to a call whose cut-off passed an hour ago, the batch closed.

    Built through the services with the clock moved back, before the live server handles any request.
    """
    csc = OrganisationFactory(short_name="CSC", legal_name="CSC - IT Center for Science Ltd.", country="FI")
    cineca = OrganisationFactory(short_name="CINECA", legal_name="CINECA Consorzio Interuniversitario", country="IT")
    applicant = UserFactory(username="applicant", organisation=csc, roles=[Role.APPLICANT])
    applicant2 = UserFactory(username="applicant2", organisation=cineca, roles=[Role.APPLICANT])
    officer = UserFactory(username="officer", first_name="Olga", last_name="Officer", roles=[Role.PROGRAMME_OFFICER])
    with clock_moved_back(monkeypatch, hours=2) as (then, _move):
        call = make_call(opens_at=then - timedelta(days=30), cut_offs=[then + timedelta(hours=1)])
        nordai = make_submitted(call=call, applicant=applicant, acronym="NORDAI")
        it4ai = make_submitted(
            call=call,
            applicant=applicant2,
            acronym="IT4AI",
            title="An AI Factory for Italy",
            planned_machine_name="IT4AI-1",
            planned_machine_country="IT",
        )
    cut_off_process(cut_off=nordai.cut_off)
    other_call = make_call(identifier="EUROHPC-2026-CEI-AI-04")
    return officer, call, other_call, Proposal.objects.get(pk=nordai.pk), Proposal.objects.get(pk=it4ai.pk)


def test_officer_filters_submissions_and_records_eligibility(browser, passed_batch):
    officer, call, other_call, nordai, it4ai = passed_batch
    page = browser.page
    assert nordai.cut_off.closes_at < nordai.cut_off.processed_at

    browser.log_in("officer")
    expect(page.locator(".account .who")).to_have_text("Olga Officer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Submissions").click()
    browser.audit()
    expect(page.get_by_role("heading", name="Submissions", level=1)).to_be_visible()
    rows = page.locator("table.table tbody tr")
    expect(rows).to_have_count(2)

    # Filter: the call, then a search on the acronym.
    page.get_by_label("Call").select_option(label=call.identifier)
    page.get_by_label("Search").fill("IT4AI")
    page.get_by_role("button", name="Filter").click()
    browser.audit()
    expect(page).to_have_url(re.compile(rf"\?call={call.pk}&cut_off=&status=&type=&q=IT4AI$"))
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").nth(0)).to_have_text(it4ai.reference)
    expect(rows.first.locator("td").nth(2)).to_have_text("CINECA")

    page.get_by_label("Call").select_option(label=other_call.identifier)
    page.get_by_label("Search").fill("")
    page.get_by_role("button", name="Filter").click()
    browser.audit()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_text("No submission matches.")

    page.get_by_label("Call").select_option(label=call.identifier)
    page.get_by_role("button", name="Filter").click()
    browser.audit()
    expect(rows).to_have_count(2)

    # The eligibility screen of NORDAI: the cut-off has passed, every automatic check is met.
    rows.filter(has_text=nordai.reference).get_by_role("link", name="Eligibility").click()
    browser.audit()
    expect(page.get_by_role("heading", name="Eligibility screen", exact=True)).to_be_visible()
    expect(page.get_by_text("not passed yet")).to_have_count(0)
    expect(page.locator(".badge-bad")).to_have_count(0)
    page.get_by_label("Eligible", exact=True).check()
    page.get_by_label("Reason").fill("All rules met: EU Member State, co-funding within 50%, documents complete.")
    page.get_by_role("button", name="Record eligibility").click()
    browser.audit()

    expect(page.locator(".message-success")).to_have_text(f"Eligibility of {nordai.reference} recorded.")
    expect(page).to_have_url(re.compile(rf"/officer/submissions/\?call={call.pk}$"))
    row = rows.filter(has_text=nordai.reference)
    expect(row.locator(".badge")).to_have_text("Eligible")
    expect(rows.filter(has_text=it4ai.reference).locator(".badge")).not_to_have_text("Eligible")
    nordai.refresh_from_db()
    assert nordai.status == Proposal.Status.ELIGIBLE
    assert nordai.eligibility_decided_by == officer
