"""API shapes of the evaluation and selection: assignments, reviews, consensus, ranking, decisions, outcome."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from calls.evaluation.actions import ASSIGNMENT_ACTIONS, CUT_OFF_ACTIONS, assignment_actions
from calls.evaluation.scheme import number
from calls.evaluation.selectors.deadlines import is_overdue
from calls.models import Assignment, Decision, Proposal, Review, SummaryReport
from eurohpc import limits
from eurohpc.dates import plausible_year
from eurohpc.models import User


class AssignedProposalSerializer(serializers.ModelSerializer):
    call = serializers.SlugRelatedField(slug_field="identifier", read_only=True)
    applicant = serializers.CharField(source="organisation.short_name", read_only=True)
    consortium = serializers.SerializerMethodField()

    class Meta:
        model = Proposal
        fields = ["id", "reference", "acronym", "title", "call", "applicant", "consortium", "status"]
        read_only_fields = fields

    def get_consortium(self, proposal) -> list[str]:
        return [m.organisation.short_name for m in proposal.consortium_members.all()]


class AssignmentEvaluatorSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name"]
        read_only_fields = fields


class AssignmentSerializer(serializers.ModelSerializer):
    proposal = AssignedProposalSerializer(read_only=True)
    evaluator = AssignmentEvaluatorSerializer(read_only=True)
    review_status = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField(
        help_text="the declaration or the review is past its deadline (the assignment is open, the step not done)"
    )
    actions = serializers.SerializerMethodField(
        help_text="what the requesting user may do with the assignment now (scores are still checked against the "
        "scheme when sent)"
    )

    class Meta:
        model = Assignment
        fields = [
            "id",
            "proposal",
            "evaluator",
            "assigned_at",
            "declaration_deadline",
            "deadline",
            "overdue",
            "closed_at",
            "close_reason",
            "auto_assigned",
            "declaration",
            "declaration_reason",
            "declared_at",
            "review_status",
            "replaces",
            "actions",
        ]
        read_only_fields = fields

    def get_review_status(self, assignment) -> str | None:
        review = getattr(assignment, "review", None)
        return review.status if review is not None else None

    def get_overdue(self, assignment) -> bool:
        return is_overdue(assignment)

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=ASSIGNMENT_ACTIONS)))
    def get_actions(self, assignment) -> list[str]:
        request = self.context.get("request")
        return assignment_actions(assignment=assignment, user=request.user) if request is not None else []


class AssignmentInput(serializers.Serializer):
    evaluator = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True).order_by("username"))
    deadline = serializers.DateTimeField(required=False, allow_null=True, default=None, validators=[plausible_year])


class AutoAssignInput(serializers.Serializer):
    deadline = serializers.DateTimeField(required=False, allow_null=True, default=None, validators=[plausible_year])


class AssignmentShortfallSerializer(serializers.Serializer):
    proposal = serializers.IntegerField()
    reference = serializers.CharField()
    missing = serializers.IntegerField(help_text="evaluators still missing to reach the scheme's minimum")


class AutoAssignResultSerializer(serializers.Serializer):
    created = AssignmentSerializer(many=True)
    shortfall = AssignmentShortfallSerializer(many=True)


class ConflictDeclarationInput(serializers.Serializer):
    conflict = serializers.BooleanField()
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.REASON)


def _scores_field():
    return serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=limits.SCORE_TEXT),
        required=False,
        default=dict,
        help_text='criterion code → score as a decimal string, e.g. {"excellence": "4.5"}',
    )


def _comments_field():
    return serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=limits.REVIEW_COMMENT),
        required=False,
        default=dict,
        help_text="criterion code → comment",
    )


class ReviewScoresInput(serializers.Serializer):
    scores = _scores_field()
    comments = _comments_field()
    submit = serializers.BooleanField(
        required=False, default=False, help_text="submit (and lock) the review; otherwise it is saved as a draft"
    )


class OwnReviewSerializer(serializers.ModelSerializer):
    scores = serializers.SerializerMethodField()
    comments = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = ["id", "assignment", "status", "scores", "comments", "submitted_at", "updated_at"]
        read_only_fields = fields

    def get_scores(self, review) -> dict[str, str]:
        if review.status == Review.Status.SUBMITTED:
            return {s.criterion: number(s.score) for s in review.scores.all()}
        return dict(review.draft.get("scores", {}))

    def get_comments(self, review) -> dict[str, str]:
        if review.status == Review.Status.SUBMITTED:
            return {s.criterion: s.comment for s in review.scores.all()}
        return dict(review.draft.get("comments", {}))


class IndividualReviewSerializer(serializers.Serializer):
    evaluator = serializers.CharField(help_text="the evaluator's name (officers) or an anonymous label (evaluators)")
    submitted_at = serializers.DateTimeField(read_only=True)
    scores = serializers.DictField(child=serializers.CharField())
    comments = serializers.DictField(child=serializers.CharField())


class ConsensusScoresInput(serializers.Serializer):
    scores = _scores_field()
    comments = _comments_field()


class ScoreSpreadSerializer(serializers.Serializer):
    criterion = serializers.CharField(source="code")
    name = serializers.CharField()
    scores = serializers.ListField(child=serializers.DecimalField(max_digits=6, decimal_places=2))
    low = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    high = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    spread = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    flagged = serializers.BooleanField(help_text="individual scores differ by more than 2 points")


class ConsensusReportSerializer(serializers.Serializer):
    proposal = serializers.IntegerField(source="proposal_id")
    recorded = serializers.BooleanField()
    total = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True)
    max_total = serializers.DecimalField(max_digits=8, decimal_places=2)
    passed_thresholds = serializers.BooleanField(allow_null=True)
    scores = serializers.DictField(child=serializers.CharField())
    comments = serializers.DictField(child=serializers.CharField())
    reviews_submitted = serializers.IntegerField()
    min_evaluators = serializers.IntegerField()
    spread = ScoreSpreadSerializer(many=True)


class RankedProposalSerializer(serializers.Serializer):
    proposal = serializers.IntegerField(source="proposal.pk")
    reference = serializers.CharField(source="proposal.reference")
    acronym = serializers.CharField(source="proposal.acronym")
    applicant = serializers.CharField(source="proposal.organisation.short_name")
    status = serializers.CharField(source="proposal.status")
    rank = serializers.IntegerField(allow_null=True)
    total = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True)
    scores = serializers.SerializerMethodField()
    passed_thresholds = serializers.BooleanField(source="passed", allow_null=True)
    funding = serializers.ChoiceField(
        choices=["above_line", "reserve", "below_threshold", "technical_fail"],
        allow_null=True,
        help_text="null until the consensus; technical_fail: a hosting proposal whose technical assessment failed",
    )
    eu_contribution = serializers.DecimalField(max_digits=14, decimal_places=2)
    reviews_submitted = serializers.IntegerField()
    technical = serializers.ChoiceField(
        choices=["not_needed", "missing", "passed", "failed"],
        help_text="the technical assessment of a hosting proposal (new system, upgrade): missing until submitted",
    )

    def get_scores(self, row) -> dict[str, str]:
        return {code: number(score) for code, score in row.scores.items() if score is not None}


class CutOffRankingSerializer(serializers.Serializer):
    call = serializers.CharField(source="call.identifier")
    cut_off = serializers.IntegerField(source="cut_off.pk")
    available_amount = serializers.DecimalField(
        source="available", max_digits=14, decimal_places=2, help_text="left in the call now"
    )
    budget = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="what this cut-off's funding line draws on"
    )
    published_at = serializers.DateTimeField(
        source="published.published_at", allow_null=True, default=None, read_only=True
    )
    promotion_candidate = serializers.IntegerField(
        source="promotion_candidate.proposal.pk", allow_null=True, default=None
    )
    count = serializers.SerializerMethodField()
    results = RankedProposalSerializer(source="rows", many=True)
    pending = RankedProposalSerializer(many=True, help_text="proposals without a consensus yet")
    withdrawn = RankedProposalSerializer(many=True, help_text="withdrawn after selection")
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=CUT_OFF_ACTIONS),
        help_text="what the requesting user may do with the cut-off's decisions now",
    )

    def get_count(self, ranking) -> int:
        return len(ranking.rows)


class SelectionDecisionInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["selected", "reserve", "rejected"])
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.REASON)


class EvaluationReasonInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.REASON)


class SelectionDecisionSerializer(serializers.ModelSerializer):
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Decision
        fields = [
            "id",
            "proposal",
            "outcome",
            "kind",
            "rank",
            "total",
            "passed_thresholds",
            "eu_contribution",
            "reason",
            "decided_by",
            "decided_at",
        ]
        read_only_fields = fields


class DecisionPublicationSerializer(serializers.Serializer):
    cut_off = serializers.IntegerField(source="cut_off_id")
    published_at = serializers.DateTimeField(read_only=True)
    published_by = serializers.CharField(source="published_by.username")


class EvaluationSummaryReportSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = SummaryReport
        fields = ["status", "sha256", "size", "rendered_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, report) -> str | None:
        if report.status != SummaryReport.Status.READY:
            return None
        return f"/api/v1/proposals/{report.proposal_id}/evaluation-summary-report/"


class ProposalOutcomeSerializer(serializers.Serializer):
    proposal = serializers.IntegerField(source="proposal.pk")
    status = serializers.CharField(source="proposal.status")
    decision = SelectionDecisionSerializer()
    total = serializers.DecimalField(max_digits=8, decimal_places=2)
    max_total = serializers.DecimalField(max_digits=8, decimal_places=2)
    scores = serializers.DictField(child=serializers.CharField())
    comments = serializers.DictField(child=serializers.CharField())
    summary_report = EvaluationSummaryReportSerializer(allow_null=True)
