from django import forms

from calls.models import BudgetLine, Call, ConsortiumMember, Document, Proposal
from eurohpc import limits
from eurohpc.countries import COUNTRY_CHOICES
from eurohpc.dates import plausible_year
from eurohpc.models import Organisation
from eurohpc.money_fields import MoneyField, MoneyInput
from hosting.selectors import machine_choices


class ProposalForm(forms.Form):
    type = forms.ChoiceField(choices=Proposal.Type.choices, widget=forms.RadioSelect)
    acronym = forms.CharField(max_length=32)
    title = forms.CharField(max_length=255)
    abstract = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, max_length=limits.ABSTRACT)
    experimental_platform = forms.BooleanField(required=False, label="Includes an experimental AI platform")
    machine = forms.ModelChoiceField(
        queryset=machine_choices(),
        required=False,
        help_text="Upgrade or activities: the EuroHPC machine your organisation hosts.",
    )
    planned_machine_name = forms.CharField(max_length=100, required=False, label="Planned machine (new system)")
    planned_machine_country = forms.ChoiceField(
        choices=[("", "—"), *COUNTRY_CHOICES], required=False, label="Country where the new system will be sited"
    )

    def __init__(self, *args, call: Call, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [(t, Proposal.Type(t).label) for t in call.allowed_types]


BUDGET_PARTS = {
    "total_cost": "total eligible cost",
    "eu_contribution": "EU contribution",
    "national_contribution": "national contribution",
}


class BudgetForm(forms.Form):
    """One row per category; a row left empty is not part of the budget."""

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        current = {line.category: line for line in lines}
        for category, label in BudgetLine.Category.choices:
            line = current.get(category)
            for part, part_label in BUDGET_PARTS.items():
                self.fields[f"{category}-{part}"] = MoneyField(
                    max_digits=14,
                    decimal_places=2,
                    min_value=0,
                    required=False,
                    label=f"{label}: {part_label}",
                    initial=getattr(line, part, None),
                    widget=MoneyInput(attrs={"data-category": category, "data-part": part}),
                )

    def rows(self):
        for category, label in BudgetLine.Category.choices:
            yield {
                "category": category,
                "label": label,
                "fields": [
                    self[f"{category}-{part}"] for part in ("total_cost", "eu_contribution", "national_contribution")
                ],
            }

    def lines(self) -> list[dict]:
        result = []
        for category, _label in BudgetLine.Category.choices:
            values = {
                p: self.cleaned_data.get(f"{category}-{p}")
                for p in ("total_cost", "eu_contribution", "national_contribution")
            }
            if all(v is None for v in values.values()):
                continue
            result.append({"category": category, **{k: (v if v is not None else 0) for k, v in values.items()}})
        return result


class ConsortiumMemberForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.order_by("short_name"))
    role = forms.ChoiceField(choices=ConsortiumMember.Role.choices)


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(choices=Document.Kind.choices)
    file = forms.FileField(
        help_text="PDF only, at most 25 MB.",
        allow_empty_file=True,
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )


class EligibilityForm(forms.Form):
    eligible = forms.TypedChoiceField(
        choices=[("true", "Eligible"), ("false", "Not eligible")],
        coerce=lambda v: v == "true",
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=limits.REASON)


class CallForm(forms.Form):
    identifier = forms.CharField(max_length=64)
    title = forms.CharField(max_length=255)
    prong = forms.ChoiceField(choices=Call.Prong.choices)
    opens_at = forms.DateTimeField(
        validators=[plausible_year],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Europe/Luxembourg time",
    )
    cut_offs = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=limits.CUT_OFFS_TEXT,
        help_text="One cut-off per line, YYYY-MM-DD HH:MM in Europe/Luxembourg time.",
    )
    indicative_budget = MoneyField(max_digits=14, decimal_places=2, min_value=0, required=False)
    max_eu_contribution = MoneyField(
        max_digits=14, decimal_places=2, min_value=0, required=False, label="Maximum EU contribution per proposal"
    )
    admits_non_eu_participating_states = forms.BooleanField(required=False)
    open_now = forms.BooleanField(required=False, label="Open the call now")

    def clean_cut_offs(self):
        field = forms.DateTimeField(validators=[plausible_year])
        values = []
        for number, line in enumerate(self.cleaned_data["cut_offs"].splitlines(), start=1):
            if line.strip():
                try:
                    values.append(field.clean(line.strip()))
                except forms.ValidationError as refused:
                    typed = line.strip()
                    if refused.error_list[0].code == "implausible_year":
                        raise forms.ValidationError(f"Line {number} ({typed!r}): {refused.messages[0]}") from None
                    raise forms.ValidationError(f"Line {number}: {typed!r} is not a date and time.") from None
        return values


class CutOffForm(forms.Form):
    closes_at = forms.DateTimeField(
        validators=[plausible_year],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        label="New cut-off (Europe/Luxembourg time)",
    )
