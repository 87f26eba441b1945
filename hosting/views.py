"""Pages of machines, quotas, projects, allocations and usage imports: parse, call a service or selector, render.

Refusals keep their 4xx status: 403 for a role that may not act, 404 for another organisation's machine,
400/409 with the rule's message for a refused write.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from eurohpc.converters import database_id
from eurohpc.pages import form_post
from eurohpc.pages import require_perm as _require
from hosting import selectors, services
from hosting.actions import machine_actions
from hosting.forms import (
    AllocationForm,
    HostingAgreementForm,
    MachineForm,
    PartitionForm,
    PeriodForm,
    ProjectForm,
    UsageUploadForm,
)
from hosting.models import AllocationPeriod, Machine, UsageImport, UserProject
from hosting.sacct import UsageFileError

PAGE_SIZE = 50


def _machine(request, pk: int) -> Machine:
    """A machine the user may see; another hosting entity's machine is 404 for an operator."""
    return get_object_or_404(Machine.objects.visible_to(request.user).select_related("hosting_entity"), pk=pk)


# --- machines and quotas --------------------------------------------------------------------------------


@login_required
@require_GET
def machine_list(request):
    _require(request, "hosting.view_machine_list")
    machines = list(selectors.machine_list(user=request.user))
    context = {"machines": machines, "can_manage": request.user.has_perm("hosting.manage_machine")}
    return render(request, "hosting/machine_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def machine_new(request):
    _require(request, "hosting.manage_machine")
    form = MachineForm(request.POST or None)
    if request.method == "POST":
        return form_post(
            request,
            form=form,
            template="hosting/machine_form.html",
            context={"form": form},
            save=lambda data: services.machine_create(actor=request.user, **data),
            success=lambda machine: f"{machine.name} recorded. Next: its partitions and hosting agreement.",
            redirect_to=machine_url,
        )
    return render(request, "hosting/machine_form.html", {"form": form})


def _machine_context(request, machine: Machine, **extra) -> dict:
    today = timezone.localdate()
    overview = selectors.machine_quota_overview(
        machine=machine, on=today, period_id=database_id(request.GET.get("period"))
    )
    blocks, selected = overview.blocks, overview.selected
    allocations = (
        selectors.allocation_list(user=request.user, machine=machine, period=selected.period, as_of=today)
        if selected
        else []
    )
    agreements = list(machine.agreements.order_by("-effective_from"))
    context = {
        "machine": machine,
        "partitions": list(machine.partitions.order_by("name")),
        "agreements": agreements,
        "agreement": next((a for a in agreements if a.effective_from <= today), None),
        "blocks": blocks,
        "selected": selected,
        "allocations": allocations,
        # What the page offers: only what the services take (the upload, say, only where a file is taken).
        "actions": machine_actions(
            machine=machine,
            user=request.user,
            has_agreement=bool(agreements),
            has_quota=any(b.has_quota for b in blocks),
        ),
        "agreement_form": HostingAgreementForm(machine=machine),
        "period_form": PeriodForm(),
        "partition_form": PartitionForm(),
    }
    context.update(extra)
    return context


@login_required
@require_GET
def machine_detail(request, pk: int):
    _require(request, "hosting.view_machine_list")
    machine = _machine(request, pk)
    return render(request, "hosting/machine_detail.html", _machine_context(request, machine))


def _machine_form_post(request, machine: Machine, form, context_key: str, save):
    """A form posted on the machine page: the page again with the form's errors (400) or the service's refusal,
    else the success message and a redirect. `save(data)` calls the one service and returns (message, url)."""
    return form_post(
        request,
        form=form,
        template="hosting/machine_detail.html",
        context=lambda: _machine_context(request, machine, **{context_key: form}),
        save=save,
        success=lambda done: done[0],
        redirect_to=lambda done: done[1],
    )


@login_required
@require_POST
def machine_agreement_new(request, pk: int):
    _require(request, "hosting.manage_machine")
    machine = _machine(request, pk)

    def save(data):
        agreement = services.hosting_agreement_create(machine=machine, actor=request.user, **data)
        share = agreement.union_access_share
        return f"Hosting agreement recorded: Union access share {share:.2%}.", machine_url(machine)

    form = HostingAgreementForm(request.POST, machine=machine)
    return _machine_form_post(request, machine, form, "agreement_form", save)


@login_required
@require_POST
def machine_partition_new(request, pk: int):
    _require(request, "hosting.manage_machine")
    machine = _machine(request, pk)

    def save(data):
        data = {**data, "accounting_unit": data["accounting_unit"] or None}
        partition = services.partition_create(machine=machine, actor=request.user, **data)
        return f"Partition {partition.name} recorded, with its quota in every period.", machine_url(machine)

    return _machine_form_post(request, machine, PartitionForm(request.POST), "partition_form", save)


@login_required
@require_POST
def machine_period_new(request, pk: int):
    # Override: the period form keeps its own words (a page test asserts them).
    _require(request, "hosting.manage_machine", message="Only programme officers open allocation periods.")
    machine = _machine(request, pk)

    def save(data):
        period = services.period_create(machine=machine, actor=request.user, **data)
        return f"Allocation period {period.name} opened.", f"{machine_url(machine)}?period={period.pk}"

    return _machine_form_post(request, machine, PeriodForm(request.POST), "period_form", save)


def machine_url(machine: Machine) -> str:
    return reverse("hosting:machine-detail", args=[machine.pk])


@login_required
@require_GET
def operator_quota(request):
    _require(request, "hosting.view_operator_quota")
    today = timezone.localdate()
    return render(
        request,
        "hosting/operator_quota.html",
        {
            "overview": selectors.operator_overview(user=request.user, on=today),
            "allocations": selectors.allocation_list(user=request.user, as_of=today, current_on=today),
            "alerts": selectors.alert_list(user=request.user),
        },
    )


# --- usage imports ------------------------------------------------------------------------------------


def _upload_context(machine: Machine, form, result=None) -> dict:
    return {"machine": machine, "form": form, "result": result, "imports": selectors.usage_import_list(machine=machine),
            "closed": services.usage_refusal(machine)}  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def usage_upload(request, pk: int):
    _require(request, "hosting.import_usage")
    machine = _machine(request, pk)
    _require(request, "hosting.import_usage", machine)
    form = UsageUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":

        def save(data):
            upload = data["file"]
            return services.usage_import_submit(
                machine=machine,
                stream=upload.file,
                file_name=upload.name,
                source=UsageImport.Source.UPLOAD,
                actor=request.user,
            )

        def success(usage_import):
            if usage_import.status == UsageImport.Status.QUEUED:
                messages.info(
                    request,
                    "The file is large: it is being imported in the background. This page shows the "
                    "counts when it is done.",
                )
                return None
            return f"Imported {usage_import.imported} job(s) from {usage_import.file_name}."

        return form_post(
            request,
            form=form,
            template="hosting/usage_upload.html",
            context=lambda: _upload_context(machine, form),
            save=save,
            success=success,
            redirect_to=lambda usage_import: reverse(
                "hosting:usage-import-detail", kwargs={"pk": machine.pk, "import_id": usage_import.pk}
            ),
            # The line a malformed file was refused at shows above the form.
            on_refusal=lambda exc: {"refusal": exc} if isinstance(exc, UsageFileError) else None,
        )
    return render(request, "hosting/usage_upload.html", _upload_context(machine, form))


@login_required
@require_GET
def usage_import_detail(request, pk: int, import_id: int):
    _require(request, "hosting.view_machine_list")
    machine = _machine(request, pk)
    usage_import = get_object_or_404(UsageImport.objects.select_related("uploaded_by"), machine=machine, pk=import_id)
    return render(
        request,
        "hosting/usage_import_detail.html",
        {
            "machine": machine,
            "usage_import": usage_import,
            "can_import": request.user.has_perm("hosting.import_usage", machine),
        },
    )


# --- projects and allocations -----------------------------------------------------------------------------


@login_required
@require_GET
def allocation_list(request):
    _require(request, "hosting.view_allocation_list")
    machines = list(Machine.objects.visible_to(request.user).only("pk", "name").order_by("name"))
    machine = next((m for m in machines if str(m.pk) == request.GET.get("machine")), None)
    periods = list(AllocationPeriod.objects.filter(machine=machine).order_by("-start")) if machine else []
    period = next((p for p in periods if str(p.pk) == request.GET.get("period")), None)
    today = timezone.localdate()
    allocations = selectors.allocation_queryset(user=request.user, machine=machine, period=period, as_of=today)
    page = Paginator(allocations, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [selectors.decorate_allocation(a, as_of=today) for a in page.object_list]
    query = "&".join(
        f"{k}={v}" for k, v in (("machine", machine and machine.pk), ("period", period and period.pk)) if v
    )
    return render(
        request,
        "hosting/allocation_list.html",
        {
            "page": page,
            "machines": machines,
            "machine": machine,
            "periods": periods,
            "period": period,
            "query": query,
            "can_add": request.user.has_perm("hosting.add_allocation"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def allocation_new(request):
    _require(request, "hosting.add_allocation")
    initial = {key: request.GET[key] for key in ("project", "partition", "period") if request.GET.get(key)}
    form = AllocationForm(request.POST or None, initial=initial)
    if request.method == "POST":
        return form_post(
            request,
            form=form,
            template="hosting/allocation_form.html",
            context={"form": form},
            save=lambda data: services.allocation_create(actor=request.user, **data),
            success=lambda allocation: (
                f"Allocated {allocation.amount:,} {allocation.partition.get_accounting_unit_display()} "
                f"of {allocation.partition} to {allocation.project.code}."
            ),
            redirect_to=lambda allocation: f"{machine_url(allocation.partition.machine)}?period={allocation.period_id}",
        )
    return render(request, "hosting/allocation_form.html", {"form": form})


@login_required
@require_GET
def project_list(request):
    _require(request, "hosting.view_project_list")
    page = Paginator(selectors.project_list(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "hosting/project_list.html", {"page": page, "can_add": request.user.has_perm("hosting.add_project")}
    )


@login_required
@require_http_methods(["GET", "POST"])
def project_new(request):
    _require(request, "hosting.add_project")
    form = ProjectForm(request.POST or None)
    if request.method == "POST":
        return form_post(
            request,
            form=form,
            template="hosting/project_form.html",
            context={"form": form},
            save=lambda data: services.project_create(actor=request.user, **data),
            success=lambda project: f"Project {project.code} recorded.",
            redirect_to=lambda project: reverse("hosting:project-detail", args=[project.pk]),
        )
    return render(request, "hosting/project_form.html", {"form": form})


@login_required
@require_GET
def project_detail(request, pk: int):
    project = get_object_or_404(
        UserProject.objects.visible_to(request.user).select_related("pi", "organisation"), pk=pk
    )
    allocations = selectors.allocation_list(user=request.user, project=project)
    return render(
        request,
        "hosting/project_detail.html",
        {
            "project": project,
            "allocations": allocations,
            "can_allocate": request.user.has_perm("hosting.add_allocation"),
        },
    )
