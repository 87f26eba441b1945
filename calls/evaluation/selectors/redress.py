"""Reads of the evaluation review (redress) procedure: the window in which an outcome may be contested, the
programme office's list of requests, one request with its committee and history, and an applicant's requests.

`redress_window` answers for the request page and for `redress_request_submit` alike, so the page offers the
form exactly when the service would accept it (apart from the grounds themselves). In the same way
`officer_involvements` is the committee's "uninvolved" rule, `opinion_refusal` the committee's minimum size when it
gives its opinion, and `redress_conclusion` the conclusion's refusal and recomputed outcome: the services raise
what they answer and `calls.evaluation.redress_actions` offers the step only when they answer nothing.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from django.db.models import Case, Count, DateTimeField, ExpressionWrapper, F, Q, QuerySet, When
from django.utils import timezone

from calls.evaluation.calendar import redress_deadline
from calls.evaluation.selectors.ranking import OUTCOME_BY_FUNDING, cut_off_ranking
from calls.evaluation.selectors.technical import technical_refusal
from calls.models import (
    Assignment,
    Call,
    Consensus,
    CutOff,
    Decision,
    DecisionPublication,
    FeasibilityAssessment,
    Proposal,
    RedressCommitteeMember,
    RedressRequest,
)
from eurohpc.formatting import local
from eurohpc.models import AuditEvent, Role, User

R = RedressRequest.Status
OPEN_STATUSES = (R.SUBMITTED, R.IN_REVIEW, R.RE_EVALUATION)
CONTESTABLE = (Decision.Outcome.RESERVE, Decision.Outcome.REJECTED)
# A review committee gives its opinion with at least this many members who have not declared a conflict.
MIN_COMMITTEE = 2

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
    if call_id:
        requests = requests.filter(proposal__call_id=call_id)
    return with_status(requests, status)


def with_status(requests: QuerySet[RedressRequest], status: str | None) -> QuerySet[RedressRequest]:
    """The lists' status filter: a status, or "open" for every request not closed yet."""
    if status == "open":
        return requests.filter(status__in=OPEN_STATUSES)
    return requests.filter(status=status) if status else requests


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

    @cached_property
    def opinion_refusal(self) -> "RedressRefusal | None":
        """Why the committee cannot give its opinion now for want of members (what `redress_opinion_record`
        raises), or None."""
        return opinion_refusal(request=self.request, seats=self.committee)

    @cached_property
    def conclusion_refusal(self) -> "RedressRefusal | None":
        """What `redress_conclude` would refuse now, or None (computed when first read: it ranks the cut-off)."""
        return redress_conclusion_refusal(self.request)


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
        to_appoint=sum(1 for s, _, n in rows if s == R.IN_REVIEW and n < MIN_COMMITTEE),
        with_committee=sum(1 for s, _, _ in rows if s == R.IN_REVIEW),
        re_evaluations=sum(1 for s, _, _ in rows if s == R.RE_EVALUATION),
        overdue=sum(1 for _, due, _ in rows if due is not None and due < now),
        my_seats=seats,
    )


@dataclass(frozen=True)
class RedressRefusal:
    """A step's refusal as its service raises it: a StateConflict (409) with this code and message."""

    code: str
    message: str


def committee_available(seats: list[RedressCommitteeMember]) -> int:
    """The committee's members who have not declared a conflict of interest (pending ones count: they may still
    declare none). The one count behind the appointment, the opinion and their buttons."""
    return sum(1 for s in seats if s.declaration != Assignment.Declaration.CONFLICT)


def opinion_refusal(*, request: RedressRequest, seats: list[RedressCommitteeMember]) -> RedressRefusal | None:
    """Why the committee of `request` (its `seats`, locked by the service) cannot give its opinion for want of
    members, or None."""
    available = committee_available(seats)
    if available >= MIN_COMMITTEE:
        return None
    return RedressRefusal(
        "committee_too_small",
        f"The review committee of {request.reference} has {available} member{'' if available == 1 else 's'} "
        f"without a conflict of interest: it gives its opinion with at least {MIN_COMMITTEE}. The programme office "
        f"must appoint another member first.",
    )


def officer_involvements(*, request: RedressRequest) -> dict[int, str]:
    """The users who took part in the evaluation of the request's proposal (its experts and technical expert, the
    officers who assigned or reassigned them, recorded its consensus, took a decision on it, published its
    cut-off's decisions) or recorded the request's admissibility, each with what they did ("evaluated proposal
    X."), the first found in that order. The rule of `redress_committee_appoint` and of the committee's
    candidates, in six queries whatever their number."""
    proposal = request.proposal
    found: dict[int, str] = {}

    def add(user_ids, did: str) -> None:
        for user_id in user_ids:
            if user_id is not None:
                found.setdefault(user_id, did)

    assignments = list(Assignment.objects.filter(proposal_id=proposal.pk).values_list("evaluator_id", "assigned_by_id"))
    technical = list(
        FeasibilityAssessment.objects.filter(proposal_id=proposal.pk).values_list("expert_id", "assigned_by_id")
    )
    events = list(
        AuditEvent.objects.filter(
            verb__in=("evaluation.consensus", "evaluation.technical_assign", "evaluation.technical_reassign"),
            target_type="calls.proposal",
            target_id=str(proposal.pk),
            actor_id__isnull=False,
        )
        .order_by("seq")
        .values_list("verb", "actor_id")
    )

    def acted(verb: str) -> list[int]:
        return [actor_id for v, actor_id in events if v == verb]

    add((e for e, _ in assignments), f"evaluated proposal {proposal}.")
    add((e for e, _ in technical), f"assessed proposal {proposal} technically.")
    add((a for _, a in assignments), f"assigned experts to proposal {proposal}.")
    # A reassignment also sets the replacement's `assigned_by`: its actor is named for the reassignment.
    add(acted("evaluation.technical_reassign"), f"reassigned the technical assessment of proposal {proposal}.")
    add(
        [a for _, a in technical] + acted("evaluation.technical_assign"),
        f"assigned the technical expert of proposal {proposal}.",
    )
    add(
        list(Consensus.objects.filter(proposal_id=proposal.pk).values_list("recorded_by_id", flat=True))
        + acted("evaluation.consensus"),
        f"recorded the consensus on proposal {proposal}.",
    )
    add(
        Decision.objects.filter(proposal_id=proposal.pk).values_list("decided_by_id", flat=True),
        f"took a decision on proposal {proposal}.",
    )
    add(
        DecisionPublication.objects.filter(cut_off_id=proposal.cut_off_id).values_list("published_by_id", flat=True),
        f"published the decisions of the cut-off of proposal {proposal}.",
    )
    add([request.admissibility_by_id], f"recorded the admissibility of {request.reference}.")
    return found


def involved_officer_ids(*, request: RedressRequest) -> set[int]:
    """The users `officer_involvements` keeps off the request's committee."""
    return set(officer_involvements(request=request))


def committee_candidates(*, request: RedressRequest, seated: list[RedressCommitteeMember]):
    """The programme officers who may be appointed to the request's committee now: active, not involved, not
    seated yet. In seven queries."""
    excluded = involved_officer_ids(request=request) | {s.member_id for s in seated}
    return list(
        User.objects.filter(is_active=True, role_grants__role=Role.PROGRAMME_OFFICER)
        .exclude(pk__in=excluded)
        .distinct()
        .order_by("last_name", "first_name", "pk")
    )


def programme_office() -> list[User]:
    """The active programme officers, who share the office's work on evaluation reviews (admissibility, the
    committee, new experts): each step's notification goes to all of them, not to one officer who may be away."""
    return list(
        User.objects.filter(is_active=True, role_grants__role=Role.PROGRAMME_OFFICER).distinct().order_by("username")
    )


def re_evaluation_consensus(request: RedressRequest) -> Consensus | None:
    """The consensus recorded after the committee's opinion (the re-evaluation's), or None yet."""
    if request.opinion_at is None:
        return None
    return Consensus.objects.filter(proposal_id=request.proposal_id, recorded_at__gte=request.opinion_at).first()


@dataclass(frozen=True)
class RedressConclusion:
    """What concluding a re-evaluation would do now: its refusal, or the new consensus, the proposal's row in the
    recomputed ranking and the outcome."""

    refusal: RedressRefusal | None
    consensus: Consensus | None = None
    row: object | None = None
    outcome: str | None = None


def redress_outcome(row, available) -> str:
    """The outcome after a re-evaluation, from the recomputed ranking (`OUTCOME_BY_FUNDING`), except that a
    proposal above the line is selected only within the money still free: no one already notified is unselected,
    so one that does not fit goes to the reserve list."""

    outcome = OUTCOME_BY_FUNDING[row.funding]
    if outcome == Decision.Outcome.SELECTED and row.eu_contribution > available:
        return Decision.Outcome.RESERVE
    return outcome


def redress_conclusion(
    *,
    request: RedressRequest,
    call: Call | None = None,
    cut_off: CutOff | None = None,
    proposal: Proposal | None = None,
) -> RedressConclusion:
    """The one rule of `redress_conclude` (which passes the rows it locked) and of the page's "Conclude": the
    request is in re-evaluation, the new consensus is recorded, and an outcome that would select a hosting
    proposal needs its passed technical assessment."""
    proposal = proposal or request.proposal
    if request.status != R.RE_EVALUATION:
        return RedressConclusion(
            RedressRefusal(
                "redress_not_re_evaluation",
                f"{request.reference} is {request.get_status_display().lower()}: only a re-evaluation is concluded.",
            )
        )
    consensus = re_evaluation_consensus(request)
    if consensus is None or proposal.status != Proposal.Status.EVALUATION:
        return RedressConclusion(
            RedressRefusal(
                "redress_consensus_missing",
                f"Record the new consensus on proposal {proposal} (from the new experts' reviews) before concluding "
                f"{request.reference}.",
            )
        )
    cut_off = cut_off or proposal.cut_off
    ranking = cut_off_ranking(cut_off=cut_off, call=call or proposal.call)
    row = ranking.row_for(proposal.pk)
    outcome = redress_outcome(row, ranking.available)
    if outcome == Decision.Outcome.SELECTED:
        # The re-evaluated outcome is a selection like any other: a hosting proposal needs its technical pass.
        refusal = technical_refusal(proposal)
        if refusal is not None:
            return RedressConclusion(
                RedressRefusal(
                    refusal.code,
                    f"{refusal.message} Concluding {request.reference} would select it: the technical assessment "
                    f"comes first.",
                ),
                consensus,
                row,
                outcome,
            )
    return RedressConclusion(None, consensus, row, outcome)


def redress_conclusion_refusal(request: RedressRequest) -> RedressRefusal | None:
    """Why `redress_conclude` would refuse the request now, or None."""
    return redress_conclusion(request=request).refusal
