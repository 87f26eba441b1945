"""The state machines of calls/: every move the map allows works, every other is refused naming both states."""

import itertools

import pytest
from django.utils import timezone

from calls.models import Assignment, Proposal, Review
from calls.transitions import ASSIGNMENT, PROPOSAL, REVIEW, proposal_transition, proposals_transition
from eurohpc.errors import StateConflict
from tests.calls.evaluation_factories import assign_all
from tests.calls.factories import make_draft

pytestmark = pytest.mark.django_db

ALL_PAIRS = list(itertools.product(Proposal.Status.values, repeat=2))


def _at(proposal: Proposal, status: str) -> Proposal:
    # the state under test, set directly, with the time the constraints ask of a withdrawn proposal
    Proposal.objects.filter(pk=proposal.pk).update(status=status, withdrawn_at=timezone.now())
    return Proposal.objects.get(pk=proposal.pk)


@pytest.fixture
def draft(proposal):
    """A submitted proposal (a reference and a cut-off, as the constraints ask of any state after the draft)."""
    return proposal


def test_proposal_map_names_every_state():
    assert set(PROPOSAL.moves) == set(Proposal.Status.values)
    assert all(set(targets) <= set(Proposal.Status.values) for targets in PROPOSAL.moves.values())


@pytest.mark.parametrize(("current", "to"), PROPOSAL.pairs())
def test_proposal_transition_allowed_by_the_map_moves_and_stamps(draft, current, to):
    proposal = _at(draft, current)
    before = proposal.updated_at
    fields = {"withdrawn_at": timezone.now()} if to == Proposal.Status.WITHDRAWN else {}
    assert proposal_transition(proposal=proposal, to=to, **fields) == current
    proposal.refresh_from_db()
    assert proposal.status == to
    assert proposal.updated_at >= before


@pytest.mark.parametrize(("current", "to"), [pair for pair in ALL_PAIRS if not PROPOSAL.allows(*pair)])
def test_proposal_transition_not_in_the_map_is_refused_naming_both_states(draft, current, to):
    proposal = _at(draft, current)
    with pytest.raises(StateConflict) as refused:
        proposal_transition(proposal=proposal, to=to)
    label = dict(Proposal.Status.choices)
    assert refused.value.message == f"A proposal cannot go from {label[current].lower()} to {label[to].lower()}."
    assert refused.value.code == "transition_not_allowed"
    assert Proposal.objects.get(pk=proposal.pk).status == current  # nothing written


def test_proposals_transition_moves_only_the_rows_in_the_current_state(call, applicant, draft):
    other = make_draft(call=call, applicant=applicant, acronym="OTHER")
    _at(draft, Proposal.Status.SUBMITTED)
    moved = proposals_transition(proposals=Proposal.objects.filter(call=call), current=Proposal.Status.SUBMITTED,
                                 to=Proposal.Status.SCREENING)  # fmt: skip
    assert moved == 1
    assert dict(Proposal.objects.filter(call=call).values_list("pk", "status")) == {
        draft.pk: Proposal.Status.SCREENING,
        other.pk: Proposal.Status.DRAFT,
    }
    with pytest.raises(StateConflict, match=r"^A proposal cannot go from draft to eligibility screening\.$"):
        proposals_transition(proposals=Proposal.objects.all(), current=Proposal.Status.DRAFT,
                             to=Proposal.Status.SCREENING)  # fmt: skip


def test_declaration_and_review_maps_allow_one_way_only(proposal, experts, programme_officer):
    assignment = assign_all(proposal, experts[:1], programme_officer, declare=False)[0]
    assert ASSIGNMENT.pairs() == [
        (Assignment.Declaration.PENDING, Assignment.Declaration.CONFLICT),
        (Assignment.Declaration.PENDING, Assignment.Declaration.NO_CONFLICT),
    ]
    ASSIGNMENT.move(assignment, Assignment.Declaration.NO_CONFLICT, declared_at=timezone.now())
    with pytest.raises(StateConflict) as refused:
        ASSIGNMENT.move(assignment, Assignment.Declaration.CONFLICT)
    assert refused.value.message == (
        "A declaration cannot go from no conflict of interest to conflict of interest (recused)."
    )
    assert REVIEW.pairs() == [(Review.Status.DRAFT, Review.Status.SUBMITTED)]
    review = Review.objects.create(assignment=assignment)
    REVIEW.move(review, Review.Status.SUBMITTED, submitted_at=timezone.now())
    with pytest.raises(StateConflict, match=r"^A review cannot go from submitted to draft\.$"):
        REVIEW.move(review, Review.Status.DRAFT)
