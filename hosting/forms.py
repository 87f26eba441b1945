"""Forms of the hosting pages: they parse input; the services decide."""

from decimal import Decimal

from django import forms

from eurohpc.countries import COUNTRY_CHOICES
from eurohpc.dates import plausible_year
from eurohpc.models import Organisation, User
from hosting.models import AllocationPeriod, Machine, Partition, UserProject
from hosting.providers import grants_provider


def _eu_share_field(help_text: str) -> forms.DecimalField:
    """The EU share of a machine's total cost of ownership, a fraction between 0 and 1 (optional)."""
    return forms.DecimalField(
        label="EU share of total cost of ownership",
        max_digits=5,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(1),
        required=False,
        help_text=help_text,
    )


class DateInput(forms.DateInput):
    input_type = "date"


def date_field(**kwargs) -> forms.DateField:
    """A day typed in a hosting form: a date picker, refused outside the plausible years."""
    return forms.DateField(widget=DateInput, validators=[plausible_year], **kwargs)


class MachineForm(forms.Form):
    name = forms.CharField(max_length=100)
    hosting_entity = forms.ModelChoiceField(queryset=Organisation.objects.none())
    site = forms.CharField(max_length=100, required=False)
    country = forms.ChoiceField(choices=COUNTRY_CHOICES)
    machine_class = forms.ChoiceField(label="Class", choices=Machine.MachineClass.choices)
    status = forms.ChoiceField(choices=Machine.Status.choices, initial=Machine.Status.OPERATIONAL)
    ai_capable = forms.BooleanField(label="Able to train large-scale AI models", required=False)
    selected_on = date_field(required=False)
    operational_since = date_field(required=False)
    eu_share_of_tco = _eu_share_field("a fraction, e.g. 0.5")
    slurm_cluster = forms.CharField(label="Slurm cluster", max_length=64, required=False)
    time_zone = forms.CharField(
        max_length=64, initial="Europe/Luxembourg", help_text="of the Start and End times in its Slurm accounting"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hosting_entity"].queryset = Organisation.objects.order_by("short_name")


class PartitionForm(forms.Form):
    name = forms.CharField(max_length=64)
    kind = forms.ChoiceField(choices=Partition.Kind.choices)
    nodes = forms.IntegerField(min_value=1)
    gpus_per_node = forms.IntegerField(min_value=0, initial=0, label="GPUs per node")
    cores_per_node = forms.IntegerField(min_value=0, initial=0)
    gpu_model = forms.CharField(max_length=64, required=False, label="GPU model")
    accounting_unit = forms.ChoiceField(
        choices=[("", "GPU-hours for GPU partitions, else node-hours"), *Partition.Unit.choices], required=False
    )
    availability_factor = forms.DecimalField(
        max_digits=4, decimal_places=3, initial=Decimal("0.900"), min_value=Decimal("0.001"), max_value=Decimal(1)
    )
    slurm_partitions = forms.CharField(
        max_length=255,
        required=False,
        label="Slurm partitions",
        help_text="comma-separated, e.g. standard-g,small-g; empty: the name",
    )


class HostingAgreementForm(forms.Form):
    signed_on = date_field()
    effective_from = date_field(required=False, help_text="empty: the signature date")
    eu_share_of_tco = _eu_share_field("a fraction, e.g. 0.5; empty: the machine's recorded share")
    reference = forms.CharField(max_length=64, required=False)
    grant = forms.ModelChoiceField(queryset=None, required=False, help_text="the grant funding the machine, if any")

    def __init__(self, *args, machine=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The grants of the machine's hosting entity, as the grants app lists them (`hosting.providers`).
        beneficiary = None if machine is None else machine.hosting_entity
        self.fields["grant"].queryset = grants_provider().grants_of_beneficiary(beneficiary)
        self.fields["grant"].label_from_instance = lambda g: g.reference


class PeriodForm(forms.Form):
    name = forms.CharField(max_length=64, help_text="e.g. 2026-H2")
    start = date_field()
    end = date_field(help_text="last day included")


class ProjectForm(forms.Form):
    title = forms.CharField(max_length=255)
    pi = forms.ModelChoiceField(label="Principal investigator", queryset=User.objects.none())
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none())
    user_type = forms.ChoiceField(choices=UserProject.UserType.choices)
    access_mode = forms.ChoiceField(choices=UserProject.AccessMode.choices)
    starts_on = date_field()
    duration_months = forms.IntegerField(min_value=1, max_value=36)
    cut_off = forms.IntegerField(min_value=1, max_value=99, initial=1, help_text="the cut-off of the access call")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pi"].queryset = User.objects.filter(is_active=True).order_by("last_name", "username")
        self.fields["pi"].label_from_instance = lambda u: f"{u.display_name} ({u.username})"
        self.fields["organisation"].queryset = Organisation.objects.order_by("short_name")


class AllocationForm(forms.Form):
    project = forms.ModelChoiceField(queryset=UserProject.objects.none())
    partition = forms.ModelChoiceField(queryset=Partition.objects.none())
    period = forms.ModelChoiceField(queryset=AllocationPeriod.objects.none())
    amount = forms.DecimalField(max_digits=14, decimal_places=2, help_text="in the partition's accounting unit")
    slurm_account = forms.CharField(label="Slurm account", max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = UserProject.objects.order_by("code")
        self.fields["project"].label_from_instance = lambda p: f"{p.code} · {p.title}"
        self.fields["partition"].queryset = Partition.objects.select_related("machine").order_by(
            "machine__name", "name"
        )
        self.fields["partition"].label_from_instance = lambda p: (
            f"{p.machine.name} {p.name} ({p.get_accounting_unit_display()})"
        )
        self.fields["period"].queryset = AllocationPeriod.objects.select_related("machine").order_by(
            "machine__name", "-start"
        )
        self.fields["period"].label_from_instance = lambda p: (
            f"{p.machine.name} {p.name} ({p.start:%Y-%m-%d} to {p.end:%Y-%m-%d})"
        )


class UsageUploadForm(forms.Form):
    file = forms.FileField(
        label="Slurm accounting file",
        help_text="sacct --parsable2 output with its header row, e.g. sacct -a -X --parsable2 "
        "--format=JobID,JobIDRaw,Cluster,Partition,Account,User,Start,End,ElapsedRaw,State,NNodes,NCPUS,AllocTRES",
    )
