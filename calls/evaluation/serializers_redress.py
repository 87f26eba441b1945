"""Shapes of the evaluation review (redress) API. The applicant's shape names no committee member and no expert."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from calls.models import Decision, RedressCommitteeMember, RedressRequest
from eurohpc import limits


class RedressDecisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Decision
        fields = ["id", "outcome", "kind", "rank", "total", "decided_at"]
        read_only_fields = fields


class RedressApplicantSerializer(serializers.ModelSerializer):
    """A request as its applicant follows it: every step and its date, the opinion and the outcome."""

    proposal_reference = serializers.CharField(source="proposal.reference", read_only=True)
    decision = RedressDecisionSerializer(read_only=True)
    outcome_decision = RedressDecisionSerializer(read_only=True)

    class Meta:
        model = RedressRequest
        fields = [
            "id", "reference", "proposal", "proposal_reference", "decision", "grounds", "status", "submitted_at",
            "deadline", "admissibility_at", "admissibility_reason", "opinion", "opinion_reason", "opinion_at",
            "original_total", "original_outcome", "outcome_decision", "outcome_changed", "closed_at",
        ]  # fmt: skip
        read_only_fields = fields


class RedressSeatSerializer(serializers.ModelSerializer):
    member = serializers.SlugRelatedField(slug_field="username", read_only=True)
    member_name = serializers.CharField(source="member.display_name", read_only=True)

    class Meta:
        model = RedressCommitteeMember
        fields = ["id", "member", "member_name", "appointed_at", "declaration", "declaration_reason", "declared_at"]
        read_only_fields = fields


class RedressOfficerSerializer(RedressApplicantSerializer):
    """A request as the programme office handles it: who did each step, the committee, the step due and the
    actions open to the caller."""

    submitted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    admissibility_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    opinion_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    step_due = serializers.SerializerMethodField()
    committee = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta(RedressApplicantSerializer.Meta):
        fields = [*RedressApplicantSerializer.Meta.fields, "submitted_by", "admissibility_by", "opinion_by",
                  "step_due", "committee", "actions"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_step_due(self, obj):
        from calls.evaluation.selectors.redress import step_due

        return step_due(obj)

    @extend_schema_field(RedressSeatSerializer(many=True))
    def get_committee(self, obj):
        seats = self.context.get("committee")
        return RedressSeatSerializer(seats, many=True).data if seats is not None else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, obj):
        return self.context.get("actions")


class RedressRequestInput(serializers.Serializer):
    proposal = serializers.IntegerField()
    grounds = serializers.CharField(max_length=limits.REDRESS_GROUNDS, allow_blank=True)


class RedressAdmissibilityInput(serializers.Serializer):
    admissible = serializers.BooleanField()
    reason = serializers.CharField(max_length=limits.REASON, required=False, allow_blank=True, default="")


class RedressCommitteeInput(serializers.Serializer):
    members = serializers.ListField(child=serializers.IntegerField(), allow_empty=True)


class RedressDeclarationInput(serializers.Serializer):
    conflict = serializers.BooleanField()
    reason = serializers.CharField(max_length=limits.REASON, required=False, allow_blank=True, default="")


class RedressOpinionInput(serializers.Serializer):
    opinion = serializers.ChoiceField(choices=RedressRequest.Opinion.choices)
    reason = serializers.CharField(max_length=limits.REASON, allow_blank=True)


class RedressWindowSerializer(serializers.Serializer):
    """An answer only: nothing here is written."""

    decision = RedressDecisionSerializer(allow_null=True, read_only=True)
    notified_at = serializers.DateTimeField(allow_null=True, read_only=True)
    deadline = serializers.DateTimeField(allow_null=True, read_only=True)
    is_open = serializers.BooleanField(read_only=True)
    refusal_code = serializers.CharField(allow_null=True, read_only=True)
    refusal = serializers.CharField(allow_null=True, read_only=True)
