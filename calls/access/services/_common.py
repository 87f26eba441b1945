"""What the access services share: the GPU-hours parser, the application's lock, its state in words."""

from decimal import Decimal, InvalidOperation

from calls.access.models import AccessApplication
from calls.models import Proposal
from eurohpc.errors import RuleViolation
from hosting.formatting import qty

ZERO = Decimal("0")
S = Proposal.Status


def _hours(value, field: str = "gpu_hours") -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -2:
        raise RuleViolation(
            f"GPU-hours are a positive number with at most 2 decimals; got {value!r}.",
            code="gpu_hours",
            errors={field: ["Enter a positive number of GPU-hours, with at most 2 decimals."]},
        )
    if amount >= Decimal("1e10"):
        raise RuleViolation(
            f"{qty(amount)} GPU-hours is more than any machine has.",
            code="gpu_hours",
            errors={field: ["Enter at most 9,999,999,999.99 GPU-hours."]},
        )
    return amount


def _locked_application(application: AccessApplication | int) -> AccessApplication:
    pk = application if isinstance(application, int) else application.pk
    Proposal.objects.select_for_update(of=("self",)).filter(pk=pk).get()
    return (
        AccessApplication.objects.select_related(
            "proposal", "proposal__call", "proposal__organisation", "proposal__cut_off", "mode", "partition",
            "partition__machine", "pi",
        )
        .get(pk=pk)
    )  # fmt: skip


def _status(application: AccessApplication) -> str:
    return application.status_label.lower()
