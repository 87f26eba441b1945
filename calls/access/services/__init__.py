"""Writes of access calls: an access application's state changes only here (or, for its reviewers, through the
evaluation's own assignment and review services, which it reuses).

The way of an application (a `Proposal` of type "access", moved by `proposal_transition`):

    draft → submitted → (cut-off modes: screening at the cut-off) → eligible | ineligible
    eligible → evaluation  — continuous modes: when the host's technical assessment is recorded;
                             cut-off modes: when the first reviewer is assigned (after a feasible assessment)
    evaluation → selected (awarded) | reserve | rejected     — reserve → selected | rejected
    submitted → withdrawn  — by the applicant, until its cut-off (continuous modes: until screened)

Locks: the call, its cut-off, then the proposal (eurohpc/locking.py); an award then takes the machine chain
through hosting's `project_award` (allocation period → project → partition quota).
"""

from calls.access.services._common import ZERO, S
from calls.access.services.applications import (
    DETAIL_FIELDS,
    MODES_FILE,
    PROPOSAL_FIELDS,
    access_application_create,
    access_application_submit,
    access_application_update,
    access_application_withdraw,
    access_eligibility_record,
    access_modes_create,
    default_modes,
)
from calls.access.services.assessment import (
    access_reply_submit,
    access_reviews_release,
    submitted_reviews,
    technical_assessment_record,
)
from calls.access.services.decisions import (
    AWARDED,
    OUTCOMES,
    REJECTED,
    RESERVE,
    access_decide,
    access_final_report_submit,
    access_ranking_award,
    batch_awardable,
    decision_refusal,
    project_cut_off_number,
)

__all__ = [
    "AWARDED",
    "DETAIL_FIELDS",
    "MODES_FILE",
    "OUTCOMES",
    "PROPOSAL_FIELDS",
    "REJECTED",
    "RESERVE",
    "ZERO",
    "S",
    "access_application_create",
    "access_application_submit",
    "access_application_update",
    "access_application_withdraw",
    "access_decide",
    "access_eligibility_record",
    "access_final_report_submit",
    "access_modes_create",
    "access_ranking_award",
    "access_reply_submit",
    "access_reviews_release",
    "batch_awardable",
    "decision_refusal",
    "default_modes",
    "project_cut_off_number",
    "submitted_reviews",
    "technical_assessment_record",
]
