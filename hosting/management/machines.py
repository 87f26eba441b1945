from django.core.management.base import CommandError

from hosting.models import Machine


def machine_named(name: str) -> Machine:
    """The machine a command names (`--machine LUMI`), or the command's refusal listing the machines there are."""
    machine = Machine.objects.filter(name=name).first()
    if machine is None:
        names = ", ".join(Machine.objects.order_by("name").values_list("name", flat=True))
        raise CommandError(f"No machine named {name!r}. Machines: {names}.")
    return machine
