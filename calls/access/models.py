"""Access calls: start-ups, SMEs, industry, researchers and public bodies apply for GPU time on the hosted
machines.

An access application is a `Proposal` of type "access" (reference, cut-off, status, eligibility, evaluators,
reviews and conflicts of interest are the hosting calls' own) with the access details below. The access modes of a
call are data of the call: its caps, durations, who may apply and how the applications are decided.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import F, Q

from calls.models.calls import Call
from calls.models.proposals import Proposal
from eurohpc import limits

__all__ = ["AccessApplication", "AccessMode", "TechnicalAssessment"]

# The access modes of the programme (hosting.UserProject keeps the same codes for the projects they give).
MODE_CODES = ("playground", "fast_lane", "large_scale", "ai_for_science")
USER_TYPES = ("startup", "sme", "industry", "academia", "public_sector")


class AccessMode(models.Model):
    """One access mode of an access call, with the rules its applications are held to."""

    class Code(models.TextChoices):
        PLAYGROUND = "playground", "Playground"
        FAST_LANE = "fast_lane", "Fast Lane"
        LARGE_SCALE = "large_scale", "Large Scale"
        AI_FOR_SCIENCE = "ai_for_science", "AI for Science"

    class Process(models.TextChoices):
        # continuous: decided one by one as they come, while the machine's pool lasts
        CONTINUOUS = "continuous", "Continuous (first come, first served)"
        # cut-offs: collected at the call's cut-offs, peer-reviewed, ranked by the access committee
        CUT_OFF = "cut_off", "Cut-offs with peer review"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="access_modes")
    code = models.CharField(max_length=16, choices=Code.choices)
    process = models.CharField(max_length=12, choices=Process.choices)
    min_gpu_hours = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), help_text="a request must ask more than this"
    )
    max_gpu_hours = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="a request may ask at most this"
    )
    durations = models.JSONField(help_text="the durations in months an application may ask for")
    user_types = models.JSONField(help_text="the organisation types that may apply")
    reviews_required = models.PositiveSmallIntegerField(default=0)
    reply_days = models.PositiveSmallIntegerField(default=0, help_text="days the applicant has to reply to reviews")
    decision_target_days = models.PositiveSmallIntegerField(
        default=10, help_text="working days from submission to decision the office aims for"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["call", "code"], name="access_mode_once_per_call"),
            models.CheckConstraint(condition=Q(code__in=MODE_CODES), name="access_mode_code_valid"),
            models.CheckConstraint(condition=Q(process__in=["continuous", "cut_off"]), name="access_mode_process"),
            models.CheckConstraint(
                condition=Q(max_gpu_hours__isnull=True) | Q(max_gpu_hours__gt=F("min_gpu_hours")),
                name="access_mode_cap_above_minimum",
            ),
            # peer-reviewed modes give the applicant a right to reply; continuous modes are not reviewed
            models.CheckConstraint(
                condition=Q(process="continuous", reviews_required=0)
                | Q(process="cut_off", reviews_required__gte=2, reply_days__gte=1),
                name="access_mode_review_rules",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.call.identifier} {self.get_code_display()}"

    @property
    def is_reviewed(self) -> bool:
        return self.process == self.Process.CUT_OFF


class AccessApplication(models.Model):
    """What an access application asks beyond a proposal's title and abstract."""

    class UserType(models.TextChoices):
        STARTUP = "startup", "Start-up"
        SME = "sme", "SME"
        INDUSTRY = "industry", "Large industry"
        ACADEMIA = "academia", "Academia and research"
        PUBLIC_SECTOR = "public_sector", "Public sector"

    class Terms(models.TextChoices):
        OPEN_SCIENCE = "open_science", "Open science (results published)"
        COMMERCIAL = "commercial", "Commercial (results kept, within the machine's 20% industry share)"

    proposal = models.OneToOneField(Proposal, on_delete=models.CASCADE, primary_key=True, related_name="access")
    mode = models.ForeignKey(AccessMode, on_delete=models.PROTECT, related_name="applications")
    partition = models.ForeignKey("hosting.Partition", on_delete=models.PROTECT, related_name="access_applications")
    pi = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_applications",
        verbose_name="principal investigator",
    )  # fmt: skip
    team = models.TextField(blank=True, validators=[MaxLengthValidator(limits.REASON)])
    user_type = models.CharField(max_length=16, choices=UserType.choices)
    terms = models.CharField(max_length=16, choices=Terms.choices)
    ai_model = models.TextField(
        "AI model and data", blank=True, validators=[MaxLengthValidator(limits.ABSTRACT)],
        help_text="the models trained or run, and the data they use",
    )  # fmt: skip
    gpu_hours = models.DecimalField("GPU-hours requested", max_digits=12, decimal_places=2)
    duration_months = models.PositiveSmallIntegerField()
    start_month = models.DateField(help_text="the first day of the month access should start")
    no_prohibited_practice = models.BooleanField(
        default=False, help_text="AI Act: the project uses no prohibited AI practice (Art. 5)"
    )
    personal_data = models.BooleanField(default=False, help_text="the project processes personal data")
    data_protection = models.TextField(blank=True, validators=[MaxLengthValidator(limits.REASON)])
    ethics = models.TextField(blank=True, validators=[MaxLengthValidator(limits.REASON)])
    # the right to reply to the reviews (reviewed modes)
    reply_deadline = models.DateTimeField(null=True, blank=True)
    reply = models.TextField(blank=True, validators=[MaxLengthValidator(limits.ABSTRACT)])
    replied_at = models.DateTimeField(null=True, blank=True)
    # the access committee's decision
    awarded_gpu_hours = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    decision_reason = models.TextField(blank=True, validators=[MaxLengthValidator(limits.REASON)])
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    project = models.OneToOneField(
        "hosting.UserProject", null=True, blank=True, on_delete=models.PROTECT, related_name="access_application"
    )
    final_report = models.TextField(blank=True, validators=[MaxLengthValidator(limits.ABSTRACT)])
    final_report_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(gpu_hours__gt=0), name="access_gpu_hours_positive"),
            models.CheckConstraint(condition=Q(user_type__in=USER_TYPES), name="access_user_type_valid"),
            models.CheckConstraint(condition=Q(terms__in=["open_science", "commercial"]), name="access_terms_valid"),
            models.CheckConstraint(
                condition=Q(duration_months__gte=1, duration_months__lte=12), name="access_duration_1_to_12_months"
            ),
            models.CheckConstraint(condition=Q(start_month__day=1), name="access_starts_on_first_of_month"),
            models.CheckConstraint(
                condition=Q(awarded_gpu_hours__isnull=True)
                | Q(awarded_gpu_hours__gt=0, awarded_gpu_hours__lte=F("gpu_hours")),
                name="access_award_within_request",
            ),
            models.CheckConstraint(
                condition=Q(project__isnull=True) | Q(awarded_gpu_hours__isnull=False, decided_at__isnull=False),
                name="access_project_follows_award",
            ),
            models.CheckConstraint(
                condition=Q(replied_at__isnull=True) | (Q(reply_deadline__isnull=False) & ~Q(reply="")),
                name="access_reply_has_text",
            ),
        ]

    def __str__(self) -> str:
        return str(self.proposal)

    @property
    def commercial(self) -> bool:
        return self.terms == self.Terms.COMMERCIAL

    @property
    def status_label(self) -> str:
        """The proposal's state in the words of an access call."""
        return STATUS_LABELS.get(self.proposal.status) or self.proposal.get_status_display()


# An access application's states in its own words (an awarded application is a "selected" proposal).
STATUS_LABELS = {
    "screening": "Eligibility check",
    "evaluation": "Under assessment",
    "selected": "Awarded",
    "reserve": "Reserve list",
    "rejected": "Not awarded",
}


class TechnicalAssessment(models.Model):
    """The hosting entity's support team's view: can the project run on the partition, and with how much."""

    application = models.OneToOneField(AccessApplication, on_delete=models.CASCADE, related_name="technical")
    feasible = models.BooleanField()
    notes = models.TextField(validators=[MaxLengthValidator(limits.REASON)])
    recommended_gpu_hours = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assessed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(feasible=False, recommended_gpu_hours__isnull=True)
                | Q(feasible=True, recommended_gpu_hours__gt=0),
                name="technical_recommends_when_feasible",
            ),
            models.CheckConstraint(condition=~Q(notes=""), name="technical_has_notes"),
        ]

    def __str__(self) -> str:
        return f"Technical assessment of {self.application}"
