"""Shapes of the hosting API: read serializers and the inputs of the writes."""

from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from eurohpc.api.fields import SlugRelatedField
from eurohpc.dates import plausible_year
from eurohpc.models import Organisation, User
from hosting.actions import MACHINE_ACTIONS, machine_actions
from hosting.models import (
    Allocation,
    AllocationPeriod,
    Machine,
    Partition,
    PartitionQuota,
    UsageImport,
    UserProject,
)
from hosting.selectors import burn_forecast


class PartitionSerializer(serializers.ModelSerializer):
    slurm_partitions = serializers.ListField(source="slurm_names", child=serializers.CharField(), read_only=True)

    class Meta:
        model = Partition
        fields = [
            "id",
            "name",
            "kind",
            "nodes",
            "gpus_per_node",
            "cores_per_node",
            "gpu_model",
            "accounting_unit",
            "availability_factor",
            "slurm_partitions",
        ]
        read_only_fields = fields


class MachineSerializer(serializers.ModelSerializer):
    hosting_entity = serializers.SlugRelatedField(slug_field="short_name", read_only=True)
    union_access_share = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        read_only=True,
        allow_null=True,
        help_text="the Union's share of access time under the hosting agreement in force today",
    )
    partitions = PartitionSerializer(many=True, read_only=True)
    actions = serializers.SerializerMethodField(
        help_text="what the requesting user may do with the machine now (the service still checks what is sent)"
    )

    class Meta:
        model = Machine
        fields = [
            "id",
            "name",
            "country",
            "site",
            "machine_class",
            "status",
            "hosting_entity",
            "ai_capable",
            "owned_by_ju",
            "eu_share_of_tco",
            "union_access_share",
            "slurm_cluster",
            "time_zone",
            "partitions",
            "actions",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=MACHINE_ACTIONS)))
    def get_actions(self, machine) -> list[str]:
        request = self.context.get("request")
        return machine_actions(machine=machine, user=request.user) if request is not None else []


class PeriodSerializer(serializers.ModelSerializer):
    union_access_share = serializers.DecimalField(
        source="agreement.union_access_share", max_digits=5, decimal_places=4, read_only=True
    )

    class Meta:
        model = AllocationPeriod
        fields = ["id", "machine", "name", "start", "end", "union_access_share"]
        read_only_fields = fields


class PeriodCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    start = serializers.DateField(validators=[plausible_year])
    end = serializers.DateField(validators=[plausible_year], help_text="last day included")


class QuotaPositionSerializer(serializers.ModelSerializer):
    partition = serializers.IntegerField(source="partition_id", read_only=True)
    partition_name = serializers.CharField(source="partition.name", read_only=True)
    unit = serializers.CharField(source="partition.accounting_unit", read_only=True)
    allocated = serializers.DecimalField(max_digits=20, decimal_places=2, read_only=True)
    industry_allocated = serializers.DecimalField(max_digits=20, decimal_places=2, read_only=True)
    used = serializers.DecimalField(max_digits=20, decimal_places=4, read_only=True)
    remaining = serializers.DecimalField(
        max_digits=20, decimal_places=2, read_only=True, help_text="Union quota less allocated"
    )

    class Meta:
        model = PartitionQuota
        fields = [
            "partition",
            "partition_name",
            "unit",
            "hours",
            "capacity",
            "union_access_share",
            "union_quota",
            "allocated",
            "industry_allocated",
            "used",
            "remaining",
        ]
        read_only_fields = fields


class QuotaSerializer(serializers.Serializer):
    machine = serializers.IntegerField()
    period = PeriodSerializer()
    partitions = QuotaPositionSerializer(many=True)


class ProjectSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="short_name", read_only=True)
    pi = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = UserProject
        fields = [
            "id",
            "code",
            "title",
            "user_type",
            "access_mode",
            "organisation",
            "pi",
            "starts_on",
            "duration_months",
            "ends_on",
        ]
        read_only_fields = fields


class ProjectCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=255)
    pi = SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True).order_by("username"),
        help_text="username of the principal investigator",
    )
    organisation = SlugRelatedField(slug_field="short_name", queryset=Organisation.objects.order_by("short_name"))
    user_type = serializers.ChoiceField(choices=UserProject.UserType.choices)
    access_mode = serializers.ChoiceField(choices=UserProject.AccessMode.choices)
    starts_on = serializers.DateField(validators=[plausible_year])
    duration_months = serializers.IntegerField(min_value=1, max_value=36)
    cut_off = serializers.IntegerField(min_value=1, max_value=99, default=1)


class AllocationSerializer(serializers.ModelSerializer):
    project_code = serializers.CharField(source="project.code", read_only=True)
    machine = serializers.IntegerField(source="partition.machine_id", read_only=True)
    partition_name = serializers.CharField(source="partition.name", read_only=True)
    period_name = serializers.CharField(source="period.name", read_only=True)
    unit = serializers.CharField(source="partition.accounting_unit", read_only=True)
    used = serializers.DecimalField(max_digits=20, decimal_places=4, read_only=True)
    remaining = serializers.SerializerMethodField()
    runs_out_on = serializers.SerializerMethodField(help_text="at the last 14 days' rate; null when idle or used up")
    exhausted = serializers.SerializerMethodField()
    daily_rate = serializers.SerializerMethodField(help_text="average use per day over the last 14 days")

    class Meta:
        model = Allocation
        fields = [
            "id",
            "project",
            "project_code",
            "machine",
            "partition",
            "partition_name",
            "period",
            "period_name",
            "amount",
            "unit",
            "slurm_account",
            "used",
            "remaining",
            "exhausted",
            "runs_out_on",
            "daily_rate",
            "created_at",
        ]
        read_only_fields = fields

    def _forecast(self, allocation):
        if not hasattr(allocation, "_forecast"):
            as_of = self.context.get("as_of") or timezone.localdate()
            allocation._forecast = burn_forecast(
                amount=allocation.amount, used=allocation.used, recent=allocation.recent, as_of=as_of
            )
        return allocation._forecast

    def get_remaining(self, allocation) -> Decimal:
        return str((allocation.amount - allocation.used).quantize(Decimal("0.0001")))

    def get_runs_out_on(self, allocation) -> str | None:
        day = self._forecast(allocation).runs_out_on
        return day.isoformat() if day else None

    def get_exhausted(self, allocation) -> bool:
        return self._forecast(allocation).exhausted

    def get_daily_rate(self, allocation) -> Decimal:
        return str(self._forecast(allocation).daily_rate)


class AllocationCreateSerializer(serializers.Serializer):
    project = serializers.PrimaryKeyRelatedField(queryset=UserProject.objects.order_by("code"))
    partition = serializers.PrimaryKeyRelatedField(
        queryset=Partition.objects.select_related("machine").order_by("machine__name", "name")
    )
    period = serializers.PrimaryKeyRelatedField(queryset=AllocationPeriod.objects.order_by("machine__name", "-start"))
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="in the partition's accounting unit")
    slurm_account = serializers.CharField(max_length=64)


class UnknownAccountSerializer(serializers.Serializer):
    account = serializers.CharField()
    partition = serializers.CharField()
    jobs = serializers.IntegerField()
    charge = serializers.DecimalField(max_digits=20, decimal_places=4)


class UnknownPartitionSerializer(serializers.Serializer):
    partition = serializers.CharField()
    jobs = serializers.IntegerField()


class OrphanStepLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="the step's line; the header is line 1")
    job_id_raw = serializers.CharField(help_text="the JobIDRaw of the job the step belongs to")


class OrphanStepsSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="job steps whose job is not in the file")
    lines = OrphanStepLineSerializer(many=True, help_text="the first 100 of them")


class UsageImportSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    skipped_reasons = serializers.SerializerMethodField()
    unknown_accounts = serializers.SerializerMethodField()
    unknown_partitions = serializers.SerializerMethodField()
    outside_periods = serializers.SerializerMethodField()
    orphan_steps = serializers.SerializerMethodField()
    line = serializers.IntegerField(source="error_line", read_only=True, allow_null=True)

    class Meta:
        model = UsageImport
        fields = [
            "id",
            "machine",
            "status",
            "source",
            "file_name",
            "size",
            "sha256",
            "uploaded_by",
            "lines",
            "imported",
            "already_imported",
            "skipped",
            "skipped_reasons",
            "unmapped",
            "unknown_accounts",
            "unknown_partitions",
            "outside_periods",
            "orphan_steps",
            "charged",
            "line",
            "error",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_skipped_reasons(self, usage_import) -> dict[str, int]:
        return usage_import.summary.get("skipped", {})

    @extend_schema_field(UnknownAccountSerializer(many=True))
    def get_unknown_accounts(self, usage_import) -> list[dict]:
        return usage_import.summary.get("unknown_accounts", [])

    @extend_schema_field(UnknownPartitionSerializer(many=True))
    def get_unknown_partitions(self, usage_import) -> list[dict]:
        return usage_import.summary.get("unknown_partitions", [])

    def get_outside_periods(self, usage_import) -> int:
        return usage_import.summary.get("outside_periods", 0)

    @extend_schema_field(OrphanStepsSerializer)
    def get_orphan_steps(self, usage_import) -> dict:
        return usage_import.summary.get("orphan_steps", {"count": 0, "lines": []})


class UsageImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="sacct --parsable2 output with its header row")


class UsageFileErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    line = serializers.IntegerField(help_text="the refused line; the header is line 1")
    error = serializers.CharField(help_text="why the line was refused")
