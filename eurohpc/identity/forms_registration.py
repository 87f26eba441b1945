"""Forms of self-registration: the account, the organisation (chosen from the register or proposed), a new
verification link, and the programme office's decision. The rules (taken names, the register, the PIC, the
password) are the services'; a form checks the shape of what is typed."""

from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator

from eurohpc import limits
from eurohpc.countries import COUNTRY_CHOICES, country_name
from eurohpc.identity.selectors.registration import organisation_register
from eurohpc.identity.services.registration import ProposedOrganisation
from eurohpc.models import Organisation

SOURCE_REGISTER, SOURCE_PROPOSED = "register", "proposed"
PASSWORD_MAX = 1_000  # a passphrase, never a document


class _OrganisationChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Organisation) -> str:
        return f"{obj.short_name} — {obj.legal_name} ({country_name(obj.country)})"


class OrganisationChoiceForm(forms.Form):
    """Which organisation the person acts for: one of the register, or a new one proposed for the register."""

    source = forms.ChoiceField(
        label="Is your organisation in the register?",
        choices=[
            (SOURCE_REGISTER, "It is in the register: I choose it from the list"),
            (SOURCE_PROPOSED, "It is not in the register: I propose it"),
        ],
        initial=SOURCE_REGISTER,
        widget=forms.RadioSelect,
    )
    organisation = _OrganisationChoice(
        label="Organisation in the register", queryset=Organisation.objects.none(), required=False,
        empty_label="— choose your organisation —",
    )  # fmt: skip
    proposed_legal_name = forms.CharField(label="Legal name", max_length=255, required=False,
                                          help_text="As in its statutes or the commercial register.")  # fmt: skip
    proposed_short_name = forms.CharField(label="Short name", max_length=64, required=False,
                                          help_text="The acronym it is known by, e.g. BSC or CINECA.")  # fmt: skip
    proposed_country = forms.ChoiceField(label="Country", choices=[("", "— choose —"), *COUNTRY_CHOICES],
                                         required=False)  # fmt: skip
    proposed_kind = forms.ChoiceField(
        label="Kind of organisation", choices=[("", "— choose —"), *Organisation.Kind.choices], required=False
    )
    proposed_pic = forms.CharField(
        label="PIC (optional)", max_length=20, required=False,
        help_text="The 9 digits of its EU Participant Identification Code, if it has one.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisation_register()

    def choice(self) -> dict:
        """The services' `organisation` and `proposed` arguments: exactly one of them, as the person chose."""
        data = self.cleaned_data
        if data["source"] == SOURCE_REGISTER:
            return {"organisation": data["organisation"], "proposed": None} if data["organisation"] else {}
        return {
            "organisation": None,
            "proposed": ProposedOrganisation(
                legal_name=data["proposed_legal_name"], short_name=data["proposed_short_name"],
                country=data["proposed_country"], kind=data["proposed_kind"], pic=data["proposed_pic"],
            ),
        }  # fmt: skip


class RegistrationForm(OrganisationChoiceForm):
    username = forms.CharField(
        label="Username", max_length=150, validators=[UnicodeUsernameValidator()],
        help_text="Letters, digits and @ . + - _ only; you log in with it.",
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )  # fmt: skip
    first_name = forms.CharField(label="First name", max_length=150,
                                 widget=forms.TextInput(attrs={"autocomplete": "given-name"}))  # fmt: skip
    last_name = forms.CharField(label="Last name", max_length=150,
                                widget=forms.TextInput(attrs={"autocomplete": "family-name"}))  # fmt: skip
    email = forms.EmailField(label="E-mail address", help_text="Your work address: a link to verify it is sent there.",
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))  # fmt: skip
    password = forms.CharField(
        label="Password", strip=False, max_length=PASSWORD_MAX,
        help_text="At least 8 characters, not a common password, not all digits, not like your name or username.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )  # fmt: skip
    password_again = forms.CharField(label="Password again", strip=False, max_length=PASSWORD_MAX,
                                     widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))  # fmt: skip

    field_order = ["username", "first_name", "last_name", "email", "password", "password_again"]

    ACCOUNT_FIELDS = field_order

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", "The two passwords differ: type the same password twice.")
        return data

    def account_fields(self):
        return [self[name] for name in self.ACCOUNT_FIELDS]


class VerificationResendForm(forms.Form):
    email = forms.EmailField(label="E-mail address you registered with",
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))  # fmt: skip


class ConfirmProposedForm(forms.Form):
    """The proposed organisation as the officer adds it to the register, corrected where needed."""

    legal_name = forms.CharField(label="Legal name", max_length=255)
    short_name = forms.CharField(label="Short name", max_length=64)
    country = forms.ChoiceField(label="Country", choices=COUNTRY_CHOICES)
    kind = forms.ChoiceField(label="Kind of organisation", choices=Organisation.Kind.choices)
    pic = forms.CharField(label="PIC (optional)", max_length=20, required=False,
                          widget=forms.TextInput(attrs={"inputmode": "numeric"}))  # fmt: skip

    @classmethod
    def for_request(cls, request, data=None) -> "ConfirmProposedForm":
        initial = {
            "legal_name": request.proposed_legal_name, "short_name": request.proposed_short_name,
            "country": request.proposed_country, "kind": request.proposed_kind, "pic": request.proposed_pic,
        }  # fmt: skip
        return cls(data, initial=initial, prefix="confirm")

    def correction(self) -> ProposedOrganisation:
        return ProposedOrganisation(**self.cleaned_data)


class RefuseForm(forms.Form):
    reason = forms.CharField(
        label="Reason for the refusal", max_length=limits.REASON, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The applicant reads it in the e-mail: for example, the address is not of the organisation.",
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "refuse")
        super().__init__(*args, **kwargs)
