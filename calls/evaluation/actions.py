"""Which actions on an evaluation assignment and on a cut-off's decisions are open to a user now: the assignment
page renders its forms from here and the API lists them, so no page offers what the service would refuse.

Each answer uses the permission the view checks and the state rule of the service (calls/evaluation/services.py);
scores are still checked against the scheme when they are sent (a submission needs every criterion).
"""

from calls.access.rules import reviews_released
from calls.evaluation.selectors import OPEN_WORK, Ranking, cut_off_ranking, overdue_step
from calls.evaluation.selectors.technical import TECHNICAL_OPEN, assessment_overdue
from calls.models import Assignment, Call, CutOff, Proposal, Review

# In the order the assignment page shows them.
ASSIGNMENT_ACTIONS = ("declare", "save_review", "submit_review")

# In the order the ranking page shows them.
CUT_OFF_ACTIONS = ("confirm_decisions", "publish_decisions")


def assignment_actions(*, assignment: Assignment, user) -> list[str]:
    """The actions of ASSIGNMENT_ACTIONS that `user` may take on `assignment` now. Reads the assignment's proposal
    and review (select_related by `assignment_list`); `submit_review` also asks whether the proposal has its
    consensus (select_related `proposal__consensus` to spare the query)."""
    proposal = assignment.proposal
    review = getattr(assignment, "review", None)
    review_open = review is None or review.status != Review.Status.SUBMITTED

    def may_review() -> bool:
        # review_save: the assigned evaluator, "no conflict" declared, not closed, not submitted yet, under evaluation
        return (
            user.has_perm("calls.review_proposal", assignment)
            and assignment.closed_at is None
            and review_open
            and proposal.status == Proposal.Status.EVALUATION
        )

    open_now = {
        # assignment_declare: the assigned evaluator, once, not closed, while the proposal's evaluation is open
        "declare": lambda: (
            assignment.declaration == Assignment.Declaration.PENDING
            and assignment.closed_at is None
            and user.has_perm("calls.declare_conflict", assignment)
            and proposal.status in OPEN_WORK
        ),
        "save_review": may_review,
        # review_save(submit=True) / review_submit: as saving, and not once the consensus is recorded
        "submit_review": lambda: may_review() and not hasattr(proposal, "consensus"),
    }
    return [name for name in ASSIGNMENT_ACTIONS if open_now[name]()]


def may_reassign(*, assignment: Assignment, user, now=None) -> bool:
    """assignment_reassign: a programme officer, on an overdue assignment (open, its step late, no submitted review,
    the proposal under evaluation). Reads the assignment's proposal and review (select_related them). Whether a
    replacement is possible is the list of candidates' business (`overdue_assignments`). An access application
    with an assignment already passed `access_evaluation_refusal` when it was assigned, and what that check reads
    (its mode, its technical assessment) does not change afterwards: it is not asked again per row. What does
    change is the release of its reviews (calls/access/rules.py `reviews_released`): reviewers are assigned only
    until then, so an access reviewer is not reassigned afterwards (select_related `proposal__access`)."""
    if not user.has_perm("calls.reassign_assignment") or overdue_step(assignment, now) is None:
        return False
    proposal = assignment.proposal
    if proposal.type == Proposal.Type.ACCESS:
        return not reviews_released(user, getattr(proposal, "access", None))
    return True


def cut_off_actions(*, cut_off: CutOff, user, ranking: Ranking | None = None) -> list[str]:
    """The actions of CUT_OFF_ACTIONS that `user` may take on the decisions of `cut_off` now, from its ranking
    (`Ranking.can_confirm` / `Ranking.can_publish`, which say what decisions_confirm / decisions_publish accept).
    Pass the ranking when it is at hand; it is computed otherwise."""
    if not user.has_perm("calls.manage_evaluation"):
        return []
    ranking = ranking if ranking is not None else cut_off_ranking(cut_off=cut_off)
    if ranking.call.prong == Call.Prong.ACCESS:
        return []  # an access call's cut-offs are decided by the access committee (calls/access/)
    open_now = {"confirm_decisions": ranking.can_confirm, "publish_decisions": ranking.can_publish}
    return [name for name in CUT_OFF_ACTIONS if open_now[name]]


# In the order the technical assessment page shows them.
TECHNICAL_ACTIONS = ("declare", "save", "submit")


def technical_actions(*, assessment, user) -> list[str]:
    """The actions of TECHNICAL_ACTIONS the technical expert may take on their `assessment` now (the rules of
    feasibility_declare and feasibility_save: their own, the proposal still open, not closed, declared, not
    submitted)."""
    if assessment.expert_id != user.pk or not user.has_perm("calls.assess_technical"):
        return []
    if assessment.proposal.status not in TECHNICAL_OPEN or assessment.closed_at is not None:
        return []
    if assessment.declaration == Assignment.Declaration.PENDING:
        return ["declare"]
    if assessment.declaration == Assignment.Declaration.NO_CONFLICT and assessment.status == "draft":
        return ["save", "submit"]
    return []


def may_reassign_technical(*, assessment, user, now=None) -> bool:
    """feasibility_reassign: a programme officer, on an overdue technical assessment (open: not closed, not
    recused, not submitted, the proposal still open; past its deadline). Reads the assessment's proposal. Whether
    another expert is available is the queue's list of candidates' business."""
    return user.has_perm("calls.reassign_assignment") and assessment_overdue(assessment, now)
