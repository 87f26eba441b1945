"""The evaluation API: thin views over calls.evaluation.services and selectors; the shapes are in serializers.py."""

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.evaluation import selectors, services
from calls.evaluation.actions import cut_off_actions
from calls.evaluation.presenters import (
    consensus_data,
    individual_reviews,
    ready_summary_report,
    summary_report_response,
)
from calls.evaluation.scheme import number, scheme_from_data
from calls.evaluation.serializers import (
    AssignmentInput,
    AssignmentSerializer,
    AutoAssignInput,
    AutoAssignResultSerializer,
    ConflictDeclarationInput,
    ConsensusReportSerializer,
    ConsensusScoresInput,
    CutOffRankingSerializer,
    DecisionPublicationSerializer,
    EvaluationReasonInput,
    IndividualReviewSerializer,
    OwnReviewSerializer,
    ProposalOutcomeSerializer,
    ReviewScoresInput,
    SelectionDecisionInput,
    SelectionDecisionSerializer,
)
from calls.models import Assignment, Call, CutOff, Proposal, Review, SummaryReport
from calls.selectors import proposal_for
from eurohpc.api.permissions import check
from eurohpc.api.serializers import ErrorSerializer
from eurohpc.converters import id_param

CENT = Decimal("0.01")
ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}
ONLY_OFFICERS = "Only programme officers manage the evaluation."
ONLY_ASSIGNMENT_READERS = "Only evaluators and programme officers see evaluation assignments."


# --- lookups -----------------------------------------------------------------------------------------------


def get_assignment(request, pk: int) -> Assignment:
    user = request.user
    if not (user.has_perm("calls.evaluate") or user.has_perm("calls.view_evaluation")):
        raise PermissionDenied(ONLY_ASSIGNMENT_READERS)
    return get_object_or_404(assignments_with_actions().visible_to(user), pk=pk)


def assignments_with_actions():
    """`assignment_list` with the proposal's consensus too: `actions` asks for it (submit_review)."""
    return selectors.assignment_list().select_related("proposal__consensus")


def get_proposal(request, pk: int) -> Proposal:
    """A proposal the user may see; 403 with the reason when it is closed to an evaluator until their
    declaration (or after a declared conflict); 404 when it is none of theirs."""
    return proposal_for(
        user=request.user, pk=pk, queryset=Proposal.objects.select_related("call", "cut_off", "organisation")
    )


def get_cut_off(request, pk: int) -> CutOff:
    check(request.user, "calls.manage_evaluation", message=ONLY_OFFICERS)
    return get_object_or_404(CutOff.objects.select_related("call"), pk=pk)


# --- assignments -------------------------------------------------------------------------------------------


@extend_schema(
    parameters=[
        OpenApiParameter("proposal", int, description="officers: one proposal's assignments"),
        OpenApiParameter("cut_off", int, description="officers: one cut-off's assignments"),
        OpenApiParameter("declaration", str, enum=Assignment.Declaration.values),
    ],
    responses={200: AssignmentSerializer(many=True), 400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer},
)
class AssignmentListApi(generics.ListAPIView):
    """Evaluators: their own assignments. Programme officers: every assignment (filter by proposal or cut-off)."""

    serializer_class = AssignmentSerializer
    filter_backends = []

    def get_queryset(self):
        user = self.request.user
        if not (user.has_perm("calls.evaluate") or user.has_perm("calls.view_evaluation")):
            raise PermissionDenied(ONLY_ASSIGNMENT_READERS)
        assignments = assignments_with_actions().visible_to(user)
        params = self.request.query_params
        for name, lookup in (("proposal", "proposal_id"), ("cut_off", "proposal__cut_off_id")):
            value = id_param(params, name)
            if value is not None:
                assignments = assignments.filter(**{lookup: value})
        declaration = params.get("declaration")
        if declaration:
            if declaration not in Assignment.Declaration.values:
                raise serializers.ValidationError({"declaration": [f"Unknown declaration {declaration!r}."]})
            assignments = assignments.filter(declaration=declaration)
        return assignments.order_by("deadline", "id")


class AssignmentDetailApi(APIView):
    @extend_schema(responses={200: AssignmentSerializer, **ERRORS})
    def get(self, request, pk: int):
        return Response(AssignmentSerializer(get_assignment(request, pk), context={"request": request}).data)


class ProposalAssignmentsApi(APIView):
    @extend_schema(request=AssignmentInput, responses={201: AssignmentSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Assign an evaluator (programme officers). Detected conflicts and a second assignment are refused."""
        check(request.user, "calls.manage_evaluation", message="Only programme officers assign evaluators.")
        proposal = get_proposal(request, pk)
        data = AssignmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = services.assignment_create(proposal=proposal, actor=request.user, **data.validated_data)
        assignment = assignments_with_actions().get(pk=assignment.pk)
        return Response(AssignmentSerializer(assignment, context={"request": request}).data, status=201)


class CutOffAutoAssignApi(APIView):
    @extend_schema(request=AutoAssignInput, responses={200: AutoAssignResultSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Give every eligible proposal of the cut-off the minimum number of evaluators, balancing their load
        and excluding detected conflicts."""
        cut_off = get_cut_off(request, pk)
        data = AutoAssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.assignments_auto_assign(cut_off=cut_off, actor=request.user, **data.validated_data)
        created = assignments_with_actions().filter(pk__in=[a.pk for a in result.created]).order_by("id")
        shortfall = [
            {"proposal": p.pk, "reference": p.reference, "missing": missing} for p, missing in result.shortfall.items()
        ]
        body = {"created": created, "shortfall": shortfall}
        return Response(AutoAssignResultSerializer(body, context={"request": request}).data)


class AssignmentDeclarationApi(APIView):
    @extend_schema(request=ConflictDeclarationInput, responses={200: AssignmentSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Declare a conflict of interest (`conflict: true`, with the reason) or none. Final once made."""
        assignment = get_assignment(request, pk)
        check(request.user, "calls.declare_conflict", assignment, "Only the assigned evaluator makes this declaration.")
        data = ConflictDeclarationInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.assignment_declare(assignment=assignment, actor=request.user, **data.validated_data)
        return Response(AssignmentSerializer(get_assignment(request, pk), context={"request": request}).data)


def _review_gate(request, assignment: Assignment) -> None:
    if not is_own(request, assignment):
        raise PermissionDenied("Only the assigned evaluator reads and writes this review.")
    refusal = services.coi_refusal(assignment, assignment.proposal, "scoring it")
    if refusal and assignment.closed_at is None:  # a closed one: the service's 409 says when and why
        raise PermissionDenied(refusal)


def is_own(request, assignment: Assignment) -> bool:
    return request.user.has_perm("calls.view_assignment", assignment) and assignment.evaluator_id == request.user.pk


class AssignmentReviewApi(APIView):
    @extend_schema(responses={200: OwnReviewSerializer, **ERRORS})
    def get(self, request, pk: int):
        """The evaluator's own review (draft or submitted)."""
        assignment = get_assignment(request, pk)
        _review_gate(request, assignment)
        review = get_object_or_404(selectors.reviews_with_scores(), assignment=assignment)
        return Response(OwnReviewSerializer(review).data)

    @extend_schema(request=ReviewScoresInput, responses={200: OwnReviewSerializer, 201: OwnReviewSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Save the scores and comments as a draft, or submit them (`submit: true`): every criterion then needs a
        score in [0, max] on the step and a comment. A submitted review is locked."""
        assignment = get_assignment(request, pk)
        _review_gate(request, assignment)
        data = ReviewScoresInput(data=request.data)
        data.is_valid(raise_exception=True)
        existed = Review.objects.filter(assignment=assignment).exists()
        review = services.review_save(assignment=assignment, actor=request.user, **data.validated_data)
        review = selectors.reviews_with_scores().get(pk=review.pk)
        return Response(OwnReviewSerializer(review).data, status=200 if existed else 201)


class AssignmentReviewSubmitApi(APIView):
    @extend_schema(request=None, responses={200: OwnReviewSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Submit the saved draft."""
        assignment = get_assignment(request, pk)
        _review_gate(request, assignment)
        review = services.review_submit(assignment=assignment, actor=request.user)
        return Response(OwnReviewSerializer(selectors.reviews_with_scores().get(pk=review.pk)).data)


class ProposalReviewsApi(APIView):
    @extend_schema(responses={200: IndividualReviewSerializer(many=True), **ERRORS})
    def get(self, request, pk: int):
        """The submitted individual reviews. Blind: an evaluator sees the others' only once the consensus is
        recorded (and their own review submitted)."""
        proposal = get_proposal(request, pk)
        check(
            request.user,
            "calls.view_reviews",
            proposal,
            "Individual reviews stay blind until the consensus: you see only your own review before it.",
        )
        return Response(
            IndividualReviewSerializer(individual_reviews(user=request.user, proposal=proposal), many=True).data
        )


# --- consensus ---------------------------------------------------------------------------------------------


class ProposalConsensusApi(APIView):
    @extend_schema(responses={200: ConsensusReportSerializer, **ERRORS})
    def get(self, request, pk: int):
        """The consensus so far and the spread of the individual scores (flagged above 2 points)."""
        check(request.user, "calls.view_evaluation", message=ONLY_OFFICERS)
        proposal = get_proposal(request, pk)
        return Response(ConsensusReportSerializer(consensus_data(proposal=proposal)).data)

    @extend_schema(request=ConsensusScoresInput, responses={200: ConsensusReportSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Record the consensus scores and comments (needs the scheme's minimum of submitted reviews)."""
        check(request.user, "calls.manage_evaluation", message="Only programme officers record the consensus.")
        proposal = get_proposal(request, pk)
        data = ConsensusScoresInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.consensus_record(proposal=proposal, actor=request.user, **data.validated_data)
        return Response(ConsensusReportSerializer(consensus_data(proposal=proposal)).data)


# --- ranking and decisions ---------------------------------------------------------------------------------


def _money(value) -> str | None:
    return None if value is None else str(value.quantize(CENT))


def _ranked(row: selectors.RankedProposal) -> dict:
    proposal = row.proposal
    return {
        "proposal": proposal.pk,
        "reference": proposal.reference,
        "acronym": proposal.acronym,
        "applicant": proposal.organisation.short_name,
        "status": proposal.status,
        "rank": row.rank,
        "total": _money(row.total),
        "scores": {code: number(score) for code, score in row.scores.items() if score is not None},
        "passed_thresholds": row.passed,
        "funding": row.funding,
        "eu_contribution": _money(row.eu_contribution),
        "reviews_submitted": row.reviews_submitted,
        "technical": row.technical,
    }


def ranking_data(ranking: selectors.Ranking, user) -> dict:
    """The body `CutOffRankingSerializer` describes, built directly: a ranking has thousands of rows."""
    return {
        "call": ranking.call.identifier,
        "cut_off": ranking.cut_off.pk,
        "available_amount": _money(ranking.available),
        "budget": _money(ranking.budget),
        "published_at": ranking.published.published_at if ranking.published else None,
        "promotion_candidate": ranking.promotion_candidate.proposal.pk if ranking.promotion_candidate else None,
        "count": len(ranking.rows),
        "results": [_ranked(row) for row in ranking.rows],
        "pending": [_ranked(row) for row in ranking.pending],
        "withdrawn": [_ranked(row) for row in ranking.withdrawn],
        "actions": cut_off_actions(cut_off=ranking.cut_off, user=user, ranking=ranking),
    }


class CallRankingApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("cut_off", int, required=True, description="the cut-off to rank")],
        responses={200: CutOffRankingSerializer, **ERRORS},
    )
    def get(self, request, pk: int):
        """The ranking of a cut-off by weighted consensus total, with the funding line and the reserve list."""
        check(request.user, "calls.view_evaluation", message=ONLY_OFFICERS)
        call = get_object_or_404(Call.objects.all(), pk=pk)
        cut_off_id = id_param(request.query_params, "cut_off")
        if cut_off_id is None:
            raise serializers.ValidationError({"cut_off": ["Give the cut-off to rank: ?cut_off=<id>."]})
        cut_off = get_object_or_404(CutOff.objects.filter(call=call), pk=cut_off_id)
        ranking = selectors.cut_off_ranking(cut_off=cut_off, call=call)
        return Response(ranking_data(ranking, request.user))


class ProposalDecisionApi(APIView):
    @extend_schema(request=SelectionDecisionInput, responses={200: SelectionDecisionSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Record the decision on one proposal before publication. A selection must fit the money available."""
        check(request.user, "calls.manage_evaluation", message="Only programme officers record decisions.")
        proposal = get_proposal(request, pk)
        data = SelectionDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        decision = services.decision_record(proposal=proposal, actor=request.user, **data.validated_data)
        return Response(SelectionDecisionSerializer(decision).data)


class CutOffDecisionsConfirmApi(APIView):
    @extend_schema(request=None, responses={200: SelectionDecisionSerializer(many=True), **ERRORS})
    def post(self, request, pk: int):
        """Record the proposed outcome of every ranked proposal: above the line selected, reserve list, rejected."""
        cut_off = get_cut_off(request, pk)
        decisions = services.decisions_confirm(cut_off=cut_off, actor=request.user)
        return Response(SelectionDecisionSerializer(decisions, many=True).data)


class CutOffDecisionsPublishApi(APIView):
    @extend_schema(request=None, responses={200: DecisionPublicationSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Publish the decisions: the applicants are told and the evaluation summary reports are rendered."""
        cut_off = get_cut_off(request, pk)
        publication = services.decisions_publish(cut_off=cut_off, actor=request.user)
        return Response(DecisionPublicationSerializer(publication).data)


class ProposalPromotionApi(APIView):
    @extend_schema(request=EvaluationReasonInput, responses={200: SelectionDecisionSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Promote the first reserve proposal that fits the money available."""
        check(request.user, "calls.manage_evaluation", message="Only programme officers promote reserve proposals.")
        proposal = get_proposal(request, pk)
        data = EvaluationReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        decision = services.reserve_promote(proposal=proposal, actor=request.user, **data.validated_data)
        return Response(SelectionDecisionSerializer(decision).data)


class ProposalSelectionWithdrawalApi(APIView):
    @extend_schema(request=EvaluationReasonInput, responses={200: SelectionDecisionSerializer, **ERRORS})
    def post(self, request, pk: int):
        """A selected proposal withdraws from the selection (its applicant, or a programme officer recording it)."""
        proposal = get_proposal(request, pk)
        check(
            request.user,
            "calls.withdraw_selection",
            proposal,
            "Only the applicant or a programme officer withdraws a selected proposal.",
        )
        data = EvaluationReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        decision = services.selection_withdraw(proposal=proposal, actor=request.user, **data.validated_data)
        return Response(SelectionDecisionSerializer(decision).data)


# --- outcome and summary report ----------------------------------------------------------------------------


def outcome_data(proposal: Proposal) -> dict:
    proposal = selectors.proposal_for_consensus(pk=proposal.pk, queryset=Proposal.objects.all())
    consensus = proposal.consensus
    scheme = scheme_from_data(consensus.scheme)
    scores = list(consensus.scores.all())
    return {
        "proposal": proposal,
        "decision": selectors.latest_decision(proposal=proposal),
        "total": consensus.total,
        "max_total": scheme.max_total,
        "scores": {s.criterion: number(s.score) for s in scores},
        "comments": {s.criterion: s.comment for s in scores},
        "summary_report": SummaryReport.objects.filter(proposal=proposal).first(),
    }


NOT_PUBLISHED = "The outcome of this proposal is shown to its applicant once the decisions are published."


class ProposalOutcomeApi(APIView):
    @extend_schema(responses={200: ProposalOutcomeSerializer, **ERRORS})
    def get(self, request, pk: int):
        """The published outcome: decision, consensus scores and comments, the summary report's state."""
        proposal = get_proposal(request, pk)
        check(request.user, "calls.view_outcome", proposal, NOT_PUBLISHED)
        if not hasattr(proposal, "consensus") or not proposal.decisions.exists():
            raise Http404
        return Response(ProposalOutcomeSerializer(outcome_data(proposal)).data)


class ProposalSummaryReportApi(APIView):
    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY, **ERRORS})
    def get(self, request, pk: int):
        """The Evaluation Summary Report (PDF), for the applicant once the decision is published."""
        proposal = get_proposal(request, pk)
        check(
            request.user,
            "calls.download_summary_report",
            proposal,
            "The evaluation summary report is for the applicant, once the decision is published.",
        )
        return summary_report_response(report=ready_summary_report(proposal=proposal))
