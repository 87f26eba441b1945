from django import forms


class OtpCodeForm(forms.Form):
    code = forms.CharField(
        label="Code", max_length=32, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
    )  # fmt: skip


class EnrolmentConfirmForm(forms.Form):
    code = forms.CharField(
        label="Code from the app", max_length=10, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}),
        help_text="The 6 digits the app shows for this account after scanning.",
    )  # fmt: skip


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label="Current password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password1 = forms.CharField(
        label="New password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(label="New password again", strip=False, max_length=128,
                                    widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))  # fmt: skip

    def clean(self):
        data = super().clean()
        if data.get("new_password1") and data.get("new_password1") != data.get("new_password2"):
            self.add_error("new_password2", "The two new passwords differ.")
        return data


class SecondFactorResetForm(forms.Form):
    username = forms.CharField(label="Username", max_length=150)
    reason = forms.CharField(label="Reason", max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Recorded in the audit trail and sent to the user, e.g. a lost phone "
                                       "reported by telephone on the date of the call.")  # fmt: skip
