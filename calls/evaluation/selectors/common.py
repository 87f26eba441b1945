"""What the evaluation's reads share: the proposal statuses that take part, and the money field."""

from decimal import Decimal

from django.db.models import DecimalField

from calls.models import Proposal

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=14, decimal_places=2)

# Proposals of a cut-off that take part in the evaluation (eligible onwards).
IN_EVALUATION = (
    Proposal.Status.ELIGIBLE,
    Proposal.Status.EVALUATION,
    Proposal.Status.SELECTED,
    Proposal.Status.RESERVE,
    Proposal.Status.REJECTED,
)
DECIDED = (Proposal.Status.SELECTED, Proposal.Status.RESERVE, Proposal.Status.REJECTED)
OPEN_WORK = (Proposal.Status.ELIGIBLE, Proposal.Status.EVALUATION)
