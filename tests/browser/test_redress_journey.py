"""Journey: an evaluation review that ends in a re-evaluation. The applicant of a rejected proposal requests it;
the programme office admits it and appoints a committee; a member declares no conflict and asks for a
re-evaluation; the office assigns new experts, who review; the office records the new consensus and concludes;
the applicant sees the new outcome on the receipt. Every page at 1366 and 390 px."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from calls.evaluation.services import assignment_declare
from calls.models import Assignment, Proposal, RedressRequest
from eurohpc.models import Role
from tests.calls.evaluation_factories import make_evaluators, submit_review
from tests.calls.factories import make_call
from tests.calls.redress_factories import make_committee, publish_three
from tests.conftest import clock_moved_back
from tests.factories import OrganisationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def rejected(db, monkeypatch):
    """A cut-off published five days ago: selected, reserve list and (this one) rejected."""
    csc = OrganisationFactory(short_name="CSC", legal_name="CSC - IT Center for Science Ltd.", country="FI")
    applicant = UserFactory(username="applicant", organisation=csc, roles=[Role.APPLICANT])
    officer = UserFactory(username="officer", first_name="Pierre", last_name="Lambert", roles=[Role.PROGRAMME_OFFICER])
    make_committee()  # chair1, chair2: officers outside this evaluation
    experts = make_evaluators(3)
    with clock_moved_back(monkeypatch, days=20) as (then, move):
        call = make_call(indicative_budget=Decimal("100000000.00"), opens_at=then - timedelta(days=30),
                         cut_offs=[then + timedelta(days=5)])  # fmt: skip
        published = publish_three(call, applicant, officer, move, experts)
    return published[2]


def _log_out(browser) -> None:
    browser.page.get_by_role("button", name="Log out").click()
    browser.page.wait_for_load_state("load")


def test_redress_ends_in_a_re_evaluation_and_a_new_outcome(browser, rejected):
    page = browser.page
    browser.accept_dialogs()

    # The applicant requests the review from the outcome page.
    browser.log_in("applicant")
    browser.goto(f"/proposals/{rejected.pk}/outcome/")
    expect(page.get_by_text("you may request an evaluation review until")).to_be_visible()
    page.get_by_role("link", name="Request an evaluation review").click()
    browser.audit()
    page.get_by_label("Shortcomings of the evaluation procedure").fill(
        "The consensus report says the risk register is missing; it is section 3.4 of the proposal form."
    )
    page.get_by_role("button", name="Send the request").click()
    browser.audit()
    request = RedressRequest.objects.get()
    expect(page.locator(".message-success")).to_have_text(f"Your request {request.reference} is received.")
    expect(page.get_by_role("heading", name=re.compile(re.escape(request.reference)), level=1)).to_be_visible()
    _log_out(browser)

    # The office admits it and appoints two officers who took no part in the evaluation.
    browser.log_in("officer")
    browser.goto("/officer/evaluation/")
    page.get_by_role("link", name="Evaluation reviews").first.click()
    browser.audit()
    page.get_by_role("link", name=request.reference).click()
    browser.audit()
    page.get_by_label("Admissible: it concerns the evaluation procedure").check()
    page.get_by_role("button", name="Record admissibility").click()
    browser.audit()
    expect(page.locator(".message-success")).to_have_text("Admissibility recorded; the applicant is told.")
    expect(page.get_by_label("Pierre Lambert")).to_have_count(0)  # he ran the evaluation: not offered
    for member in page.locator("input[name=members]").all():
        member.check()
    page.get_by_role("button", name="Appoint").click()
    browser.audit()
    expect(page.locator(".message-success")).to_contain_text("Committee appointed")
    _log_out(browser)

    # A committee member declares no conflict and asks for a re-evaluation.
    browser.log_in("chair1")
    page.get_by_role("link", name=f"Review committee: {request.reference}").click()
    browser.audit()
    page.get_by_label("I have no conflict of interest with this request").check()
    page.get_by_role("button", name="Record my declaration").click()
    browser.audit()
    page.get_by_label("Re-evaluate the proposal").check()
    page.get_by_label("The committee's reasons").fill("Section 3.4 holds the risk register the experts missed.")
    page.get_by_role("button", name="Record the opinion").click()
    browser.audit()
    expect(page.get_by_role("heading", name="Re-evaluation")).to_be_visible()
    assert Proposal.objects.get(pk=rejected.pk).status == Proposal.Status.EVALUATION
    _log_out(browser)

    # The office assigns three new experts on the board; they declare and review (their own journey is tested
    # elsewhere).
    new = make_evaluators(3, prefix="fresh")
    browser.log_in("officer")
    browser.goto(f"/officer/evaluation/redress/{request.pk}/")
    page.get_by_role("link", name="assignment board").click()
    browser.audit()
    for expert in new:
        form = page.locator("form").filter(has=page.get_by_role("button", name="Assign", exact=True))
        form.locator("select[name=proposal]").select_option(label=f"{rejected.reference} {rejected.acronym}")
        form.locator("select[name=evaluator]").select_option(label=expert.display_name)
        form.get_by_role("button", name="Assign", exact=True).click()
        browser.audit()
        expect(page.locator(".message-success")).to_contain_text(f"{expert.display_name} assigned to")
    for assignment in Assignment.objects.filter(proposal=rejected, closed_at__isnull=True):
        assignment_declare(assignment=assignment, conflict=False, actor=assignment.evaluator)
        submit_review(Assignment.objects.get(pk=assignment.pk), "5", "5", "5")

    # The new consensus, then the conclusion.
    browser.goto(f"/officer/evaluation/redress/{request.pk}/")
    page.get_by_role("link", name="consensus page").click()
    browser.audit()
    for name in ("Excellence", "Impact", "Implementation"):
        page.get_by_label(f"{name} score").fill("5")
        page.get_by_label(f"{name} comment").fill(f"{name}: the risk register answers the concern.")
    page.get_by_role("button", name="Record the consensus").click()
    browser.audit()
    browser.goto(f"/officer/evaluation/redress/{request.pk}/")
    page.get_by_role("button", name="Conclude the evaluation review").click()
    browser.audit()
    expect(page.locator(".message-success")).to_contain_text("Evaluation review concluded")
    _log_out(browser)

    # The applicant sees the new outcome.
    browser.log_in("applicant")
    browser.goto(f"/evaluation-reviews/{request.pk}/")
    expect(page.get_by_role("heading", name="Outcome after the evaluation review")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Selected .* — changed"))).to_be_visible()
    assert Proposal.objects.get(pk=rejected.pk).status == Proposal.Status.SELECTED
