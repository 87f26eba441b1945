"""Evaluation and selection: assignments with conflict-of-interest declarations, individual reviews,
consensus, decisions and evaluation summary reports.

The evaluation scheme (criteria, maxima, steps, thresholds, weights) is data of each call; the rows below keep
the maximum each score was given against, so the range holds in the database whatever the scheme says later.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import F, Q

from calls.models.calls import CutOff
from calls.models.proposals import Proposal
from eurohpc import limits
from eurohpc.models import AppendOnlyModel, Role

__all__ = [
    "Assignment",
    "AssignmentReminder",
    "Consensus",
    "ConsensusScore",
    "Decision",
    "DecisionPublication",
    "Review",
    "ReviewScore",
    "SummaryReport",
]


class AssignmentQuerySet(models.QuerySet):
    def visible_to(self, user) -> "AssignmentQuerySet":
        """Officers and administrators see every assignment; an evaluator sees their own."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if Role.PROGRAMME_OFFICER in user.roles or Role.ADMIN in user.roles:
            return self
        if Role.EVALUATOR in user.roles:
            return self.filter(evaluator=user)
        return self.none()


class Assignment(models.Model):
    """An independent expert asked to evaluate one proposal. They declare a conflict of interest first."""

    class Declaration(models.TextChoices):
        PENDING = "pending", "Declaration pending"
        NO_CONFLICT = "no_conflict", "No conflict of interest"
        CONFLICT = "conflict", "Conflict of interest (recused)"

    class CloseReason(models.TextChoices):
        REASSIGNED = "reassigned", "Reassigned after its deadline"
        RE_EVALUATION = "re_evaluation", "Superseded by a re-evaluation"

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="assignments")
    evaluator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="evaluation_assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField()
    declaration_deadline = models.DateTimeField(help_text="the conflict-of-interest declaration is due by then")
    deadline = models.DateTimeField(help_text="the individual review is due by then")
    auto_assigned = models.BooleanField(default=False)
    declaration = models.CharField(max_length=12, choices=Declaration.choices, default=Declaration.PENDING)
    declaration_reason = models.TextField(blank=True, validators=[MaxLengthValidator(limits.REASON)])
    declared_at = models.DateTimeField(null=True, blank=True)
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replacement",
        help_text="the recused, reassigned or re-evaluated assignment this one replaces",
    )  # fmt: skip
    # Closed: the expert's work on it ended before completion (reassigned when overdue, or superseded by a
    # re-evaluation after an evaluation review). A closed assignment's draft is kept but no longer accepted.
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=16, choices=CloseReason.choices, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["evaluator", "declaration"], name="assignment_evaluator_decl")]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "evaluator"], name="assignment_once_per_evaluator"),
            models.CheckConstraint(
                condition=Q(declaration__in=["pending", "no_conflict", "conflict"]), name="assignment_declaration_valid"
            ),
            models.CheckConstraint(
                condition=Q(declaration="pending", declared_at__isnull=True)
                | (~Q(declaration="pending") & Q(declared_at__isnull=False)),
                name="assignment_declared_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(declaration="conflict") | ~Q(declaration_reason=""), name="assignment_conflict_has_reason"
            ),
            models.CheckConstraint(condition=Q(deadline__gt=F("assigned_at")), name="assignment_deadline_after_start"),
            models.CheckConstraint(
                condition=Q(declaration_deadline__gt=F("assigned_at"), declaration_deadline__lte=F("deadline")),
                name="assignment_declaration_deadline_in_window",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True, close_reason="")
                | Q(closed_at__isnull=False, close_reason__in=["reassigned", "re_evaluation"]),
                name="assignment_closed_has_reason",
            ),
            models.CheckConstraint(condition=~Q(replaces=F("id")), name="assignment_not_replacing_itself"),
        ]

    def __str__(self) -> str:
        return f"{self.proposal} — {self.evaluator}"

    @property
    def is_recused(self) -> bool:
        return self.declaration == self.Declaration.CONFLICT

    @property
    def is_open_to_evaluator(self) -> bool:
        return self.declaration == self.Declaration.NO_CONFLICT and self.closed_at is None

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class AssignmentReminder(models.Model):
    """A reminder sent to an expert about a deadline of one assignment: at most one of each kind, so that the
    periodic task may run as often as it likes."""

    class Kind(models.TextChoices):
        DECLARATION_SOON = "declaration_soon", "Declaration due soon"
        DECLARATION_DUE = "declaration_due", "Declaration deadline reached"
        REVIEW_SOON = "review_soon", "Review due soon"
        REVIEW_DUE = "review_due", "Review deadline reached"

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignment", "kind"], name="reminder_once_per_kind"),
            models.CheckConstraint(
                condition=Q(kind__in=["declaration_soon", "declaration_due", "review_soon", "review_due"]),
                name="reminder_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.assignment}"


class Review(models.Model):
    """One evaluator's individual review. A draft keeps its input as entered; submitting writes the scores."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="review")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    draft = models.JSONField(default=dict, blank=True, help_text="scores and comments saved before submission")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["draft", "submitted"]), name="review_status_valid"),
            models.CheckConstraint(
                condition=Q(status="draft", submitted_at__isnull=True)
                | Q(status="submitted", submitted_at__isnull=False),
                name="review_submitted_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Review of {self.assignment}"


def _plain(value) -> str:
    """4.50 → 4.5, 10.00 → 10: a score as people write it."""
    return format(value.normalize(), "f") if value is not None else ""


def _score_constraints(prefix: str, owner: str) -> list:
    return [
        models.UniqueConstraint(fields=[owner, "criterion"], name=f"{prefix}_once_per_criterion"),
        models.CheckConstraint(condition=Q(max_score__gt=0), name=f"{prefix}_max_positive"),
        models.CheckConstraint(condition=Q(score__gte=0, score__lte=F("max_score")), name=f"{prefix}_in_range"),
        models.CheckConstraint(condition=~Q(comment=""), name=f"{prefix}_has_comment"),
        models.CheckConstraint(condition=~Q(criterion=""), name=f"{prefix}_has_criterion"),
    ]


class _CriterionScore(models.Model):
    """A score for one criterion of the call's scheme, out of `max_score`, with its comment."""

    criterion = models.CharField(max_length=32)
    score = models.DecimalField(max_digits=6, decimal_places=2)
    max_score = models.DecimalField(max_digits=6, decimal_places=2)
    comment = models.TextField(validators=[MaxLengthValidator(limits.REVIEW_COMMENT)])

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.criterion}: {self.score}"

    @property
    def score_text(self) -> str:
        return _plain(self.score)


class ReviewScore(_CriterionScore):
    """A submitted individual score for one criterion, with its comment."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="scores")

    class Meta(_CriterionScore.Meta):
        constraints = _score_constraints("reviewscore", "review")


class Consensus(models.Model):
    """The consensus report of a proposal, recorded by the programme officer from the individual reviews."""

    proposal = models.OneToOneField(Proposal, on_delete=models.PROTECT, related_name="consensus")
    scheme = models.JSONField(help_text="the call's evaluation scheme as applied")
    total = models.DecimalField(max_digits=8, decimal_places=2, help_text="weighted sum of the consensus scores")
    passed_thresholds = models.BooleanField()
    reviews_count = models.PositiveSmallIntegerField(help_text="submitted individual reviews it was built from")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "consensus reports"
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="consensus_total_not_negative"),
            models.CheckConstraint(condition=Q(reviews_count__gte=1), name="consensus_has_reviews"),
        ]

    def __str__(self) -> str:
        return f"Consensus on {self.proposal}"

    @property
    def total_text(self) -> str:
        return _plain(self.total)


class ConsensusScore(_CriterionScore):
    """The consensus score for one criterion, with the comment that goes into the summary report."""

    consensus = models.ForeignKey(Consensus, on_delete=models.CASCADE, related_name="scores")

    class Meta(_CriterionScore.Meta):
        constraints = _score_constraints("consensusscore", "consensus")


class Decision(AppendOnlyModel):
    """A selection decision on a proposal. Append-only: a later decision (promotion, withdrawal) supersedes."""

    class Outcome(models.TextChoices):
        SELECTED = "selected", "Selected"
        RESERVE = "reserve", "Reserve list"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn after selection"

    class Kind(models.TextChoices):
        DECISION = "decision", "Decision"
        PROMOTION = "promotion", "Promotion from the reserve list"
        WITHDRAWAL = "withdrawal", "Withdrawal after selection"
        REDRESS = "redress", "Outcome after an evaluation review"

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="decisions")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DECISION)
    rank = models.PositiveIntegerField(null=True, blank=True)
    total = models.DecimalField(max_digits=8, decimal_places=2)
    passed_thresholds = models.BooleanField()
    eu_contribution = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="the requested EU contribution when decided"
    )
    reason = models.TextField(blank=True, validators=[MaxLengthValidator(limits.REASON)])
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["proposal", "-id"], name="decision_proposal_latest")]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=["selected", "reserve", "rejected", "withdrawn"]), name="decision_outcome_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind="decision", outcome__in=["selected", "reserve", "rejected"])
                | Q(kind="promotion", outcome="selected")
                | Q(kind="withdrawal", outcome="withdrawn")
                | Q(kind="redress", outcome__in=["selected", "reserve", "rejected"]),
                name="decision_kind_matches_outcome",
            ),
            models.CheckConstraint(
                condition=~Q(outcome__in=["selected", "reserve"]) | Q(passed_thresholds=True),
                name="decision_funded_or_reserve_passed",
            ),
            models.CheckConstraint(condition=Q(eu_contribution__gte=0), name="decision_eu_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.proposal}: {self.get_outcome_display()}"


class DecisionPublication(models.Model):
    """The decisions of a cut-off made known to the applicants. Once published they change only by
    promotion from the reserve list or withdrawal after selection."""

    cut_off = models.OneToOneField(CutOff, on_delete=models.PROTECT, related_name="publication")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Decisions of {self.cut_off} published"


def summary_report_path(instance: "SummaryReport", filename: str) -> str:
    return f"evaluation/summary-reports/{instance.proposal_id}/{uuid.uuid4().hex}.pdf"


class SummaryReport(models.Model):
    """The Evaluation Summary Report of a proposal (PDF), rendered after its decision is published."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being prepared"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    proposal = models.OneToOneField(Proposal, on_delete=models.PROTECT, related_name="summary_report")
    decision = models.ForeignKey(
        Decision, on_delete=models.PROTECT, related_name="+", help_text="the decision the report states"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to=summary_report_path, max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["pending", "ready", "failed"]), name="esr_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="ready")
                | (Q(sha256__regex=r"^[0-9a-f]{64}$", size__gt=0, rendered_at__isnull=False) & ~Q(file="")),
                name="esr_ready_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"Evaluation summary report of {self.proposal}"

    @property
    def filename(self) -> str:
        return f"ESR-{self.proposal.reference}.pdf"
