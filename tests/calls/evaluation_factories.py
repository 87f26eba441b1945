"""Evaluations built through the services: eligible batches of a cut-off, assignments, declarations, reviews,
consensus and decisions."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from calls.evaluation.feasibility import feasibility_items
from calls.evaluation.services import (
    assignment_create,
    assignment_declare,
    consensus_record,
    feasibility_assign,
    feasibility_declare,
    feasibility_save,
    review_save,
)
from calls.models import TECHNICAL_TYPES, Assignment, FeasibilityAssessment, Proposal
from calls.services import cut_off_process, proposal_record_eligibility
from eurohpc.models import Role, User
from tests.calls.factories import make_submitted
from tests.factories import UserFactory


def budget(eu: str) -> list[dict]:
    """An activities-only budget requesting `eu` from the EU (co-funded 50/50)."""
    amount = Decimal(eu)
    return [
        {
            "category": "activities",
            "total_cost": str(amount * 2),
            "eu_contribution": str(amount),
            "national_contribution": str(amount),
        }
    ]


def make_evaluators(count: int, *, organisation=None, prefix: str = "expert") -> list:
    return [
        UserFactory(username=f"{prefix}{i}", organisation=organisation, roles=[Role.EVALUATOR])
        for i in range(1, count + 1)
    ]


def make_batch(*, call, applicant, officer, freezer, count: int = 1, budgets=None, acronyms=None) -> list[Proposal]:
    """`count` proposals submitted one minute apart to the call's first cut-off, processed and found eligible."""
    start = timezone.now()
    proposals = []
    for i in range(count):
        freezer(start + timedelta(minutes=i))
        kwargs = {"acronym": acronyms[i] if acronyms else f"AIF{i + 1}"}
        if budgets is not None:
            kwargs["budget"] = budget(budgets[i])
        proposals.append(make_submitted(call=call, applicant=applicant, **kwargs))
    cut_off = proposals[0].cut_off
    freezer(cut_off.closes_at + timedelta(seconds=1))
    cut_off_process(cut_off=cut_off)
    return [
        proposal_record_eligibility(proposal=p, eligible=True, reason="All rules met.", actor=officer)
        for p in proposals
    ]


def assign_all(proposal: Proposal, evaluators, officer, *, declare: bool = True) -> list[Assignment]:
    assignments = [assignment_create(proposal=proposal, evaluator=e, actor=officer) for e in evaluators]
    if declare:
        for a in assignments:
            assignment_declare(assignment=a, conflict=False, actor=a.evaluator)
    return assignments


def scores_of(*values: str) -> dict:
    return dict(zip(["excellence", "impact", "implementation"], values, strict=True))


def comments_for(text: str = "Well argued.") -> dict:
    return {"excellence": text, "impact": text, "implementation": text}


def submit_review(assignment: Assignment, *values: str):
    return review_save(
        assignment=assignment, scores=scores_of(*values), comments=comments_for(), actor=assignment.evaluator,
        submit=True,
    )  # fmt: skip


def technical_expert(username: str = "hosting-expert") -> User:
    """The technical expert of the tests (no organisation, so no conflict with any applicant)."""
    return User.objects.filter(username=username).first() or UserFactory(
        username=username, roles=[Role.TECHNICAL_EXPERT]
    )


def feasibility_answers(*, failing: tuple[str, ...] = (), text: str = "Checked against the site visit.") -> dict:
    """Every item passed (but `failing`) with a comment: the `items` and `comments` of feasibility_save."""
    codes = [i.code for i in feasibility_items()]
    return {
        "items": {c: ("fail" if c in failing else "pass") for c in codes},
        "comments": dict.fromkeys(codes, text),
    }


def assess_technical(
    proposal: Proposal, officer, *, expert=None, failing: tuple[str, ...] = (), submit: bool = True
) -> FeasibilityAssessment:
    """Assign a technical expert to a hosting proposal, declare no conflict and submit the assessment (passed
    unless `failing` names items)."""
    expert = expert or technical_expert()
    assessment = feasibility_assign(proposal=proposal, expert=expert, actor=officer)
    feasibility_declare(assessment=assessment, conflict=False, actor=expert)
    return feasibility_save(
        assessment=assessment, **feasibility_answers(failing=failing), summary="Feasible as planned.", actor=expert,
        submit=submit,
    )  # fmt: skip


def evaluate(
    proposal: Proposal, evaluators, officer, *consensus: str, reviews=None, technical: bool = True
) -> Proposal:
    """Assign, declare, review (each evaluator gives the consensus scores unless `reviews` says otherwise) and
    record the consensus; a hosting proposal (new system, upgrade) also gets a passed technical assessment
    unless `technical` is False."""
    assignments = assign_all(proposal, evaluators, officer)
    for index, a in enumerate(assignments):
        submit_review(a, *(reviews[index] if reviews else consensus))
    consensus_record(proposal=proposal, scores=scores_of(*consensus), comments=comments_for("Agreed."), actor=officer)
    if technical and proposal.type in TECHNICAL_TYPES:
        assess_technical(proposal, officer)
    return Proposal.objects.get(pk=proposal.pk)


def batch_of(call, applicant, officer, freezer, eus) -> list[Proposal]:
    """One eligible proposal per EU contribution in `eus`, submitted in that order."""
    return make_batch(call=call, applicant=applicant, officer=officer, freezer=freezer, count=len(eus), budgets=eus)
