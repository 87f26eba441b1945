"""API shapes of the technical assessment of hosting proposals."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from calls.evaluation.actions import TECHNICAL_ACTIONS, technical_actions
from calls.evaluation.selectors.technical import Technical, assessment_overdue
from calls.models import FeasibilityAssessment, Proposal
from eurohpc import limits
from eurohpc.dates import plausible_year
from eurohpc.models import User


class TechnicalProposalSerializer(serializers.ModelSerializer):
    call = serializers.SlugRelatedField(slug_field="identifier", read_only=True)
    applicant = serializers.CharField(source="organisation.short_name", read_only=True)
    cut_off_closes_at = serializers.DateTimeField(source="cut_off.closes_at", read_only=True)

    class Meta:
        model = Proposal
        fields = ["id", "reference", "acronym", "title", "type", "call", "applicant", "cut_off_closes_at", "status"]
        read_only_fields = fields


class TechnicalExpertSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name"]
        read_only_fields = fields


class FeasibilityItemResultSerializer(serializers.Serializer):
    item = serializers.CharField()
    passed = serializers.BooleanField()
    comment = serializers.CharField()


class FeasibilityAssessmentSerializer(serializers.ModelSerializer):
    expert = TechnicalExpertSerializer(read_only=True)
    # A plain string: "status" names several choice sets in the schema already (reviews, proposals).
    status = serializers.CharField(read_only=True, help_text="draft, or submitted (locked)")
    items = serializers.SerializerMethodField(help_text="the submitted items (empty before submission)")
    draft = serializers.SerializerMethodField(help_text="the expert's saved verdicts and comments (the expert only)")
    actions = serializers.SerializerMethodField(
        help_text="what the requesting user may do with the assessment now (declare, save, submit)"
    )
    overdue = serializers.SerializerMethodField(
        help_text="open (not closed, not recused, not submitted) and past its deadline; still accepted until reassigned"
    )

    class Meta:
        model = FeasibilityAssessment
        fields = [
            "id", "proposal", "expert", "assigned_at", "deadline", "declaration", "declaration_reason",
            "declared_at", "status", "passed", "summary", "submitted_at", "closed_at", "overdue", "items", "draft",
            "actions",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(FeasibilityItemResultSerializer(many=True))
    def get_items(self, assessment) -> list[dict]:
        return [{"item": i.item, "passed": i.passed, "comment": i.comment} for i in assessment.items.all()]

    def get_draft(self, assessment) -> dict:
        request = self.context.get("request")
        if request is None or request.user.pk != assessment.expert_id:
            return {}
        return assessment.draft or {}

    def get_overdue(self, assessment) -> bool:
        return assessment_overdue(assessment)

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=TECHNICAL_ACTIONS)))
    def get_actions(self, assessment) -> list[str]:
        request = self.context.get("request")
        return technical_actions(assessment=assessment, user=request.user) if request else []


class TechnicalRowSerializer(serializers.Serializer):
    proposal = TechnicalProposalSerializer()
    # A plain string: the ranking's rows name the same choice set "technical".
    state = serializers.CharField(help_text=f"the proposal's technical state: {', '.join(Technical.LABELS)}")
    assessment = serializers.SerializerMethodField(help_text="the assessment in force, if any")

    @extend_schema_field(FeasibilityAssessmentSerializer(allow_null=True))
    def get_assessment(self, row) -> dict | None:
        if row["assessment"] is None:
            return None
        return FeasibilityAssessmentSerializer(row["assessment"], context=self.context).data


class TechnicalAssignInput(serializers.Serializer):
    expert = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True).order_by("username"))
    deadline = serializers.DateTimeField(required=False, allow_null=True, default=None, validators=[plausible_year])


class TechnicalReassignInput(serializers.Serializer):
    expert = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True).order_by("username"))
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.REASON)


class TechnicalDeclarationInput(serializers.Serializer):
    conflict = serializers.BooleanField()
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.REASON)


class FeasibilityInput(serializers.Serializer):
    items = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=8),
        required=False,
        default=dict,
        help_text='item code → "pass" or "fail", e.g. {"site_power": "pass"}',
    )
    comments = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=limits.REVIEW_COMMENT),
        required=False,
        default=dict,
        help_text="item code → comment",
    )
    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.REVIEW_COMMENT)
    submit = serializers.BooleanField(
        required=False, default=False, help_text="submit (and lock) the assessment; otherwise it is saved as a draft"
    )
