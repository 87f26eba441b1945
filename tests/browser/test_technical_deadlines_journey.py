"""An overdue technical assessment in the browser: the officer finds it from the dashboard, reassigns it in the
technical queue, and the late expert finds their assessment closed. Every page at 1366 and 390 px."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from calls.evaluation.services import feasibility_assign, feasibility_declare
from eurohpc.models import Role
from tests.calls.evaluation_factories import make_batch
from tests.calls.factories import make_call
from tests.conftest import clock_moved_back
from tests.factories import OrganisationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def late_assessment(db, monkeypatch):
    """A hosting proposal whose technical expert declared no conflict and missed the deadline weeks ago.

    Built with the clock moved back (past the cut-off and the deadline), before the live server handles a request.
    """
    csc = OrganisationFactory(short_name="CSC", legal_name="CSC - IT Center for Science Ltd.", country="FI")
    applicant = UserFactory(username="applicant", organisation=csc, roles=[Role.APPLICANT])
    officer = UserFactory(username="officer", first_name="Olga", last_name="Officer", roles=[Role.PROGRAMME_OFFICER])
    expert = UserFactory(username="techexpert", first_name="Lars", last_name="Nielsen", roles=[Role.TECHNICAL_EXPERT])
    UserFactory(username="spare", first_name="Sam", last_name="Spare", roles=[Role.TECHNICAL_EXPERT])
    with clock_moved_back(monkeypatch, days=40) as (then, move):
        call = make_call(opens_at=then - timedelta(days=30), cut_offs=[then + timedelta(days=1)])
        proposal = make_batch(call=call, applicant=applicant, officer=officer, freezer=move, acronyms=["NORDAI"])[0]
        assessment = feasibility_assign(proposal=proposal, expert=expert, actor=officer)
        feasibility_declare(assessment=assessment, conflict=False, actor=expert)
    return proposal, assessment


def test_officer_reassigns_an_overdue_technical_assessment(browser, late_assessment):
    proposal, late = late_assessment
    page = browser.page
    browser.log_in("officer")
    page.get_by_role("link", name="overdue technical assessment").click()
    browser.audit()
    expect(page.get_by_role("heading", name="Technical assessments", level=1)).to_be_visible()
    row = page.locator("table.table tbody tr").filter(has_text=proposal.reference)
    expect(row).to_contain_text("Overdue")
    row.get_by_label("Replacement expert").select_option(label="Sam Spare")
    row.get_by_role("button", name="Reassign").click()
    expect(page.locator(".messages")).to_contain_text("Sam Spare is assigned")
    browser.audit()
    expect(row).to_contain_text("closed — reassigned")
    browser.goto("/officer/evaluation/overdue/")
    expect(page.locator("#technical + p + .table-scroll")).to_contain_text("No technical assessment is overdue.")

    page.context.clear_cookies()
    browser.log_in("techexpert")
    browser.goto(f"/evaluation/technical/{late.pk}/")
    expect(page.get_by_role("heading", name="Closed — reassigned", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Save draft")).to_have_count(0)
