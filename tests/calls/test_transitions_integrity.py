"""The state machines of the evaluation's integrity: an evaluation review's status, a technical assessment's
status and the declarations of technical experts and review committee members. Every pair the map does not hold
is refused naming both states."""

import itertools

import pytest

from calls.models import Assignment, FeasibilityAssessment, Proposal, RedressRequest
from calls.transitions import COMMITTEE_DECLARATION, FEASIBILITY, FEASIBILITY_DECLARATION, PROPOSAL, REDRESS
from eurohpc.errors import StateConflict

MACHINES = [
    (REDRESS, RedressRequest.Status),
    (FEASIBILITY, FeasibilityAssessment.Status),
    (FEASIBILITY_DECLARATION, Assignment.Declaration),
    (COMMITTEE_DECLARATION, Assignment.Declaration),
]


@pytest.mark.parametrize(("machine", "choices"), MACHINES, ids=lambda m: getattr(m, "name", ""))
def test_integrity_map_names_every_state(machine, choices):
    assert set(machine.moves) == set(choices.values)
    assert all(set(targets) <= set(choices.values) for targets in machine.moves.values())


@pytest.mark.parametrize(
    ("machine", "current", "to"),
    [
        (machine, current, to)
        for machine, choices in MACHINES
        for current, to in itertools.product(choices.values, repeat=2)
        if not machine.allows(current, to)
    ],
)
def test_integrity_move_not_in_the_map_is_refused_naming_both_states(machine, current, to):
    with pytest.raises(StateConflict) as refused:
        machine.check(current, to)
    assert refused.value.message == (
        f"A {machine.name} cannot go from {machine.label(current).lower()} to {machine.label(to).lower()}."
    )
    assert refused.value.code == "transition_not_allowed"


def test_redress_map_ends_in_three_final_states():
    final = {state for state, targets in REDRESS.moves.items() if not targets}
    assert final == {"inadmissible", "confirmed", "re_evaluated"}


def test_proposal_returns_to_evaluation_only_from_a_contestable_outcome():
    back = {state for state, targets in PROPOSAL.moves.items() if Proposal.Status.EVALUATION in targets}
    assert back == {Proposal.Status.ELIGIBLE, Proposal.Status.RESERVE, Proposal.Status.REJECTED}
