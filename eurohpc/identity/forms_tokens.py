"""The form creating an API token on the profile page."""

from django import forms
from django.conf import settings

from eurohpc.models import ApiToken

SCOPE_CHOICES = [
    (ApiToken.Scope.READ, "Read: look only (GET)"),
    (ApiToken.Scope.WRITE, "Read and write: everything your roles allow"),
]


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        required=False,
        help_text="Say where it is used, e.g. “reporting script”. Left empty: “API token” with today's date.",
    )
    scope = forms.ChoiceField(
        label="Scope", choices=SCOPE_CHOICES, initial=ApiToken.Scope.READ, widget=forms.RadioSelect
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The bounds are settings: read when the form is made.
        self.fields["days"] = forms.IntegerField(
            label="Valid for (days)",
            min_value=1,
            max_value=settings.API_TOKEN_MAX_DAYS,
            initial=settings.API_TOKEN_DEFAULT_DAYS,
            help_text=f"1 to {settings.API_TOKEN_MAX_DAYS} days.",
        )
