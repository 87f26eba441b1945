"""The access calls API: thin views over calls.access.services and calls.access.selectors; the shapes are in
serializers.py.

An application another organisation (or another host) may not see is a 404 (`visible_applications`); a role that
may not act is a 403 with the reason its permission declares (calls/access/rules.py); every other refusal is the
service's, 400 or 409 with its code and message.
"""

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.access import services
from calls.access.actions import application_actions
from calls.access.checks import access_checks
from calls.access.models import AccessApplication, AccessMode
from calls.access.selectors import (
    application_for,
    application_list,
    cut_off_ranking,
    open_access_calls,
    pool_board,
    released_reviews,
    technical_queue,
)
from calls.access.serializers import (
    AccessApplicationInput,
    AccessApplicationListSerializer,
    AccessApplicationPatchInput,
    AccessApplicationSerializer,
    AccessCallSerializer,
    AccessCutOffRankingSerializer,
    AccessEligibilityInput,
    DecisionInput,
    FinalReportInput,
    PoolInput,
    PoolOutputSerializer,
    QuotaPoolsSerializer,
    RankingAwardResultSerializer,
    ReplyInput,
    TechnicalAssessmentInput,
)
from calls.models import Call, CutOff, Proposal
from eurohpc.api.permissions import check
from eurohpc.api.serializers import ErrorSerializer
from eurohpc.converters import id_param
from eurohpc.permissions import denial_message
from hosting.selectors import machine_list
from hosting.services import access_pool_set

TAGS = ["access"]
ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}
READ_ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


def require(user, perm: str, obj=None) -> None:
    """403 with the reason the permission declares (calls/access/rules.py)."""
    check(user, perm, obj, denial_message(perm))


# --- lookups -----------------------------------------------------------------------------------------------


def get_application(request, pk: int) -> AccessApplication:
    """An application the user may see; another organisation's (or another host's) does not exist for them."""
    application = application_for(user=request.user, pk=pk)
    if application is None:
        raise Http404("No access application matches the given query.")
    return application


def review_data(application: AccessApplication) -> list[dict]:
    """The submitted reviews as the applicant reads them once released: numbered, without their authors."""
    return [
        {
            "number": number,
            "scores": {s.criterion: format(s.score.normalize(), "f") for s in scores},
            "comments": {s.criterion: s.comment for s in scores},
        }
        for number, scores in enumerate(released_reviews(application=application), start=1)
    ]


def application_data(request, application: AccessApplication) -> dict:
    user = request.user
    show_reviews = user.has_perm("calls.view_access_reviews", application)
    slurm_account = None
    if application.project_id:
        slurm_account = application.project.allocations.order_by("pk").values_list("slurm_account", flat=True).first()
    context = {
        "request": request,
        "checks": access_checks(application, today=timezone.localdate()),
        "reviews": review_data(application) if show_reviews else [],
        "slurm_account": slurm_account,
        "actions": application_actions(application=application, user=user),
    }
    return AccessApplicationSerializer(application, context=context).data


def application_response(request, pk: int, status: int = 200) -> Response:
    """The application as the service left it, as its reader may see it, with the actions open to them."""
    return Response(application_data(request, get_application(request, pk)), status=status)


def get_cut_off(pk: int) -> CutOff:
    return get_object_or_404(CutOff.objects.filter(call__prong=Call.Prong.ACCESS).select_related("call"), pk=pk)


# --- calls -------------------------------------------------------------------------------------------------


@extend_schema(tags=TAGS)
class AccessCallListApi(generics.ListAPIView):
    """Open access calls with their cut-offs and access modes: caps, durations, who may apply, the process, the
    reviews required, the days to reply and the decision target (public)."""

    serializer_class = AccessCallSerializer
    permission_classes = [AllowAny]
    filter_backends = []

    def get_queryset(self):
        return open_access_calls().prefetch_related(
            Prefetch("cut_offs", queryset=CutOff.objects.order_by("closes_at", "pk"))
        )

    @extend_schema(responses={200: AccessCallSerializer(many=True), 400: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- applications ------------------------------------------------------------------------------------------


@extend_schema(
    tags=TAGS,
    parameters=[
        OpenApiParameter("call", int),
        OpenApiParameter("mode", str, enum=AccessMode.Code.values),
        OpenApiParameter("status", str, enum=Proposal.Status.values),
        OpenApiParameter("machine", int),
    ],
)
class AccessApplicationListApi(generics.ListCreateAPIView):
    """Applicants: their organisation's applications, drafts included. Hosting operators: their machines' filed
    applications. Programme officers: every one. Newest first."""

    serializer_class = AccessApplicationListSerializer
    filter_backends = []

    def get_queryset(self):
        params = self.request.query_params
        mode, status = params.get("mode") or None, params.get("status") or None
        if mode and mode not in AccessMode.Code.values:
            raise serializers.ValidationError({"mode": [f"Unknown access mode {mode!r}."]})
        if status and status not in Proposal.Status.values:
            raise serializers.ValidationError({"status": [f"Unknown status {status!r}."]})
        return application_list(
            user=self.request.user,
            call=id_param(params, "call"),
            mode=mode,
            status=status,
            machine=id_param(params, "machine"),
        )

    @extend_schema(responses={200: AccessApplicationListSerializer(many=True), **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        parameters=[], request=AccessApplicationInput, responses={201: AccessApplicationSerializer, **ERRORS}
    )
    def post(self, request):
        """Draft an application, the requesting applicant its principal investigator."""
        require(request.user, "calls.apply_access")
        data = AccessApplicationInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        machine = values.pop("machine", None)
        application = services.access_application_create(
            call=values.pop("call"),
            mode=values.pop("mode"),
            partition=values.pop("partition"),
            machine_id=machine.pk if machine else None,
            actor=request.user,
            **values,
        )
        return application_response(request, application.pk, status=201)


@extend_schema(tags=TAGS)
class AccessApplicationDetailApi(APIView):
    @extend_schema(responses={200: AccessApplicationSerializer, **READ_ERRORS})
    def get(self, request, pk: int):
        """The application with its checks, technical assessment, released reviews, reply, decision and project."""
        return application_response(request, pk)

    @extend_schema(request=AccessApplicationPatchInput, responses={200: AccessApplicationSerializer, **ERRORS})
    def patch(self, request, pk: int):
        """Change a draft (its organisation's applicants)."""
        application = get_application(request, pk)
        require(request.user, "calls.change_access", application)
        data = AccessApplicationPatchInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "machine" in values:
            machine = values.pop("machine")
            values["machine_id"] = machine.pk if machine else None
        services.access_application_update(application=application, actor=request.user, **values)
        return application_response(request, pk)


class _ApplicationActionApi(APIView):
    """POST: one service applied to one application, answered with the application it leaves."""

    perm = ""
    input_class = None

    @staticmethod
    def service(*, application, actor, **values):
        raise NotImplementedError

    def post(self, request, pk: int):
        application = get_application(request, pk)
        if self.perm:
            require(request.user, self.perm, application)
        values = {}
        if self.input_class is not None:
            data = self.input_class(data=request.data)
            data.is_valid(raise_exception=True)
            values = dict(data.validated_data)
        self.service(application=application, actor=request.user, **values)
        return application_response(request, pk)


@extend_schema(tags=TAGS, request=None, responses={200: AccessApplicationSerializer, **ERRORS})
class AccessApplicationSubmitApi(_ApplicationActionApi):
    """Submit the draft: every rule of its mode is checked (400 `submission_rules` lists each one not met); a
    cut-off mode's application goes to the call's next cut-off (409 `late` after the last)."""

    perm = "calls.change_access"
    service = staticmethod(services.access_application_submit)


@extend_schema(tags=TAGS, request=None, responses={200: AccessApplicationSerializer, **ERRORS})
class AccessApplicationWithdrawApi(_ApplicationActionApi):
    """Withdraw a submitted application, until its cut-off (continuous modes: until it is screened)."""

    perm = "calls.change_access"
    service = staticmethod(services.access_application_withdraw)


@extend_schema(tags=TAGS, request=AccessEligibilityInput, responses={200: AccessApplicationSerializer, **ERRORS})
class AccessEligibilityApi(_ApplicationActionApi):
    """Record the programme officer's eligibility check, with its reason."""

    perm = "calls.record_access_eligibility"
    input_class = AccessEligibilityInput
    service = staticmethod(services.access_eligibility_record)


@extend_schema(tags=TAGS, request=TechnicalAssessmentInput, responses={200: AccessApplicationSerializer, **ERRORS})
class AccessTechnicalAssessmentApi(_ApplicationActionApi):
    """The machine's host says whether the project can run, and with how many GPU-hours."""

    perm = "calls.assess_access"
    input_class = TechnicalAssessmentInput
    service = staticmethod(services.technical_assessment_record)


@extend_schema(tags=TAGS, request=None, responses={200: AccessApplicationSerializer, **ERRORS})
class AccessReviewsReleaseApi(_ApplicationActionApi):
    """Send the submitted reviews (without their authors) to the applicant and open the reply window."""

    perm = "calls.decide_access"
    service = staticmethod(services.access_reviews_release)


@extend_schema(tags=TAGS, request=ReplyInput, responses={200: AccessApplicationSerializer, **ERRORS})
class AccessReplyApi(_ApplicationActionApi):
    """The applicant's reply to the released reviews, once, until the deadline."""

    perm = "calls.reply_access"
    input_class = ReplyInput
    service = staticmethod(services.access_reply_submit)


@extend_schema(tags=TAGS, request=DecisionInput, responses={200: AccessApplicationSerializer, **ERRORS})
class AccessDecisionApi(_ApplicationActionApi):
    """The access committee's decision: awarded (the project and its allocation from the mode's pool), reserve
    list or rejected."""

    perm = "calls.decide_access"
    input_class = DecisionInput
    service = staticmethod(services.access_decide)


@extend_schema(tags=TAGS, request=FinalReportInput, responses={200: AccessApplicationSerializer, **ERRORS})
class AccessFinalReportApi(_ApplicationActionApi):
    """The principal investigator's final report, from the last month of access on."""

    perm = "calls.report_access"
    input_class = FinalReportInput
    service = staticmethod(services.access_final_report_submit)


# --- the host's queue, the committee's ranking -------------------------------------------------------------


@extend_schema(tags=TAGS)
class TechnicalQueueApi(generics.ListAPIView):
    """Eligible applications waiting for the technical assessment: an operator's machines' (officers: all)."""

    serializer_class = AccessApplicationListSerializer
    filter_backends = []

    def get_queryset(self):
        require(self.request.user, "calls.view_technical_queue")
        return technical_queue(user=self.request.user)

    @extend_schema(responses={200: AccessApplicationListSerializer(many=True), **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=TAGS)
class AccessCutOffRankingApi(APIView):
    @extend_schema(responses={200: AccessCutOffRankingSerializer, **READ_ERRORS})
    def get(self, request, pk: int):
        """The reviewed applications of the cut-off, best mean review score first, each against the remaining hours
        of its access pool in ranking order."""
        require(request.user, "calls.list_access")
        cut_off = get_cut_off(pk)
        rows = cut_off_ranking(cut_off=cut_off)
        body = {
            "cut_off": cut_off.pk,
            "call": cut_off.call.identifier,
            "closes_at": cut_off.closes_at,
            "count": len(rows),
            "results": rows,
        }
        return Response(AccessCutOffRankingSerializer(body).data)


@extend_schema(tags=TAGS)
class AccessCutOffAwardApi(APIView):
    @extend_schema(request=None, responses={200: RankingAwardResultSerializer, **ERRORS})
    def post(self, request, pk: int):
        """Award each decidable application of the cut-off its recommendation, in ranking order, while its pool
        lasts; one its pool cannot hold goes to the reserve list."""
        require(request.user, "calls.decide_access")
        cut_off = get_cut_off(pk)
        result = services.access_ranking_award(cut_off=cut_off, actor=request.user)
        return Response(RankingAwardResultSerializer(result).data)


# --- pools -------------------------------------------------------------------------------------------------


@extend_schema(tags=TAGS)
class AccessPoolsApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("machine", int, required=True, description="the machine whose pools to show")],
        responses={200: QuotaPoolsSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request):
        """Per period and GPU partition of the machine: each access pool's hours, awarded, used, remaining and the
        hours pending applications ask of it."""
        require(request.user, "calls.view_access_pools")
        machine_id = id_param(request.query_params, "machine")
        if machine_id is None:
            raise serializers.ValidationError({"machine": ["Give the machine: ?machine=<id>."]})
        machine = get_object_or_404(machine_list(user=request.user), pk=machine_id)
        return Response(QuotaPoolsSerializer(pool_board(machine=machine), many=True).data)

    @extend_schema(request=PoolInput, responses={200: PoolOutputSerializer, **ERRORS})
    def put(self, request):
        """Set the hours of one access mode's pool in a partition quota (programme officers). The pools of a quota
        add up to at most its Union quota; a pool never shrinks below what it has awarded."""
        require(request.user, "calls.manage_access_pools")
        data = PoolInput(data=request.data)
        data.is_valid(raise_exception=True)
        pool = access_pool_set(actor=request.user, **data.validated_data)
        return Response(PoolOutputSerializer(pool).data)
