"""Lists order explicitly (`order_by`, an ordered `Prefetch`): a model's `Meta.ordering` is not what a page, an API
answer, an export or a PDF relies on. The few models that keep one are named here with the reason, so that a new
implicit ordering is a conscious decision."""

from django.apps import apps

APPS = ("eurohpc", "calls", "grants", "hosting")

# Model label -> why it keeps its Meta.ordering (and the reads that rely on it).
KEPT = {
    "calls.BudgetLine": "calls/evaluation/views.py (_assignment_context) and calls/checks.py (budget_checks) read "
    "proposal.budget_lines.all() without a prefetch and show or check the lines in id order",
}


def test_only_the_documented_models_keep_an_implicit_ordering():
    ordered = {
        model._meta.label for app in APPS for model in apps.get_app_config(app).get_models() if model._meta.ordering
    }
    assert ordered == set(KEPT)
