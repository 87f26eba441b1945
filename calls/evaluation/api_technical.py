"""The technical assessment API: the office's queue or the expert's own list, an assessment, the expert's
declaration and assessment, the office's assignment and its reassignment of an overdue assessment. Thin views
over the services and selectors."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.evaluation import selectors, services
from calls.evaluation.api import ERRORS
from calls.evaluation.selectors.technical import QUEUE_SCOPES, assessment_list, technical_state
from calls.evaluation.serializers_technical import (
    FeasibilityAssessmentSerializer,
    FeasibilityInput,
    TechnicalAssignInput,
    TechnicalDeclarationInput,
    TechnicalReassignInput,
    TechnicalRowSerializer,
)
from calls.models import FeasibilityAssessment, Proposal
from eurohpc.api.pagination import PageNumberPagination
from eurohpc.api.permissions import check
from eurohpc.permissions import denial_message

ONLY_TECHNICAL = "Only programme officers and technical experts see technical assessments."


def _is_officer(user) -> bool:
    return user.has_perm("calls.view_evaluation")


def get_assessment(request, pk: int) -> FeasibilityAssessment:
    """The requesting expert's own assessment, or any for the office; 404 otherwise."""
    user = request.user
    if _is_officer(user):
        return get_object_or_404(assessment_list(), pk=pk)
    if user.has_perm("calls.assess_technical"):
        return get_object_or_404(selectors.expert_assessments(user=user), pk=pk)
    raise PermissionDenied(ONLY_TECHNICAL)


class TechnicalListApi(APIView):
    pagination_class = PageNumberPagination

    @extend_schema(
        parameters=[OpenApiParameter("scope", str, enum=list(QUEUE_SCOPES), description="officers: open or all")],
        responses={200: TechnicalRowSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        """Programme officers: the hosting proposals in evaluation with their technical state (the queue).
        Technical experts: their own assessments."""
        paginator = self.pagination_class()
        user = request.user
        if _is_officer(user):
            scope = request.query_params.get("scope") or "open"
            if scope not in QUEUE_SCOPES:
                raise ValidationError({"scope": [f"Unknown scope {scope!r}; use {', '.join(QUEUE_SCOPES)}."]})
            proposals = paginator.paginate_queryset(selectors.technical_queue(scope=scope), request, view=self)
            rows = [
                {"proposal": r.proposal, "state": r.state, "assessment": r.assessment}
                for r in selectors.technical_queue_rows(proposals=list(proposals))
            ]
        elif user.has_perm("calls.assess_technical"):
            mine = paginator.paginate_queryset(selectors.expert_assessments(user=user), request, view=self)
            rows = [
                {
                    "proposal": a.proposal,
                    "state": technical_state(proposal_type=a.proposal.type, status=a.status, passed=a.passed),
                    "assessment": a,
                }
                for a in mine
            ]
        else:
            raise PermissionDenied(ONLY_TECHNICAL)
        return paginator.get_paginated_response(
            TechnicalRowSerializer(rows, many=True, context={"request": request}).data
        )


class TechnicalAssessmentApi(APIView):
    @extend_schema(responses={200: FeasibilityAssessmentSerializer, **ERRORS})
    def get(self, request, pk: int):
        """One technical assessment: the expert's own, or any for the programme office."""
        assessment = get_assessment(request, pk)
        return Response(FeasibilityAssessmentSerializer(assessment, context={"request": request}).data)


def _fresh(request, pk: int):
    return Response(FeasibilityAssessmentSerializer(assessment_list().get(pk=pk), context={"request": request}).data)


class TechnicalDeclarationApi(APIView):
    @extend_schema(request=TechnicalDeclarationInput, responses={200: FeasibilityAssessmentSerializer, **ERRORS})
    def post(self, request, pk: int):
        """The technical expert's conflict-of-interest declaration (final)."""
        check(request.user, "calls.assess_technical")
        assessment = get_object_or_404(selectors.expert_assessments(user=request.user), pk=pk)
        data = TechnicalDeclarationInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.feasibility_declare(assessment=assessment, actor=request.user, **data.validated_data)
        return _fresh(request, pk)


class TechnicalSaveApi(APIView):
    @extend_schema(request=FeasibilityInput, responses={200: FeasibilityAssessmentSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Save the assessment as a draft (may be partial) or submit it: every item pass/fail with a comment, and a
        summary. A submitted assessment is locked."""
        check(request.user, "calls.assess_technical")
        assessment = get_object_or_404(selectors.expert_assessments(user=request.user), pk=pk)
        data = FeasibilityInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.feasibility_save(assessment=assessment, actor=request.user, **data.validated_data)
        return _fresh(request, pk)


class TechnicalAssignApi(APIView):
    @extend_schema(request=TechnicalAssignInput, responses={201: FeasibilityAssessmentSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Assign the technical expert of a hosting proposal (programme officers)."""
        check(request.user, "calls.manage_evaluation", message="Only programme officers assign technical experts.")
        proposal = get_object_or_404(Proposal.objects.select_related("call", "cut_off", "organisation"), pk=pk)
        data = TechnicalAssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        assessment = services.feasibility_assign(proposal=proposal, actor=request.user, **data.validated_data)
        return Response(
            FeasibilityAssessmentSerializer(assessment_list().get(pk=assessment.pk), context={"request": request}).data,
            status=201,
        )


class TechnicalReassignApi(APIView):
    @extend_schema(request=TechnicalReassignInput, responses={201: FeasibilityAssessmentSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Reassign an overdue technical assessment (programme officers): the late expert's assessment is closed
        (their draft kept, no longer accepted) and `expert` assigned with the checks of any assignment. Answers the
        new assessment."""
        check(request.user, "calls.reassign_assignment", message=denial_message("calls.reassign_assignment"))
        assessment = get_object_or_404(FeasibilityAssessment.objects.all(), pk=pk)
        data = TechnicalReassignInput(data=request.data)
        data.is_valid(raise_exception=True)
        new = services.feasibility_reassign(assessment=assessment, actor=request.user, **data.validated_data)
        return Response(
            FeasibilityAssessmentSerializer(assessment_list().get(pk=new.pk), context={"request": request}).data,
            status=201,
        )
