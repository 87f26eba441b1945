"""Fixtures of the evaluation tests: a call with room, three independent experts, one eligible proposal."""

from decimal import Decimal

import pytest

from tests.calls.evaluation_factories import make_batch, make_evaluators
from tests.calls.factories import make_call


@pytest.fixture
def call():
    return make_call(indicative_budget=Decimal("100000000.00"))


@pytest.fixture
def experts(db):
    return make_evaluators(3)


@pytest.fixture
def proposal(call, applicant, programme_officer, freezer):
    return make_batch(
        call=call, applicant=applicant, officer=programme_officer, freezer=freezer, budgets=["1000000.00"]
    )[0]
