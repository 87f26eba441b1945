"""The grant's state machine: every move the map allows works, every other is refused naming both states."""

import itertools

import pytest
from django.utils import timezone

from eurohpc.errors import StateConflict
from grants.models import Grant
from grants.transitions import GRANT

pytestmark = pytest.mark.django_db


def _at(grant: Grant, status: str) -> Grant:
    # the state under test, set directly, with the times the constraints ask of a signed or closed grant
    Grant.objects.filter(pk=grant.pk).update(status=status, signed_at=timezone.now(), closed_at=timezone.now())
    return Grant.objects.get(pk=grant.pk)


def test_grant_map_names_every_state():
    assert set(GRANT.moves) == set(Grant.Status.values)


@pytest.mark.parametrize(("current", "to"), GRANT.pairs())
def test_grant_transition_allowed_by_the_map_moves(grant, current, to):
    moved = _at(grant, current)
    assert GRANT.move(moved, to) == current
    assert Grant.objects.get(pk=grant.pk).status == to


@pytest.mark.parametrize(
    ("current", "to"), [pair for pair in itertools.product(Grant.Status.values, repeat=2) if not GRANT.allows(*pair)]
)
def test_grant_transition_not_in_the_map_is_refused_naming_both_states(grant, current, to):
    moved = _at(grant, current)
    with pytest.raises(StateConflict) as refused:
        GRANT.move(moved, to)
    label = dict(Grant.Status.choices)
    assert refused.value.message == f"A grant cannot go from {label[current].lower()} to {label[to].lower()}."
    assert Grant.objects.get(pk=grant.pk).status == current
