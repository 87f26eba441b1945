"""Concurrent access awards on PostgreSQL: the locks let exactly the pool's hours through, all or nothing."""

from decimal import Decimal

import pytest

from calls.access.models import AccessApplication
from calls.access.services import access_decide
from eurohpc.errors import LimitExceeded
from hosting.models import Allocation, UserProject
from tests.calls.access_factories import (
    assessed_application,
    make_access_call,
    make_gpu_machine,
    make_host_operator,
    set_pool,
)
from tests.conftest import race, requires_postgresql
from tests.factories import OrganisationFactory

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]

THREADS = 32
POOL = Decimal("10000")
EACH = Decimal("1000")


def test_concurrent_playground_awards_take_exactly_the_pool(applicant, programme_officer):
    host_org = OrganisationFactory(short_name="LUMI-HE", country="FI")
    call = make_access_call()
    _machine, partition, period = make_gpu_machine(hosting_entity=host_org)
    set_pool(partition=partition, period=period, mode="playground", hours=POOL, officer=programme_officer)
    host = make_host_operator(host_org)
    applications = [
        assessed_application(
            call=call,
            partition=partition,
            applicant=applicant,
            officer=programme_officer,
            host=host,
            acronym=f"RACE{n}",
            gpu_hours=EACH,
        )
        for n in range(THREADS)
    ]

    results, errors = race(
        *[lambda a=a: access_decide(application=a, outcome="awarded", actor=programme_officer) for a in applications]
    )

    awarded = [r for r in results if r is not None]
    assert (len(awarded), len(errors)) == (10, 22)
    assert all(type(e) is LimitExceeded and e.code == "pool_exhausted" for e in errors), errors
    assert {e.message for e in errors} == {
        "The Playground pool of LUMI LUMI-G in access would be exceeded by 1,000.00 GPU-hours: pool 10,000.00 "
        "GPU-hours, awarded 10,000.00 GPU-hours, remaining 0.00 GPU-hours, asked 1,000.00 GPU-hours; the Union "
        "quota has 776,240.00 GPU-hours of 786,240.00 GPU-hours remaining."
    }
    allocations = Allocation.objects.filter(partition=partition, period=period, project__access_mode="playground")
    assert sum(allocations.values_list("amount", flat=True)) == POOL
    assert UserProject.objects.count() == allocations.count() == 10
    statuses = list(AccessApplication.objects.values_list("proposal__status", flat=True))
    assert (statuses.count("selected"), statuses.count("evaluation")) == (10, 22)
    codes = sorted(UserProject.objects.values_list("code", flat=True))
    assert [code[-4:] for code in codes] == [f"{n:04d}" for n in range(1, 11)]
    assert AccessApplication.objects.filter(project__isnull=False).count() == 10
