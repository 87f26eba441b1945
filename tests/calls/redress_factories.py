"""Evaluation reviews built through the services: a published cut-off with a selected, a reserve and a rejected
proposal; a request; an admitted request with its committee; a re-evaluation by new experts."""

from datetime import timedelta

from calls.evaluation.services import (
    consensus_record,
    decisions_confirm,
    decisions_publish,
    redress_admissibility_record,
    redress_committee_appoint,
    redress_committee_declare,
    redress_opinion_record,
    redress_request_submit,
)
from calls.models import DecisionPublication, Proposal, RedressRequest
from eurohpc.models import Role
from tests.calls.evaluation_factories import (
    assign_all,
    batch_of,
    comments_for,
    evaluate,
    make_evaluators,
    scores_of,
    submit_review,
)
from tests.factories import UserFactory

GROUNDS = "The consensus report ignores the letter of support annexed to the proposal: an expert said it was missing."


def publish_three(call, applicant, officer, freezer, experts) -> list[Proposal]:
    """Selected (60M, 5/5/5), reserve list (50M, 4.5), rejected (30M, below threshold). Published."""
    p = batch_of(call, applicant, officer, freezer, ["60000000.00", "50000000.00", "30000000.00"])
    evaluate(p[0], experts, officer, "5", "5", "5")
    evaluate(p[1], experts, officer, "4.5", "4.5", "4.5")
    evaluate(p[2], experts, officer, "2", "2", "2")
    decisions_confirm(cut_off=p[0].cut_off, actor=officer)
    decisions_publish(cut_off=p[0].cut_off, actor=officer)
    return [Proposal.objects.get(pk=x.pk) for x in p]


def published_at(proposal: Proposal):
    return DecisionPublication.objects.get(cut_off_id=proposal.cut_off_id).published_at


def make_committee(prefix: str = "chair", count: int = 2) -> list:
    """Programme officers who took no part in any evaluation."""
    return [UserFactory(username=f"{prefix}{i}", roles=[Role.PROGRAMME_OFFICER]) for i in range(1, count + 1)]


def submit(proposal, applicant, freezer, *, days: float = 1) -> RedressRequest:
    freezer(published_at(proposal) + timedelta(days=days))
    return redress_request_submit(proposal=proposal, grounds=GROUNDS, actor=applicant)


def admit(request, officer, committee) -> RedressRequest:
    redress_admissibility_record(request=request, admissible=True, reason="It concerns the procedure.", actor=officer)
    redress_committee_appoint(request=request, members=committee, actor=officer)
    return RedressRequest.objects.get(pk=request.pk)


def declare_all(request, committee) -> None:
    for seat in request.committee.filter(member__in=committee):
        redress_committee_declare(seat=seat, conflict=False, reason="", actor=seat.member)


def send_to_re_evaluation(request, officer, committee) -> RedressRequest:
    request = admit(request, officer, committee)
    declare_all(request, committee)
    return redress_opinion_record(
        request=request, opinion="re_evaluate", reason="The letter of support was overlooked.", actor=committee[0]
    )


def re_evaluate(proposal, officer, *consensus: str, prefix: str = "new"):
    """New experts assigned, declared, reviewed; the new consensus recorded."""
    experts = make_evaluators(3, prefix=prefix)
    for a in assign_all(Proposal.objects.get(pk=proposal.pk), experts, officer):
        submit_review(a, *consensus)
    consensus_record(
        proposal=Proposal.objects.get(pk=proposal.pk), scores=scores_of(*consensus), comments=comments_for("Again."),
        actor=officer,
    )  # fmt: skip
    return experts
