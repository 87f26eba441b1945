from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from eurohpc.models import Role
from eurohpc.selectors import audit_events

DASHBOARD_PANELS = {
    Role.APPLICANT: "dashboard/applicant.html",
    Role.EVALUATOR: "dashboard/evaluator.html",
    Role.PROGRAMME_OFFICER: "dashboard/programme_officer.html",
    Role.FINANCE_OFFICER: "dashboard/finance_officer.html",
    Role.HOSTING_OPERATOR: "dashboard/hosting_operator.html",
    Role.ADMIN: "dashboard/admin.html",
}

# Apps fill the dashboard panels with their own context (role -> callable(request) -> dict).
DASHBOARD_CONTEXT: dict[str, list] = {role: [] for role in Role.values}


@require_GET
def health(request):
    """Liveness probe for the load balancer: answers without touching the database."""
    return JsonResponse({"status": "ok"})


@require_GET
def home(request):
    return render(request, "home.html", {})


@login_required
@require_GET
def dashboard(request):
    panels = []
    for role in Role.values:
        if role in request.user.roles:
            context = {}
            for provider in DASHBOARD_CONTEXT[role]:
                context.update(provider(request))
            panels.append({"role": Role(role).label, "template": DASHBOARD_PANELS[role], "context": context})
    return render(request, "dashboard/index.html", {"panels": panels})


@login_required
@require_GET
def audit_list(request):
    if not request.user.has_perm("eurohpc.view_audit"):
        raise PermissionDenied("Only officers and administrators can read the audit trail.")
    events = audit_events(target_type=request.GET.get("type") or None, target_id=request.GET.get("id") or None)
    page = Paginator(events.select_related(None), 50).get_page(request.GET.get("page"))
    return render(request, "audit/list.html", {"page": page})
