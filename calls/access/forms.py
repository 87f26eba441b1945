"""Forms of the access pages: they parse what is typed; the services check the programme's rules."""

from datetime import date
from decimal import Decimal

from django import forms

from calls.access.models import AccessApplication, AccessMode
from calls.access.selectors import gpu_partitions
from eurohpc import limits
from eurohpc.dates import plausible_year
from eurohpc.money_fields import parse_amount
from hosting.models import Machine, UserProject

HOURS_EXAMPLE = "4,000 or 4000.50"
INVALID_HOURS = f"Enter a number of GPU-hours, such as {HOURS_EXAMPLE}."


class HoursField(forms.Field):
    """A number of hours (not money): typed with or without thousands separators, at most 2 decimals."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return f"{value.normalize():,f}" if value == value.to_integral() else f"{value:,}"
        return value

    def to_python(self, value):
        text = str(value).strip() if value is not None else ""
        if not text:
            return None
        amount = parse_amount(text) if len(text) <= 32 else None
        if amount is None:
            raise forms.ValidationError(INVALID_HOURS, code="invalid")
        return amount


class MonthField(forms.DateField):
    """A month (`<input type="month">`: YYYY-MM), kept as its first day; a full date is taken too."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
    input_formats = ["%Y-%m", "%Y-%m-%d"]
    default_error_messages = {"invalid": "Enter a month, such as 2026-03."}
    default_validators = [plausible_year]

    def to_python(self, value):
        day = super().to_python(value)
        return day.replace(day=1) if isinstance(day, date) else day


class MachineChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} ({obj.hosting_entity.short_name})"


class PartitionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.machine.name} — {obj.name}"


def _machines():
    return (
        Machine.objects.filter(status=Machine.Status.OPERATIONAL, partitions__accounting_unit="gpu_hours")
        .select_related("hosting_entity")
        .distinct()
        .order_by("name")
    )


class ApplicationForm(forms.Form):
    mode = forms.ChoiceField(label="Access mode")
    acronym = forms.CharField(max_length=32)
    title = forms.CharField(max_length=255)
    abstract = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), max_length=limits.ABSTRACT, required=False)
    ai_model = forms.CharField(
        label="AI model and data",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=limits.ABSTRACT,
        required=False,
        help_text="The models you train or run, and the data they use.",
    )
    team = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=limits.REASON, required=False)
    user_type = forms.ChoiceField(label="Organisation type", choices=AccessApplication.UserType.choices)
    terms = forms.ChoiceField(choices=AccessApplication.Terms.choices, widget=forms.RadioSelect)
    machine = MachineChoiceField(queryset=_machines(), help_text="Operational machines with a GPU partition.")
    partition = PartitionChoiceField(queryset=gpu_partitions(), help_text="A GPU partition of the machine chosen.")
    gpu_hours = HoursField(label="GPU-hours requested")
    duration_months = forms.TypedChoiceField(
        label="Duration", coerce=int, choices=[(n, f"{n} month{'s' if n != 1 else ''}") for n in range(1, 13)]
    )
    start_month = MonthField(label="Start month")
    no_prohibited_practice = forms.BooleanField(
        required=False,
        label="AI Act: the project uses no prohibited AI practice (Art. 5 of Regulation (EU) 2024/1689)",
    )
    personal_data = forms.BooleanField(required=False, label="The project processes personal data")
    data_protection = forms.CharField(
        label="Data-protection measures",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=limits.REASON,
        required=False,
        help_text="Required when the project processes personal data.",
    )
    ethics = forms.CharField(
        label="Ethics", widget=forms.Textarea(attrs={"rows": 3}), max_length=limits.REASON, required=False
    )

    def __init__(self, *args, modes: list[AccessMode], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mode"].choices = [(m.code, m.get_code_display()) for m in modes]

    def service_fields(self) -> dict:
        """The cleaned data as the services take it: the machine as `machine_id`."""
        data = dict(self.cleaned_data)
        data["machine_id"] = data.pop("machine").pk
        return data

    def add_service_errors(self, errors: dict) -> None:
        for name, problems in errors.items():
            if name in self.fields:
                for problem in problems:
                    self.add_error(name, problem)


class EligibilityForm(forms.Form):
    eligible = forms.TypedChoiceField(
        choices=[("true", "Eligible"), ("false", "Not eligible")], coerce=lambda v: v == "true",
        widget=forms.RadioSelect,
    )  # fmt: skip
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=limits.REASON, required=False)


class TechnicalForm(forms.Form):
    feasible = forms.TypedChoiceField(
        label="Can the project run on the partition?",
        choices=[("true", "Feasible"), ("false", "Not feasible")],
        coerce=lambda v: v == "true",
        widget=forms.RadioSelect,
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), max_length=limits.REASON, required=False,
        help_text="Software stack, scaling, data transfer and storage.",
    )  # fmt: skip
    recommended_gpu_hours = HoursField(
        label="Recommended GPU-hours", required=False,
        help_text="At most the request; empty recommends the request as asked, or nothing when not feasible.",
    )  # fmt: skip


class ReviewerForm(forms.Form):
    evaluator = forms.ModelChoiceField(queryset=None, label="Reviewer")

    def __init__(self, *args, evaluators, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evaluator"].queryset = evaluators
        # people by name, with their organisation (a conflict of interest is often an affiliation)
        self.fields["evaluator"].label_from_instance = lambda u: (
            f"{u.display_name}{f' ({u.organisation.short_name})' if u.organisation_id else ''}"
        )


class ReplyForm(forms.Form):
    reply = forms.CharField(
        label="Your reply to the reviews", widget=forms.Textarea(attrs={"rows": 6}), max_length=limits.ABSTRACT,
        required=False,
    )  # fmt: skip


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[("awarded", "Award"), ("reserve", "Reserve list"), ("rejected", "Not awarded")],
        widget=forms.RadioSelect,
    )
    gpu_hours = HoursField(
        label="GPU-hours awarded", required=False,
        help_text="At most the technical recommendation; empty awards the recommendation.",
    )  # fmt: skip
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=limits.REASON, required=False,
        help_text="Required for the reserve list and for a refusal.",
    )  # fmt: skip


class FinalReportForm(forms.Form):
    report = forms.CharField(
        label="Final report", widget=forms.Textarea(attrs={"rows": 6}), max_length=limits.ABSTRACT, required=False,
        help_text="What the project did with its access: results, publications, models released.",
    )  # fmt: skip


class PoolForm(forms.Form):
    quota = forms.IntegerField(widget=forms.HiddenInput)
    access_mode = forms.ChoiceField(choices=UserProject.AccessMode.choices, label="Access mode")
    hours = HoursField(label="Pool hours")


class ApplicationFilterForm(forms.Form):
    call = forms.ModelChoiceField(queryset=None, required=False, empty_label="All calls")
    mode = forms.ChoiceField(required=False, choices=[("", "Any mode"), *AccessMode.Code.choices])
    status = forms.ChoiceField(required=False)
    machine = forms.ModelChoiceField(queryset=None, required=False, empty_label="All machines")
    todo = forms.ChoiceField(required=False, label="Work", choices=[("", "Any")])

    def __init__(self, *args, calls, machines, statuses, todos=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call"].queryset = calls
        self.fields["call"].label_from_instance = lambda c: c.identifier
        self.fields["machine"].queryset = machines
        self.fields["status"].choices = [("", "Any status"), *statuses]
        self.fields["todo"].choices = [("", "Any"), *todos]
