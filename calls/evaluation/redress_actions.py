"""Which steps of an evaluation review a user may take now: the request page renders its forms from here and the
API lists them, so no page offers what the service would refuse (apart from the text the user types)."""

from calls.evaluation.selectors.redress import MIN_COMMITTEE, RedressDetail, committee_available, committee_candidates
from calls.models import Assignment, RedressRequest

R = RedressRequest.Status

# In the order the request page shows them.
REDRESS_ACTIONS = ("admissibility", "appoint", "declare", "opinion", "conclude")


def user_seat(detail: RedressDetail, user):
    return next((s for s in detail.committee if s.member_id == user.pk), None)


def redress_actions(*, detail: RedressDetail, user, candidates: list | None = None) -> list[str]:
    """The actions of REDRESS_ACTIONS open to `user` on the request now. `candidates` (the officers who may be
    appointed) is computed when not given and needed."""
    request = detail.request
    manage = user.has_perm("calls.manage_redress")
    seat = user_seat(detail, user)
    sits = seat is not None and user.has_perm("calls.sit_on_redress_committee", seat)
    available = committee_available(detail.committee)

    def may_appoint() -> bool:
        if not (manage and request.status == R.IN_REVIEW):
            return False
        found = candidates if candidates is not None else committee_candidates(request=request, seated=detail.committee)
        return len(found) + available >= MIN_COMMITTEE and bool(found)

    open_now = {
        # redress_admissibility_record: a programme officer, once, on a submitted request
        "admissibility": lambda: manage and request.status == R.SUBMITTED,
        # redress_committee_appoint: uninvolved officers enough to reach the minimum
        "appoint": may_appoint,
        # redress_committee_declare: the member's own pending seat, while the committee works
        "declare": lambda: (
            sits and seat.declaration == Assignment.Declaration.PENDING and request.status == R.IN_REVIEW
        ),
        # redress_opinion_record: a member who declared no conflict, once, with the committee at its minimum size
        "opinion": lambda: (
            sits
            and seat.declaration == Assignment.Declaration.NO_CONFLICT
            and request.status == R.IN_REVIEW
            and detail.opinion_refusal is None
        ),
        # redress_conclude: what its selector `redress_conclusion` would not refuse
        "conclude": lambda: manage and request.status == R.RE_EVALUATION and detail.conclusion_refusal is None,
    }
    return [name for name in REDRESS_ACTIONS if open_now[name]()]
