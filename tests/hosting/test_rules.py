"""Permissions of the hosting app, and that list querysets agree with the object permissions."""

import pytest

from eurohpc.models import Role
from hosting.models import Allocation, Machine, UserProject
from tests.factories import OrganisationFactory, UserFactory
from tests.hosting.factories import AllocationFactory

pytestmark = pytest.mark.django_db

ROLES = [
    Role.APPLICANT,
    Role.EVALUATOR,
    Role.PROGRAMME_OFFICER,
    Role.FINANCE_OFFICER,
    Role.HOSTING_OPERATOR,
    Role.ADMIN,
]
EVERYTHING = {Role.PROGRAMME_OFFICER, Role.FINANCE_OFFICER, Role.ADMIN}

EXPECTED = {
    "hosting.view_machine_list": EVERYTHING | {Role.HOSTING_OPERATOR},
    "hosting.view_allocation_list": EVERYTHING | {Role.HOSTING_OPERATOR},
    "hosting.view_project_list": EVERYTHING | {Role.HOSTING_OPERATOR},
    "hosting.view_operator_quota": {Role.HOSTING_OPERATOR},
    "hosting.manage_machine": {Role.PROGRAMME_OFFICER},
    "hosting.add_project": {Role.PROGRAMME_OFFICER},
    "hosting.add_allocation": {Role.PROGRAMME_OFFICER},
    "hosting.import_usage": {Role.HOSTING_OPERATOR},
}


@pytest.mark.parametrize("perm", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_hosting_role_permission_matrix(perm, role):
    user = UserFactory(organisation=OrganisationFactory(), roles=[role])
    assert user.has_perm(perm) is (role in EXPECTED[perm])


@pytest.mark.parametrize("role", ROLES)
def test_machine_visibility_agrees_with_permission(role, lumi, other_machine, organisation):
    user = UserFactory(organisation=organisation, roles=[role])
    visible = set(Machine.objects.visible_to(user))
    for machine in (lumi, other_machine):
        assert (machine in visible) is user.has_perm("hosting.view_machine", machine)
    assert (lumi in visible) is (role in EVERYTHING | {Role.HOSTING_OPERATOR})
    assert (other_machine in visible) is (role in EVERYTHING)


@pytest.mark.parametrize("role", [*ROLES, "pi"])
def test_allocation_and_project_visibility_agree_with_permissions(role, period, lumi_g, other_machine, organisation):
    user = UserFactory(organisation=organisation, roles=[] if role == "pi" else [role])
    ours = AllocationFactory(
        partition=lumi_g, period=period, slurm_account="ours", project__pi=user if role == "pi" else UserFactory()
    )
    theirs = AllocationFactory(
        partition=other_machine.partitions.get(), period=other_machine.periods.get(), slurm_account="theirs"
    )
    allocations = set(Allocation.objects.visible_to(user))
    projects = set(UserProject.objects.visible_to(user))
    for allocation in (ours, theirs):
        assert (allocation in allocations) is user.has_perm("hosting.view_allocation", allocation)
        assert (allocation.project in projects) is user.has_perm("hosting.view_project", allocation.project)
    assert (ours in allocations) is (role in EVERYTHING | {Role.HOSTING_OPERATOR, "pi"})
    assert (theirs in allocations) is (role in EVERYTHING)


def test_import_usage_only_for_operators_of_the_machine(lumi, other_machine, hosting_operator):
    assert hosting_operator.has_perm("hosting.import_usage", lumi) is True
    assert hosting_operator.has_perm("hosting.import_usage", other_machine) is False


def test_inactive_operator_sees_nothing(lumi, hosting_operator):
    hosting_operator.is_active = False
    assert not Machine.objects.visible_to(hosting_operator).exists()
    assert hosting_operator.has_perm("hosting.view_machine", lumi) is False
