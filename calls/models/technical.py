"""The technical assessment of hosting proposals (a new AI supercomputer, or an AI upgrade): beside the
scientific evaluation, a hosting expert appointed by the programme office, after declaring any conflict of
interest, judges whether the machine can be built and run: site readiness, procurement, total cost of
ownership, energy efficiency, access policy. Each item passes or fails with a comment; a proposal is selected
only with a passed assessment."""

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import F, Q

from calls.models.evaluation import Assignment
from calls.models.proposals import Proposal
from eurohpc import limits

__all__ = ["TECHNICAL_TYPES", "FeasibilityAssessment", "FeasibilityItem"]

# The proposal types whose machine the JU co-owns: they need a passed technical assessment to be selected.
TECHNICAL_TYPES = (Proposal.Type.NEW_SYSTEM, Proposal.Type.UPGRADE)


class FeasibilityAssessment(models.Model):
    """One hosting expert's technical assessment of one proposal: assignment, declaration and result."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="feasibility_assessments")
    expert = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="feasibility_work")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField()
    deadline = models.DateTimeField(help_text="the assessment is due by then")
    declaration = models.CharField(
        max_length=12, choices=Assignment.Declaration.choices, default=Assignment.Declaration.PENDING
    )
    declaration_reason = models.TextField(blank=True, validators=[MaxLengthValidator(limits.REASON)])
    declared_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    draft = models.JSONField(default=dict, blank=True, help_text="items and comments saved before submission")
    passed = models.BooleanField(null=True, blank=True, help_text="every item passed (set on submission)")
    summary = models.TextField(blank=True, validators=[MaxLengthValidator(limits.REVIEW_COMMENT)])
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Closed when the programme office reassigns it after its deadline: the draft is kept, no longer accepted.
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "expert"], name="feasibility_once_per_expert"),
            # One assessment in force per proposal: another expert is assigned only after a recusal or a
            # reassignment.
            models.UniqueConstraint(
                fields=["proposal"],
                condition=~Q(declaration="conflict") & Q(closed_at__isnull=True),
                name="feasibility_one_in_force",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(status="draft"), name="feasibility_closed_not_submitted"
            ),
            models.CheckConstraint(
                condition=Q(declaration__in=["pending", "no_conflict", "conflict"]), name="feasibility_decl_valid"
            ),
            models.CheckConstraint(condition=Q(status__in=["draft", "submitted"]), name="feasibility_status_valid"),
            models.CheckConstraint(
                condition=Q(declaration="pending", declared_at__isnull=True)
                | (~Q(declaration="pending") & Q(declared_at__isnull=False)),
                name="feasibility_declared_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(declaration="conflict") | ~Q(declaration_reason=""), name="feasibility_conflict_reason"
            ),
            models.CheckConstraint(
                condition=Q(status="draft", submitted_at__isnull=True, passed__isnull=True)
                | Q(status="submitted", submitted_at__isnull=False, passed__isnull=False, declaration="no_conflict"),
                name="feasibility_submitted_has_result",
            ),
            models.CheckConstraint(condition=Q(deadline__gt=F("assigned_at")), name="feasibility_deadline_after_start"),
        ]

    def __str__(self) -> str:
        return f"Technical assessment of {self.proposal} by {self.expert}"


class FeasibilityItem(models.Model):
    """One item of a submitted technical assessment (calls/evaluation/data/feasibility_items.json)."""

    assessment = models.ForeignKey(FeasibilityAssessment, on_delete=models.CASCADE, related_name="items")
    item = models.CharField(max_length=32)
    passed = models.BooleanField()
    comment = models.TextField(validators=[MaxLengthValidator(limits.REVIEW_COMMENT)])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assessment", "item"], name="feasibility_item_once"),
            models.CheckConstraint(condition=~Q(comment=""), name="feasibility_item_has_comment"),
            models.CheckConstraint(condition=~Q(item=""), name="feasibility_item_has_code"),
        ]

    def __str__(self) -> str:
        return f"{self.item}: {'pass' if self.passed else 'fail'}"


class FeasibilityReminder(models.Model):
    """A reminder sent to a technical expert about the deadline of one assessment: at most one of each kind."""

    class Kind(models.TextChoices):
        SOON = "soon", "Assessment due soon"
        DUE = "due", "Assessment deadline reached"

    assessment = models.ForeignKey(FeasibilityAssessment, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assessment", "kind"], name="feasibility_reminder_once_per_kind"),
            models.CheckConstraint(condition=Q(kind__in=["soon", "due"]), name="feasibility_reminder_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.assessment}"
