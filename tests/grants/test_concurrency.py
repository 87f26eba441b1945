"""Concurrent commitments on PostgreSQL: the envelope chain's row locks let exactly the room through."""

from decimal import Decimal

import pytest

from eurohpc.errors import LimitExceeded
from grants.models import LedgerEntry
from grants.selectors import envelope_position
from grants.services import commitment_create, grant_create_from_proposal
from tests.conftest import race, requires_postgresql
from tests.grants.factories import make_envelope, make_selected

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]

THREADS = 32
GRANTS = 4
STEP = Decimal("100.00")


@pytest.fixture
def grants(applicant, programme_officer, finance_officer, freezer):
    """Several grants, so that only the envelope locks (not a grant's own row) stand between the threads."""
    return [
        grant_create_from_proposal(
            proposal=make_selected(applicant=applicant, officer=programme_officer, freezer=freezer, acronym=f"CONC{i}"),
            actor=finance_officer,
        )
        for i in range(GRANTS)
    ]


def run_at_once(targets, finance_officer) -> tuple[int, list[str]]:
    """Commit STEP for every (grant, envelope) at once: how many passed and the refusals' messages."""
    results, errors = race(
        *[
            lambda grant=grant, envelope=envelope: commitment_create(
                grant=grant, envelope=envelope, amount=STEP, actor=finance_officer
            )
            for grant, envelope in targets
        ]
    )
    assert [e for e in errors if not isinstance(e, LimitExceeded)] == []
    return sum(r is not None for r in results), [e.message for e in errors]


def test_32_concurrent_commitments_take_exactly_the_room(grants, finance_officer):
    envelope = make_envelope(code="AIF-2024", amount="1000.00")  # room for exactly 10 commitments of 100
    targets = [(grants[i % GRANTS], envelope) for i in range(THREADS)]
    succeeded, refusals = run_at_once(targets, finance_officer)
    assert succeeded == 10
    assert refusals == ["AIF-2024 would be exceeded by EUR 100.00"] * (THREADS - 10)
    total = sum(e.amount for e in LedgerEntry.objects.filter(envelope=envelope))
    assert total == Decimal("1000.00")
    assert envelope_position(envelope=envelope).available == Decimal("0.00")


def test_concurrent_commitments_on_two_children_respect_the_parent(grants, finance_officer):
    parent = make_envelope(code="AIF-2024-2027", amount="1000.00")
    first = make_envelope(code="AIF-2024", amount="800.00", parent=parent, years=(2024, 2024))
    second = make_envelope(code="AIF-2025", amount="800.00", parent=parent, years=(2025, 2025))
    # grants 0 and 1 commit against the first child, 2 and 3 against the second: both children keep room
    targets = [(grants[i % GRANTS], first if i % GRANTS < 2 else second) for i in range(THREADS)]
    succeeded, refusals = run_at_once(targets, finance_officer)
    assert succeeded == 10
    assert len(refusals) == THREADS - 10
    assert set(refusals) <= {
        "AIF-2024-2027 would be exceeded by EUR 100.00",
        "AIF-2024 would be exceeded by EUR 100.00",
        "AIF-2025 would be exceeded by EUR 100.00",
    }
    assert "AIF-2024-2027 would be exceeded by EUR 100.00" in refusals
    assert sum(e.amount for e in LedgerEntry.objects.all()) == Decimal("1000.00")
    assert envelope_position(envelope=parent).net_committed == Decimal("1000.00")
