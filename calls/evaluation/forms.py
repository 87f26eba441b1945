"""Forms of the evaluation pages. They only parse; the services check the programme's rules."""

from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from calls.evaluation.scheme import Scheme, number
from calls.evaluation.selectors import ASSIGNMENT_STATES, evaluators
from calls.models import Decision, Proposal
from eurohpc import limits
from eurohpc.dates import plausible_year


class ConflictDeclarationForm(forms.Form):
    declaration = forms.ChoiceField(
        choices=[
            ("no_conflict", "I have no conflict of interest with this proposal"),
            ("conflict", "I have a conflict of interest with this proposal"),
        ],
        widget=forms.RadioSelect,
        label="Declaration",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=limits.REASON,
        label="Reason (for a conflict)",
        help_text="For example: a working relationship with the applicant or a consortium member in the last three "
        "years, a financial interest, a family tie.",
    )


class ScoresForm(forms.Form):
    """One score and one comment per criterion of the call's scheme."""

    def __init__(self, *args, scheme: Scheme, scores: dict | None = None, comments: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.scheme = scheme
        scores, comments = scores or {}, comments or {}
        for c in scheme.criteria:
            self.fields[f"score_{c.code}"] = forms.CharField(
                required=False,
                max_length=limits.SCORE_TEXT,
                label=f"{c.name} score",
                initial=scores.get(c.code, ""),
                help_text=f"0 to {number(c.max)} in steps of {number(c.step)}; threshold {number(c.threshold)}",
                widget=forms.NumberInput(
                    attrs={
                        "min": "0",
                        "max": number(c.max),
                        "step": number(c.step),
                        "inputmode": "decimal",
                        "data-criterion": c.code,
                        "data-weight": number(c.weight),
                        "data-threshold": number(c.threshold),
                    }
                ),
            )
            self.fields[f"comment_{c.code}"] = forms.CharField(
                required=False,
                label=f"{c.name} comment",
                initial=comments.get(c.code, ""),
                max_length=limits.REVIEW_COMMENT,
                widget=forms.Textarea(attrs={"rows": 5}),
            )

    def criteria(self):
        for c in self.scheme.criteria:
            yield {"criterion": c, "score": self[f"score_{c.code}"], "comment": self[f"comment_{c.code}"]}

    def values(self) -> tuple[dict, dict]:
        data = self.cleaned_data
        scores = {c.code: data.get(f"score_{c.code}", "").strip() for c in self.scheme.criteria}
        comments = {c.code: data.get(f"comment_{c.code}", "") for c in self.scheme.criteria}
        return {k: v for k, v in scores.items() if v}, comments

    def add_service_errors(self, errors: dict) -> None:
        """Attach a refusal's per-criterion errors (`scores.<code>`, `comments.<code>`) to the fields."""
        for key, messages in errors.items():
            kind, _, code = key.partition(".")
            name = f"{'score' if kind == 'scores' else 'comment'}_{code}"
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class OnePassSelect(forms.Select):
    """A select whose options are written by one template (the default one renders a template per option, which
    shows with hundreds of evaluators). Same markup as Django's select; options carry no attributes of their own."""

    template_name = "evaluation/widgets/select.html"

    def _render(self, template_name, context, renderer=None):
        return mark_safe(render_to_string(template_name, context))  # the template escapes every value


class AssignForm(forms.Form):
    proposal = forms.ModelChoiceField(queryset=Proposal.objects.none(), widget=OnePassSelect)
    evaluator = forms.ModelChoiceField(queryset=evaluators(), widget=OnePassSelect)
    deadline = forms.DateTimeField(
        required=False,
        validators=[plausible_year],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Europe/Luxembourg time; three weeks from now when left empty.",
    )

    def __init__(self, *args, proposals, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["proposal"].queryset = proposals
        self.fields["proposal"].label_from_instance = lambda p: f"{p.reference} {p.acronym}"
        self.fields["evaluator"].label_from_instance = lambda u: (
            f"{u.display_name}{f' ({u.organisation.short_name})' if u.organisation_id else ''}"
        )


class AutoAssignForm(forms.Form):
    deadline = forms.DateTimeField(
        required=False,
        validators=[plausible_year],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        label="Review deadline",
        help_text="Europe/Luxembourg time; three weeks from now when left empty.",
    )


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[
            (Decision.Outcome.SELECTED, "Selected"),
            (Decision.Outcome.RESERVE, "Reserve list"),
            (Decision.Outcome.REJECTED, "Rejected"),
        ]
    )
    reason = forms.CharField(required=False, max_length=limits.REASON)


class ReasonForm(forms.Form):
    reason = forms.CharField(required=False, max_length=limits.REASON, widget=forms.Textarea(attrs={"rows": 2}))


class AssignmentFilterForm(forms.Form):
    """My evaluations: one call, one state."""

    call = forms.TypedChoiceField(label="Call", required=False, coerce=int, empty_value=None)
    state = forms.ChoiceField(label="State", required=False)

    def __init__(self, *args, calls: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call"].choices = [("", "Every call"), *calls]
        self.fields["state"].choices = [("", "Every state")] + [
            (code, label) for code, (label, _condition) in ASSIGNMENT_STATES.items()
        ]


class ReassignForm(forms.Form):
    """The replacement of an overdue assignment: `candidates` are the evaluators the page offers (no conflict, not
    assigned yet); the service checks again."""

    evaluator = forms.ModelChoiceField(queryset=evaluators(), label="Replacement expert")
    reason = forms.CharField(
        required=False, max_length=limits.REASON, label="Note to the late expert (optional)",
        widget=forms.TextInput(),
    )  # fmt: skip

    def __init__(self, *args, candidates=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["evaluator"]
        if candidates is not None:
            field.choices = [("", "---------")] + [
                (u.pk, f"{u.display_name} (load {getattr(u, 'load', 0)})") for u in candidates
            ]
        field.label_from_instance = lambda u: u.display_name
