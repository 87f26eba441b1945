"""Overdue evaluation work in the browser: the officer finds the late review from the dashboard, reassigns it on
the overdue page, and the late expert finds their assignment closed. Every page at 1366 and 390 px."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from calls.evaluation.services import review_save
from eurohpc.models import Role
from tests.calls.evaluation_factories import assign_all, make_batch, make_evaluators, scores_of
from tests.calls.factories import make_call
from tests.conftest import clock_moved_back
from tests.factories import OrganisationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def late_review(db, monkeypatch):
    """Three experts assigned to a proposal; the first saved a draft and missed the review deadline weeks ago.

    Built with the clock moved back (past the cut-off and the deadline), before the live server handles a request.
    """
    csc = OrganisationFactory(short_name="CSC", legal_name="CSC - IT Center for Science Ltd.", country="FI")
    applicant = UserFactory(username="applicant", organisation=csc, roles=[Role.APPLICANT])
    officer = UserFactory(username="officer", first_name="Olga", last_name="Officer", roles=[Role.PROGRAMME_OFFICER])
    UserFactory(username="spare", first_name="Sara", last_name="Spare", roles=[Role.EVALUATOR])
    with clock_moved_back(monkeypatch, days=40) as (then, move):
        call = make_call(opens_at=then - timedelta(days=30), cut_offs=[then + timedelta(days=1)])
        proposal = make_batch(call=call, applicant=applicant, officer=officer, freezer=move)[0]
        experts = make_evaluators(3, prefix="expert")
        assignments = assign_all(proposal, experts, officer)
        review_save(assignment=assignments[0], scores=scores_of("4", "", ""), comments={}, actor=experts[0])
    return proposal, assignments[0]


def test_officer_reassigns_an_overdue_review(browser, late_review):
    proposal, late = late_review
    page = browser.page
    browser.log_in("officer")
    page.get_by_role("link", name="overdue declarations or reviews").click()
    browser.audit()
    expect(page.get_by_role("heading", name="Overdue evaluation work", level=1)).to_be_visible()
    row = page.locator("table.table tbody tr").filter(has_text=late.evaluator.display_name)
    expect(row).to_contain_text("Individual review")
    row.get_by_label("Replacement expert").select_option(label="Sara Spare (load 0)")
    row.get_by_role("button", name="Reassign").click()
    expect(page.locator(".messages")).to_contain_text("Sara Spare is assigned")
    browser.audit()
    browser.goto(f"/officer/evaluation/cut-offs/{proposal.cut_off_id}/assignments/")
    expect(page.locator("table.matrix")).to_contain_text("closed — reassigned")

    page.context.clear_cookies()
    browser.log_in(late.evaluator.username)
    browser.goto(f"/evaluation/assignments/{late.pk}/")
    expect(page.get_by_role("heading", name="Assignment closed")).to_be_visible()
    expect(page.get_by_role("button", name="Save draft")).to_have_count(0)
