"""The evaluation review (redress) API: thin views over calls.evaluation.services.redress and selectors.redress.

An applicant lists, requests and follows the reviews of their organisation's proposals (another organisation's
are not found); programme officers list and handle every request; a committee member declares and gives the
opinion on their seat."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.evaluation import selectors, services
from calls.evaluation.api import ERRORS
from calls.evaluation.redress_actions import redress_actions, user_seat
from calls.evaluation.selectors.redress import with_status
from calls.evaluation.serializers_redress import (
    RedressAdmissibilityInput,
    RedressApplicantSerializer,
    RedressCommitteeInput,
    RedressDeclarationInput,
    RedressOfficerSerializer,
    RedressOpinionInput,
    RedressRequestInput,
    RedressWindowSerializer,
)
from calls.models import Proposal, RedressRequest
from calls.selectors import proposal_for
from eurohpc.api.permissions import check
from eurohpc.api.serializers import ErrorSerializer
from eurohpc.models import User
from eurohpc.permissions import denial_message
from eurohpc.rules import is_applicant

LIST_DENIAL = "Only applicants (their organisation's requests) and programme officers see evaluation reviews."


def _officer_view(request, pk: int) -> Response:
    detail = selectors.redress_request_detail(pk=pk)
    context = {"committee": detail.committee, "actions": redress_actions(detail=detail, user=request.user)}
    return Response(RedressOfficerSerializer(detail.request, context=context).data)


def _officer_detail(request, pk: int):
    check(request.user, "calls.manage_redress", message=denial_message("calls.manage_redress"))
    detail = selectors.redress_request_detail(pk=pk)
    if detail is None:
        raise Http404
    return detail


class RedressListApi(generics.ListAPIView):
    """Programme officers: every request, open steps by due date (overdue first). Applicants: their
    organisation's requests, open ones first. Filters: `status` (or `open`), `call`."""

    filter_backends = []

    def get_serializer_class(self):
        officer = self.request.user.has_perm("calls.oversee_redress")
        return RedressOfficerSerializer if officer else RedressApplicantSerializer

    def get_queryset(self):
        user = self.request.user
        status = self.request.query_params.get("status") or None
        if user.has_perm("calls.oversee_redress"):
            call = self.request.query_params.get("call")
            requests = selectors.redress_list(status=status, call_id=int(call) if call and call.isdigit() else None)
        elif user.organisation_id is not None and is_applicant(user):
            requests = with_status(selectors.applicant_redress_requests(user=user), status)
        else:
            raise PermissionDenied(LIST_DENIAL)
        return requests.select_related("decision", "outcome_decision", "submitted_by", "admissibility_by", "opinion_by")

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, description="a status, or `open` for every open step"),
            OpenApiParameter("call", OpenApiTypes.INT, description="a call's id (programme officers)"),
        ],
        responses={200: RedressOfficerSerializer(many=True), 401: ErrorSerializer, 403: ErrorSerializer},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=RedressRequestInput, responses={201: RedressApplicantSerializer, **ERRORS})
    def post(self, request):
        """An applicant requests an evaluation review of their proposal's latest notified outcome, within the
        call's window. Answers the receipt (its reference, deadline and status)."""
        data = RedressRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        proposal = proposal_for(user=request.user, pk=data.validated_data["proposal"],
                                queryset=Proposal.objects.select_related("call", "cut_off"))  # fmt: skip
        check(request.user, "calls.request_redress", proposal, message=denial_message("calls.request_redress"))
        made = services.redress_request_submit(
            proposal=proposal, grounds=data.validated_data["grounds"], actor=request.user
        )
        made = RedressRequest.objects.select_related("proposal", "decision").get(pk=made.pk)
        return Response(RedressApplicantSerializer(made).data, status=201)


class RedressDetailApi(APIView):
    @extend_schema(responses={200: RedressOfficerSerializer, 401: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer})  # fmt: skip
    def get(self, request, pk: int):
        """One request: for programme officers with its committee, step due and the actions open to the caller;
        for its applicant, every step without names."""
        if request.user.has_perm("calls.oversee_redress"):
            if not RedressRequest.objects.filter(pk=pk).exists():
                raise Http404
            return _officer_view(request, pk)
        organisation_id = request.user.organisation_id
        if organisation_id is None:
            raise Http404
        found = get_object_or_404(
            RedressRequest.objects.filter(proposal__organisation_id=organisation_id).select_related(
                "proposal", "decision", "outcome_decision"
            ),
            pk=pk,
        )
        check(request.user, "calls.view_redress", found, message=denial_message("calls.view_redress"))
        return Response(RedressApplicantSerializer(found).data)


class RedressAdmissibilityApi(APIView):
    @extend_schema(request=RedressAdmissibilityInput, responses={200: RedressOfficerSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Record whether the request is admissible (a reason is required when it is not)."""
        detail = _officer_detail(request, pk)
        data = RedressAdmissibilityInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.redress_admissibility_record(request=detail.request, actor=request.user, **data.validated_data)
        return _officer_view(request, pk)


class RedressCommitteeApi(APIView):
    @extend_schema(request=RedressCommitteeInput, responses={200: RedressOfficerSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Appoint programme officers (by id) who took no part in the evaluation to the review committee."""
        detail = _officer_detail(request, pk)
        data = RedressCommitteeInput(data=request.data)
        data.is_valid(raise_exception=True)
        ids = data.validated_data["members"]
        members = list(User.objects.filter(pk__in=ids).order_by("pk"))
        if len(members) != len(set(ids)):
            raise Http404
        services.redress_committee_appoint(request=detail.request, members=members, actor=request.user)
        return _officer_view(request, pk)


class RedressDeclarationApi(APIView):
    @extend_schema(request=RedressDeclarationInput, responses={200: RedressOfficerSerializer, **ERRORS})
    def post(self, request, pk: int):
        """The calling committee member declares, once, whether they have a conflict of interest."""
        check(request.user, "calls.oversee_redress", message=denial_message("calls.oversee_redress"))
        detail = selectors.redress_request_detail(pk=pk)
        if detail is None:
            raise Http404
        seat = user_seat(detail, request.user)
        check(request.user, "calls.sit_on_redress_committee", seat,
              message=denial_message("calls.sit_on_redress_committee"))  # fmt: skip
        data = RedressDeclarationInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.redress_committee_declare(seat=seat, actor=request.user, **data.validated_data)
        return _officer_view(request, pk)


class RedressOpinionApi(APIView):
    @extend_schema(request=RedressOpinionInput, responses={200: RedressOfficerSerializer, **ERRORS})
    def post(self, request, pk: int):
        """A committee member who declared no conflict records the opinion: `confirm` or `re_evaluate`."""
        check(request.user, "calls.oversee_redress", message=denial_message("calls.oversee_redress"))
        found = get_object_or_404(RedressRequest.objects.all(), pk=pk)
        data = RedressOpinionInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.redress_opinion_record(request=found, actor=request.user, **data.validated_data)
        return _officer_view(request, pk)


class RedressConcludeApi(APIView):
    @extend_schema(request=None, responses={200: RedressOfficerSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Conclude a re-evaluation from its new consensus: the cut-off's ranking is recomputed and the outcome
        recorded and notified."""
        detail = _officer_detail(request, pk)
        services.redress_conclude(request=detail.request, actor=request.user)
        return _officer_view(request, pk)


class ProposalRedressWindowApi(APIView):
    @extend_schema(responses={200: RedressWindowSerializer, 401: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer})  # fmt: skip
    def get(self, request, pk: int):
        """Whether an evaluation review of the proposal's outcome can be requested now, and until when."""
        proposal = proposal_for(user=request.user, pk=pk, queryset=Proposal.objects.select_related("call", "cut_off"))
        check(request.user, "calls.request_redress", proposal, message=denial_message("calls.request_redress"))
        window = selectors.redress_window(proposal=proposal)
        return Response(
            RedressWindowSerializer(
                {
                    "decision": window.decision,
                    "notified_at": window.notified_at,
                    "deadline": window.deadline,
                    "is_open": window.is_open,
                    "refusal_code": window.refusal[1] if window.refusal else None,
                    "refusal": window.refusal[2] if window.refusal else None,
                }
            ).data
        )
