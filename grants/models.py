"""Envelopes, the calls they fund, grants, the append-only commitment ledger and the award letters."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import F, Q

from eurohpc import limits
from eurohpc.models import AppendOnlyModel, AppendOnlyQuerySet, Organisation

ZERO = Decimal("0.00")


class Programme(models.TextChoices):
    DIGITAL_EUROPE = "digital_europe", "Digital Europe"
    HORIZON_EUROPE = "horizon_europe", "Horizon Europe"


class Envelope(models.Model):
    """An amount of EU appropriations. Envelopes form a tree; a commitment must fit every level above it."""

    code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    programme = models.CharField(max_length=20, choices=Programme.choices)
    period_start = models.PositiveSmallIntegerField(help_text="first budget year")
    period_end = models.PositiveSmallIntegerField(help_text="last budget year")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    is_illustrative = models.BooleanField(default=False, help_text="demo figure, not a published amount")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code"], name="envelope_code_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="envelope_amount_positive"),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="envelope_period_ordered"),
            models.CheckConstraint(condition=Q(programme__in=Programme.values), name="envelope_programme_valid"),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="envelope_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def period(self) -> str:
        if self.period_start == self.period_end:
            return str(self.period_start)
        return f"{self.period_start}–{self.period_end}"


class EnvelopeAmount(AppendOnlyModel):
    """An envelope's amount from `effective_at` on: its opening amount, then each budget amendment.

    `Envelope.amount` is the amount in force now; positions at an earlier date read the amount in force then.
    """

    envelope = models.ForeignKey(Envelope, on_delete=models.PROTECT, related_name="amounts")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    effective_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="envelopeamount_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.envelope_id} from {self.effective_at:%Y-%m-%d}: {self.amount}"


class CallFunding(models.Model):
    """Which envelope funds a call: the funding line of the call's ranking is drawn against it."""

    call = models.OneToOneField("calls.Call", on_delete=models.CASCADE, related_name="funding")
    envelope = models.ForeignKey(Envelope, on_delete=models.PROTECT, related_name="calls_funded")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.call_id} funded by {self.envelope}"


class GrantQuerySet(models.QuerySet):
    def visible_to(self, user) -> "GrantQuerySet":
        """The same rule as `grants.view_grant`, as a filter for lists and lookups."""
        from grants.rules import grant_visibility_filter

        return self.filter(grant_visibility_filter(user))


class Grant(models.Model):
    class Status(models.TextChoices):
        PREPARED = "prepared", "Prepared"
        BUDGET_COMMITTED = "budget_committed", "Budget committed"
        SIGNED = "signed", "Signed"
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"
        TERMINATED = "terminated", "Terminated"

    reference = models.CharField(max_length=100)
    proposal = models.OneToOneField("calls.Proposal", on_delete=models.PROTECT, related_name="grant")
    beneficiary = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="grants")
    eu_contribution = models.DecimalField("EU contribution", max_digits=14, decimal_places=2)
    national_contribution = models.DecimalField(max_digits=14, decimal_places=2)
    total_cost = models.DecimalField(max_digits=14, decimal_places=2)
    co_funding_rate = models.DecimalField(max_digits=5, decimal_places=4, help_text="EU share of the total cost")
    mutual_insurance_rate = models.DecimalField(
        max_digits=5, decimal_places=4, help_text="mutual insurance contribution deducted from pre-financing"
    )
    envelope = models.ForeignKey(
        Envelope, null=True, blank=True, on_delete=models.PROTECT, related_name="grants",
        help_text="the envelope the grant is committed against",
    )  # fmt: skip
    start_date = models.DateField()
    end_date = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PREPARED)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    termination_reason = models.TextField(blank=True, validators=[MaxLengthValidator(limits.REASON)])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["status", "reference"], name="grant_status_reference")]
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="grant_reference_unique"),
            models.CheckConstraint(condition=Q(eu_contribution__gt=0), name="grant_eu_contribution_positive"),
            models.CheckConstraint(condition=Q(national_contribution__gte=0), name="grant_national_not_negative"),
            models.CheckConstraint(
                condition=Q(total_cost=F("eu_contribution") + F("national_contribution")),
                name="grant_shares_add_up",
            ),
            models.CheckConstraint(
                condition=Q(co_funding_rate__gt=0, co_funding_rate__lte=1), name="grant_co_funding_rate_range"
            ),
            models.CheckConstraint(
                condition=Q(mutual_insurance_rate__gte=0, mutual_insurance_rate__lt=Decimal("0.2")),
                name="grant_mutual_insurance_rate_range",
            ),
            models.CheckConstraint(condition=Q(end_date__gt=F("start_date")), name="grant_dates_ordered"),
            models.CheckConstraint(
                condition=Q(status__in=["prepared", "budget_committed", "signed", "active", "closed", "terminated"]),
                name="grant_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["prepared", "budget_committed", "terminated"]) | Q(signed_at__isnull=False),
                name="grant_signed_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["closed", "terminated"]) | Q(closed_at__isnull=False),
                name="grant_closed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def acronym(self) -> str:
        return self.proposal.acronym


class GrantBudgetLine(models.Model):
    """The EU and national contribution per budget category, as agreed in the grant."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="budget_lines")
    category = models.CharField(max_length=24)
    label = models.CharField(max_length=100)
    total_cost = models.DecimalField(max_digits=14, decimal_places=2)
    eu_contribution = models.DecimalField(max_digits=14, decimal_places=2)
    national_contribution = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["grant", "category"], name="grant_budget_line_once_per_category"),
            models.CheckConstraint(
                condition=Q(eu_contribution__gte=0, national_contribution__gte=0),
                name="grant_budget_line_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(total_cost=F("eu_contribution") + F("national_contribution")),
                name="grant_budget_line_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.eu_contribution}"


class LedgerEntry(AppendOnlyModel):
    """One movement of the budget. Rows are never changed: a correction is a reversing entry."""

    class Kind(models.TextChoices):
        COMMITMENT = "commitment", "Budget commitment"
        DECOMMITMENT = "decommitment", "Decommitment"
        PREFINANCING = "prefinancing", "Pre-financing payment"
        INTERIM = "interim", "Interim payment"
        FINAL = "final", "Final payment"
        RECOVERY = "recovery", "Recovery"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="always positive; the kind gives the sign")
    withheld = models.DecimalField(
        max_digits=14, decimal_places=2, default=ZERO,
        help_text="mutual insurance contribution kept from a pre-financing payment",
    )  # fmt: skip
    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="ledger")
    envelope = models.ForeignKey(Envelope, on_delete=models.PROTECT, related_name="ledger")
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by",
        help_text="the entry this one cancels (a correction)",
    )  # fmt: skip
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    memo = models.TextField(blank=True, validators=[MaxLengthValidator(limits.MEMO)])
    created_at = models.DateTimeField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["envelope", "created_at"], name="ledger_envelope_created"),
            models.Index(fields=["grant", "created_at"], name="ledger_grant_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=["commitment", "decommitment", "prefinancing", "interim", "final", "recovery"]),
                name="ledger_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(withheld=0) | Q(kind="prefinancing", withheld__gt=0, withheld__lt=F("amount")),
                name="ledger_withheld_only_on_prefinancing",
            ),
            models.CheckConstraint(condition=~Q(reverses=F("id")), name="ledger_not_own_reversal"),
        ]

    def __str__(self) -> str:
        prefix = "Reversal of " if self.reverses_id else ""
        return f"{prefix}{self.get_kind_display()} {self.amount} ({self.grant_id})"

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None

    @property
    def signed_amount(self) -> Decimal:
        return -self.amount if self.reverses_id else self.amount

    @property
    def net_paid(self) -> Decimal:
        """What reached the beneficiary's account (pre-financing less the mutual insurance contribution)."""
        return self.amount - self.withheld


COMMITMENT_KINDS = (LedgerEntry.Kind.COMMITMENT,)
PAYMENT_KINDS = (LedgerEntry.Kind.PREFINANCING, LedgerEntry.Kind.INTERIM, LedgerEntry.Kind.FINAL)


def award_letter_path(instance: "AwardLetter", filename: str) -> str:
    return f"award_letters/{instance.grant_id}/{filename}"


class AwardLetter(models.Model):
    """One rendered version of a grant's award letter. A new version never replaces an older one."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being rendered"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="award_letters")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to=award_letter_path, max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, null=True, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["grant", "version"], name="award_letter_version_once"),
            models.UniqueConstraint(fields=["sha256"], name="award_letter_sha256_unique"),
            models.CheckConstraint(condition=Q(version__gte=1), name="award_letter_version_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "ready", "failed"]), name="award_letter_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="ready")
                | Q(sha256__regex=r"^[0-9a-f]{64}$", size__gt=0, rendered_at__isnull=False),
                name="award_letter_ready_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"Award letter {self.grant_id} v{self.version}"

    @property
    def filename(self) -> str:
        return f"award-letter-{self.grant.reference}-v{self.version}.pdf"
