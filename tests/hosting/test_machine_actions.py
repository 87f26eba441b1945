"""A machine offers only what the services accept: the exact actions per role and state, in the API and on the
machine page; each one listed is accepted when sent, and one not listed is refused by its service with the rule
it breaks."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from eurohpc.models import Role, User
from hosting.actions import machine_actions
from tests.conftest import api_for, queries_of_page
from tests.factories import UserFactory
from tests.hosting.factories import (
    AllocationPeriodFactory,
    HostingAgreementFactory,
    MachineFactory,
    PartitionFactory,
    UserProjectFactory,
    sacct_file,
    sacct_line,
)

pytestmark = pytest.mark.django_db


def _machine(state: str, organisation):
    """LUMI of `organisation` in the state `state`."""
    machine = MachineFactory(name="LUMI", hosting_entity=organisation, slurm_cluster="lumi")
    if state == "recorded":
        return machine
    HostingAgreementFactory(machine=machine)
    if state in ("partitioned", "in service"):
        PartitionFactory(machine=machine, name="LUMI-G", slurm_partitions="standard-g,small-g")
    if state in ("period opened", "in service"):
        AllocationPeriodFactory(machine=machine)
    return machine


STATES = ["recorded", "agreed", "partitioned", "period opened", "in service"]
OFFICER_ACTIONS = {
    "recorded": ["add_partition", "record_agreement"],
    "agreed": ["add_partition", "create_period", "record_agreement"],
    "partitioned": ["add_partition", "create_period", "record_agreement"],
    "period opened": ["add_partition", "create_period", "record_agreement"],
    "in service": ["allocate", "add_partition", "create_period", "record_agreement"],
}
OPERATOR_ACTIONS = {state: ["upload_usage"] if state in ("partitioned", "in service") else [] for state in STATES}


def _actions(machine, user) -> list[str]:
    return machine_actions(machine=machine, user=User.objects.get(pk=user.pk))


@pytest.mark.parametrize("state", STATES)
def test_machine_actions_per_role(organisation, programme_officer, hosting_operator, finance_officer, state):
    machine = _machine(state, organisation)
    assert _actions(machine, programme_officer) == OFFICER_ACTIONS[state]
    assert _actions(machine, hosting_operator) == OPERATOR_ACTIONS[state]
    assert _actions(machine, finance_officer) == []


def test_machine_actions_are_none_for_an_operator_of_another_entity(organisation, other_organisation):
    machine = _machine("in service", organisation)
    stranger = UserFactory(username="op2", organisation=other_organisation, roles=[Role.HOSTING_OPERATOR])
    assert _actions(machine, stranger) == []


@pytest.mark.parametrize("state", STATES)
def test_machine_api_detail_and_list_give_the_actions(organisation, programme_officer, hosting_operator, state):
    machine = _machine(state, organisation)
    for user, expected in ((programme_officer, OFFICER_ACTIONS), (hosting_operator, OPERATOR_ACTIONS)):
        client = api_for(user)
        assert client.get(f"/api/v1/machines/{machine.pk}/").json()["actions"] == expected[state]
        [row] = client.get("/api/v1/machines/").json()["results"]
        assert row["actions"] == expected[state]


# --- each action listed is accepted ----------------------------------------------------------------------------


def _send(action: str, machine, client, page_client):
    """The action sent as its API request where there is one, else as the machine page's form."""
    if action == "upload_usage":
        data = sacct_file(sacct_line("1001", start="2026-09-01T10:00:00", end="2026-09-01T12:00:00"))
        return client.post(f"/api/v1/machines/{machine.pk}/usage-imports/", {"file": SimpleUploadedFile("s.txt", data)})
    if action == "allocate":
        partition, period = machine.partitions.get(), machine.periods.get()
        return client.post("/api/v1/allocations/", {
            "project": UserProjectFactory().pk, "partition": partition.pk, "period": period.pk, "amount": "100.00",
            "slurm_account": "project_465000042",
        }, format="json")  # fmt: skip
    if action == "create_period":
        return client.post(f"/api/v1/machines/{machine.pk}/periods/",
                           {"name": "2027-H1", "start": "2027-01-01", "end": "2027-06-30"}, format="json")  # fmt: skip
    if action == "add_partition":
        return page_client.post(f"/machines/{machine.pk}/partitions/", {
            "name": "LUMI-D", "kind": "gpu", "nodes": "8", "gpus_per_node": "8", "cores_per_node": "0",
            "accounting_unit": "", "availability_factor": "0.900", "slurm_partitions": "largemem-g",
        })  # fmt: skip
    return page_client.post(f"/machines/{machine.pk}/agreements/", {"signed_on": "2027-01-01"})


ACCEPTED = {"upload_usage": 201, "allocate": 201, "create_period": 201, "add_partition": 302, "record_agreement": 302}


@pytest.mark.parametrize("state", STATES)
def test_every_machine_action_listed_is_accepted(client, organisation, programme_officer, hosting_operator, state):
    machine = _machine(state, organisation)
    refused = []
    for user in (programme_officer, hosting_operator):
        client.force_login(user)
        listed = api_for(user).get(f"/api/v1/machines/{machine.pk}/").json()["actions"]
        for action in listed:
            savepoint = transaction.savepoint()
            try:
                response = _send(action, machine, api_for(user), client)
                if response.status_code != ACCEPTED[action]:
                    refused.append((user.username, action, response.status_code))
            finally:
                transaction.savepoint_rollback(savepoint)
    assert refused == []


def test_machine_without_partitions_offers_no_upload_and_the_service_refuses_it(organisation, hosting_operator):
    machine = _machine("agreed", organisation)
    assert "upload_usage" not in _actions(machine, hosting_operator)
    response = _send("upload_usage", machine, api_for(hosting_operator), None)
    assert response.status_code == 409
    assert response.json() == {
        "detail": "LUMI has no partitions yet: its Slurm usage has nothing to be charged to. Add them first.",
        "code": "no_partitions",
        "errors": {},
    }


def test_machine_without_agreement_offers_no_period_and_the_service_refuses_it(organisation, programme_officer):
    machine = _machine("recorded", organisation)
    assert "create_period" not in _actions(machine, programme_officer)
    response = _send("create_period", machine, api_for(programme_officer), None)
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "LUMI has no hosting agreement in force on 2027-01-01: record it first, it fixes the Union's access share."
    )


# --- the machine page --------------------------------------------------------------------------------------

MARKS = {
    "upload_usage": 'href="/machines/{pk}/usage/"',
    "allocate": 'href="/allocations/new/?period=',
    "add_partition": 'action="/machines/{pk}/partitions/"',
    "create_period": 'action="/machines/{pk}/periods/"',
    "record_agreement": 'action="/machines/{pk}/agreements/"',
}


@pytest.mark.parametrize("state", STATES)
def test_machine_page_offers_exactly_the_actions(client, organisation, programme_officer, hosting_operator, state):
    machine = _machine(state, organisation)
    for user, expected in ((programme_officer, OFFICER_ACTIONS), (hosting_operator, OPERATOR_ACTIONS)):
        client.force_login(user)
        html = client.get(f"/machines/{machine.pk}/").content.decode()
        assert [name for name, mark in MARKS.items() if mark.format(pk=machine.pk) in html] == expected[state]


# --- query counts ------------------------------------------------------------------------------------------


def test_machines_list_with_actions_keeps_a_constant_number_of_queries(
    client, organisation, programme_officer, hosting_operator
):
    def add(n: int) -> None:
        machine = MachineFactory(name=f"M{n}", hosting_entity=organisation)
        HostingAgreementFactory(machine=machine)
        PartitionFactory(machine=machine, name="G", slurm_partitions=f"g{n}")
        AllocationPeriodFactory(machine=machine)

    def queries() -> dict[str, int]:
        return {
            u.username: queries_of_page(client, u, "/api/v1/machines/") for u in (programme_officer, hosting_operator)
        }

    add(0)
    one = queries()
    for n in range(1, 4):
        add(n)
    assert api_for(hosting_operator).get("/api/v1/machines/").json()["count"] == 4
    assert queries() == one
