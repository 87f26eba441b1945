"""Journey 3 of the evaluation: a programme officer records the consensus of each proposal of a cut-off, opens
the ranking with its funding line, decides and publishes the decisions."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from calls.models import Consensus, Decision, DecisionPublication, Proposal, SummaryReport
from eurohpc.models import Role
from tests.calls.evaluation_factories import assess_technical, assign_all, make_batch, submit_review
from tests.calls.factories import make_call
from tests.conftest import clock_moved_back
from tests.factories import OrganisationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CALL = "EUROHPC-2026-CEI-AI-03"
EVALUATORS = [("expert1", "Anna", "Berg"), ("expert2", "Jonas", "Keller"), ("expert3", "Marie", "Dubois")]
# Requested EU contributions against a EUR 100 million call: NORDAI (60 M) fits, IT4AI (50 M) no longer does.
REQUESTS = {"NORDAI": "60000000.00", "IT4AI": "50000000.00", "ALPAI": "30000000.00"}
# Each evaluator's excellence, impact and implementation scores. On ALPAI the experts' excellence scores lie
# 2.5 points apart, more than the 2 points that flag a criterion for discussion.
REVIEWS = {
    "NORDAI": [("4.5", "4.5", "4"), ("4.5", "4", "4"), ("4", "4.5", "4")],
    "IT4AI": [("4", "4", "3.5"), ("4", "4", "3.5"), ("4", "4", "3.5")],
    "ALPAI": [("1", "4", "4"), ("3.5", "4", "4"), ("2.5", "4", "4")],
}
# What the panel agrees: NORDAI 13, IT4AI 11.5, ALPAI 10.5 with excellence 2.5 below its threshold of 3.
CONSENSUS = {
    "NORDAI": ("4.5", "4.5", "4"),
    "IT4AI": ("4", "4", "3.5"),
    "ALPAI": ("2.5", "4", "4"),
}
CRITERIA = ("Excellence", "Impact", "Implementation")
CONFIRM_PROMPT = (
    "Record the decisions as proposed: proposals above the funding line selected, the reserve list, the others "
    "rejected?"
)
PUBLISH_PROMPT = (
    "Publish the decisions of this cut-off? The applicants are told and the summary reports prepared; afterwards "
    "decisions change only by promotion or withdrawal."
)


@pytest.fixture
def reviewed_batch(db, monkeypatch):
    """Three eligible proposals of a passed cut-off, each with three submitted reviews and no consensus yet.

    Built through the services on a clock moved two days back (make_batch moves it on to just past the cut-off),
    before the live server handles any request; real time again afterwards.
    """
    csc = OrganisationFactory(short_name="CSC", legal_name="CSC - IT Center for Science Ltd.", country="FI")
    applicant = UserFactory(username="applicant", organisation=csc, roles=[Role.APPLICANT])
    officer = UserFactory(username="officer", first_name="Olga", last_name="Officer", roles=[Role.PROGRAMME_OFFICER])
    evaluators = [
        UserFactory(username=username, first_name=first, last_name=last, roles=[Role.EVALUATOR])
        for username, first, last in EVALUATORS
    ]
    with clock_moved_back(monkeypatch, days=2) as (then, freezer):
        call = make_call(identifier=CALL, indicative_budget=Decimal("100000000.00"),
                         opens_at=then - timedelta(days=30), cut_offs=[then + timedelta(hours=1)])  # fmt: skip
        proposals = make_batch(call=call, applicant=applicant, officer=officer, freezer=freezer, count=3,
                               acronyms=list(REQUESTS), budgets=list(REQUESTS.values()))  # fmt: skip
        for proposal in proposals:
            for assignment, scores in zip(
                assign_all(proposal, evaluators, officer), REVIEWS[proposal.acronym], strict=True
            ):
                submit_review(assignment, *scores)
            # New AI systems: each has its passed technical assessment, so that the ranking may select it.
            assess_technical(proposal, officer)
    return {p.acronym: Proposal.objects.get(pk=p.pk) for p in proposals}


def fact(page, term: str):
    """The value of a term of the funding line's facts."""
    return page.locator("dl.facts dt", has_text=term).locator("xpath=following-sibling::dd[1]")


def test_officer_records_consensus_ranks_with_the_funding_line_and_decides(browser, reviewed_batch):
    proposals = reviewed_batch
    nordai, it4ai, alpai = proposals["NORDAI"], proposals["IT4AI"], proposals["ALPAI"]
    page = browser.page
    browser.accept_dialogs()
    success = page.locator(".message-success")

    browser.log_in("officer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Evaluation", exact=True).click()
    browser.audit()
    expect(page.get_by_role("heading", name="Evaluation", level=1)).to_be_visible()
    cut_off_row = page.locator("table.table tbody tr").filter(has_text=CALL)
    expect(cut_off_row.locator("td.num")).to_have_text(["3", "3", "0", "0"])
    expect(cut_off_row.locator(".badge")).to_have_text("not published")
    cut_off_row.get_by_role("link", name="Ranking").click()
    browser.audit()

    # Nothing ranked yet: the three proposals wait for their consensus, each with its three reviews.
    expect(page.get_by_role("heading", name="Ranking", level=1)).to_be_visible()
    expect(page.locator("table.ranking tbody tr")).to_have_text(["No proposal has a consensus yet."])
    waiting = page.get_by_role("heading", name="Waiting for the consensus").locator("xpath=following-sibling::ul/li")
    expect(waiting).to_have_text(
        [f"{p.reference} {p.acronym} — 3 of 3 reviews submitted" for p in sorted(proposals.values(), key=str)]
    )

    for acronym in ("ALPAI", "NORDAI", "IT4AI"):
        proposal = proposals[acronym]
        page.get_by_role("link", name=f"{proposal.reference} {acronym}", exact=True).click()
        browser.audit()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Consensus: {acronym} Under evaluation")
        expect(page.get_by_text("3 submitted reviews; the consensus needs at least 3.")).to_be_visible()

        # The individual scores of the three experts, criterion by criterion, with their spread.
        spread = page.locator("table.spread")
        expect(spread.locator("thead th")).to_have_text(
            ["Criterion", "Anna Berg", "Jonas Keller", "Marie Dubois", "Lowest–highest", "Mean", "Spread"]
        )
        for index, name in enumerate(CRITERIA):
            row = spread.locator("tbody tr").nth(index)
            expect(row.locator("th")).to_have_text(f"{name} (max 5, threshold 3)")
            scores = [review[index] for review in REVIEWS[acronym]]
            expect(row.locator("td.num").nth(0)).to_have_text(scores[0])
            expect(row.locator("td.num").nth(1)).to_have_text(scores[1])
            expect(row.locator("td.num").nth(2)).to_have_text(scores[2])
        if acronym == "ALPAI":
            excellence = spread.locator("tbody tr").nth(0)
            expect(excellence).to_have_class("flagged")
            expect(excellence.locator("td").nth(3)).to_have_text("1–3.5")
            expect(excellence.locator("td").nth(4)).to_have_text("2.33")
            expect(excellence.locator(".badge-bad")).to_have_text("differ by 2.5 points")
            expect(spread.locator("tbody tr.flagged")).to_have_count(1)
        else:
            expect(spread.locator("tbody tr.flagged")).to_have_count(0)
            expect(spread.locator(".badge-bad")).to_have_count(0)
        expect(
            page.get_by_text(
                "Criteria whose individual scores differ by more than 2 points are flagged: discuss them before "
                "agreeing the consensus."
            )
        ).to_be_visible()

        # The consensus report: one agreed score and comment per criterion; the weighted total follows live.
        for name, score in zip(CRITERIA, CONSENSUS[acronym], strict=True):
            page.get_by_label(f"{name} score").fill(score)
            page.get_by_label(f"{name} comment").fill(f"{name}: the panel agrees on {score} after discussion.")
        total = {"NORDAI": "13", "IT4AI": "11.5", "ALPAI": "10.5"}[acronym]
        expect(page.locator("p.total-line")).to_have_text(f"Weighted total: {total} of 15 (overall threshold 10)")
        browser.audit()
        page.get_by_role("button", name="Record the consensus").click()
        browser.audit()
        expect(success).to_have_text(f"Consensus on {proposal.reference} recorded.")
        expect(page.get_by_role("heading", name="Ranking", level=1)).to_be_visible()

    expect(page.get_by_role("heading", name="Waiting for the consensus")).to_have_count(0)

    # The ranking: NORDAI first and alone above the line (60 M of the 100 M); IT4AI passes but no longer fits, so
    # it heads the reserve list; ALPAI fails the excellence threshold.
    expect(fact(page, "Budget of the call")).to_have_text("EUR 100,000,000.00")
    expect(fact(page, "Available in the call now")).to_have_text("EUR 100,000,000.00")
    expect(fact(page, "For this cut-off's line")).to_have_text(
        "EUR 100,000,000.00 (available plus this cut-off's current selections)"
    )
    expect(fact(page, "Above the line")).to_have_text("1 proposal, EUR 60,000,000.00")
    expect(fact(page, "Reserve list")).to_have_text("1 proposal")
    expect(fact(page, "Decisions")).to_have_text("not published")

    rows = page.locator("table.ranking tbody tr")
    expect(rows).to_have_count(4)
    expected = [
        (nordai, "1", ["4.5", "4.5", "4"], "13", "passed", "EUR 60,000,000.00", "above the line"),
        (it4ai, "2", ["4", "4", "3.5"], "11.5", "passed", "EUR 50,000,000.00", "reserve"),
        (alpai, "3", ["2.5", "4", "4"], "10.5", "failed", "EUR 30,000,000.00", "below threshold"),
    ]
    for position, (proposal, rank, scores, total, thresholds, eu, funding) in zip((0, 2, 3), expected, strict=True):
        row = rows.nth(position)
        cells = row.locator("> td")
        expect(cells.nth(0)).to_have_text(rank)
        expect(cells.nth(1)).to_have_text(f"{proposal.reference}{proposal.acronym} · CSC")
        expect(cells.nth(1).get_by_role("link")).to_have_text(proposal.reference)
        expect(cells.nth(2)).to_have_text(scores[0])
        expect(cells.nth(3)).to_have_text(scores[1])
        expect(cells.nth(4)).to_have_text(scores[2])
        expect(cells.nth(5)).to_have_text(total)
        expect(cells.nth(6)).to_have_text(thresholds)
        expect(cells.nth(7)).to_have_text("passed")  # the technical assessment
        expect(cells.nth(8)).to_have_text(eu)
        expect(cells.nth(9)).to_have_text(funding)
        expect(cells.nth(10).locator("span.muted")).to_have_text("to decide")
    expect(rows.nth(1)).to_have_class("funding-line")
    expect(rows.nth(1)).to_have_text("Funding line — EUR 60,000,000.00 of EUR 100,000,000.00")
    expect(rows.nth(0)).to_have_class("funding-above_line")
    expect(rows.nth(2)).to_have_class("funding-reserve")
    expect(rows.nth(3)).to_have_class("funding-below_threshold")
    expect(page.get_by_role("heading", name="Reserve list", level=2)).to_be_visible()
    expect(
        page.get_by_role("heading", name="Reserve list", level=2).locator("xpath=following-sibling::ol/li")
    ).to_have_text([f"{it4ai.reference} IT4AI — total 11.5, requests EUR 50,000,000.00"])

    # A proposal below threshold can only be rejected: the officer records that one decision by hand.
    decision = page.get_by_label(f"Decision on {alpai.reference}")
    expect(decision.locator("option")).to_have_text(["Rejected"])
    expect(page.get_by_label(f"Decision on {nordai.reference}").locator("option")).to_have_text(
        ["Selected", "Reserve list", "Rejected"]
    )
    decision.select_option("rejected")
    rows.nth(3).get_by_role("button", name="Record").click()
    browser.audit()
    expect(success).to_have_text(f"Decision on {alpai.reference} recorded: Rejected.")
    expect(rows.nth(3).locator("> td").nth(10).locator(".badge")).to_have_text("Rejected")
    expect(rows.nth(0).locator("> td").nth(10).locator("span.muted")).to_have_text("to decide")

    # The other decisions as the ranking and the funding line propose them.
    page.get_by_role("button", name="Confirm the proposed decisions").click()
    browser.audit()
    expect(success).to_have_text("Decisions recorded as proposed by the ranking and the funding line.")
    for position, status in ((0, "Selected"), (2, "Reserve list"), (3, "Rejected")):
        expect(rows.nth(position).locator("> td").nth(10).locator(".badge")).to_have_text(status)
    expect(fact(page, "Available in the call now")).to_have_text("EUR 40,000,000.00")
    expect(fact(page, "For this cut-off's line")).to_have_text(
        "EUR 100,000,000.00 (available plus this cut-off's current selections)"
    )
    expect(fact(page, "Above the line")).to_have_text("1 proposal, EUR 60,000,000.00")
    expect(rows.nth(1)).to_have_text("Funding line — EUR 60,000,000.00 of EUR 100,000,000.00")

    page.get_by_role("button", name="Publish the decisions").click()
    browser.audit()
    expect(success).to_have_text(
        "Decisions published: the applicants are told and the evaluation summary reports are being prepared."
    )
    expect(fact(page, "Decisions").locator(".badge")).to_have_text(
        re.compile(r"^published \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} \S+$")
    )
    expect(fact(page, "Decisions")).to_contain_text("by Olga Officer")
    expect(page.get_by_role("button", name="Confirm the proposed decisions")).to_have_count(0)
    expect(page.get_by_role("button", name="Publish the decisions")).to_have_count(0)
    expect(page.get_by_role("button", name="Record")).to_have_count(0)
    expect(page.get_by_role("columnheader", name="Summary report")).to_be_visible()
    for position, status in ((0, "Selected"), (2, "Reserve list"), (3, "Rejected")):
        expect(rows.nth(position).locator("> td").nth(10).locator(".badge")).to_have_text(status)
        expect(rows.nth(position).locator("> td").nth(11)).to_have_text("Ready")
    expect(
        page.get_by_role("heading", name="Reserve list", level=2).locator("xpath=following-sibling::ol/li")
    ).to_have_text([f"{it4ai.reference} IT4AI — total 11.5, requests EUR 50,000,000.00 reserve"])
    assert browser.dialogs == [CONFIRM_PROMPT, PUBLISH_PROMPT]

    page.get_by_role("link", name="← Evaluation").click()
    browser.audit()
    expect(cut_off_row.locator("td.num")).to_have_text(["3", "0", "3", "3"])
    expect(cut_off_row.locator(".badge")).to_have_text(re.compile(r"^published \d{2} [A-Z][a-z]{2} \d{4}$"))

    # What the database holds.
    statuses = dict(Proposal.objects.filter(pk__in=[p.pk for p in proposals.values()]).values_list("acronym", "status"))
    assert statuses == {
        "NORDAI": Proposal.Status.SELECTED,
        "IT4AI": Proposal.Status.RESERVE,
        "ALPAI": Proposal.Status.REJECTED,
    }
    totals = {c.proposal.acronym: (c.total, c.passed_thresholds) for c in Consensus.objects.select_related("proposal")}
    assert totals == {
        "NORDAI": (Decimal("13.00"), True),
        "IT4AI": (Decimal("11.50"), True),
        "ALPAI": (Decimal("10.50"), False),
    }
    decisions = {
        d.proposal.acronym: (d.outcome, d.rank, d.eu_contribution)
        for d in Decision.objects.select_related("proposal").order_by("id")
    }
    assert decisions == {
        "NORDAI": (Decision.Outcome.SELECTED, 1, Decimal("60000000.00")),
        "IT4AI": (Decision.Outcome.RESERVE, 2, Decimal("50000000.00")),
        "ALPAI": (Decision.Outcome.REJECTED, 3, Decimal("30000000.00")),
    }
    assert Decision.objects.count() == 3
    publication = DecisionPublication.objects.get(cut_off_id=nordai.cut_off_id)
    assert publication.published_by.username == "officer"
    assert set(SummaryReport.objects.values_list("status", flat=True)) == {SummaryReport.Status.READY}
    assert SummaryReport.objects.count() == 3
