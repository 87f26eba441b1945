"""Who may do what in the evaluation. Views, the API and templates ask these predicates.

Conflict of interest first: an evaluator sees a proposal (its content, documents and scores) only once they
declared "no conflict" on their assignment to it. That grant is added to `calls.view_proposal` and to
`Proposal.objects.visible_to` through the extension lists of `calls.rules`.
"""

import rules
from django.db.models import Q, Subquery

from calls.evaluation import redress_rules  # noqa: F401 — the evaluation review's permissions
from calls.models import Assignment, DecisionPublication, FeasibilityAssessment, Proposal, Review
from calls.rules import VIEW_PROPOSAL_GRANTS, VISIBILITY_GRANTS, is_proposal_applicant
from eurohpc.permissions import denial
from eurohpc.rules import is_admin, is_evaluator, is_programme_officer, is_technical_expert

# --- opening proposals to evaluators who declared no conflict ----------------------------------------------


def _declared_no_conflict(user):
    # A closed assignment (reassigned after its deadline, or superseded by a re-evaluation) opens nothing.
    return Assignment.objects.filter(
        evaluator_id=user.pk, declaration=Assignment.Declaration.NO_CONFLICT, closed_at__isnull=True
    )


def evaluator_visibility(user) -> Q:
    if not is_evaluator(user):
        return Q(pk__in=[])
    return Q(pk__in=Subquery(_declared_no_conflict(user).values("proposal_id")))


def evaluator_may_view(user, proposal) -> bool:
    return is_evaluator(user) and _declared_no_conflict(user).filter(proposal_id=proposal.pk).exists()


if evaluator_visibility not in VISIBILITY_GRANTS:
    VISIBILITY_GRANTS.append(evaluator_visibility)
if evaluator_may_view not in VIEW_PROPOSAL_GRANTS:
    VIEW_PROPOSAL_GRANTS.append(evaluator_may_view)


# A technical expert reads a hosting proposal (content, documents) once they declared no conflict on its
# technical assessment; never the scientific reviews, scores or other proposals. A closed assessment (reassigned
# after its deadline) opens nothing.
def _technical_no_conflict(user):
    return FeasibilityAssessment.objects.filter(
        expert_id=user.pk, declaration=Assignment.Declaration.NO_CONFLICT, closed_at__isnull=True
    )


def technical_expert_visibility(user) -> Q:
    if not is_technical_expert(user):
        return Q(pk__in=[])
    return Q(pk__in=Subquery(_technical_no_conflict(user).values("proposal_id")))


def technical_expert_may_view(user, proposal) -> bool:
    return is_technical_expert(user) and _technical_no_conflict(user).filter(proposal_id=proposal.pk).exists()


if technical_expert_visibility not in VISIBILITY_GRANTS:
    VISIBILITY_GRANTS.append(technical_expert_visibility)
if technical_expert_may_view not in VIEW_PROPOSAL_GRANTS:
    VIEW_PROPOSAL_GRANTS.append(technical_expert_may_view)


def coi_closed_reason(user, proposal_id: int) -> str | None:
    """Why a proposal is closed to an assigned evaluator (no declaration yet, or a declared conflict); None when
    the user has no assignment to it. Lets a lookup answer 403 with the reason instead of 404."""
    if not is_evaluator(user):
        return None
    assignment = (
        Assignment.objects.filter(evaluator_id=user.pk, proposal_id=proposal_id)
        .filter(~Q(declaration=Assignment.Declaration.NO_CONFLICT) | Q(closed_at__isnull=False))
        .select_related("proposal")
        .first()
    )
    if assignment is None:
        return None
    if assignment.closed_at is not None:
        return f"Your assignment to proposal {assignment.proposal} is closed: the proposal is no longer open to you."
    if assignment.declaration == Assignment.Declaration.PENDING:
        return f"Declare whether you have a conflict of interest with proposal {assignment.proposal} before reading it."
    return f"You declared a conflict of interest with proposal {assignment.proposal}: it is closed to you."


# --- predicates ---------------------------------------------------------------------------------------------


@rules.predicate
def is_assigned_evaluator(user, assignment) -> bool:
    return assignment is not None and is_evaluator(user) and assignment.evaluator_id == user.pk


@rules.predicate
def declared_no_conflict(user, assignment) -> bool:
    return assignment is not None and assignment.declaration == Assignment.Declaration.NO_CONFLICT


@rules.predicate
def declaration_pending(user, assignment) -> bool:
    return assignment is not None and assignment.declaration == Assignment.Declaration.PENDING


@rules.predicate
def outcome_published(user, proposal) -> bool:
    return (
        proposal is not None
        and proposal.cut_off_id is not None
        and proposal.status
        in (Proposal.Status.SELECTED, Proposal.Status.RESERVE, Proposal.Status.REJECTED, Proposal.Status.WITHDRAWN)
        and DecisionPublication.objects.filter(cut_off_id=proposal.cut_off_id).exists()
    )


@rules.predicate
def reviewed_it_and_consensus_recorded(user, proposal) -> bool:
    """Blind review: an evaluator sees the other reviews of a proposal only once the consensus is recorded, and
    only if they submitted their own."""
    if proposal is None or not is_evaluator(user):
        return False
    submitted = Review.objects.filter(
        assignment__proposal_id=proposal.pk,
        assignment__evaluator_id=user.pk,
        assignment__declaration=Assignment.Declaration.NO_CONFLICT,
        assignment__closed_at__isnull=True,  # a former expert of a re-evaluated proposal reads no new reviews
        status=Review.Status.SUBMITTED,
    )
    return submitted.exists() and type(proposal).objects.filter(pk=proposal.pk, consensus__isnull=False).exists()


can_manage = is_programme_officer
can_oversee = is_programme_officer | is_admin

# Each permission with the reason a refusal gives (eurohpc.permissions): the pages answer 403 with it.
rules.add_perm("calls.evaluate", is_evaluator)
denial("calls.evaluate", "Only evaluators have evaluation assignments.")
rules.add_perm("calls.view_evaluation", can_oversee)
denial("calls.view_evaluation", "Only programme officers manage the evaluation.")
rules.add_perm("calls.manage_evaluation", can_manage)
denial("calls.manage_evaluation", "Only programme officers manage the evaluation.")
rules.add_perm("calls.view_assignment", is_assigned_evaluator | can_oversee)
rules.add_perm("calls.declare_conflict", is_assigned_evaluator)
rules.add_perm("calls.review_proposal", is_assigned_evaluator & declared_no_conflict)
rules.add_perm("calls.view_reviews", can_oversee | reviewed_it_and_consensus_recorded)
rules.add_perm("calls.reassign_assignment", can_manage)
denial("calls.reassign_assignment", "Only programme officers reassign overdue evaluation work.")
rules.add_perm("calls.assess_technical", is_technical_expert)
denial("calls.assess_technical", "Only technical experts have technical assessments.")
rules.add_perm("calls.view_outcome", (is_proposal_applicant & outcome_published) | can_oversee)
denial("calls.view_outcome", "The outcome of this proposal is shown to its applicant once the decisions are published.")
rules.add_perm("calls.download_summary_report", is_proposal_applicant & outcome_published)
denial(
    "calls.download_summary_report",
    "The evaluation summary report is for the applicant, once the decision is published.",
)
rules.add_perm("calls.withdraw_selection", is_proposal_applicant | can_manage)
denial("calls.withdraw_selection", "Only the applicant or a programme officer withdraws a selected proposal.")
