"""Writes of the evaluation and selection. A proposal moves from eligible to evaluation, and on to selected,
reserve list, rejected (or withdrawn after selection) only here.

Locks are always taken in this order: call, cut-off, proposals (by primary key), evaluation review requests and
their committee seats, assignments, reviews — and the audit chain head last (inside `audit_record`).

One module per state machine: `assignments` (assignments and conflict-of-interest declarations), `reviews`
(individual reviews), `consensus`, `decisions` (decisions, publication, promotion, withdrawal after selection),
`reports` (Evaluation Summary Reports), `history` (evaluations recorded from before this system ran) and
`deadlines` (reminders before and at each deadline, the reassignment of overdue work); `redress` (evaluation
reviews: the request, admissibility, the review committee, its opinion and the re-evaluation's conclusion);
`technical` (the technical assessment of hosting proposals, its reminders and its reassignment).
"""

from calls.evaluation.services.assignments import (
    AutoAssignResult,
    assignment_create,
    assignment_declare,
    assignments_auto_assign,
)
from calls.evaluation.services.consensus import consensus_record
from calls.evaluation.services.deadlines import assignment_reassign, evaluation_reminders_send
from calls.evaluation.services.decisions import (
    OUTCOME_BY_FUNDING,
    STATUS_BY_OUTCOME,
    decision_record,
    decisions_confirm,
    decisions_publish,
    reserve_promote,
    selection_withdraw,
)
from calls.evaluation.services.history import evaluation_record_history, publication_record_history
from calls.evaluation.services.redress import (
    redress_admissibility_record,
    redress_committee_appoint,
    redress_committee_declare,
    redress_conclude,
    redress_opinion_record,
    redress_request_submit,
)
from calls.evaluation.services.reports import RenderError, summary_report_render, summary_report_retry
from calls.evaluation.services.reviews import coi_refusal, review_save, review_submit
from calls.evaluation.services.technical import (
    feasibility_assign,
    feasibility_declare,
    feasibility_reassign,
    feasibility_record_history,
    feasibility_reminders_send,
    feasibility_save,
)

__all__ = [
    "OUTCOME_BY_FUNDING",
    "STATUS_BY_OUTCOME",
    "AutoAssignResult",
    "RenderError",
    "assignment_create",
    "assignment_declare",
    "assignment_reassign",
    "assignments_auto_assign",
    "coi_refusal",
    "consensus_record",
    "decision_record",
    "decisions_confirm",
    "decisions_publish",
    "evaluation_record_history",
    "evaluation_reminders_send",
    "feasibility_assign",
    "feasibility_declare",
    "feasibility_reassign",
    "feasibility_record_history",
    "feasibility_reminders_send",
    "feasibility_save",
    "publication_record_history",
    "redress_admissibility_record",
    "redress_committee_appoint",
    "redress_committee_declare",
    "redress_conclude",
    "redress_opinion_record",
    "redress_request_submit",
    "reserve_promote",
    "review_save",
    "review_submit",
    "selection_withdraw",
    "summary_report_render",
    "summary_report_retry",
]
