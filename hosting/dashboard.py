"""What the hosting app puts on the dashboard panels of hosting operators and programme officers."""

from django.utils import timezone

from hosting import selectors


def hosting_operator_context(request) -> dict:
    return {
        "hosting_overview": selectors.operator_overview(user=request.user),
        "hosting_alerts": selectors.alert_list(user=request.user, limit=5),
    }


def programme_officer_context(request) -> dict:
    return {
        "hosting_allocations_at_risk": selectors.allocations_at_risk(user=request.user, on=timezone.localdate()),
        "hosting_alerts": selectors.alert_list(user=request.user, limit=5),
    }
