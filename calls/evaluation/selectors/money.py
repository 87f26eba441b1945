"""Money of the evaluation: a proposal's requested EU contribution, and what is left to fund proposals of a call."""

from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from calls.evaluation.selectors.common import MONEY, ZERO
from calls.models import BudgetLine, Call, Decision, Proposal
from calls.providers import funding_provider


def eu_contribution_expression():
    """The requested EU contribution of the outer proposal (the sum of its budget lines), for `annotate`."""
    lines = (
        BudgetLine.objects.filter(proposal=OuterRef("pk"))
        .order_by()
        .values("proposal")
        .annotate(total=Sum("eu_contribution"))
        .values("total")
    )
    return Coalesce(Subquery(lines, output_field=MONEY), Value(ZERO), output_field=MONEY)


def proposal_eu_contribution(*, proposal: Proposal) -> Decimal:
    """The EU contribution a proposal requests: what it costs the programme when it is selected."""
    total = BudgetLine.objects.filter(proposal_id=proposal.pk).aggregate(total=Sum("eu_contribution"))["total"]
    return total if total is not None else ZERO


def selected_eu_contribution(*, proposal: Proposal) -> Decimal | None:
    """The EU contribution a selected proposal was selected for (as recorded on the decision that selected it:
    its requested EU contribution at that time); None when the proposal is not selected."""
    if proposal.status != Proposal.Status.SELECTED:
        return None
    decision = (
        Decision.objects.filter(proposal_id=proposal.pk, outcome=Decision.Outcome.SELECTED)
        .order_by("-id")
        .values_list("eu_contribution", flat=True)
        .first()
    )
    return decision if decision is not None else proposal_eu_contribution(proposal=proposal)


def call_available_amount(call: Call) -> Decimal:
    """The amount still available to fund proposals of `call` (see `call_funding_position`)."""
    return call_funding_position(call)[0]


def call_funding_position(call: Call) -> tuple[Decimal, bool]:
    """(available, budgeted): what is still available to fund proposals of `call` (the funding line, selections
    and promotions ask it), and whether the call has any figure to fund from.

    The least of what the call's limits leave: its indicative budget less the EU contributions already selected,
    and — when an envelope funds the call — what the envelope (and every envelope above it) can still take, less
    the selected proposals not yet committed there. A call with neither figure has nothing available.
    One query for the call's money, two more when an envelope funds it.
    """
    provider = funding_provider()  # the envelope and its commitments: answered by the grants app (`calls.providers`)
    selected = BudgetLine.objects.filter(proposal__call_id=OuterRef("pk"), proposal__status=Proposal.Status.SELECTED)
    uncommitted = selected.annotate(committed=provider.proposal_committed("proposal_id")).filter(committed=False)
    money = (
        Call.objects.filter(pk=call.pk)
        .annotate(
            selected_eu=_sum_of(selected),
            uncommitted_eu=_sum_of(uncommitted),
            envelope_id=provider.call_envelope_id("pk"),
        )
        .values("selected_eu", "uncommitted_eu", "envelope_id")
        .get()
    )
    limits = []
    if call.indicative_budget is not None:
        limits.append(call.indicative_budget - (money["selected_eu"] or ZERO))
    if money["envelope_id"] is not None:
        # Selected proposals whose grant is not budget-committed yet still need room in the envelope.
        limits.append(provider.envelope_available(money["envelope_id"]) - (money["uncommitted_eu"] or ZERO))
    return (min(limits) if limits else ZERO), bool(limits)


def _sum_of(lines) -> Subquery:
    total = lines.order_by().values("proposal__call_id").annotate(total=Sum("eu_contribution")).values("total")
    return Subquery(total, output_field=DecimalField(max_digits=14, decimal_places=2))
