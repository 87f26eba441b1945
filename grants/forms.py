"""Forms of the budget pages. They parse input only; the services decide."""

from decimal import Decimal

from django import forms

from eurohpc import limits
from eurohpc.countries import COUNTRY_CHOICES
from eurohpc.dates import plausible_year
from grants.models import Envelope, Grant, Programme

AMOUNT = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0.01")}


class AmountInput(forms.TextInput):
    def __init__(self):
        super().__init__(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"})


class CommitmentForm(forms.Form):
    envelope = forms.ModelChoiceField(queryset=Envelope.objects.order_by("code"), to_field_name="pk")
    amount = forms.DecimalField(label="Amount (EUR)", widget=AmountInput(), **AMOUNT)
    memo = forms.CharField(required=False, max_length=limits.MEMO)


class PaymentForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("prefinancing", "Pre-financing"), ("interim", "Interim payment"), ("final", "Final payment")]
    )
    amount = forms.DecimalField(label="Amount (EUR)", widget=AmountInput(), **AMOUNT)
    memo = forms.CharField(required=False, max_length=limits.MEMO)


class AmountForm(forms.Form):
    amount = forms.DecimalField(label="Amount (EUR)", widget=AmountInput(), **AMOUNT)
    memo = forms.CharField(required=False, max_length=limits.MEMO)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=limits.REASON)


class EnvelopeForm(forms.Form):
    code = forms.CharField(max_length=32)
    name = forms.CharField(max_length=200)
    programme = forms.ChoiceField(choices=Programme.choices)
    period_start = forms.IntegerField(min_value=2000, max_value=2100)
    period_end = forms.IntegerField(min_value=2000, max_value=2100)
    amount = forms.DecimalField(label="Amount (EUR)", widget=AmountInput(), **AMOUNT)
    parent = forms.ModelChoiceField(queryset=Envelope.objects.order_by("code"), required=False)


class CallFundingForm(forms.Form):
    envelope = forms.ModelChoiceField(queryset=Envelope.objects.order_by("code"))


class GrantCreateForm(forms.Form):
    proposal = forms.IntegerField(widget=forms.HiddenInput)


class GrantFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100)
    status = forms.ChoiceField(choices=[("", "Any status"), *Grant.Status.choices], required=False)
    call = forms.IntegerField(required=False, widget=forms.Select)
    envelope = forms.IntegerField(required=False, widget=forms.Select)
    country = forms.ChoiceField(choices=[("", "Any country"), *COUNTRY_CHOICES], required=False)

    def __init__(self, *args, calls=(), envelopes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call"].widget.choices = [("", "Any call"), *[(c.pk, c.identifier) for c in calls]]
        self.fields["envelope"].widget.choices = [("", "Any envelope"), *[(e.pk, e.code) for e in envelopes]]


class AsOfForm(forms.Form):
    as_of = forms.DateField(
        label="Position as of",
        required=False,
        validators=[plausible_year],
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class VerifyUploadForm(forms.Form):
    file = forms.FileField(label="Award letter (PDF)")
