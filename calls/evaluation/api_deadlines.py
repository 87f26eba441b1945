"""The evaluation's deadlines in the API: the officer's overdue work and its reassignment (thin views over
calls.evaluation.selectors.deadlines and services.deadlines)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.evaluation import selectors, services
from calls.evaluation.api import ERRORS, assignments_with_actions
from calls.evaluation.serializers import AssignmentSerializer
from calls.evaluation.serializers_deadlines import OverdueAssignmentSerializer, ReassignInput
from calls.models import Assignment
from eurohpc.api.permissions import check
from eurohpc.api.serializers import ErrorSerializer
from eurohpc.permissions import denial_message


class OverdueListApi(generics.ListAPIView):
    """Programme officers: declarations and reviews past their deadline, the most overdue first, each with the
    evaluators who could take it over."""

    serializer_class = OverdueAssignmentSerializer
    filter_backends = []

    def get_queryset(self):
        check(self.request.user, "calls.view_evaluation", message=denial_message("calls.view_evaluation"))
        return selectors.overdue_queryset()

    @extend_schema(responses={200: OverdueAssignmentSerializer(many=True), 401: ErrorSerializer, 403: ErrorSerializer})
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        rows = selectors.overdue_assignments(assignments=list(page))
        cut_offs = {r.assignment.proposal.cut_off_id: r.assignment.proposal.cut_off for r in rows}
        due = selectors.cut_off_consensus_due(cut_offs=[c for c in cut_offs.values() if c is not None])
        for row in rows:
            row.consensus_due = due.get(row.assignment.proposal.cut_off_id)
        return self.get_paginated_response(OverdueAssignmentSerializer(rows, many=True).data)


class AssignmentReassignApi(APIView):
    @extend_schema(request=ReassignInput, responses={201: AssignmentSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Reassign an overdue assignment (programme officers): the late expert's assignment is closed and
        `evaluator` assigned with the checks of any assignment. Answers the new assignment."""
        check(request.user, "calls.reassign_assignment", message=denial_message("calls.reassign_assignment"))
        assignment = get_object_or_404(Assignment.objects.all(), pk=pk)
        data = ReassignInput(data=request.data)
        data.is_valid(raise_exception=True)
        new = services.assignment_reassign(assignment=assignment, actor=request.user, **data.validated_data)
        new = assignments_with_actions().get(pk=new.pk)
        return Response(AssignmentSerializer(new, context={"request": request}).data, status=201)
