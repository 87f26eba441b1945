"""The calls and proposals API: thin views over calls.services and calls.selectors."""

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from calls import services
from calls.actions import PROPOSAL_ACTIONS, proposal_actions
from calls.checks import proposal_checks
from calls.models import BudgetLine, Call, ConsortiumMember, CutOff, Document, Proposal
from calls.selectors import (
    call_list,
    proposal_for,
    proposal_list_for_organisation,
    submissions,
    with_budget_totals,
)
from eurohpc import limits
from eurohpc.api.permissions import check
from eurohpc.api.serializers import ErrorSerializer
from eurohpc.converters import id_param
from eurohpc.countries import COUNTRY_CHOICES
from eurohpc.dates import plausible_year
from eurohpc.models import Organisation
from hosting.selectors import machine_choices

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}
# A list answers 400 for an invalid filter and 404 for a page out of range.
LIST_ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 404: ErrorSerializer}
ONLY_STAFF_CHANGE_CONSORTIUM = "Only applicant staff of the proposal's organisation can change the consortium."
# --- serializers -----------------------------------------------------------------------------------


class CutOffSerializer(serializers.ModelSerializer):
    class Meta:
        model = CutOff
        fields = ["id", "closes_at", "processed_at"]
        read_only_fields = fields


class CallSerializer(serializers.ModelSerializer):
    cut_offs = CutOffSerializer(many=True, read_only=True)
    next_cut_off = serializers.DateTimeField(read_only=True, allow_null=True)
    closes_at = serializers.DateTimeField(source="last_cut_off", read_only=True, allow_null=True)

    class Meta:
        model = Call
        fields = [
            "id",
            "identifier",
            "title",
            "prong",
            "status",
            "opens_at",
            "closes_at",
            "next_cut_off",
            "allowed_types",
            "admits_non_eu_participating_states",
            "max_eu_contribution",
            "indicative_budget",
            "evaluation_scheme",
            "is_demo",
            "cut_offs",
        ]
        read_only_fields = fields


class CutOffInput(serializers.Serializer):
    closes_at = serializers.DateTimeField(validators=[plausible_year])


class CallInput(serializers.Serializer):
    identifier = serializers.CharField(max_length=64)
    title = serializers.CharField(max_length=255)
    prong = serializers.ChoiceField(choices=Call.Prong.choices)
    opens_at = serializers.DateTimeField(validators=[plausible_year])
    cut_offs = CutOffInput(many=True, required=False)
    status = serializers.ChoiceField(choices=[Call.Status.DRAFT, Call.Status.OPEN], default=Call.Status.DRAFT)
    allowed_types = serializers.ListField(child=serializers.ChoiceField(choices=Proposal.Type.choices), required=False)
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=limits.CALL_DESCRIPTION
    )
    admits_non_eu_participating_states = serializers.BooleanField(required=False, default=False)
    max_eu_contribution = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=0
    )
    indicative_budget = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=0
    )


class BudgetLineSerializer(serializers.ModelSerializer):
    category = serializers.ChoiceField(choices=BudgetLine.Category.choices)
    total_cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    eu_contribution = serializers.DecimalField(max_digits=14, decimal_places=2)
    national_contribution = serializers.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        model = BudgetLine
        fields = ["category", "total_cost", "eu_contribution", "national_contribution"]


class ConsortiumMemberSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="short_name", read_only=True)

    class Meta:
        model = ConsortiumMember
        fields = ["id", "organisation", "country", "role"]
        read_only_fields = fields


class ConsortiumMemberInput(serializers.Serializer):
    organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.order_by("short_name"))
    role = serializers.ChoiceField(choices=ConsortiumMember.Role.choices, default=ConsortiumMember.Role.PARTNER)


class DocumentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = ["id", "kind", "filename", "sha256", "size", "uploaded_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, document) -> str:
        return f"/api/v1/proposals/{document.proposal_id}/documents/{document.pk}/"


class DocumentInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Document.Kind.choices)
    file = serializers.FileField(allow_empty_file=True)


class ProposalSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="short_name", read_only=True)
    budget_lines = BudgetLineSerializer(many=True, read_only=True)
    consortium_members = ConsortiumMemberSerializer(many=True, read_only=True)
    documents = DocumentSerializer(many=True, read_only=True)
    cut_off = CutOffSerializer(read_only=True, allow_null=True)
    # blank until a new system's country is given: the answer's schema says so
    planned_machine_country = serializers.ChoiceField(choices=COUNTRY_CHOICES, allow_blank=True, read_only=True)
    actions = serializers.SerializerMethodField(
        help_text="what the requesting user may do with the proposal now (a submission is still checked against "
        "every rule of the call)"
    )

    class Meta:
        model = Proposal
        fields = [
            "id",
            "call",
            "type",
            "experimental_platform",
            "title",
            "acronym",
            "abstract",
            "machine",
            "planned_machine_name",
            "planned_machine_country",
            "organisation",
            "status",
            "reference",
            "submitted_at",
            "cut_off",
            "withdrawn_at",
            "eligibility_reason",
            "eligibility_decided_at",
            "copied_from",
            "budget_lines",
            "consortium_members",
            "documents",
            "created_at",
            "updated_at",
            "actions",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=PROPOSAL_ACTIONS)))
    def get_actions(self, proposal) -> list[str]:
        request = self.context.get("request")
        return proposal_actions(proposal=proposal, user=request.user) if request is not None else []


class ProposalListSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="short_name", read_only=True)
    call = serializers.SlugRelatedField(slug_field="identifier", read_only=True)
    cut_off = CutOffSerializer(read_only=True, allow_null=True)
    eu_requested = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, allow_null=True)

    class Meta:
        model = Proposal
        fields = [
            "id",
            "call",
            "type",
            "title",
            "acronym",
            "organisation",
            "status",
            "reference",
            "submitted_at",
            "cut_off",
            "eu_requested",
        ]
        read_only_fields = fields


class ProposalInput(serializers.Serializer):
    call = serializers.PrimaryKeyRelatedField(
        queryset=Call.objects.exclude(status=Call.Status.DRAFT).order_by("-opens_at", "identifier")
    )
    type = serializers.ChoiceField(choices=Proposal.Type.choices)
    title = serializers.CharField(max_length=255)
    acronym = serializers.CharField(max_length=32)
    abstract = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.ABSTRACT)
    experimental_platform = serializers.BooleanField(required=False, default=False)
    machine = serializers.PrimaryKeyRelatedField(queryset=machine_choices(), allow_null=True, required=False)
    planned_machine_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    planned_machine_country = serializers.ChoiceField(
        choices=COUNTRY_CHOICES, required=False, allow_blank=True, default=""
    )
    budget_lines = BudgetLineSerializer(many=True, required=False)


class ProposalPatchInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=Proposal.Type.choices, required=False)
    title = serializers.CharField(max_length=255, required=False)
    acronym = serializers.CharField(max_length=32, required=False)
    abstract = serializers.CharField(required=False, allow_blank=True, max_length=limits.ABSTRACT)
    experimental_platform = serializers.BooleanField(required=False)
    machine = serializers.PrimaryKeyRelatedField(queryset=machine_choices(), allow_null=True, required=False)
    planned_machine_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    planned_machine_country = serializers.ChoiceField(choices=COUNTRY_CHOICES, required=False, allow_blank=True)
    budget_lines = BudgetLineSerializer(many=True, required=False)


class EligibilityInput(serializers.Serializer):
    eligible = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True, max_length=limits.REASON)


class CheckSerializer(serializers.Serializer):
    code = serializers.CharField()
    rule = serializers.CharField()
    ok = serializers.BooleanField()
    detail = serializers.CharField()


def _lines(data: list[dict]) -> list[dict]:
    return [dict(line) for line in data]


# --- calls -------------------------------------------------------------------------------------------


class CallListApi(generics.ListCreateAPIView):
    """Open and closed calls with their cut-offs (public). Programme officers also see drafts and create calls."""

    serializer_class = CallSerializer

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    def get_queryset(self):
        return call_list(include_drafts=self.request.user.has_perm("calls.manage_calls"))

    @extend_schema(responses={200: CallSerializer(many=True), **LIST_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=CallInput, responses={201: CallSerializer, **ERRORS})
    def post(self, request):
        check(request.user, "calls.manage_calls", message="Only programme officers can open calls.")
        data = CallInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["cut_offs"] = [c["closes_at"] for c in values.pop("cut_offs", [])]
        call = services.call_create(actor=request.user, **values)
        return Response(CallSerializer(call_list(include_drafts=True).get(pk=call.pk)).data, status=201)


class CallDetailApi(generics.RetrieveAPIView):
    serializer_class = CallSerializer
    permission_classes = [AllowAny]

    def get_queryset(self):
        return call_list(include_drafts=self.request.user.has_perm("calls.manage_calls"))

    @extend_schema(responses={200: CallSerializer, 401: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CallCutOffApi(APIView):
    @extend_schema(request=CutOffInput, responses={201: CutOffSerializer, **ERRORS})
    def post(self, request, pk: int):
        call = get_object_or_404(call_list(include_drafts=request.user.has_perm("calls.manage_calls")), pk=pk)
        check(request.user, "calls.manage_calls", message="Only programme officers can add cut-offs.")
        data = CutOffInput(data=request.data)
        data.is_valid(raise_exception=True)
        cut_off = services.cut_off_add(call=call, closes_at=data.validated_data["closes_at"], actor=request.user)
        return Response(CutOffSerializer(cut_off).data, status=201)


class CallOpenApi(APIView):
    @extend_schema(request=None, responses={200: CallSerializer, **ERRORS})
    def post(self, request, pk: int):
        call = get_object_or_404(call_list(include_drafts=request.user.has_perm("calls.manage_calls")), pk=pk)
        check(request.user, "calls.manage_calls", message="Only programme officers can open calls.")
        services.call_open(call=call, actor=request.user)
        return Response(CallSerializer(call_list(include_drafts=True).get(pk=pk)).data)


# --- proposals ---------------------------------------------------------------------------------------


def visible_proposals(request):
    return Proposal.objects.visible_to(request.user)


def get_proposal(request, pk: int) -> Proposal:
    """A proposal the user may see; 404 for another organisation's, 403 with the reason for an undeclared evaluator."""
    return proposal_for(user=request.user, pk=pk)


def proposal_response(request, pk: int, status: int = 200) -> Response:
    """The proposal as its reader may see it, with the actions open to them."""
    return Response(ProposalSerializer(get_proposal(request, pk), context={"request": request}).data, status=status)


@extend_schema(
    parameters=[
        OpenApiParameter("call", int),
        OpenApiParameter("cut_off", int),
        OpenApiParameter("status", str, enum=Proposal.Status.values),
        OpenApiParameter("type", str, enum=Proposal.Type.values),
        OpenApiParameter("search", str),
    ]
)
class ProposalListApi(generics.ListCreateAPIView):
    """Applicants: their organisation's proposals, drafts included. Officers: every submitted proposal."""

    serializer_class = ProposalListSerializer
    filter_backends = []

    def get_queryset(self):
        params = self.request.query_params
        filters = {k: params.get(k) or None for k in ("status", "type", "search")}
        filters["call_id"], filters["cut_off_id"] = id_param(params, "call"), id_param(params, "cut_off")
        if filters["status"] and filters["status"] not in Proposal.Status.values:
            raise serializers.ValidationError({"status": [f"Unknown status {filters['status']!r}."]})
        if filters["type"] and filters["type"] not in Proposal.Type.values:
            raise serializers.ValidationError({"type": [f"Unknown type {filters['type']!r}."]})
        user = self.request.user
        if user.has_perm("calls.list_submissions"):
            return submissions(**filters)
        if user.organisation_id and user.has_perm("calls.add_proposal"):
            return proposal_list_for_organisation(organisation_id=user.organisation_id, **filters)
        return submissions(**filters).filter(pk__in=Proposal.objects.visible_to(user).values("pk"))

    @extend_schema(responses={200: ProposalListSerializer(many=True), **LIST_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return with_budget_totals(page) if page is not None else None

    @extend_schema(request=ProposalInput, responses={201: ProposalSerializer, **ERRORS})
    def post(self, request):
        check(request.user, "calls.add_proposal", message="Only applicants (staff of a hosting entity) file proposals.")
        if request.user.organisation_id is None:
            return Response(
                {"detail": "Your account belongs to no organisation.", "code": "no_organisation", "errors": {}},
                status=403,
            )
        data = ProposalInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        lines = values.pop("budget_lines", None)
        proposal = services.proposal_create(
            organisation=request.user.organisation,
            actor=request.user,
            budget_lines=_lines(lines) if lines is not None else None,
            **values,
        )
        return proposal_response(request, proposal.pk, status=201)


class ProposalDetailApi(APIView):
    @extend_schema(responses={200: ProposalSerializer, **ERRORS})
    def get(self, request, pk: int):
        return proposal_response(request, pk)

    @extend_schema(request=ProposalPatchInput, responses={200: ProposalSerializer, **ERRORS})
    def patch(self, request, pk: int):
        proposal = get_proposal(request, pk)
        check(
            request.user,
            "calls.change_proposal",
            proposal,
            "Only applicant staff of the proposal's organisation can change it.",
        )
        data = ProposalPatchInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        lines = values.pop("budget_lines", None)
        services.proposal_change(
            proposal=proposal, actor=request.user, budget_lines=_lines(lines) if lines is not None else None, **values
        )
        return proposal_response(request, pk)


class ProposalDocumentsApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=DocumentInput, responses={201: DocumentSerializer, **ERRORS})
    def post(self, request, pk: int):
        proposal = get_proposal(request, pk)
        check(
            request.user,
            "calls.change_proposal",
            proposal,
            "Only applicant staff of the proposal's organisation can upload documents.",
        )
        data = DocumentInput(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.document_upload(
            proposal=proposal,
            kind=data.validated_data["kind"],
            uploaded_file=data.validated_data["file"],
            actor=request.user,
        )
        return Response(DocumentSerializer(document).data, status=201)


class ProposalDocumentApi(APIView):
    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY, **ERRORS})
    def get(self, request, pk: int, document_id: int):
        proposal = get_proposal(request, pk)
        check(request.user, "calls.view_document", proposal, "You may not read this proposal's documents.")
        document = get_object_or_404(proposal.documents.all(), pk=document_id)
        return document_response(document)

    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request, pk: int, document_id: int):
        proposal = get_proposal(request, pk)
        check(
            request.user,
            "calls.change_proposal",
            proposal,
            "Only applicant staff of the proposal's organisation can remove documents.",
        )
        document = get_object_or_404(proposal.documents.all(), pk=document_id)
        services.document_delete(document=document, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def document_response(document: Document) -> FileResponse:
    response = FileResponse(
        document.file.open("rb"), as_attachment=True, filename=document.filename, content_type="application/pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


class ProposalConsortiumApi(APIView):
    @extend_schema(request=ConsortiumMemberInput, responses={201: ConsortiumMemberSerializer, **ERRORS})
    def post(self, request, pk: int):
        proposal = get_proposal(request, pk)
        check(
            request.user,
            "calls.change_proposal",
            proposal,
            ONLY_STAFF_CHANGE_CONSORTIUM,
        )
        data = ConsortiumMemberInput(data=request.data)
        data.is_valid(raise_exception=True)
        member = services.consortium_member_add(proposal=proposal, actor=request.user, **data.validated_data)
        return Response(ConsortiumMemberSerializer(member).data, status=201)


class ProposalConsortiumMemberApi(APIView):
    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request, pk: int, member_id: int):
        proposal = get_proposal(request, pk)
        check(
            request.user,
            "calls.change_proposal",
            proposal,
            ONLY_STAFF_CHANGE_CONSORTIUM,
        )
        member = get_object_or_404(proposal.consortium_members.all(), pk=member_id)
        services.consortium_member_remove(member=member, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _ProposalActionApi(APIView):
    """POST without a body: one service applied to one proposal, answered with the proposal it leaves."""

    perm = ""
    denial = ""
    status_code = 200

    @staticmethod
    def service(*, proposal, actor):
        raise NotImplementedError

    def post(self, request, pk: int):
        proposal = get_proposal(request, pk)
        check(request.user, self.perm, proposal, self.denial)
        result = self.service(proposal=proposal, actor=request.user)
        return proposal_response(request, result.pk, status=self.status_code)


@extend_schema(request=None, responses={200: ProposalSerializer, **ERRORS})
class ProposalSubmitApi(_ProposalActionApi):
    perm = "calls.submit_proposal"
    denial = "Only applicant staff of the proposal's organisation can submit it."
    service = staticmethod(services.proposal_submit)


@extend_schema(request=None, responses={200: ProposalSerializer, **ERRORS})
class ProposalWithdrawApi(_ProposalActionApi):
    perm = "calls.withdraw_proposal"
    denial = "Only applicant staff of the proposal's organisation can withdraw it."
    service = staticmethod(services.proposal_withdraw)


@extend_schema(request=None, responses={201: ProposalSerializer, **ERRORS})
class ProposalCopyApi(_ProposalActionApi):
    perm = "calls.change_proposal"
    denial = "Only applicant staff of the proposal's organisation can copy it."
    service = staticmethod(services.proposal_copy)
    status_code = 201


class ProposalEligibilityApi(APIView):
    @extend_schema(request=EligibilityInput, responses={200: ProposalSerializer, **ERRORS})
    def post(self, request, pk: int):
        proposal = get_proposal(request, pk)
        check(request.user, "calls.record_eligibility", proposal, "Only programme officers record eligibility.")
        data = EligibilityInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.proposal_record_eligibility(proposal=proposal, actor=request.user, **data.validated_data)
        return proposal_response(request, pk)


class ProposalChecksApi(APIView):
    @extend_schema(responses={200: CheckSerializer(many=True), **ERRORS})
    def get(self, request, pk: int):
        """The programme's rules for this proposal, each passed or not (what submission and screening check)."""
        proposal = get_proposal(request, pk)
        return Response(CheckSerializer(proposal_checks(proposal), many=True).data)
