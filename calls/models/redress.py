"""The evaluation review (redress) procedure: after the outcome of an evaluation is notified, the applicant may
contest the procedure (not the experts' judgement) within the call's window. The programme office records
admissibility; a review committee of officers who took no part in that evaluation, each declaring any conflict
of interest, gives its opinion: confirm the evaluation, or re-evaluate the proposal with new experts."""

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q

from calls.models.evaluation import Assignment, Decision
from calls.models.proposals import Proposal
from eurohpc import limits

__all__ = ["RedressCommitteeMember", "RedressRequest"]

AFTER_ADMISSIBILITY = ["inadmissible", "in_review", "confirmed", "re_evaluation", "re_evaluated"]
AFTER_OPINION = ["confirmed", "re_evaluation", "re_evaluated"]


class RedressRequest(models.Model):
    """An applicant's request for an evaluation review of one notified outcome of one proposal."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        INADMISSIBLE = "inadmissible", "Not admissible"
        IN_REVIEW = "in_review", "With the review committee"
        CONFIRMED = "confirmed", "Evaluation confirmed"
        RE_EVALUATION = "re_evaluation", "Being re-evaluated"
        RE_EVALUATED = "re_evaluated", "Re-evaluated"

    class Opinion(models.TextChoices):
        CONFIRM = "confirm", "Confirm the evaluation"
        RE_EVALUATE = "re_evaluate", "Re-evaluate the proposal"

    reference = models.CharField(max_length=48, help_text="RED-<proposal reference>-<n>, quoted on the receipt")
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="redress_requests")
    decision = models.ForeignKey(
        Decision, on_delete=models.PROTECT, related_name="redress_requests", help_text="the notified outcome contested"
    )
    grounds = models.TextField(
        validators=[MaxLengthValidator(limits.REDRESS_GROUNDS)],
        help_text="the alleged shortcomings of the evaluation procedure",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField()
    deadline = models.DateTimeField(help_text="the last moment the request could be made (notification + window)")
    admissibility_reason = models.TextField(blank=True, validators=[MaxLengthValidator(limits.REASON)])
    admissibility_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    admissibility_at = models.DateTimeField(null=True, blank=True)
    opinion = models.CharField(max_length=12, choices=Opinion.choices, blank=True)
    opinion_reason = models.TextField(blank=True, validators=[MaxLengthValidator(limits.REASON)])
    opinion_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opinion_at = models.DateTimeField(null=True, blank=True)
    # Kept when the re-evaluation starts: what the outcome was, for the comparison at its end.
    original_total = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    original_outcome = models.CharField(max_length=10, choices=Decision.Outcome.choices, blank=True)
    outcome_decision = models.ForeignKey(
        Decision, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="the decision recorded at the end of the re-evaluation",
    )  # fmt: skip
    outcome_changed = models.BooleanField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "submitted_at"], name="redress_status_submitted")]
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="redress_reference_unique"),
            models.UniqueConstraint(fields=["proposal", "decision"], name="redress_once_per_outcome"),
            models.CheckConstraint(
                condition=Q(status__in=["submitted", *AFTER_ADMISSIBILITY]), name="redress_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(opinion__in=["", "confirm", "re_evaluate"]), name="redress_opinion_valid"
            ),
            models.CheckConstraint(condition=~Q(grounds=""), name="redress_has_grounds"),
            models.CheckConstraint(
                condition=~Q(status__in=AFTER_ADMISSIBILITY) | Q(admissibility_at__isnull=False),
                name="redress_admissibility_recorded",
            ),
            models.CheckConstraint(
                condition=~Q(status="inadmissible") | ~Q(admissibility_reason=""),
                name="redress_inadmissible_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status__in=AFTER_OPINION, opinion_at__isnull=False)
                | (~Q(status__in=AFTER_OPINION) & Q(opinion="", opinion_at__isnull=True)),
                name="redress_opinion_iff_given",
            ),
            models.CheckConstraint(
                condition=~Q(status="confirmed") | Q(opinion="confirm"), name="redress_confirmed_opinion"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["re_evaluation", "re_evaluated"]) | Q(opinion="re_evaluate"),
                name="redress_re_evaluation_opinion",
            ),
            models.CheckConstraint(
                condition=~Q(status="re_evaluated") | Q(outcome_decision__isnull=False, outcome_changed__isnull=False),
                name="redress_re_evaluated_has_outcome",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["inadmissible", "confirmed", "re_evaluated"], closed_at__isnull=False)
                | (~Q(status__in=["inadmissible", "confirmed", "re_evaluated"]) & Q(closed_at__isnull=True)),
                name="redress_closed_iff_final",
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class RedressCommitteeMember(models.Model):
    """An officer on the review committee of one request, who declares any conflict of interest before
    reading it."""

    request = models.ForeignKey(RedressRequest, on_delete=models.CASCADE, related_name="committee")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="redress_seats")
    appointed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    appointed_at = models.DateTimeField()
    declaration = models.CharField(
        max_length=12, choices=Assignment.Declaration.choices, default=Assignment.Declaration.PENDING
    )
    declaration_reason = models.TextField(blank=True, validators=[MaxLengthValidator(limits.REASON)])
    declared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "member"], name="redress_member_once"),
            models.CheckConstraint(
                condition=Q(declaration__in=["pending", "no_conflict", "conflict"]), name="redress_member_decl_valid"
            ),
            models.CheckConstraint(
                condition=Q(declaration="pending", declared_at__isnull=True)
                | (~Q(declaration="pending") & Q(declared_at__isnull=False)),
                name="redress_member_declared_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(declaration="conflict") | ~Q(declaration_reason=""), name="redress_member_conflict_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} on {self.request}"
