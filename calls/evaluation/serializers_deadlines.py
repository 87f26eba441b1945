"""API shapes of the evaluation's deadlines: overdue work with its candidate replacements, and a reassignment."""

from rest_framework import serializers

from calls.evaluation.selectors.deadlines import DECLARATION, REVIEW
from calls.evaluation.serializers import AssignmentEvaluatorSerializer
from eurohpc import limits
from eurohpc.models import User


class OverdueProposalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    acronym = serializers.CharField()
    call = serializers.CharField(source="call.identifier")
    cut_off = serializers.IntegerField(source="cut_off_id", allow_null=True)


class CandidateSerializer(AssignmentEvaluatorSerializer):
    load = serializers.IntegerField(read_only=True, help_text="the evaluator's open assignments")

    class Meta(AssignmentEvaluatorSerializer.Meta):
        fields = [*AssignmentEvaluatorSerializer.Meta.fields, "load"]
        read_only_fields = fields


class OverdueAssignmentSerializer(serializers.Serializer):
    """An answer only: nothing here is written."""

    assignment = serializers.IntegerField(read_only=True, source="assignment.pk")
    proposal = OverdueProposalSerializer(read_only=True, source="assignment.proposal")
    evaluator = AssignmentEvaluatorSerializer(read_only=True, source="assignment.evaluator")
    step = serializers.ChoiceField(read_only=True, choices=[DECLARATION, REVIEW], help_text="the step that is late")
    due = serializers.DateTimeField(read_only=True, help_text="the missed deadline")
    days_late = serializers.IntegerField(read_only=True)
    declaration_deadline = serializers.DateTimeField(read_only=True, source="assignment.declaration_deadline")
    deadline = serializers.DateTimeField(read_only=True, source="assignment.deadline")
    consensus_due = serializers.DateTimeField(read_only=True, allow_null=True)
    candidates = CandidateSerializer(
        many=True,
        read_only=True,
        help_text="evaluators who may take it over: not assigned to the proposal, no detected conflict",
    )


class ReassignInput(serializers.Serializer):
    evaluator = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True).order_by("username"))
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.REASON)
