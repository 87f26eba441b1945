"""Forms of the evaluation review (redress) pages."""

from django import forms

from calls.models import RedressRequest
from eurohpc import limits


class RedressRequestForm(forms.Form):
    grounds = forms.CharField(
        label="Shortcomings of the evaluation procedure",
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=limits.REDRESS_GROUNDS,
        help_text="Say which step of the procedure went wrong and how it affected the outcome (for example: a "
        "document overlooked, an expert with a conflict of interest, a criterion applied that the call does not "
        "set). A disagreement with the experts' scientific or technical judgement is not a ground for review.",
    )


class AdmissibilityForm(forms.Form):
    admissible = forms.TypedChoiceField(
        label="Admissibility",
        choices=[("yes", "Admissible: it concerns the evaluation procedure"), ("no", "Not admissible")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reason (required when not admissible)",
        required=False,
        max_length=limits.REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: it contests the experts' judgement, not the procedure.",
    )


class CommitteeForm(forms.Form):
    members = forms.ModelMultipleChoiceField(
        label="Committee members",
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        help_text="Programme officers who took no part in this evaluation; at least two without a conflict.",
    )

    def __init__(self, *args, candidates: list, **kwargs):
        from eurohpc.models import User

        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = User.objects.filter(pk__in=[u.pk for u in candidates]).order_by(
            "last_name", "first_name", "pk"
        )
        self.fields["members"].label_from_instance = lambda u: u.display_name


class CommitteeDeclarationForm(forms.Form):
    declaration = forms.ChoiceField(
        label="Declaration",
        choices=[
            ("no_conflict", "I have no conflict of interest with this request"),
            ("conflict", "I have a conflict of interest with this request"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reason (for a conflict)",
        required=False,
        max_length=limits.REASON,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class OpinionForm(forms.Form):
    opinion = forms.ChoiceField(label="Opinion", choices=RedressRequest.Opinion.choices, widget=forms.RadioSelect)
    reason = forms.CharField(
        label="The committee's reasons", max_length=limits.REASON, widget=forms.Textarea(attrs={"rows": 4})
    )


class RedressFilterForm(forms.Form):
    status = forms.ChoiceField(label="Status", required=False)
    call = forms.TypedChoiceField(label="Call", required=False, coerce=int, empty_value=None)

    def __init__(self, *args, calls, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            ("", "Every status"),
            ("open", "Open (any step)"),
            *RedressRequest.Status.choices,
        ]
        self.fields["call"].choices = [("", "Every call"), *[(c.pk, c.identifier) for c in calls]]
