from decimal import Decimal

from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q

from eurohpc import limits

DEFAULT_FUNDING_RATES = {
    # Maximum share of each budget category's total eligible cost that the EU may contribute.
    "acquisition": "0.50",
    "operations": "0.50",
    "activities": "0.50",
    "experimental_platform": "0.50",
}

DEFAULT_EVALUATION_SCHEME = {
    "criteria": [
        {"code": "excellence", "name": "Excellence", "max": "5", "step": "0.5", "threshold": "3", "weight": "1"},
        {"code": "impact", "name": "Impact", "max": "5", "step": "0.5", "threshold": "3", "weight": "1"},
        {
            "code": "implementation",
            "name": "Implementation",
            "max": "5",
            "step": "0.5",
            "threshold": "3",
            "weight": "1",
        },
    ],
    "overall_threshold": "10",
    "min_evaluators": 3,
    "tie_break": ["excellence", "impact", "submitted_at"],
}


# The evaluation calendar of a call: days after a cut-off by which the experts declare conflicts of interest
# and submit their individual reviews and the consensus is due; the reminders' lead time; the least time a
# late or replacement expert is given; the days after notification within which an applicant may request an
# evaluation review (redress).
DEFAULT_EVALUATION_CALENDAR = {
    "declaration_days": 3,
    "review_days": 21,
    "consensus_days": 35,
    "reminder_days_before": 2,
    "replacement_days": 10,
    "redress_days": 30,
}


def default_evaluation_calendar() -> dict:
    return dict(DEFAULT_EVALUATION_CALENDAR)


def default_funding_rates() -> dict:
    return dict(DEFAULT_FUNDING_RATES)


def default_evaluation_scheme() -> dict:
    return {**DEFAULT_EVALUATION_SCHEME, "criteria": [dict(c) for c in DEFAULT_EVALUATION_SCHEME["criteria"]]}


class Call(models.Model):
    class Prong(models.TextChoices):
        EXISTING_HOST = "existing_host", "Existing hosting entities (AI Factory activities)"
        NEW_HOST = "new_host", "New hosting agreements (new or upgraded AI supercomputer)"
        ANTENNA = "antenna", "AI Factory Antennas"
        ACCESS = "access", "Access to AI Factory compute time"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    identifier = models.CharField(max_length=64)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, validators=[MaxLengthValidator(limits.CALL_DESCRIPTION)])
    prong = models.CharField(max_length=20, choices=Prong.choices)
    allowed_types = models.JSONField(default=list, help_text="proposal types this call accepts")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    opens_at = models.DateTimeField()
    admits_non_eu_participating_states = models.BooleanField(
        default=False, help_text="machines may sit in a non-EU Participating State (e.g. antennas)"
    )
    max_eu_contribution = models.DecimalField(
        "maximum EU contribution per proposal", max_digits=14, decimal_places=2, null=True, blank=True
    )
    indicative_budget = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    funding_rates = models.JSONField(default=default_funding_rates)
    evaluation_scheme = models.JSONField(default=default_evaluation_scheme)
    evaluation_calendar = models.JSONField(
        default=default_evaluation_calendar, help_text="days after a cut-off for each step of the evaluation"
    )
    next_reference_number = models.PositiveIntegerField(default=1)
    is_demo = models.BooleanField(default=False, help_text="demo data, not a real call")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["identifier"], name="call_identifier_unique"),
            models.CheckConstraint(condition=Q(status__in=["draft", "open", "closed"]), name="call_status_valid"),
            models.CheckConstraint(
                condition=Q(max_eu_contribution__isnull=True) | Q(max_eu_contribution__gt=0),
                name="call_max_eu_contribution_positive",
            ),
            models.CheckConstraint(
                condition=Q(indicative_budget__isnull=True) | Q(indicative_budget__gt=0),
                name="call_indicative_budget_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.identifier

    @property
    def allowed_type_labels(self) -> list[str]:
        """The proposal types this call accepts, as applicants read them."""
        from calls.models.proposals import Proposal

        labels = dict(Proposal.Type.choices)
        return [str(labels.get(kind, kind)) for kind in self.allowed_types]

    def funding_rate(self, category: str) -> Decimal:
        return Decimal(self.funding_rates.get(category, DEFAULT_FUNDING_RATES.get(category, "0.50")))


class CutOff(models.Model):
    """A deadline of a call. Proposals submitted before it are evaluated together."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="cut_offs")
    closes_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True, help_text="when the batch moved to screening")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["call", "closes_at"], name="cutoff_unique_per_call")]

    def __str__(self) -> str:
        from django.utils import timezone

        return f"{self.call.identifier} cut-off {timezone.localtime(self.closes_at):%d %b %Y %H:%M %Z}"
