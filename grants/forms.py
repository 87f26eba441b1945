"""Forms of the budget pages. They parse input only; the services decide."""

from decimal import Decimal

from django import forms

from eurohpc import limits
from eurohpc.countries import COUNTRY_CHOICES
from eurohpc.dates import plausible_year
from eurohpc.money_fields import MoneyField, MoneyInput
from grants.models import Envelope, Grant, Programme

AMOUNT = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0.01")}


def amount_field() -> MoneyField:
    """An amount in EUR typed with or without thousands separators, shown as 1,500,000.00."""
    return MoneyField(label="Amount (EUR)", widget=MoneyInput(attrs={"placeholder": "0.00"}), **AMOUNT)


class CommitmentForm(forms.Form):
    envelope = forms.ModelChoiceField(queryset=Envelope.objects.order_by("code"), to_field_name="pk")
    amount = amount_field()
    memo = forms.CharField(required=False, max_length=limits.MEMO)


class PaymentForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("prefinancing", "Pre-financing"), ("interim", "Interim payment"), ("final", "Final payment")]
    )
    amount = amount_field()
    memo = forms.CharField(required=False, max_length=limits.MEMO)


class AmountForm(forms.Form):
    amount = amount_field()
    memo = forms.CharField(required=False, max_length=limits.MEMO)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=limits.REASON)


class EnvelopeForm(forms.Form):
    code = forms.CharField(max_length=32)
    name = forms.CharField(max_length=200)
    programme = forms.ChoiceField(choices=Programme.choices)
    period_start = forms.IntegerField(min_value=2000, max_value=2100)
    period_end = forms.IntegerField(min_value=2000, max_value=2100)
    amount = amount_field()
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
