"""Officers deciding at the same time on PostgreSQL: the funding line never takes more than the call has."""

from decimal import Decimal

import pytest

from calls.evaluation.selectors import call_available_amount
from calls.evaluation.services import decision_record, decisions_confirm, reserve_promote, selection_withdraw
from calls.models import Call, Decision, Proposal
from eurohpc.errors import LimitExceeded, StateConflict
from eurohpc.models import Role
from eurohpc.selectors import audit_chain_report
from tests.calls.evaluation_factories import evaluate, make_batch, make_evaluators
from tests.calls.factories import make_call
from tests.conftest import race, requires_postgresql
from tests.factories import UserFactory

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_passing(applicant, programme_officer, freezer):
    call = make_call(indicative_budget=Decimal("100000000.00"))
    proposals = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=2,
                           budgets=["60000000.00", "60000000.00"])  # fmt: skip
    experts = make_evaluators(3)
    for p in proposals:
        evaluate(p, experts, programme_officer, "4", "4", "4")
    return call, proposals


def test_concurrent_selections_never_exceed_the_available_amount(two_passing, programme_officer):
    call, proposals = two_passing
    second_officer = UserFactory(username="officer2", roles=[Role.PROGRAMME_OFFICER])
    _results, errors = race(
        lambda: decision_record(proposal=proposals[0], outcome="selected", actor=programme_officer),
        lambda: decision_record(proposal=proposals[1], outcome="selected", actor=second_officer),
    )
    assert len(errors) == 1 and isinstance(errors[0], LimitExceeded), errors
    assert errors[0].message.endswith(
        "EUR 40,000,000.00 is available in EUROHPC-2026-CEI-AI-03: short by EUR 20,000,000.00."
    )
    assert Proposal.objects.filter(status=Proposal.Status.SELECTED).count() == 1
    assert call_available_amount(Call.objects.get(pk=call.pk)) == Decimal("40000000.00")
    assert audit_chain_report().ok


def test_concurrent_confirm_and_single_selection_keep_within_budget(two_passing, programme_officer):
    call, proposals = two_passing
    _results, errors = race(
        lambda: decisions_confirm(cut_off=proposals[0].cut_off, actor=programme_officer),
        lambda: decision_record(proposal=proposals[1], outcome="selected", actor=programme_officer),
    )
    assert call_available_amount(Call.objects.get(pk=call.pk)) >= 0
    assert Proposal.objects.filter(status=Proposal.Status.SELECTED).count() == 1
    assert all(isinstance(e, LimitExceeded | StateConflict) for e in errors), errors


def test_concurrent_promotion_and_withdrawal_promote_once(two_passing, programme_officer, applicant):
    from calls.evaluation.services import decisions_publish

    _call, proposals = two_passing
    decisions_confirm(cut_off=proposals[0].cut_off, actor=programme_officer)
    decisions_publish(cut_off=proposals[0].cut_off, actor=programme_officer)
    selection_withdraw(proposal=proposals[0], reason="Declined.", actor=applicant)
    _results, errors = race(*[lambda: reserve_promote(proposal=proposals[1], actor=programme_officer)] * 2)
    assert len(errors) == 1 and isinstance(errors[0], StateConflict), errors
    assert Decision.objects.filter(kind=Decision.Kind.PROMOTION).count() == 1
    assert Proposal.objects.get(pk=proposals[1].pk).status == Proposal.Status.SELECTED
