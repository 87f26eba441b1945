import csv
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from eurohpc.audit_text import action_label, actor_name, sentence_of
from eurohpc.forms import AuditFilterForm
from eurohpc.models import Role
from eurohpc.pages import require_perm
from eurohpc.selectors import audit_chain_last_check, audit_events
from eurohpc.services import audit_chain_verify_queue

DASHBOARD_PANELS = {
    Role.APPLICANT: "dashboard/applicant.html",
    Role.EVALUATOR: "dashboard/evaluator.html",
    Role.PROGRAMME_OFFICER: "dashboard/programme_officer.html",
    Role.FINANCE_OFFICER: "dashboard/finance_officer.html",
    Role.HOSTING_OPERATOR: "dashboard/hosting_operator.html",
    Role.TECHNICAL_EXPERT: "dashboard/technical_expert.html",
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


AUDIT_CSV_HEADER = ["seq", "time (Europe/Luxembourg)", "actor username", "actor", "action", "verb", "object type",
                    "object id", "object", "event", "changes", "sha256"]  # fmt: skip


def _audit_filters(request) -> AuditFilterForm:
    require_perm(request, "eurohpc.view_audit")
    return AuditFilterForm(request.GET)


@login_required
@require_GET
def audit_list(request):
    form = _audit_filters(request)
    valid = form.is_valid()
    events = audit_events(**form.selection()) if valid else audit_events().none()
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "form": form, "query": query.urlencode(), "check": audit_chain_last_check()}
    return render(request, "audit/list.html", context, status=200 if valid else 400)


@login_required
@require_GET
def audit_export(request):
    """The filtered trail as CSV, streamed: the whole selection, not one page."""
    form = _audit_filters(request)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[name].label}: {' '.join(messages)}" for name, messages in form.errors.items())
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    events = audit_events(**form.selection()).iterator(chunk_size=2000)

    def rows():
        writer = csv.writer(_Echo())
        yield writer.writerow(AUDIT_CSV_HEADER)
        for event in events:
            yield writer.writerow([
                event.seq, timezone.localtime(event.created_at).isoformat(), event.actor_repr, actor_name(event),
                action_label(event.verb), event.verb, event.target_type, event.target_id, event.target_repr,
                sentence_of(event), json.dumps(event.changes, sort_keys=True, ensure_ascii=False), event.hash,
            ])  # fmt: skip

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{timezone.localdate().isoformat()}.csv"'
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_POST
def audit_verify(request):
    require_perm(request, "eurohpc.view_audit")
    audit_chain_verify_queue()
    messages.success(request, "The chain is being verified: its result shows here when the walk is done.")
    return redirect("audit-list")
