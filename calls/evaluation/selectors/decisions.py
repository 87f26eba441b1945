"""Decisions and their outcome, the officer's evaluation work and the Evaluation Summary Reports."""

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from calls.evaluation.selectors.assignments import IN_OPEN_WORK, TO_DECLARE, TO_SCORE, cut_offs_in_evaluation
from calls.evaluation.selectors.common import OPEN_WORK
from calls.evaluation.selectors.deadlines import overdue
from calls.evaluation.selectors.technical import technical_overdue_count
from calls.models import Assignment, CutOff, Decision, DecisionPublication, Proposal, Review, SummaryReport
from calls.providers import funding_provider


def latest_decision(*, proposal: Proposal) -> Decision | None:
    return Decision.objects.filter(proposal_id=proposal.pk).order_by("-id").first()


def decision_history(*, proposal: Proposal) -> QuerySet[Decision]:
    return Decision.objects.filter(proposal_id=proposal.pk).select_related("decided_by").order_by("id")


def is_published(*, proposal: Proposal) -> bool:
    return (
        proposal.cut_off_id is not None and DecisionPublication.objects.filter(cut_off_id=proposal.cut_off_id).exists()
    )


def proposal_grant(*, proposal: Proposal):
    """The grant prepared from a selected proposal, or None (asked of the grants app: `calls.providers`)."""
    return funding_provider().proposal_grant(proposal.pk)


@dataclass
class OfficerWork:
    recusals_to_replace: int  # experts who declared a conflict, not yet replaced
    declarations_pending: int  # assignments whose expert has not declared yet
    consensus_due: int  # proposals whose reviews are all in, without a consensus
    to_confirm: list[CutOff]  # every proposal has its consensus; the decisions are not all recorded
    to_publish: list[CutOff]  # every proposal decided, not published
    overdue: int = 0  # declarations and reviews past their deadline, to chase or reassign
    technical_overdue: int = 0  # technical assessments past their deadline, to chase or reassign


def officer_evaluation_work() -> OfficerWork:
    """What waits for a programme officer in the evaluations, most urgent first, in four queries."""
    counts = Assignment.objects.filter(IN_OPEN_WORK).aggregate(
        recusals=Count("pk", filter=Q(declaration=Assignment.Declaration.CONFLICT, replacement__isnull=True)),
        pending=Count("pk", filter=TO_DECLARE),
        overdue=Count("pk", filter=overdue(timezone.now())),
    )
    unfinished = Assignment.objects.filter(TO_DECLARE | TO_SCORE, proposal_id=OuterRef("pk"))
    reviewed = Review.objects.filter(
        assignment__proposal_id=OuterRef("pk"), assignment__closed_at__isnull=True, status=Review.Status.SUBMITTED
    )
    consensus_due = (
        Proposal.objects.filter(status__in=OPEN_WORK, consensus__isnull=True)
        .exclude(type=Proposal.Type.ACCESS)  # decided by the access committee, without a consensus
        .filter(Exists(reviewed))
        .exclude(Exists(unfinished))
        .count()
    )
    cut_offs = [c for c in cut_offs_in_evaluation() if getattr(c, "publication", None) is None]
    return OfficerWork(
        recusals_to_replace=counts["recusals"],
        declarations_pending=counts["pending"],
        consensus_due=consensus_due,
        to_confirm=[c for c in cut_offs if c.n_waiting and c.n_consensus == c.n_proposals],
        to_publish=[c for c in cut_offs if not c.n_waiting and c.n_decided],
        overdue=counts["overdue"],
        technical_overdue=technical_overdue_count(),
    )


def summary_report_by_hash(*, sha256: str) -> SummaryReport | None:
    """The rendered Evaluation Summary Report whose PDF has this SHA-256, with its proposal and call (one query).

    A proposal has one report; rendering it again replaces its fingerprint, so only the current file is found.
    """
    return (
        SummaryReport.objects.filter(sha256=sha256.lower(), status=SummaryReport.Status.READY)
        .select_related("proposal__call")
        .first()
    )
