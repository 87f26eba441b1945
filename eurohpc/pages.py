"""What every app's pages share: the permission check and how a refused action is shown."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from eurohpc.errors import DomainError


def require_perm(request, perm: str, obj=None, message: str = "") -> None:
    """403 with the reason unless the django-rules permission holds."""
    if not request.user.has_perm(perm, obj):
        raise PermissionDenied(message or "You do not have permission to do this.")


def render_refusal(request, exc: DomainError, template: str, context: dict):
    """Render the page again with the rule that refused the action (and each rule it lists), under its 4xx."""
    messages.error(request, exc.message)
    for problems in exc.errors.values():
        for problem in problems:
            messages.error(request, problem)
    return render(request, template, context, status=exc.status_code)
