"""Journey 3: an independent evaluator declares no conflict of interest, scores every criterion and submits."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from calls.evaluation.services import assignment_create
from calls.models import Proposal
from calls.services import cut_off_process, proposal_record_eligibility
from eurohpc.models import Role
from tests.calls.factories import make_call, make_submitted
from tests.conftest import clock_moved_back
from tests.factories import OrganisationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def assignment(db, monkeypatch):
    """An eligible proposal of a passed cut-off, assigned to evaluator1 by the programme officer."""
    csc = OrganisationFactory(short_name="CSC", legal_name="CSC - IT Center for Science Ltd.", country="FI")
    applicant = UserFactory(username="applicant", organisation=csc, roles=[Role.APPLICANT])
    officer = UserFactory(username="officer", roles=[Role.PROGRAMME_OFFICER])
    evaluator = UserFactory(username="evaluator1", first_name="Eva", last_name="Luator", roles=[Role.EVALUATOR])
    with clock_moved_back(monkeypatch, hours=2) as (then, _move):
        call = make_call(opens_at=then - timedelta(days=30), cut_offs=[then + timedelta(hours=1)])
        proposal = make_submitted(call=call, applicant=applicant, acronym="NORDAI")
    cut_off_process(cut_off=proposal.cut_off)
    proposal = proposal_record_eligibility(
        proposal=Proposal.objects.get(pk=proposal.pk), eligible=True, reason="All rules met.", actor=officer
    )
    return assignment_create(proposal=proposal, evaluator=evaluator, actor=officer)


def test_evaluator_declares_no_conflict_scores_and_submits(browser, assignment):
    page = browser.page
    proposal = assignment.proposal
    browser.accept_dialogs()

    browser.log_in("evaluator1")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My evaluations").click()
    browser.audit()
    expect(page.get_by_role("heading", name="My evaluations", level=1)).to_be_visible()
    row = page.locator("table.table tbody tr").filter(has_text=proposal.reference)
    expect(row.locator(".badge").first).to_have_text("Declare conflict of interest")
    row.get_by_role("link", name=re.compile(re.escape(proposal.reference))).click()
    browser.audit()

    # Before the declaration, the proposal stays closed: no abstract, no documents.
    expect(page.get_by_role("heading", name="Conflict of interest", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Documents", exact=True)).to_have_count(0)
    page.get_by_label("I have no conflict of interest with this proposal").check()
    page.get_by_role("button", name="Record my declaration").click()
    browser.audit()
    expect(page.locator(".message-success")).to_contain_text("Declaration recorded: proposal ")
    expect(page.get_by_role("heading", name="Documents", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="proposal.pdf")).to_be_visible()

    # Score every criterion of the call's scheme (0-5 in half points) with a comment.
    scheme = proposal.call.evaluation_scheme
    scores = {"excellence": "4.5", "impact": "4", "implementation": "3.5"}
    for criterion in scheme["criteria"]:
        name = criterion["name"]
        page.get_by_label(f"{name} score").fill(scores.get(criterion["code"], "4"))
        page.get_by_label(f"{name} comment").fill(f"{name}: convincing, with a credible plan and budget.")
    browser.audit()
    page.get_by_role("button", name="Submit review").click()
    browser.audit()
    expect(page.locator(".message-success")).to_have_text("Review submitted: it is now locked.")
    expect(page.get_by_role("heading", name="Your individual review", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Submitted .*; locked\.$"))).to_be_visible()
    expect(page.get_by_role("button", name="Submit review")).to_have_count(0)
    expect(page.get_by_text("The other evaluators' scores and comments stay closed")).to_be_visible()
    assert all(message.startswith("Submit your review?") for message in browser.dialogs)

    page.get_by_role("link", name="← My evaluations").click()
    browser.audit()
    expect(row.locator(".badge").first).to_have_text("Review submitted")
