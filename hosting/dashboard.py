"""What the hosting app puts on the dashboard panels of hosting operators and programme officers."""

from django.utils import timezone

from hosting import selectors


def hosting_operator_context(request) -> dict:
    return {
        "hosting_overview": selectors.operator_overview(user=request.user),
        "hosting_alerts": selectors.alert_list(user=request.user, limit=5),
    }


def programme_officer_context(request) -> dict:
    today = timezone.localdate()
    current = selectors.allocation_list(user=request.user, as_of=today, current_on=today)
    return {
        "hosting_allocations_at_risk": [
            a for a in current if a.runs_out_before_period_end and not a.forecast.exhausted
        ],
        "hosting_alerts": selectors.alert_list(user=request.user, limit=5),
    }
