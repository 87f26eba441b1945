"""Machines, partitions, hosting agreements, allocation periods and quotas, user projects, allocations, usage."""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from eurohpc.countries import COUNTRY_CHOICES
from eurohpc.models import Organisation, Role

ZERO = Decimal("0")


class VisibleToQuerySet(models.QuerySet):
    """Rows a user may see: officers and administrators all; a hosting operator the rows of its own machines.

    `machine_path` is the lookup from the model to its `Machine` (empty for Machine itself); `audience()` adds
    further readers (a project's principal investigator).
    """

    machine_path = ""
    seen_by_all_roles = (Role.PROGRAMME_OFFICER, Role.FINANCE_OFFICER, Role.ADMIN)

    def operator_condition(self, organisation_id: int) -> Q:
        lookup = f"{self.machine_path}__hosting_entity_id" if self.machine_path else "hosting_entity_id"
        return Q(**{lookup: organisation_id})

    def audience(self, user) -> Q | None:
        return None

    def visible_to(self, user):
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if any(role in user.roles for role in self.seen_by_all_roles):
            return self
        conditions = []
        if Role.HOSTING_OPERATOR in user.roles and user.organisation_id:
            conditions.append(self.operator_condition(user.organisation_id))
        extra = self.audience(user)
        if extra is not None:
            conditions.append(extra)
        if not conditions:
            return self.none()
        combined = conditions[0]
        for condition in conditions[1:]:
            combined |= condition
        return self.filter(combined)


class MachineQuerySet(VisibleToQuerySet):
    machine_path = ""


class OfMachineQuerySet(VisibleToQuerySet):
    machine_path = "machine"


class ProjectQuerySet(VisibleToQuerySet):
    def operator_condition(self, organisation_id: int) -> Q:
        # Projects holding an allocation on one of the operator's machines.
        return Q(
            pk__in=models.Subquery(
                Allocation.objects.filter(partition__machine__hosting_entity_id=organisation_id).values("project_id")
            )
        )

    def audience(self, user) -> Q:
        return Q(pi=user)


class AllocationQuerySet(VisibleToQuerySet):
    machine_path = "partition__machine"

    def audience(self, user) -> Q:
        return Q(project__pi=user)


class Machine(models.Model):
    """A supercomputer at a hosting entity; EuroHPC machines are (co-)owned by the Joint Undertaking."""

    class MachineClass(models.TextChoices):
        HIGH_END = "high_end", "High-end"
        MID_RANGE = "mid_range", "Mid-range"
        AI_OPTIMISED = "ai_optimised", "AI-optimised"
        EXASCALE = "exascale", "Exascale"

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        PROCUREMENT = "procurement", "Procurement"
        OPERATIONAL = "operational", "Operational"
        UPGRADING = "upgrading", "Upgrading"
        DECOMMISSIONED = "decommissioned", "Decommissioned"

    name = models.CharField(max_length=100)
    hosting_entity = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="machines")
    site = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, choices=COUNTRY_CHOICES)
    machine_class = models.CharField("class", max_length=20, choices=MachineClass.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPERATIONAL)
    is_eurohpc = models.BooleanField("EuroHPC machine", default=True)
    owned_by_ju = models.BooleanField("owned by the JU", default=True)
    ai_capable = models.BooleanField("able to train large-scale AI models", default=False)
    selected_on = models.DateField(null=True, blank=True, help_text="when the JU selected the hosting entity")
    operational_since = models.DateField(null=True, blank=True)
    ai_upgrade_selected_on = models.DateField(
        null=True, blank=True, help_text="when an AI upgrade of this machine was selected (once per machine)"
    )
    eu_share_of_tco = models.DecimalField(
        "EU share of total cost of ownership", max_digits=5, decimal_places=4, null=True, blank=True
    )
    peak_pflops = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    slurm_cluster = models.CharField(
        "Slurm cluster",
        max_length=64,
        blank=True,
        help_text="the ClusterName in Slurm accounting; a usage file of another cluster is refused",
    )
    time_zone = models.CharField(
        max_length=64, default="Europe/Luxembourg", help_text="time zone of the Start and End times in Slurm accounting"
    )

    objects = MachineQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name"], name="machine_name_unique"),
            models.CheckConstraint(condition=Q(country__regex=r"^[A-Z]{2}$"), name="machine_country_iso2"),
            models.CheckConstraint(
                condition=Q(eu_share_of_tco__isnull=True) | Q(eu_share_of_tco__gte=0, eu_share_of_tco__lte=1),
                name="machine_eu_share_between_0_and_1",
            ),
            models.CheckConstraint(
                condition=Q(machine_class__in=["high_end", "mid_range", "ai_optimised", "exascale"]),
                name="machine_class_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def union_access_cap(self) -> Decimal:
        """Art. 17: the Union's access share is capped at 50% (high-end and AI-optimised), 35% (mid-range)."""
        return Decimal("0.35") if self.machine_class == self.MachineClass.MID_RANGE else Decimal("0.50")


class Partition(models.Model):
    class Kind(models.TextChoices):
        GPU = "gpu", "GPU"
        CPU = "cpu", "CPU"

    class Unit(models.TextChoices):
        GPU_HOURS = "gpu_hours", "GPU-hours"
        NODE_HOURS = "node_hours", "node-hours"
        CORE_HOURS = "core_hours", "core-hours"

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="partitions")
    name = models.CharField(max_length=64)
    kind = models.CharField(max_length=3, choices=Kind.choices)
    nodes = models.PositiveIntegerField()
    gpus_per_node = models.PositiveSmallIntegerField(default=0)
    cores_per_node = models.PositiveIntegerField(default=0)
    gpu_model = models.CharField(max_length=64, blank=True)
    accounting_unit = models.CharField(max_length=12, choices=Unit.choices)
    availability_factor = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.900"))
    slurm_partitions = models.CharField(
        max_length=255,
        blank=True,
        help_text="Slurm partitions charged to this partition, comma-separated; empty: the partition's own name",
    )

    objects = OfMachineQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["machine", "name"], name="partition_name_unique_per_machine"),
            models.CheckConstraint(condition=Q(nodes__gt=0), name="partition_nodes_positive"),
            models.CheckConstraint(
                condition=Q(availability_factor__gt=0, availability_factor__lte=1),
                name="partition_availability_between_0_and_1",
            ),
            models.CheckConstraint(
                condition=~Q(accounting_unit="gpu_hours") | Q(kind="gpu", gpus_per_node__gt=0),
                name="partition_gpu_hours_need_gpus",
            ),
            models.CheckConstraint(
                condition=~Q(accounting_unit="core_hours") | Q(cores_per_node__gt=0),
                name="partition_core_hours_need_cores",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.machine.name} {self.name}"

    @property
    def units_per_node(self) -> int:
        """How many accounting units one node gives per hour."""
        if self.accounting_unit == self.Unit.GPU_HOURS:
            return self.gpus_per_node
        if self.accounting_unit == self.Unit.CORE_HOURS:
            return self.cores_per_node
        return 1

    @property
    def slurm_names(self) -> list[str]:
        names = [n.strip() for n in self.slurm_partitions.split(",") if n.strip()]
        return names or [self.name]


class HostingAgreement(models.Model):
    """The agreement between the JU and a hosting entity for a machine, fixing the Union's share of access time.

    Art. 17 of Reg. 2021/1173: the Union's access share equals the EU's share of the total cost of ownership,
    capped at 50% (high-end, AI-optimised and exascale machines) or 35% (mid-range machines). An agreement is
    in force from `effective_from` until the next agreement of the same machine (an AI upgrade brings one).
    """

    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="agreements")
    hosting_entity = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="hosting_agreements")
    reference = models.CharField(max_length=64, blank=True, help_text="agreement or grant agreement number")
    grant = models.ForeignKey(
        "grants.Grant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hosting_agreements",
        help_text="the grant funding the machine, if any",
    )
    signed_on = models.DateField()
    effective_from = models.DateField()
    eu_share_of_tco = models.DecimalField("EU share of total cost of ownership", max_digits=5, decimal_places=4)
    access_share_cap = models.DecimalField(max_digits=5, decimal_places=4)
    union_access_share = models.DecimalField(max_digits=5, decimal_places=4)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["machine", "effective_from"], name="agreement_one_per_machine_and_date"),
            models.CheckConstraint(
                condition=Q(eu_share_of_tco__gte=0, eu_share_of_tco__lte=1), name="agreement_eu_share_between_0_and_1"
            ),
            models.CheckConstraint(
                condition=Q(access_share_cap__in=[Decimal("0.35"), Decimal("0.50")]), name="agreement_cap_35_or_50"
            ),
            models.CheckConstraint(
                condition=Q(union_access_share__lte=F("access_share_cap"))
                & Q(union_access_share__lte=F("eu_share_of_tco"))
                & (Q(union_access_share=F("access_share_cap")) | Q(union_access_share=F("eu_share_of_tco"))),
                name="agreement_union_share_is_capped_eu_share",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.machine.name} hosting agreement from {self.effective_from:%Y-%m-%d}"


class AllocationPeriod(models.Model):
    """A span of a machine's time (both dates included) in which the Union's quota is allocated."""

    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="periods")
    agreement = models.ForeignKey(HostingAgreement, on_delete=models.PROTECT, related_name="periods")
    name = models.CharField(max_length=64)
    start = models.DateField()
    end = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OfMachineQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["machine", "start"], name="period_start_unique_per_machine"),
            models.UniqueConstraint(fields=["machine", "name"], name="period_name_unique_per_machine"),
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="period_end_not_before_start"),
        ]

    def __str__(self) -> str:
        return f"{self.machine.name} {self.name}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def hours(self) -> int:
        return self.days * 24

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


class PartitionQuota(models.Model):
    """A partition's capacity and Union quota in one period, fixed when the period opens.

    capacity = nodes x units per node x hours x availability; union quota = capacity x Union access share.
    Allocations lock this row, so two officers can never both take the last hours of a quota.
    """

    period = models.ForeignKey(AllocationPeriod, on_delete=models.CASCADE, related_name="quotas")
    partition = models.ForeignKey(Partition, on_delete=models.PROTECT, related_name="quotas")
    hours = models.PositiveIntegerField()
    capacity = models.DecimalField(max_digits=16, decimal_places=2)
    union_access_share = models.DecimalField(max_digits=5, decimal_places=4)
    union_quota = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "partition"], name="quota_one_per_partition_and_period"),
            models.CheckConstraint(condition=Q(capacity__gte=0), name="quota_capacity_not_negative"),
            models.CheckConstraint(
                condition=Q(union_quota__gte=0, union_quota__lte=F("capacity")),
                name="quota_union_quota_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(union_access_share__gte=0, union_access_share__lte=Decimal("0.50")),
                name="quota_union_share_at_most_half",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partition} {self.period.name}"


class UserProject(models.Model):
    """A project given access time under the Union's share, e.g. EHPC-AIF-2026PG01-0001."""

    class UserType(models.TextChoices):
        STARTUP = "startup", "Startup"
        SME = "sme", "SME"
        INDUSTRY = "industry", "Industry"
        ACADEMIA = "academia", "Academia"
        PUBLIC_SECTOR = "public_sector", "Public sector"

    class AccessMode(models.TextChoices):
        PLAYGROUND = "playground", "Playground"
        FAST_LANE = "fast_lane", "Fast Lane"
        LARGE_SCALE = "large_scale", "Large Scale"
        AI_FOR_SCIENCE = "ai_for_science", "AI for Science"

    MODE_CODES = {"playground": "PG", "fast_lane": "FL", "large_scale": "LS", "ai_for_science": "AS"}
    CODE_PATTERN = r"^EHPC-AIF-[0-9]{4}(PG|FL|LS|AS)[0-9]{2}-[0-9]{4}$"

    code = models.CharField(max_length=32)
    title = models.CharField(max_length=255)
    pi = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="hosting_projects",
        verbose_name="principal investigator",
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="hosting_projects")
    user_type = models.CharField(max_length=16, choices=UserType.choices)
    access_mode = models.CharField(max_length=16, choices=AccessMode.choices)
    starts_on = models.DateField()
    duration_months = models.PositiveSmallIntegerField()
    ends_on = models.DateField(help_text="last day of access")
    commercial = models.BooleanField(
        default=False, help_text="commercial terms: counted in the 20% industry share of the Union quota"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code"], name="project_code_unique"),
            models.CheckConstraint(
                condition=Q(code__regex=r"^EHPC-AIF-[0-9]{4}(PG|FL|LS|AS)[0-9]{2}-[0-9]{4}$"),
                name="project_code_format",
            ),
            models.CheckConstraint(
                condition=Q(user_type__in=["startup", "sme", "industry", "academia", "public_sector"]),
                name="project_user_type_valid",
            ),
            models.CheckConstraint(
                condition=Q(access_mode__in=["playground", "fast_lane", "large_scale", "ai_for_science"]),
                name="project_access_mode_valid",
            ),
            models.CheckConstraint(
                condition=Q(duration_months__gte=1, duration_months__lte=36), name="project_duration_1_to_36_months"
            ),
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="project_ends_after_start"),
            models.CheckConstraint(
                condition=~Q(access_mode="playground")
                | Q(duration_months__gte=1, duration_months__lte=3, user_type__in=["startup", "sme"]),
                name="project_playground_rules",
            ),
            models.CheckConstraint(
                condition=~Q(access_mode="large_scale") | Q(duration_months__in=[3, 6, 12]),
                name="project_large_scale_duration",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_pay_per_use(self) -> bool:
        """Industry access, and any project on commercial terms, is capped at 20% of the Union share."""
        return self.commercial or self.user_type == self.UserType.INDUSTRY


class AccessPool(models.Model):
    """The share of a partition quota's Union hours set aside for one access mode in the period.

    The pools of a quota add up to at most its Union quota (hosting.services.access_pool_set checks it under the
    quota's lock); an allocation to a project of that mode is refused once its pool is exhausted.
    """

    quota = models.ForeignKey(PartitionQuota, on_delete=models.CASCADE, related_name="access_pools")
    access_mode = models.CharField(max_length=16, choices=UserProject.AccessMode.choices)
    hours = models.DecimalField(max_digits=16, decimal_places=2, help_text="in the partition's accounting unit")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["quota", "access_mode"], name="access_pool_once_per_quota_and_mode"),
            models.CheckConstraint(condition=Q(hours__gte=0), name="access_pool_hours_not_negative"),
            models.CheckConstraint(
                condition=Q(access_mode__in=["playground", "fast_lane", "large_scale", "ai_for_science"]),
                name="access_pool_mode_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_access_mode_display()} pool of {self.quota}"


# The allocations counted in the 20% share of the Union quota (Art. 16(2a)): industry, and any project on
# commercial terms; `UserProject.is_pay_per_use` says the same of one project.
PAY_PER_USE_ALLOCATIONS = Q(project__commercial=True) | Q(project__user_type="industry")


class Allocation(models.Model):
    """Hours of one partition in one period given to a project, charged through a Slurm account."""

    project = models.ForeignKey(UserProject, on_delete=models.PROTECT, related_name="allocations")
    partition = models.ForeignKey(Partition, on_delete=models.PROTECT, related_name="allocations")
    period = models.ForeignKey(AllocationPeriod, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="in the partition's accounting unit")
    slurm_account = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AllocationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partition", "period", "slurm_account"], name="allocation_account_unique_per_quota"
            ),
            models.UniqueConstraint(
                fields=["project", "partition", "period"], name="allocation_once_per_project_and_quota"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.CheckConstraint(
                condition=Q(slurm_account__regex=r"^[A-Za-z0-9_.-]+$"), name="allocation_slurm_account_format"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project.code} on {self.partition} {self.period.name}"


class UsageImport(models.Model):
    """One Slurm accounting file imported for a machine, and its counts."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Refused"

    class Source(models.TextChoices):
        UPLOAD = "upload", "Upload page"
        API = "api", "API"
        COMMAND = "command", "Command line"

    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="usage_imports")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    file_name = models.CharField(max_length=255)
    file = models.FileField(upload_to="usage-imports/%Y/%m/", blank=True, help_text="kept while queued")
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    lines = models.PositiveIntegerField(default=0, help_text="data lines read, the header excluded")
    imported = models.PositiveIntegerField(default=0)
    already_imported = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    unmapped = models.PositiveIntegerField(default=0)
    charged = models.DecimalField(max_digits=18, decimal_places=4, default=ZERO)
    summary = models.JSONField(default=dict, blank=True)
    error_line = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OfMachineQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]), name="usageimport_status_valid"
            ),
            models.CheckConstraint(condition=~Q(status="failed") | ~Q(error=""), name="usageimport_failed_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.machine.name} usage {self.file_name}"


class UsageRecord(models.Model):
    """One finished Slurm job charged to an allocation. A job counts once per machine."""

    # The three references are checked once per INSERT statement by a trigger (hosting 0005), not by foreign-key
    # constraints: those queue one check per job and cost more than the rest of an import of a million jobs.
    machine = models.ForeignKey(
        Machine, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    job_id_raw = models.CharField("JobIDRaw", max_length=32)
    job_id = models.CharField("JobID", max_length=64)
    # No index of its own: pages read the daily aggregates, never the job rows by allocation, and every index
    # costs each imported job (allocations are never deleted, so no PROTECT check scans this column).
    allocation = models.ForeignKey(
        Allocation, on_delete=models.PROTECT, related_name="usage_records", db_index=False, db_constraint=False
    )
    usage_import = models.ForeignKey(
        UsageImport, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    slurm_partition = models.CharField(max_length=64)
    account = models.CharField(max_length=64)
    slurm_user = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=32)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField()
    day = models.DateField(help_text="the End date in the machine's time zone")
    elapsed_seconds = models.PositiveIntegerField()
    nodes = models.PositiveIntegerField()
    cpus = models.PositiveIntegerField()
    gpus = models.PositiveIntegerField()
    charge = models.DecimalField(max_digits=16, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["machine", "job_id_raw"], name="usage_job_once_per_machine"),
            models.CheckConstraint(condition=Q(charge__gte=0), name="usage_charge_not_negative"),
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} on {self.machine_id}"


class UsageDaily(models.Model):
    """Per allocation and day, the sum of the charges: quota pages read these, never the job rows."""

    allocation = models.ForeignKey(Allocation, on_delete=models.CASCADE, related_name="daily_usage", db_index=False)
    day = models.DateField()
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    jobs = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["allocation", "day"], name="usagedaily_one_per_allocation_and_day"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="usagedaily_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.allocation_id} {self.day}: {self.amount}"


class AllocationAlert(models.Model):
    """An allocation crossed a share of its amount; its PI and the programme officers were told, once."""

    allocation = models.ForeignKey(Allocation, on_delete=models.CASCADE, related_name="alerts", db_index=False)
    threshold = models.PositiveSmallIntegerField(help_text="percent of the allocation used")
    used = models.DecimalField(max_digits=18, decimal_places=4)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["allocation", "threshold"], name="alert_once_per_threshold"),
            models.CheckConstraint(condition=Q(threshold__gte=1, threshold__lte=100), name="alert_threshold_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.allocation_id} passed {self.threshold}%"
