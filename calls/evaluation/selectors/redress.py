"""Reads of the evaluation review (redress) procedure: the window in which an outcome may be contested, the
programme office's list of requests, one request with its committee and history, and an applicant's requests.

`redress_window` answers for the request page and for `redress_request_submit` alike, so the page offers the
form exactly when the service would accept it (apart from the grounds themselves).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Case, Count, DateTimeField, ExpressionWrapper, F, Q, QuerySet, When
from django.utils import timezone

from calls.evaluation.calendar import redress_deadline
from calls.models import Call, Decision, DecisionPublication, Proposal, RedressCommitteeMember, RedressRequest
from eurohpc.formatting import local
from eurohpc.models import AuditEvent

R = RedressRequest.Status
OPEN_STATUSES = (R.SUBMITTED, R.IN_REVIEW, R.RE_EVALUATION)
CONTESTABLE = (Decision.Outcome.RESERVE, Decision.Outcome.REJECTED)

# The programme office's own targets for each open step, counted from the step before it. They order the office's
# list (overdue work first) and are not promised to the applicant, whose only deadline is the request's own.
STEP_TARGETS = {
    R.SUBMITTED: ("submitted_at", timedelta(days=10)),  # admissibility recorded
    R.IN_REVIEW: ("admissibility_at", timedelta(days=30)),  # the committee's opinion
    R.RE_EVALUATION: ("opinion_at", timedelta(days=60)),  # new experts, new consensus, conclusion
}


@dataclass(frozen=True)
class RedressWindow:
    """Whether an outcome of `proposal` can be contested now, and why not."""

    proposal: Proposal
    decision: Decision | None  # the latest notified decision
    notified_at: datetime | None
    deadline: datetime | None
    refusal: tuple[str, str, str] | None  # (error class name, code, message) the service raises; None: open
    existing: RedressRequest | None = None

    @property
    def is_open(self) -> bool:
        return self.refusal is None


def notified_at(*, decision: Decision, publication: DecisionPublication | None) -> datetime | None:
    """When the applicant learnt of `decision`: the publication of its cut-off for a decision taken before it, else
    the decision itself (a promotion, a withdrawal, an evaluation review's outcome); None before publication."""
    if publication is None:
        return None
    return max(publication.published_at, decision.decided_at)


def redress_window(*, proposal: Proposal, now: datetime | None = None) -> RedressWindow:
    """The contestable decision of `proposal`, when it was notified, the deadline of a request, and the refusal a
    request would meet now (None when it would be accepted). Three queries."""
    now = now or timezone.now()
    call = proposal.call
    decision = Decision.objects.filter(proposal_id=proposal.pk).order_by("-id").first()
    publication = (
        DecisionPublication.objects.filter(cut_off_id=proposal.cut_off_id).first() if proposal.cut_off_id else None
    )
    when = notified_at(decision=decision, publication=publication) if decision else None
    deadline = redress_deadline(call=call, notified_at=when) if when else None

    def refused(kind: str, code: str, message: str, existing=None) -> RedressWindow:
        return RedressWindow(proposal, decision, when, deadline, (kind, code, message), existing)

    if call.prong == Call.Prong.ACCESS:
        return refused(
            "StateConflict",
            "access_call",
            f"{call.identifier} is an access call: its applications are decided by the access committee; the "
            f"evaluation review procedure is for the hosting calls' proposals.",
        )
    if decision is None or when is None:
        return refused(
            "StateConflict",
            "not_notified",
            f"No outcome of proposal {proposal} has been notified yet: an evaluation review is requested after the "
            f"decisions are published.",
        )
    existing = RedressRequest.objects.filter(proposal_id=proposal.pk, decision_id=decision.pk).first()
    if existing is not None:
        return refused(
            "StateConflict",
            "redress_exists",
            f"An evaluation review of this outcome of proposal {proposal} was already requested ({existing.reference}"
            f"): one request per proposal and outcome.",
            existing,
        )
    if decision.kind == Decision.Kind.REDRESS:
        return refused(
            "StateConflict",
            "redress_final",
            f"The outcome of proposal {proposal} was recorded at the end of an evaluation review: it is not "
            f"contested again.",
        )
    if decision.outcome not in CONTESTABLE or proposal.status != decision.outcome:
        return refused(
            "StateConflict",
            "nothing_to_contest",
            f"Proposal {proposal} is {proposal.get_status_display().lower()}: an evaluation review contests a "
            f"reserve-list or rejection outcome.",
        )
    if now > deadline:
        return refused(
            "StateConflict",
            "redress_late",
            f"The outcome of proposal {proposal} was notified on {local(when)}: an evaluation review could be "
            f"requested until {local(deadline)}.",
        )
    return RedressWindow(proposal, decision, when, deadline, None)


def _step_due():
    """The due date of the request's open step (STEP_TARGETS), in SQL; None once it is closed."""
    return Case(
        *[
            When(status=status, then=ExpressionWrapper(F(field) + delta, output_field=DateTimeField()))
            for status, (field, delta) in STEP_TARGETS.items()
        ],
        default=None,
        output_field=DateTimeField(),
    )


def redress_list(*, status: str | None = None, call_id: int | None = None) -> QuerySet[RedressRequest]:
    """The requests for the programme office: open steps by due date (overdue first), then closed ones, newest
    first. One query per page (the proposal, its call and organisation joined)."""
    requests = (
        RedressRequest.objects.select_related("proposal__call", "proposal__organisation")
        .annotate(step_due=_step_due())
        .order_by(F("step_due").asc(nulls_last=True), "-submitted_at", "-id")
    )
    if status:
        requests = requests.filter(status=status)
    if call_id:
        requests = requests.filter(proposal__call_id=call_id)
    return requests


def step_due(request: RedressRequest) -> datetime | None:
    """The due date of the open step of one request (the list annotates it)."""
    if hasattr(request, "step_due"):
        return request.step_due
    target = STEP_TARGETS.get(request.status)
    return getattr(request, target[0]) + target[1] if target else None


def redress_calls() -> QuerySet[Call]:
    """The calls with at least one request, for the list's filter."""
    return Call.objects.filter(proposals__redress_requests__isnull=False).distinct().order_by("identifier")


@dataclass
class RedressDetail:
    request: RedressRequest
    committee: list[RedressCommitteeMember]
    history: list[AuditEvent]
    step_due: datetime | None


def redress_request_detail(*, pk: int) -> RedressDetail | None:
    """One request with its proposal, decisions, committee and audit history, in four queries."""
    request = (
        RedressRequest.objects.select_related(
            "proposal__call",
            "proposal__cut_off",
            "proposal__organisation",
            "proposal__consensus",
            "decision",
            "outcome_decision",
            "submitted_by",
            "admissibility_by",
            "opinion_by",
        )
        .filter(pk=pk)
        .first()
    )
    if request is None:
        return None
    committee = list(request.committee.select_related("member", "appointed_by").order_by("appointed_at", "id"))
    history = list(
        AuditEvent.objects.filter(target_type="calls.redressrequest", target_id=str(request.pk))
        .select_related("actor")
        .order_by("seq")
    )
    return RedressDetail(request=request, committee=committee, history=history, step_due=step_due(request))


def proposal_redress_requests(*, proposal: Proposal) -> QuerySet[RedressRequest]:
    """The requests of one proposal, oldest first, with their contested and resulting decisions."""
    return (
        RedressRequest.objects.filter(proposal_id=proposal.pk)
        .select_related("decision", "outcome_decision")
        .order_by("submitted_at", "id")
    )


def applicant_redress_requests(*, user) -> QuerySet[RedressRequest]:
    """The requests of the user's organisation's proposals, open ones first, newest first."""
    if user.organisation_id is None:
        return RedressRequest.objects.none()
    return (
        RedressRequest.objects.filter(proposal__organisation_id=user.organisation_id)
        .select_related("proposal__call")
        .order_by(Case(When(status__in=OPEN_STATUSES, then=0), default=1), "-submitted_at", "-id")
    )


def committee_seats(*, user) -> QuerySet[RedressCommitteeMember]:
    """The user's seats on committees of requests still with the committee."""
    return (
        RedressCommitteeMember.objects.filter(member_id=user.pk, request__status=R.IN_REVIEW)
        .select_related("request__proposal")
        .order_by("appointed_at", "id")
    )


@dataclass
class RedressWork:
    to_admit: int
    to_appoint: int  # admitted, fewer than two members without a conflict
    with_committee: int
    re_evaluations: int
    overdue: int
    my_seats: list[RedressCommitteeMember]


def officer_redress_work(*, user) -> RedressWork:
    """The office's pending evaluation review work for the dashboard, in two queries."""
    now = timezone.now()
    seated = Count("committee", filter=~Q(committee__declaration="conflict"))
    rows = list(
        RedressRequest.objects.filter(status__in=OPEN_STATUSES)
        .annotate(step_due=_step_due(), seated=seated)
        .values_list("status", "step_due", "seated")
    )
    seats = list(committee_seats(user=user))
    return RedressWork(
        to_admit=sum(1 for s, _, _ in rows if s == R.SUBMITTED),
        to_appoint=sum(1 for s, _, n in rows if s == R.IN_REVIEW and n < 2),
        with_committee=sum(1 for s, _, _ in rows if s == R.IN_REVIEW),
        re_evaluations=sum(1 for s, _, _ in rows if s == R.RE_EVALUATION),
        overdue=sum(1 for _, due, _ in rows if due is not None and due < now),
        my_seats=seats,
    )


def involved_officer_ids(*, request: RedressRequest) -> set[int]:
    """The users who took part in the evaluation of the request's proposal or in the request's admissibility (the
    rule of `redress_committee_appoint`), in five queries whatever their number."""
    from calls.models import Assignment, Consensus

    proposal = request.proposal
    ids: set[int] = set()
    for evaluator_id, assigned_by_id in Assignment.objects.filter(proposal_id=proposal.pk).values_list(
        "evaluator_id", "assigned_by_id"
    ):
        ids |= {evaluator_id, assigned_by_id}
    ids |= set(Consensus.objects.filter(proposal_id=proposal.pk).values_list("recorded_by_id", flat=True))
    ids |= set(
        AuditEvent.objects.filter(
            verb="evaluation.consensus",
            target_type="calls.proposal",
            target_id=str(proposal.pk),
            actor_id__isnull=False,
        ).values_list("actor_id", flat=True)
    )
    ids |= set(Decision.objects.filter(proposal_id=proposal.pk).values_list("decided_by_id", flat=True))
    ids |= set(
        DecisionPublication.objects.filter(cut_off_id=proposal.cut_off_id).values_list("published_by_id", flat=True)
    )
    if request.admissibility_by_id:
        ids.add(request.admissibility_by_id)
    return ids


def committee_candidates(*, request: RedressRequest, seated: list[RedressCommitteeMember]):
    """The programme officers who may be appointed to the request's committee now: active, not involved, not
    seated yet. In six queries."""
    from eurohpc.models import Role, User

    excluded = involved_officer_ids(request=request) | {s.member_id for s in seated}
    return list(
        User.objects.filter(is_active=True, role_grants__role=Role.PROGRAMME_OFFICER)
        .exclude(pk__in=excluded)
        .distinct()
        .order_by("last_name", "first_name", "pk")
    )
