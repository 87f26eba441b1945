"""Envelopes, selected proposals and grants built through the services."""

from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from calls.evaluation.services import decision_record
from calls.models import Proposal
from eurohpc.models import Role, User
from grants.models import Envelope, Grant
from grants.services import commitment_create, envelope_create, grant_create_from_proposal, grant_sign
from tests.calls.evaluation_factories import evaluate
from tests.calls.factories import make_call, make_eligible
from tests.factories import UserFactory

EUR = Decimal
CALL_BUDGET = Decimal("1000000000.00")  # the call's indicative budget: room for the selections of a test


@contextmanager
def clock_at(moment: datetime):
    """The services' clock at `moment`, past or future (an envelope may open in a later budget year)."""
    original = timezone.now
    timezone.now = lambda: moment
    try:
        yield
    finally:
        timezone.now = original


def make_envelope(*, code: str, amount: str, parent: Envelope | None = None, years=(2024, 2027)) -> Envelope:
    """An envelope opened on 1 January of its first budget year (positions at earlier dates show no amount)."""
    opened = datetime(years[0], 1, 1, tzinfo=ZoneInfo("Europe/Luxembourg"))
    with clock_at(opened):
        return envelope_create(
            code=code, name=f"Envelope {code}", programme="digital_europe", period_start=years[0],
            period_end=years[1], amount=Decimal(amount), parent=parent, actor=None,
        )  # fmt: skip


def make_tree(*, parent_amount: str = "800000000.00", child_amount: str = "400000000.00"):
    parent = make_envelope(code="AIF-2024-2027", amount=parent_amount)
    child = make_envelope(code="AIF-2024", amount=child_amount, parent=parent, years=(2024, 2024))
    return parent, child


def experts() -> list[User]:
    """Three independent experts (created once per test database state)."""
    found = []
    for i in range(1, 4):
        user = User.objects.filter(username=f"grants-expert{i}").first()
        found.append(user or UserFactory(username=f"grants-expert{i}", roles=[Role.EVALUATOR]))
    return found


def select(proposal: Proposal, officer) -> Proposal:
    """Select an eligible proposal the real way: three declared, scored reviews, consensus, decision."""
    evaluate(proposal, experts(), officer, "4.5", "4", "4")
    decision_record(proposal=proposal, outcome="selected", actor=officer, reason="Above the funding line.")
    return Proposal.objects.get(pk=proposal.pk)


_calls = {"n": 0}


def make_selected(*, applicant, officer, freezer, call=None, acronym: str = "NORDAI", **kwargs) -> Proposal:
    if call is None:
        _calls["n"] += 1
        call = make_call(identifier=f"EUROHPC-2026-CEI-AI-{_calls['n']:02d}", indicative_budget=CALL_BUDGET)
    proposal = make_eligible(call=call, applicant=applicant, officer=officer, freezer=freezer, acronym=acronym,
                             **kwargs)  # fmt: skip
    return select(proposal, officer)


def make_grant(*, applicant, officer, freezer, actor=None, **kwargs) -> Grant:
    proposal = make_selected(applicant=applicant, officer=officer, freezer=freezer, **kwargs)
    return grant_create_from_proposal(proposal=proposal, actor=actor)


def make_signed(grant: Grant, envelope: Envelope, *, amount: str | None = None, actor=None) -> Grant:
    commitment_create(grant=grant, envelope=envelope, amount=Decimal(amount) if amount else grant.eu_contribution,
                      actor=actor)  # fmt: skip
    return grant_sign(grant=grant, actor=actor)
