"""Which actions on a machine are open to a user now: the machine page renders its buttons and forms from here and
the API lists them, so no page offers what the service would refuse.

Each answer uses the permission the view checks and the state rule of the service (hosting/services/); what is
sent (a file, a name, dates, an amount) is still checked by the service.
"""

from django.db.models import Exists, OuterRef

from hosting.models import HostingAgreement, Machine, PartitionQuota
from hosting.services import usage_refusal

# In the order the page shows them.
MACHINE_ACTIONS = ("upload_usage", "allocate", "add_partition", "create_period", "record_agreement")


def action_state_annotations() -> dict:
    """What `machine_actions` asks of each machine, as annotations for a list (no query per row)."""
    return {
        "has_agreement": Exists(HostingAgreement.objects.filter(machine=OuterRef("pk"))),
        "has_quota": Exists(PartitionQuota.objects.filter(partition__machine=OuterRef("pk"))),
    }


def machine_actions(
    *, machine: Machine, user, has_agreement: bool | None = None, has_quota: bool | None = None
) -> list[str]:
    """The actions of MACHINE_ACTIONS that `user` may take on `machine` now.

    `has_agreement` (the machine has a hosting agreement) and `has_quota` (a partition with its quota in some
    allocation period) come from the caller, else from the annotations of `action_state_annotations`, else from
    one query each, asked only of a user with the permission.
    """

    def known(name: str, given: bool | None, ask) -> bool:
        if given is not None:
            return given
        annotated = getattr(machine, name, None)
        return annotated if annotated is not None else ask()

    open_now = {
        # usage_import_submit: the machine's hosting operators, on a machine with partitions to charge
        "upload_usage": lambda: user.has_perm("hosting.import_usage", machine) and not usage_refusal(machine),
        # allocation_create: hours of a partition's quota in a period
        "allocate": lambda: (
            user.has_perm("hosting.add_allocation")
            and known("has_quota", has_quota, PartitionQuota.objects.filter(partition__machine=machine).exists)
        ),
        # partition_create
        "add_partition": lambda: user.has_perm("hosting.manage_machine", machine),
        # period_create: the quota follows the hosting agreement in force on the period's start
        "create_period": lambda: (
            user.has_perm("hosting.manage_machine", machine)
            and known("has_agreement", has_agreement, machine.agreements.exists)
        ),
        # hosting_agreement_create
        "record_agreement": lambda: user.has_perm("hosting.manage_machine", machine),
    }
    return [name for name in MACHINE_ACTIONS if open_now[name]()]
