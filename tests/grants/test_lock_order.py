"""Grant services lock the envelope chain before the grant (eurohpc/locking.py), on PostgreSQL."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from grants.services import commitment_create, grant_sign, payment_record
from tests.conftest import requires_postgresql
from tests.eurohpc.test_lock_order import assert_in_order, locked_tables

pytestmark = [requires_postgresql, pytest.mark.django_db]


def test_grant_services_lock_the_envelope_chain_before_the_grant(grant, tree, finance_officer):
    for service in (
        lambda: commitment_create(grant=grant, envelope=tree[1], amount=grant.eu_contribution, actor=finance_officer),
        lambda: grant_sign(grant=grant, actor=finance_officer),
        lambda: payment_record(grant=grant, kind="prefinancing", amount=Decimal("1000.00"), actor=finance_officer),
    ):
        with CaptureQueriesContext(connection) as captured:
            service()
        assert_in_order(locked_tables(captured))
