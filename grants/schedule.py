"""The payment schedule of a grant: what is planned (from the payment rules) and what has been paid."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

CENT = Decimal("0.01")
INTERIM_CAP = Decimal("0.90")  # pre-financing + interim payments stay at or below 90% of the grant


def prefinancing_rate() -> Decimal:
    return Decimal(str(getattr(settings, "GRANTS_PREFINANCING_RATE", "0.40")))


def default_mutual_insurance_rate() -> Decimal:
    return Decimal(str(getattr(settings, "GRANTS_MUTUAL_INSURANCE_RATE", "0.05")))


def money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ScheduledPayment:
    kind: str
    label: str
    share: Decimal
    amount: Decimal
    withheld: Decimal
    when: str
    due: date | None
    paid: Decimal

    @property
    def net_transfer(self) -> Decimal:
        return self.amount - self.withheld


def payment_schedule(grant, *, paid_by_kind: dict[str, Decimal] | None = None) -> list[ScheduledPayment]:
    """Pre-financing at signature, interim payments up to 90% of the grant, the balance at the end."""
    paid_by_kind = paid_by_kind or {}
    eu = grant.eu_contribution
    pre_rate = min(prefinancing_rate(), INTERIM_CAP)
    prefinancing = money(eu * pre_rate)
    interim = money(eu * INTERIM_CAP) - prefinancing
    final = eu - prefinancing - interim
    signed = grant.signed_at.date() if grant.signed_at else None
    midpoint = grant.start_date + (grant.end_date - grant.start_date) / 2
    zero = Decimal("0.00")
    return [
        ScheduledPayment(
            kind="prefinancing",
            label="Pre-financing",
            share=pre_rate,
            amount=prefinancing,
            withheld=money(prefinancing * grant.mutual_insurance_rate),
            when="within 30 days of signature, less the mutual insurance contribution",
            due=signed + timedelta(days=30) if signed else None,
            paid=paid_by_kind.get("prefinancing", zero),
        ),
        ScheduledPayment(
            kind="interim",
            label="Interim payments",
            share=INTERIM_CAP - pre_rate,
            amount=interim,
            withheld=zero,
            when="after each approved periodic report, up to 90% of the grant with the pre-financing",
            due=midpoint,
            paid=paid_by_kind.get("interim", zero),
        ),
        ScheduledPayment(
            kind="final",
            label="Final payment",
            share=Decimal("1") - INTERIM_CAP,
            amount=final,
            withheld=zero,
            when="after the approved final report; settles the balance, the rest is decommitted",
            due=grant.end_date + timedelta(days=90),
            paid=paid_by_kind.get("final", zero),
        ),
    ]
