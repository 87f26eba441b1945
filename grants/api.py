"""The budget API: envelopes and their positions, grants, commitments, payments, award letters.

Thin views: parse input, check the permission (django-rules), call one service or selector, answer.
Domain errors become 400/409 with their message through the project's exception handler.
"""

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.selectors import proposal_by_id
from eurohpc.api.permissions import check
from eurohpc.api.serializers import ErrorSerializer
from eurohpc.converters import id_param
from grants import services
from grants.models import AwardLetter, Envelope, Grant, LedgerEntry
from grants.selectors import (
    award_letter_to_serve,
    envelope_position,
    envelope_positions,
    grant_ledger,
    grant_list,
    grant_totals_attach,
)
from grants.serializers import (
    AmountInputSerializer,
    AsOfSerializer,
    AwardLetterSerializer,
    CommitmentInputSerializer,
    EnvelopeInputSerializer,
    EnvelopePositionSerializer,
    GrantCreateSerializer,
    GrantDetailSerializer,
    GrantSerializer,
    LedgerEntrySerializer,
    PaymentInputSerializer,
    ReasonInputSerializer,
)

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}
AS_OF = OpenApiParameter("as_of", OpenApiTypes.DATE, description="position at the end of this day (Europe/Luxembourg)")


def _as_of(request):
    data = AsOfSerializer(data={"as_of": request.query_params.get("as_of") or None})
    data.is_valid(raise_exception=True)
    return data.validated_data.get("as_of")


def _visible_grant(request, pk: int) -> Grant:
    return get_object_or_404(Grant.objects.visible_to(request.user), pk=pk)


class EnvelopeListApi(generics.GenericAPIView):
    """Every envelope with its position (amount, committed, paid, available…), in tree order."""

    serializer_class = EnvelopePositionSerializer
    queryset = Envelope.objects.none()  # positions come from the selector; this names the model for the schema

    @extend_schema(parameters=[AS_OF], responses={200: EnvelopePositionSerializer(many=True), **ERRORS})
    def get(self, request):
        check(request.user, "grants.view_budget", message="Only officers and administrators can read the budget.")
        positions = envelope_positions(as_of=_as_of(request))
        page = self.paginate_queryset(positions)
        return self.get_paginated_response(EnvelopePositionSerializer(page, many=True).data)

    @extend_schema(request=EnvelopeInputSerializer, responses={201: EnvelopePositionSerializer, **ERRORS})
    def post(self, request):
        check(request.user, "grants.manage_envelopes", message="Only finance officers keep the envelopes.")
        data = EnvelopeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        envelope = services.envelope_create(**data.validated_data, actor=request.user)
        return Response(
            EnvelopePositionSerializer(envelope_position(envelope=envelope)).data, status=status.HTTP_201_CREATED
        )


class EnvelopePositionApi(APIView):
    """One envelope's position at the end of `as_of` (default: now), its descendants included."""

    @extend_schema(parameters=[AS_OF], responses={200: EnvelopePositionSerializer, **ERRORS})
    def get(self, request, pk: int):
        check(request.user, "grants.view_budget", message="Only officers and administrators can read the budget.")
        envelope = get_object_or_404(Envelope, pk=pk)
        return Response(EnvelopePositionSerializer(envelope_position(envelope=envelope, as_of=_as_of(request))).data)


class GrantListApi(generics.ListAPIView):
    """Grants the caller may see (an applicant: its organisation's), with net commitment and payments."""

    serializer_class = GrantSerializer

    def get_queryset(self):
        params = self.request.query_params
        return grant_list(
            user=self.request.user,
            status=params.get("status") or None,
            call_id=id_param(params, "call"),
            envelope_id=id_param(params, "envelope"),
            country=params.get("country") or None,
            search=params.get("q") or None,
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=Grant.Status.values),
            OpenApiParameter("call", OpenApiTypes.INT),
            OpenApiParameter("envelope", OpenApiTypes.INT),
            OpenApiParameter("country", OpenApiTypes.STR, description="beneficiary country, ISO 3166-1 alpha-2"),
            OpenApiParameter("q", OpenApiTypes.STR, description="reference, beneficiary or acronym contains"),
        ],
        responses={200: GrantSerializer(many=True), **ERRORS},
    )
    def get(self, request, *args, **kwargs):
        check(request.user, "grants.list_grants")
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        grants = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(grants)
        if page is None:
            return Response(self.get_serializer(grant_totals_attach(grants), many=True).data)
        # the ledger of this page's grants only, in one query
        return self.get_paginated_response(self.get_serializer(grant_totals_attach(page), many=True).data)

    @extend_schema(request=GrantCreateSerializer, responses={201: GrantSerializer, **ERRORS})
    def post(self, request):
        check(request.user, "grants.add_grant", message="Only finance officers prepare grants.")
        data = GrantCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        proposal = proposal_by_id(pk=data.validated_data["proposal"])
        if proposal is None:
            raise Http404("No Proposal matches the given query.")
        grant = services.grant_create_from_proposal(
            proposal=proposal,
            start_date=data.validated_data.get("start_date"),
            end_date=data.validated_data.get("end_date"),
            actor=request.user,
        )
        return Response(GrantSerializer(grant).data, status=status.HTTP_201_CREATED)


class GrantDetailApi(APIView):
    @extend_schema(responses={200: GrantDetailSerializer, **ERRORS})
    def get(self, request, pk: int):
        grant = _visible_grant(request, pk)
        return Response(GrantDetailSerializer(grant, context={"request": request}).data)


class GrantLedgerApi(generics.GenericAPIView):
    """The grant's ledger entries, oldest first."""

    serializer_class = LedgerEntrySerializer
    queryset = LedgerEntry.objects.none()  # the entries come from the selector

    @extend_schema(responses={200: LedgerEntrySerializer(many=True), **ERRORS})
    def get(self, request, pk: int):
        grant = _visible_grant(request, pk)
        page = self.paginate_queryset(grant_ledger(grant=grant).select_related("grant"))
        return self.get_paginated_response(LedgerEntrySerializer(page, many=True).data)


# POST one ledger entry on a grant through its service; 201 with the entry. (A comment, not a docstring: the schema
# would show it as every subclass's description.)
class _LedgerEntryApi(APIView):
    input_serializer: type[serializers.Serializer]
    perm = ""
    refusal = ""

    @staticmethod
    def service(*, grant, actor, **data):
        raise NotImplementedError

    def post(self, request, pk: int):
        grant = _visible_grant(request, pk)
        check(request.user, self.perm, grant, self.refusal)
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = self.service(grant=grant, actor=request.user, **data.validated_data)
        return Response(LedgerEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


@extend_schema(
    request=CommitmentInputSerializer,
    responses={201: LedgerEntrySerializer, **ERRORS},
    description="Budget commitment against an envelope; 409 names the envelope (or grant) and the excess.",
)
class CommitmentApi(_LedgerEntryApi):
    input_serializer = CommitmentInputSerializer
    perm = "grants.commit"
    refusal = "Only finance officers make budget commitments."
    service = staticmethod(services.commitment_create)


class SignApi(APIView):
    @extend_schema(request=None, responses={200: GrantSerializer, **ERRORS})
    def post(self, request, pk: int):
        grant = _visible_grant(request, pk)
        check(request.user, "grants.sign", grant, "Only finance officers record the signature.")
        return Response(GrantSerializer(services.grant_sign(grant=grant, actor=request.user)).data)


@extend_schema(request=PaymentInputSerializer, responses={201: LedgerEntrySerializer, **ERRORS})
class PaymentApi(_LedgerEntryApi):
    input_serializer = PaymentInputSerializer
    perm = "grants.pay"
    refusal = "Only finance officers record payments."
    service = staticmethod(services.payment_record)


@extend_schema(request=AmountInputSerializer, responses={201: LedgerEntrySerializer, **ERRORS})
class DecommitmentApi(_LedgerEntryApi):
    input_serializer = AmountInputSerializer
    perm = "grants.decommit"
    refusal = "Only finance officers decommit."
    service = staticmethod(services.decommitment_create)


class AwardLetterApi(APIView):
    """The latest award letter as PDF (200), or 202 while it is being rendered; POST renders a new version."""

    @extend_schema(
        parameters=[OpenApiParameter("version", OpenApiTypes.INT, description="a given version (default: latest)")],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="the letter"),
            202: AwardLetterSerializer,
            **ERRORS,
        },
    )
    def get(self, request, pk: int):
        grant = _visible_grant(request, pk)
        version = id_param(request.query_params, "version")
        if version is not None:
            letter = get_object_or_404(AwardLetter.objects.select_related("grant"), grant=grant, version=version)
        else:
            letter = award_letter_to_serve(grant=grant)
        if letter is None:
            return Response(
                {"detail": f"No award letter has been issued for {grant.reference} yet.", "code": "not_found",
                 "errors": {}},
                status=status.HTTP_404_NOT_FOUND,
            )  # fmt: skip
        if letter.status == AwardLetter.Status.PENDING and request.user.has_perm("grants.view_grant", grant):
            return Response(AwardLetterSerializer(letter).data, status=status.HTTP_202_ACCEPTED)
        check(request.user, "grants.view_award_letter", letter)
        if letter.status == AwardLetter.Status.FAILED:
            return Response(
                {"detail": f"Version {letter.version} of the award letter of {grant.reference} failed to render: "
                           f"{letter.error}", "code": "letter_failed", "errors": {}},
                status=status.HTTP_409_CONFLICT,
            )  # fmt: skip
        response = FileResponse(letter.file.open("rb"), content_type="application/pdf", as_attachment=True,
                                filename=letter.filename)  # fmt: skip
        response["X-Content-SHA256"] = letter.sha256
        return response

    @extend_schema(request=None, responses={202: AwardLetterSerializer, **ERRORS})
    def post(self, request, pk: int):
        grant = _visible_grant(request, pk)
        check(request.user, "grants.issue_award_letter", grant, "Only finance officers issue award letters.")
        letter = services.award_letter_request(grant=grant, actor=request.user)
        letter.refresh_from_db()
        return Response(AwardLetterSerializer(letter).data, status=status.HTTP_202_ACCEPTED)


class LedgerEntryReverseApi(APIView):
    """Correct an entry with a reversing entry (the ledger is append-only)."""

    @extend_schema(request=ReasonInputSerializer, responses={201: LedgerEntrySerializer, **ERRORS})
    def post(self, request, pk: int, entry_id: int):
        grant = _visible_grant(request, pk)
        check(request.user, "grants.correct_ledger", grant, "Only finance officers correct the ledger.")
        entry = get_object_or_404(LedgerEntry, pk=entry_id, grant=grant)
        data = ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reversal = services.ledger_entry_reverse(entry=entry, reason=data.validated_data["reason"], actor=request.user)
        return Response(LedgerEntrySerializer(reversal).data, status=status.HTTP_201_CREATED)
