"""Forms of the core app: the audit trail's filters."""

from django import forms
from django.apps import apps

from eurohpc.audit_text import ACTIONS
from eurohpc.dates import plausible_year
from eurohpc.models import User

PRODUCT_APPS = ("eurohpc", "calls", "grants", "hosting")


def _object_types() -> list[tuple[str, str]]:
    types = [
        (f"{model._meta.app_label}.{model._meta.model_name}", str(model._meta.verbose_name).capitalize())
        for model in apps.get_models()
        if model._meta.app_label in PRODUCT_APPS
    ]
    return [("", "Any object"), *sorted(types, key=lambda item: item[1])]


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label="Who (username)", required=False, max_length=150)
    action = forms.ChoiceField(label="Action", required=False)
    type = forms.ChoiceField(label="Object", required=False)
    id = forms.CharField(label="Object id", required=False, max_length=64)
    since = forms.DateField(
        label="From", required=False, validators=[plausible_year], widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, validators=[plausible_year], widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        actions = sorted(((verb, action.label) for verb, action in ACTIONS.items()), key=lambda item: item[1])
        self.fields["action"].choices = [("", "Any action"), *actions]
        self.fields["type"].choices = _object_types()

    def clean_actor(self) -> User | None:
        username = self.cleaned_data["actor"].strip()
        if not username:
            return None
        user = User.objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError(f"No user is called {username!r}.")
        return user

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The last day comes on or after the first.")
        return data

    def selection(self) -> dict:
        """The selector's keyword arguments (only valid filters)."""
        data = self.cleaned_data
        return {
            "actor": data.get("actor"),
            "verb": data.get("action") or None,
            "target_type": data.get("type") or None,
            "target_id": (data.get("id") or "").strip() or None,
            "since": data.get("since"),
            "until": data.get("until"),
        }
