"""Who may do what in an evaluation review (redress). Imported by calls/evaluation/rules.py, so that the permissions
exist wherever the evaluation's do; views, the API and templates ask them.

Another organisation's request or proposal is not found (404) by the lookups; these predicates answer for the
objects a user can reach.
"""

import rules

from calls.rules import is_proposal_applicant
from eurohpc.permissions import denial
from eurohpc.rules import is_admin, is_programme_officer


@rules.predicate
def is_request_applicant(user, request) -> bool:
    return request is not None and is_proposal_applicant(user, request.proposal)


@rules.predicate
def holds_the_seat(user, seat) -> bool:
    return seat is not None and is_programme_officer(user) and seat.member_id == user.pk


rules.add_perm("calls.request_redress", is_proposal_applicant)
denial("calls.request_redress", "Only the applicants of a proposal request an evaluation review of it.")
rules.add_perm("calls.view_redress", is_request_applicant)
denial("calls.view_redress", "Only the applicants of the proposal follow its evaluation review here.")
rules.add_perm("calls.oversee_redress", is_programme_officer | is_admin)
denial("calls.oversee_redress", "Only programme officers handle evaluation reviews.")
rules.add_perm("calls.manage_redress", is_programme_officer)
denial("calls.manage_redress", "Only programme officers handle evaluation reviews.")
rules.add_perm("calls.sit_on_redress_committee", holds_the_seat)
denial("calls.sit_on_redress_committee", "Only the committee member declares and gives an opinion on this seat.")
