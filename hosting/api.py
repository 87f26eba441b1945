"""The hosting API: machines, partitions, periods, quota positions, projects, allocations, usage imports.

Thin views over hosting.services and hosting.selectors. A machine of another hosting entity is 404 for a
hosting operator; a role that may not act is 403; a refused write is 400/409 with the rule's message.
"""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from eurohpc.api.errors import error_body
from eurohpc.api.permissions import check, has_perm
from eurohpc.api.serializers import ErrorSerializer
from eurohpc.converters import id_param
from hosting import selectors, services
from hosting.actions import action_state_annotations
from hosting.models import AllocationPeriod, Machine, Partition, UsageImport
from hosting.sacct import UsageFileError
from hosting.serializers import (
    AllocationCreateSerializer,
    AllocationSerializer,
    MachineSerializer,
    PartitionSerializer,
    PeriodCreateSerializer,
    PeriodSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    QuotaSerializer,
    UsageFileErrorSerializer,
    UsageImportSerializer,
    UsageImportUploadSerializer,
)

TAGS = ["hosting"]
READ_ERRORS = {401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
WRITE_ERRORS = {**READ_ERRORS, 400: ErrorSerializer, 409: ErrorSerializer}
MACHINES_ONLY = "Only officers and hosting operators see machines."


def _machine(request, pk: int) -> Machine:
    check(request.user, "hosting.view_machine_list", message=MACHINES_ONLY)
    return get_object_or_404(Machine.objects.visible_to(request.user), pk=pk)


# --- machines ---------------------------------------------------------------------------------------------


@extend_schema(tags=TAGS)
class MachineListApi(generics.ListAPIView):
    """Machines with their partitions and the Union access share in force (all for officers, own for operators)."""

    serializer_class = MachineSerializer
    permission_classes = [has_perm("hosting.view_machine_list", MACHINES_ONLY)]

    def get_queryset(self):
        return selectors.machine_list(user=self.request.user).annotate(**action_state_annotations())

    @extend_schema(responses={200: MachineSerializer(many=True), **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=TAGS)
class MachineDetailApi(generics.RetrieveAPIView):
    serializer_class = MachineSerializer
    permission_classes = [has_perm("hosting.view_machine_list", MACHINES_ONLY)]

    def get_queryset(self):
        return selectors.machine_list(user=self.request.user).annotate(**action_state_annotations())

    @extend_schema(responses={200: MachineSerializer, **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=TAGS)
class MachinePartitionListApi(generics.ListAPIView):
    serializer_class = PartitionSerializer
    queryset = Partition.objects.none()

    def get_queryset(self):
        machine = _machine(self.request, self.kwargs["pk"])
        return Partition.objects.filter(machine=machine).order_by("name")

    @extend_schema(responses={200: PartitionSerializer(many=True), **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=TAGS)
class MachinePeriodListApi(generics.ListAPIView):
    """Allocation periods of a machine, newest first; programme officers open new ones."""

    serializer_class = PeriodSerializer
    queryset = AllocationPeriod.objects.none()

    def get_queryset(self):
        machine = _machine(self.request, self.kwargs["pk"])
        return AllocationPeriod.objects.filter(machine=machine).select_related("agreement").order_by("-start")

    @extend_schema(responses={200: PeriodSerializer(many=True), **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=PeriodCreateSerializer, responses={201: PeriodSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        check(request.user, "hosting.manage_machine", message="Only programme officers open allocation periods.")
        machine = _machine(request, pk)
        data = PeriodCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        period = services.period_create(machine=machine, actor=request.user, **data.validated_data)
        return Response(PeriodSerializer(period).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class MachineQuotaApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("period", OpenApiTypes.INT, description="allocation period id; default: today's")],
        responses={200: QuotaSerializer, 400: ErrorSerializer, **READ_ERRORS},
    )
    def get(self, request, pk: int):
        """Per partition: capacity, Union quota, allocated, used and remaining in one allocation period."""
        machine = _machine(request, pk)
        period_id = id_param(request.query_params, "period")
        if period_id is None:
            period = selectors.period_current(machine=machine)
            if period is None:
                return Response(
                    error_body(
                        f"{machine.name} has no allocation period containing today: give ?period=.", "not_found"
                    ),
                    status=status.HTTP_404_NOT_FOUND,
                )
        else:
            period = get_object_or_404(
                AllocationPeriod.objects.select_related("agreement"), machine=machine, pk=period_id
            )
        positions = selectors.quota_positions(periods=[period])
        return Response(QuotaSerializer({"machine": machine.pk, "period": period, "partitions": positions}).data)


# --- projects and allocations -----------------------------------------------------------------------------


@extend_schema(tags=TAGS)
class ProjectListApi(generics.ListAPIView):
    """User projects: all for officers, those with an allocation on its machines for an operator, own for a PI."""

    serializer_class = ProjectSerializer
    permission_classes = [has_perm("hosting.list_projects", "Only officers, hosting operators and PIs see projects.")]

    def get_queryset(self):
        return selectors.project_list(user=self.request.user)

    @extend_schema(responses={200: ProjectSerializer(many=True), **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ProjectCreateSerializer, responses={201: ProjectSerializer, **WRITE_ERRORS})
    def post(self, request):
        check(request.user, "hosting.add_project", message="Only programme officers record user projects.")
        data = ProjectCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_create(actor=request.user, **data.validated_data)
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class ProjectDetailApi(generics.RetrieveAPIView):
    serializer_class = ProjectSerializer

    def get_queryset(self):
        return selectors.project_list(user=self.request.user)

    @extend_schema(responses={200: ProjectSerializer, **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


ALLOCATION_FILTERS = [
    OpenApiParameter("machine", OpenApiTypes.INT),
    OpenApiParameter("period", OpenApiTypes.INT),
    OpenApiParameter("project", OpenApiTypes.INT),
]


@extend_schema(tags=TAGS)
class AllocationListApi(generics.ListAPIView):
    """Allocations with usage and the burn-rate forecast; `?machine=`, `?period=`, `?project=` filter."""

    serializer_class = AllocationSerializer
    permission_classes = [
        has_perm("hosting.list_allocations", "Only officers, hosting operators and PIs see allocations.")
    ]

    def get_queryset(self):
        allocations = selectors.allocation_queryset(user=self.request.user, as_of=timezone.localdate())
        for name in ("machine", "period", "project"):
            value = id_param(self.request.query_params, name)
            if value is not None:
                allocations = allocations.filter(**{"partition__machine_id" if name == "machine" else name: value})
        return allocations

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "as_of": timezone.localdate()}

    @extend_schema(
        parameters=ALLOCATION_FILTERS,
        responses={200: AllocationSerializer(many=True), 400: ErrorSerializer, **READ_ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=AllocationCreateSerializer, responses={201: AllocationSerializer, **WRITE_ERRORS})
    def post(self, request):
        """Allocate hours of a partition in a period to a project; 409 names the quota and the excess."""
        check(request.user, "hosting.add_allocation", message="Only programme officers allocate access time.")
        data = AllocationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        allocation = services.allocation_create(actor=request.user, **data.validated_data)
        allocation = selectors.allocation_queryset(user=request.user).get(pk=allocation.pk)
        return Response(
            AllocationSerializer(allocation, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )


@extend_schema(tags=TAGS)
class AllocationDetailApi(generics.RetrieveAPIView):
    serializer_class = AllocationSerializer

    def get_queryset(self):
        return selectors.allocation_queryset(user=self.request.user, as_of=timezone.localdate())

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "as_of": timezone.localdate()}

    @extend_schema(responses={200: AllocationSerializer, **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- usage imports ----------------------------------------------------------------------------------------


@extend_schema(tags=TAGS)
class UsageImportListApi(generics.ListAPIView):
    """Slurm usage imports of a machine, newest first; its hosting operators upload new ones."""

    serializer_class = UsageImportSerializer
    parser_classes = [MultiPartParser, FormParser]
    queryset = UsageImport.objects.none()

    def get_queryset(self):
        machine = _machine(self.request, self.kwargs["pk"])
        return UsageImport.objects.filter(machine=machine).select_related("uploaded_by").order_by("-created_at", "-pk")

    @extend_schema(responses={200: UsageImportSerializer(many=True), **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": UsageImportUploadSerializer},
        responses={
            201: OpenApiResponse(UsageImportSerializer, description="imported: the counts"),
            202: OpenApiResponse(UsageImportSerializer, description="a large file, queued: poll the import"),
            400: OpenApiResponse(UsageFileErrorSerializer, description="a malformed file: nothing was written"),
            **dict.fromkeys((401, 403, 404, 409), ErrorSerializer),
        },
    )
    def post(self, request, pk: int):
        """Import `sacct --parsable2` output (multipart `file`). A job counts once per machine."""
        message = "Only the hosting operators of a machine upload its Slurm usage."
        check(request.user, "hosting.import_usage", message=message)
        machine = _machine(request, pk)
        check(request.user, "hosting.import_usage", machine, message=message)
        data = UsageImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        try:
            usage_import = services.usage_import_submit(
                machine=machine,
                stream=upload.file,
                file_name=upload.name,
                source=UsageImport.Source.API,
                actor=request.user,
            )
        except UsageFileError as exc:
            body = {**error_body(exc.message, exc.code), "line": exc.line, "error": exc.error}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        queued = usage_import.status == UsageImport.Status.QUEUED
        if queued:
            usage_import.refresh_from_db()  # an eager task may have run it already
            queued = usage_import.status == UsageImport.Status.QUEUED
        return Response(
            UsageImportSerializer(usage_import).data,
            status=status.HTTP_202_ACCEPTED if queued else status.HTTP_201_CREATED,
        )


@extend_schema(tags=TAGS)
class UsageImportDetailApi(generics.RetrieveAPIView):
    serializer_class = UsageImportSerializer
    lookup_url_kwarg = "import_id"
    queryset = UsageImport.objects.none()

    def get_queryset(self):
        machine = _machine(self.request, self.kwargs["pk"])
        return UsageImport.objects.filter(machine=machine).select_related("uploaded_by")

    @extend_schema(responses={200: UsageImportSerializer, **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
