from decimal import Decimal

from calls.access.services import access_decide
from tests.calls.access_factories import (
    assessed_application,
    make_access_call,
    make_gpu_machine,
    make_host_operator,
    set_pool,
)


def test_access_playground_award_creates_project_and_allocation(applicant, programme_officer, organisation):
    call = make_access_call()
    _machine, partition, period = make_gpu_machine(hosting_entity=organisation)
    set_pool(partition=partition, period=period, mode="playground", hours=10000, officer=programme_officer)
    host = make_host_operator(organisation)
    application = assessed_application(
        call=call, partition=partition, applicant=applicant, officer=programme_officer, host=host, recommended="3000"
    )
    assert application.proposal.status == "evaluation"
    application = access_decide(application=application, outcome="awarded", actor=programme_officer)
    assert application.proposal.status == "selected"
    assert application.awarded_gpu_hours == Decimal("3000.00")
    assert application.project.allocations.get().amount == Decimal("3000.00")
