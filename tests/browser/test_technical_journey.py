"""The technical assessment of a hosting proposal in the browser: the programme officer assigns a technical expert
from the queue linked on the evaluation page; the expert declares no conflict, fills the structured form (a draft,
then a submission refused for a missing item, then accepted); the officer reads the result on the consensus page.
Every page is audited at a laptop's and a phone's width."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from calls.evaluation.feasibility import feasibility_items
from calls.models import FeasibilityAssessment
from eurohpc.models import Role
from tests.calls.evaluation_factories import make_batch
from tests.calls.factories import make_call
from tests.conftest import clock_moved_back
from tests.factories import OrganisationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hosting_proposal(db, monkeypatch):
    csc = OrganisationFactory(short_name="CSC", legal_name="CSC - IT Center for Science Ltd.", country="FI")
    applicant = UserFactory(username="applicant", organisation=csc, roles=[Role.APPLICANT])
    officer = UserFactory(username="officer", first_name="Olga", last_name="Officer", roles=[Role.PROGRAMME_OFFICER])
    UserFactory(username="techexpert", first_name="Lars", last_name="Nielsen", roles=[Role.TECHNICAL_EXPERT])
    UserFactory(username="insider", first_name="Ina", last_name="Insider", organisation=csc,
                roles=[Role.TECHNICAL_EXPERT])  # fmt: skip
    with clock_moved_back(monkeypatch, days=2) as (then, freezer):
        call = make_call(opens_at=then - timedelta(days=30), cut_offs=[then + timedelta(hours=1)])
        return make_batch(call=call, applicant=applicant, officer=officer, freezer=freezer, acronyms=["NORDAI"])[0]


def test_officer_assigns_and_the_expert_assesses_item_by_item(browser, hosting_proposal):
    proposal = hosting_proposal
    page = browser.page
    browser.accept_dialogs()
    success = page.locator(".message-success")

    browser.log_in("officer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Evaluation", exact=True).click()
    browser.audit()
    page.get_by_role("link", name="Technical assessments").click()
    browser.audit()
    expect(page.get_by_role("heading", name="Technical assessments", level=1)).to_be_visible()
    row = page.locator("table.table tbody tr").filter(has_text=proposal.reference)
    expect(row).to_contain_text("not submitted")
    expect(row.locator(".conflicts")).to_have_text("Conflict: Ina Insider")  # the applicant's own engineer
    expect(row.get_by_label(f"Technical expert for {proposal.reference}").locator("option")).to_have_text(
        ["Lars Nielsen"]
    )
    row.get_by_role("button", name="Assign").click()
    browser.audit()
    expect(success).to_have_text(f"Lars Nielsen assigned to the technical assessment of {proposal}.")
    expect(row).to_contain_text("Declare conflict of interest")

    page.context.clear_cookies()
    browser.log_in("techexpert")
    expect(page.get_by_text("1 to declare")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Technical assessments").click()
    browser.audit()
    page.get_by_role("link", name=f"{proposal.reference} NORDAI").click()
    browser.audit()
    page.get_by_label("I have no conflict of interest with this proposal").check()
    page.get_by_role("button", name="Record my declaration").click()
    browser.audit()
    expect(success).to_have_text(f"Declaration recorded: proposal {proposal} is open to you.")

    items = feasibility_items()
    for item in items[:-1]:
        page.get_by_role("group", name=item.name).get_by_label("Pass").check()
        page.get_by_label("Comment").nth(items.index(item)).fill(f"{item.name}: checked on the site visit.")
    page.get_by_role("button", name="Save draft").click()
    browser.audit()
    expect(success).to_have_text("Draft saved.")
    expect(page.get_by_role("group", name=items[0].name).get_by_label("Pass")).to_be_checked()

    page.get_by_label("Summary").fill("Feasible, except that the access policy offers no Union share yet.")
    page.get_by_role("button", name="Submit assessment").click()
    browser.audit()
    expect(page.locator(".message-error").first).to_have_text(
        "The technical assessment cannot be accepted: 2 problem(s)."
    )
    last = page.get_by_role("group", name=items[-1].name)
    expect(last.locator(".errorlist li")).to_have_text(
        ["Access policy: choose pass or fail.", "Access policy: a comment is required."]
    )
    last.get_by_label("Fail").check()
    page.get_by_label("Comment").nth(len(items) - 1).fill("No share of the access time is offered to the Union.")
    page.get_by_role("button", name="Submit assessment").click()
    browser.audit()
    expect(success).to_have_text("Technical assessment submitted: it is now locked.")
    expect(page.get_by_role("button", name="Submit assessment")).to_have_count(0)
    assert FeasibilityAssessment.objects.get(proposal=proposal).passed is False

    page.context.clear_cookies()
    browser.log_in("officer")
    browser.goto(f"/officer/evaluation/proposals/{proposal.pk}/consensus/")
    section = page.locator("section").filter(has=page.get_by_role("heading", name="Technical assessment"))
    expect(section.locator(".badge").first).to_have_text("failed")
    expect(section.locator("tbody tr")).to_have_count(len(items))
    expect(section.locator("tbody tr").last).to_contain_text("No share of the access time is offered to the Union.")
