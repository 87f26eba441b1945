from decimal import Decimal

from django.db import models
from django.db.models import Q

from eurohpc.countries import COUNTRY_CHOICES
from eurohpc.models import Organisation


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

    class Meta:
        ordering = ["name"]
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

    class Meta:
        ordering = ["machine__name", "name"]
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
