"""Demo data of the evaluation's deadlines, on the demo call's cut-off in evaluation (`calls.seed.demo_evaluation`).

The reserve expert was assigned two days after the cut-off with a short review deadline (three days later, so
before seeding), declared no conflict and saved a draft: their review is overdue. An expert who never declared on
a proposal is overdue with the declaration; another such assignment was reassigned a day before seeding and its
replacement is open. The reminder pass then runs, so the experts' reminders are already sent. Every step lies in
the past. Runs after `calls.seed.demo_evaluation`; idempotent.
"""

from datetime import timedelta

from django.utils import timezone

from calls.evaluation import services
from calls.evaluation.selectors import conflict_reason, overdue_assignments
from calls.models import Assignment, Call, Proposal
from calls.seed.demo_evaluation import DEMO_CALL, RESERVE_EXPERT, _review
from eurohpc.models import User
from eurohpc.seed.demo import replayed_at


def _late_reviewer(*, out, cut_off, officer: User, expert: User) -> None:
    """The reserve expert's overdue review: assigned at cut-off + 2 days, due at + 5 days, a draft saved."""
    if Assignment.objects.filter(proposal__cut_off=cut_off, evaluator=expert).exists():
        return
    start = cut_off.closes_at + timedelta(days=2)
    due = cut_off.closes_at + timedelta(days=5)
    if due >= timezone.now() - timedelta(hours=1):
        out("deadlines: the demo cut-off is too recent for an overdue review")
        return
    unreplaced = Assignment.objects.filter(
        proposal__cut_off=cut_off, declaration=Assignment.Declaration.CONFLICT, replacement__isnull=True
    ).values("proposal_id")
    proposal = next(
        (
            p
            for p in Proposal.objects.filter(cut_off=cut_off, status=Proposal.Status.EVALUATION, consensus=None)
            .exclude(pk__in=unreplaced)  # the recusal stays for the officer to replace
            .select_related("organisation")
            .order_by("reference")
            if not conflict_reason(evaluator=expert, proposal=p)
        ),
        None,
    )
    if proposal is None:
        out("deadlines: no proposal left for the reserve expert")
        return
    with replayed_at(start):
        assignment = services.assignment_create(proposal=proposal, evaluator=expert, actor=officer, deadline=due)
    with replayed_at(start + timedelta(days=1)):
        services.assignment_declare(assignment=assignment, conflict=False, actor=expert)
    with replayed_at(start + timedelta(days=2)):
        _review(assignment, ("3.5", "4", "3"), submit=False)
    out(f"deadlines: {expert.username}'s review of {proposal.reference} is overdue since {due:%d %b %Y}")


def _reassigned(*, out, cut_off, officer: User) -> None:
    """One overdue declaration reassigned a day before seeding (the newest, so the older ones stay overdue)."""
    if Assignment.objects.filter(proposal__cut_off=cut_off, close_reason=Assignment.CloseReason.REASSIGNED).exists():
        return
    moment = timezone.now() - timedelta(days=1)
    rows = [
        r
        for r in overdue_assignments(now=moment, cut_off=cut_off)
        if r.step == "declaration" and r.candidates and r.assignment.evaluator.username != "evaluator1"
    ]
    if len(rows) < 2:
        out("deadlines: not enough overdue declarations to reassign one and keep one")
        return
    row = rows[-1]
    with replayed_at(moment):
        new = services.assignment_reassign(
            assignment=row.assignment, evaluator=row.candidates[0], actor=officer,
            reason="No declaration by the deadline; reminded twice.",
        )  # fmt: skip
    out(
        f"deadlines: {row.assignment.evaluator.username}'s assignment to {row.assignment.proposal.reference} "
        f"reassigned to {new.evaluator.username}"
    )


def seed(*, out) -> None:
    officer = User.objects.filter(username="officer").first()
    expert = User.objects.filter(username=RESERVE_EXPERT[0]).first()
    call = Call.objects.filter(identifier=DEMO_CALL).first()
    if officer is None or expert is None or call is None:
        out("deadlines: no demo evaluation (run calls.seed.demo_evaluation first)")
        return
    cut_off = call.cut_offs.filter(processed_at__isnull=False).order_by("closes_at").first()
    if cut_off is None or not Assignment.objects.filter(proposal__cut_off=cut_off).exists():
        out("deadlines: the demo cut-off is not in evaluation")
        return
    _late_reviewer(out=out, cut_off=cut_off, officer=officer, expert=expert)
    _reassigned(out=out, cut_off=cut_off, officer=officer)
    sent = services.evaluation_reminders_send()
    out(f"deadlines: {sent} reminder(s) sent")
