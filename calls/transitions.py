"""The state machines of calls/: a proposal's status, an expert's declaration (evaluators, technical experts,
review committee members), a review's and a technical assessment's status, an evaluation review's status.

Every change of these fields goes through `proposal_transition` (or `proposals_transition` for a cut-off's
batch), `ASSIGNMENT.move` (and `FEASIBILITY_DECLARATION.move`, `COMMITTEE_DECLARATION.move`), `REVIEW.move`,
`FEASIBILITY.move` and `REDRESS.move`; docs/architecture.md draws the maps.
"""

from django.db.models import QuerySet

from calls.models import Assignment, FeasibilityAssessment, Proposal, RedressRequest, Review
from eurohpc.transitions import StateMachine

P = Proposal.Status

PROPOSAL = StateMachine(
    name="proposal",
    field="status",
    choices=P,
    moves={
        P.DRAFT: frozenset({P.SUBMITTED}),
        # withdrawn by its applicant before the cut-off; screened in a batch at the cut-off, or decided at once
        P.SUBMITTED: frozenset({P.WITHDRAWN, P.SCREENING, P.ELIGIBLE, P.INELIGIBLE}),
        P.SCREENING: frozenset({P.ELIGIBLE, P.INELIGIBLE}),
        # an eligibility decision may be recorded again (a corrected reason, or the other way) until evaluation
        P.ELIGIBLE: frozenset({P.ELIGIBLE, P.INELIGIBLE, P.EVALUATION}),
        P.INELIGIBLE: frozenset({P.INELIGIBLE, P.ELIGIBLE}),
        P.EVALUATION: frozenset({P.SELECTED, P.RESERVE, P.REJECTED}),
        # decisions change until they are published; then by promotion or withdrawal after selection only
        P.SELECTED: frozenset({P.RESERVE, P.REJECTED, P.WITHDRAWN}),
        # back under evaluation only when an evaluation review's committee asks for a re-evaluation
        P.RESERVE: frozenset({P.SELECTED, P.REJECTED, P.EVALUATION}),
        P.REJECTED: frozenset({P.SELECTED, P.RESERVE, P.EVALUATION}),
        P.WITHDRAWN: frozenset(),  # a withdrawn proposal is copied into a new draft, never reopened
    },
)

# A recorded history (calls/services/history.py) creates a proposal in the state its evaluation ended in.
HISTORY_STATES = frozenset({P.SELECTED, P.RESERVE, P.REJECTED})

D = Assignment.Declaration

# An evaluator's declaration is final: no conflict (they score), or a conflict (recused, replaced).
ASSIGNMENT = StateMachine(
    name="declaration",
    field="declaration",
    choices=D,
    moves={D.PENDING: frozenset({D.NO_CONFLICT, D.CONFLICT}), D.NO_CONFLICT: frozenset(), D.CONFLICT: frozenset()},
    touch=None,
)

# The same rule for a technical expert and for a member of an evaluation review's committee.
_DECLARATION_MOVES = {
    D.PENDING: frozenset({D.NO_CONFLICT, D.CONFLICT}),
    D.NO_CONFLICT: frozenset(),
    D.CONFLICT: frozenset(),
}
FEASIBILITY_DECLARATION = StateMachine(
    name="declaration", field="declaration", choices=D, moves=_DECLARATION_MOVES, touch=None
)
COMMITTEE_DECLARATION = StateMachine(
    name="declaration", field="declaration", choices=D, moves=_DECLARATION_MOVES, touch=None
)

F = FeasibilityAssessment.Status
FEASIBILITY = StateMachine(
    name="technical assessment",
    field="status",
    choices=F,
    moves={F.DRAFT: frozenset({F.SUBMITTED}), F.SUBMITTED: frozenset()},
    touch=None,
)

R = RedressRequest.Status
REDRESS = StateMachine(
    name="evaluation review",
    field="status",
    choices=R,
    moves={
        R.SUBMITTED: frozenset({R.INADMISSIBLE, R.IN_REVIEW}),
        R.INADMISSIBLE: frozenset(),
        R.IN_REVIEW: frozenset({R.CONFIRMED, R.RE_EVALUATION}),
        R.CONFIRMED: frozenset(),
        R.RE_EVALUATION: frozenset({R.RE_EVALUATED}),
        R.RE_EVALUATED: frozenset(),
    },
    touch=None,
)

REVIEW = StateMachine(
    name="review",
    field="status",
    choices=Review.Status,
    moves={Review.Status.DRAFT: frozenset({Review.Status.SUBMITTED}), Review.Status.SUBMITTED: frozenset()},
)


def proposal_transition(*, proposal: Proposal, to: str, **fields) -> str:
    """Move a proposal the caller has locked to `to` (with the fields that go with the move), or refuse naming
    both states. Returns the state it left; the calling service records the audit event of its operation."""
    return PROPOSAL.move(proposal, to, **fields)


def proposals_transition(*, proposals: QuerySet[Proposal], current: str, to: str, **fields) -> int:
    """The batch form: every proposal of `proposals` in `current` moves to `to` in one UPDATE."""
    return PROPOSAL.move_all(proposals, current=current, to=to, **fields)
