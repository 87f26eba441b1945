"""Who may do what with machines, quotas, projects, allocations and usage.

Views, the API and templates ask these permissions; list querysets apply the same rules as filters
(`Model.objects.visible_to(user)`). Asked without an object, `operates` answers for "some machine" (a hosting
operator may import usage for some machine); with an object, for that object's machine.
"""

import rules

from eurohpc.permissions import denial
from eurohpc.rules import is_admin, is_finance_officer, is_hosting_operator, is_programme_officer


def _entity_id(obj) -> int | None:
    """The hosting entity behind a machine, partition, period, quota, allocation, alert or usage import."""
    from hosting.models import Allocation, AllocationAlert, Machine, PartitionQuota

    if isinstance(obj, Machine):
        return obj.hosting_entity_id
    if isinstance(obj, Allocation | PartitionQuota):
        return obj.partition.machine.hosting_entity_id
    if isinstance(obj, AllocationAlert):
        return obj.allocation.partition.machine.hosting_entity_id
    machine = getattr(obj, "machine", None)
    return machine.hosting_entity_id if machine is not None else None


@rules.predicate
def operates(user, obj) -> bool:
    """A hosting operator of the entity that hosts `obj`'s machine (of some machine when there is no object)."""
    if not is_hosting_operator(user) or user.organisation_id is None:
        return False
    if obj is None:
        return True
    from hosting.models import UserProject

    if isinstance(obj, UserProject):
        return obj.allocations.filter(partition__machine__hosting_entity_id=user.organisation_id).exists()
    return _entity_id(obj) == user.organisation_id


@rules.predicate
def is_principal_investigator(user, obj) -> bool:
    from hosting.models import Allocation, UserProject

    if obj is None or not user.is_authenticated:
        return False
    if isinstance(obj, UserProject):
        return obj.pi_id == user.pk
    if isinstance(obj, Allocation):
        return obj.project.pi_id == user.pk
    return False


@rules.predicate
def leads_a_project(user) -> bool:
    """The user is the principal investigator of some project (asked by the API lists, one query)."""
    from hosting.models import UserProject

    if not (user and user.is_authenticated and user.is_active):
        return False
    cached = getattr(user, "_leads_a_project", None)
    if cached is None:
        cached = user._leads_a_project = UserProject.objects.filter(pi=user).exists()
    return cached


sees_everything = is_programme_officer | is_finance_officer | is_admin

# Each permission with the reason a refusal gives (eurohpc.permissions): the pages answer 403 with it.

# Role-only permissions (no query): navigation entries and list pages.
rules.add_perm("hosting.view_machine_list", sees_everything | is_hosting_operator)
denial("hosting.view_machine_list", "Only officers and hosting operators see machines.")
rules.add_perm("hosting.view_allocation_list", sees_everything | is_hosting_operator)
denial("hosting.view_allocation_list", "Only officers and hosting operators see allocations.")
rules.add_perm("hosting.view_project_list", sees_everything | is_hosting_operator)
denial("hosting.view_project_list", "Only officers and hosting operators see projects.")
rules.add_perm("hosting.view_operator_quota", is_hosting_operator)
denial("hosting.view_operator_quota", "Only hosting operators have a quota view.")

# Object permissions.
rules.add_perm("hosting.view_machine", sees_everything | operates)
rules.add_perm("hosting.view_project", sees_everything | operates | is_principal_investigator)
rules.add_perm("hosting.view_allocation", sees_everything | operates | is_principal_investigator)
rules.add_perm("hosting.import_usage", operates)
denial("hosting.import_usage", "Only the hosting operators of a machine upload its Slurm usage.")
rules.add_perm("hosting.view_usage_import", sees_everything | operates)

# Writes of the programme office.
rules.add_perm("hosting.manage_machine", is_programme_officer)  # hosting agreements, periods, Slurm mapping
denial("hosting.manage_machine", "Only programme officers record machines.")
rules.add_perm("hosting.add_project", is_programme_officer)
denial("hosting.add_project", "Only programme officers record user projects.")
rules.add_perm("hosting.add_allocation", is_programme_officer)
denial("hosting.add_allocation", "Only programme officers allocate access time.")

# API lists also answer a project's principal investigator, whatever the role.
rules.add_perm("hosting.list_projects", sees_everything | is_hosting_operator | leads_a_project)
rules.add_perm("hosting.list_allocations", sees_everything | is_hosting_operator | leads_a_project)
