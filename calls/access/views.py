"""Pages of the access calls: parse, call one service or selector, render. Refusals keep their 4xx status: 403 with
the permission's reason, 404 for an application the reader may not see, 400/409 with the rule's message."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calls.access import selectors, services
from calls.access.actions import application_actions
from calls.access.checks import access_checks, months_text, user_types_text
from calls.access.forms import (
    ApplicationFilterForm,
    ApplicationForm,
    DecisionForm,
    EligibilityForm,
    FinalReportForm,
    PoolForm,
    ReplyForm,
    ReviewerForm,
    TechnicalForm,
)
from calls.access.models import STATUS_LABELS, AccessApplication
from calls.evaluation.selectors import evaluators
from calls.evaluation.services import assignment_create
from calls.models import Assignment, Call, CutOff, Proposal
from calls.selectors import proposal_timeline
from eurohpc.pages import errors_onto, form_post
from eurohpc.pages import require_perm as _require
from hosting.models import PartitionQuota
from hosting.services import access_pool_set

PAGE_SIZE = 50
S = Proposal.Status
# The states in which an application waits for its decision (the list shows how long it has waited).
WAITING = [str(s) for s in (S.SUBMITTED, S.SCREENING, S.ELIGIBLE, S.EVALUATION)]
EDIT_FIELDS = ("title", "acronym", "abstract", *services.DETAIL_FIELDS)


def status_choices() -> list[tuple[str, str]]:
    """The states of an access application in its own words."""
    return [(value, STATUS_LABELS.get(value, label)) for value, label in S.choices]


def _application(request, pk: int) -> AccessApplication:
    application = selectors.application_for(user=request.user, pk=pk)
    if application is None:
        raise Http404
    return application


def _detail_url(application: AccessApplication) -> str:
    return reverse("access-application", args=[application.pk])


# --- the landing page ---------------------------------------------------------------------------------------


@require_GET
def access_home(request):
    calls = list(selectors.open_access_calls())
    for call in calls:
        call.modes = sorted(call.access_modes.all(), key=lambda m: m.pk)
        for mode in call.modes:
            mode.durations_text = months_text(mode.durations)
            mode.user_types_text = user_types_text(mode.user_types)
    can_rank = request.user.has_perm("calls.decide_access")
    return render(
        request,
        "access/home.html",
        {
            "calls": calls,
            "can_apply": request.user.has_perm("calls.apply_access") and request.user.organisation_id is not None,
            # the cut-offs that collected applications (an access call may have dozens ahead)
            "cut_offs": [c for c in selectors.access_cut_offs() if c.applications] if can_rank else [],
            "now": timezone.now(),
        },
    )


# --- the lists ------------------------------------------------------------------------------------------------


@login_required
@require_GET
def application_list(request):
    sees_all = request.user.has_perm("calls.list_access") or request.user.has_perm("calls.view_technical_queue")
    if not sees_all:
        _require(request, "calls.apply_access")
    form = ApplicationFilterForm(
        request.GET or None,
        calls=selectors.access_calls(),
        machines=selectors.pool_machines(user=request.user),
        statuses=[(value, label) for value, label in status_choices() if not (sees_all and value == S.DRAFT)],
        todos=list(selectors.TODO_LABELS.items()),
    )
    chosen = form.cleaned_data if form.is_valid() else {}
    rows = selectors.application_list(
        user=request.user,
        mine=not sees_all,
        call=chosen.get("call"),
        mode=chosen.get("mode") or None,
        status=chosen.get("status") or None,
        machine=chosen.get("machine"),
    )
    if sees_all:  # drafts are the applicants' own business
        rows = rows.exclude(proposal__status=S.DRAFT)
    if chosen.get("todo"):
        rows = rows.filter(selectors.todo_filter(chosen["todo"]))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    page.object_list = [selectors.decorate(a, today=today) for a in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "form": form, "sees_all": sees_all, "query": query.urlencode(), "waiting": WAITING}
    return render(request, "access/application_list.html", context, status=400 if form.errors else 200)


@login_required
@require_GET
def technical_queue(request):
    _require(request, "calls.view_technical_queue")
    page = Paginator(selectors.technical_queue(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    page.object_list = [selectors.decorate(a, today=today) for a in page.object_list]
    return render(request, "access/technical_queue.html", {"page": page})


# --- the application form -----------------------------------------------------------------------------------


def _form_context(form, call: Call, application: AccessApplication | None = None) -> dict:
    modes = selectors.modes_of(call)
    for mode in modes:
        mode.durations_text = months_text(mode.durations)
        mode.user_types_text = user_types_text(mode.user_types)
    return {"form": form, "call": call, "application": application, "modes": modes}


@login_required
@require_http_methods(["GET", "POST"])
def application_new(request, call_id: int):
    _require(request, "calls.apply_access")
    call = get_object_or_404(selectors.open_access_calls(), pk=call_id)
    modes = selectors.modes_of(call)
    wanted = request.GET.get("mode")
    initial = {"mode": wanted if wanted in {m.code for m in modes} else None, "duration_months": 3,
               "start_month": timezone.localdate().replace(day=1)}  # fmt: skip
    form = ApplicationForm(request.POST or None, modes=modes, initial=initial)
    context = _form_context(form, call)
    if request.method == "POST":

        def save(data):
            data = form.service_fields()
            return services.access_application_create(call=call, actor=request.user, **data)

        return form_post(
            request,
            form=form,
            template="access/application_form.html",
            context=context,
            save=save,
            success="Draft saved. Check the rules below, then submit.",
            redirect_to=_detail_url,
            on_refusal=lambda exc: form.add_service_errors(exc.errors),
        )
    return render(request, "access/application_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def application_edit(request, pk: int):
    application = _application(request, pk)
    _require(request, "calls.change_access", application)
    if application.proposal.status != S.DRAFT:
        return form_post(
            request,
            template="access/application_detail.html",
            context=lambda: _detail_context(request, application),
            save=lambda _: services.access_application_update(application=application, actor=request.user),
            redirect_to=_detail_url(application),
        )
    proposal = application.proposal
    initial = {name: getattr(proposal if name in services.PROPOSAL_FIELDS else application, name)
               for name in EDIT_FIELDS}  # fmt: skip
    initial.update(mode=application.mode.code, partition=application.partition, machine=application.partition.machine)
    form = ApplicationForm(request.POST or None, modes=selectors.modes_of(proposal.call), initial=initial)
    context = _form_context(form, proposal.call, application)
    if request.method == "POST":

        def save(data):
            fields = form.service_fields()
            return services.access_application_update(application=application, actor=request.user, **fields)

        return form_post(
            request,
            form=form,
            template="access/application_form.html",
            context=context,
            save=save,
            success="Draft saved.",
            redirect_to=_detail_url,
            on_refusal=lambda exc: form.add_service_errors(exc.errors),
        )
    return render(request, "access/application_form.html", context)


# --- the application page -------------------------------------------------------------------------------------


def next_step(application: AccessApplication) -> str:
    """What comes next for the application, in a sentence."""
    proposal, mode = application.proposal, application.mode
    technical = getattr(application, "technical", None)
    if proposal.status == S.DRAFT:
        return "Complete the application until every rule is met, then submit it."
    if proposal.status == S.SUBMITTED and proposal.cut_off is not None:
        return "The application waits for its cut-off; the programme office then checks its eligibility."
    if proposal.status in (S.SUBMITTED, S.SCREENING):
        return "The programme office checks its eligibility."
    if proposal.status == S.ELIGIBLE and technical is None:
        machine = application.partition.machine.name
        return f"The support team of {machine} assesses whether the project can run there, and with how much."
    if proposal.status == S.ELIGIBLE:
        return "The programme office assigns its peer reviewers."
    if proposal.status == S.EVALUATION and not mode.is_reviewed:
        return "The access committee decides it."
    if proposal.status == S.EVALUATION and application.reply_deadline is None:
        return f"Its reviewers score it; the reviews are then sent to the applicant (at least {mode.reviews_required})."
    if proposal.status == S.EVALUATION and application.replied_at is None:
        return "The applicant may reply to the reviews until the deadline; the access committee then decides."
    if proposal.status == S.EVALUATION:
        return "The access committee decides it, with the reviews and the reply."
    if proposal.status == S.RESERVE:
        return "It stays on the reserve list: it may be awarded if hours become free."
    if proposal.status == S.SELECTED:
        return "Access is awarded: use it on the project's Slurm account; a final report is due in its last month."
    return "Nothing more: the application is closed."


def _detail_context(request, application: AccessApplication, **forms) -> dict:
    user = request.user
    today = timezone.localdate()
    selectors.decorate(application, today=today)
    proposal = application.proposal
    actions = application_actions(application=application, user=user)
    officer = user.has_perm("calls.decide_access", application)
    show_reviews = user.has_perm("calls.view_access_reviews", application)
    criteria = {c.get("code"): c.get("name") for c in (proposal.call.evaluation_scheme or {}).get("criteria", [])}
    project = application.project
    context = {
        "application": application,
        "proposal": proposal,
        "actions": actions,
        "checks": access_checks(application, today=today),
        "next_step": next_step(application),
        "timeline": proposal_timeline(proposal=proposal, user=request.user),
        "technical": getattr(application, "technical", None),
        "reviews": selectors.released_reviews(application=application) if show_reviews else [],
        "show_reviews": show_reviews,
        "criteria": criteria,
        "assignments": (
            list(Assignment.objects.filter(proposal_id=proposal.pk).select_related("evaluator").order_by("id"))
            if officer and application.mode.is_reviewed
            else []
        ),
        "project_visible": project is not None and user.has_perm("hosting.view_project", project),
        "now": timezone.now(),
    }
    defaults = {
        "eligibility_form": lambda: EligibilityForm(),
        "technical_form": lambda: TechnicalForm(initial={"recommended_gpu_hours": application.gpu_hours}),
        "reviewer_form": lambda: ReviewerForm(evaluators=evaluators()),
        "reply_form": lambda: ReplyForm(),
        "decision_form": lambda: DecisionForm(initial={"gpu_hours": getattr(context["technical"],
                                                                             "recommended_gpu_hours", None)}),
        "report_form": lambda: FinalReportForm(),
    }  # fmt: skip
    for name, build in defaults.items():
        context[name] = forms.get(name) or build()
    return context


@login_required
@require_GET
def application_detail(request, pk: int):
    application = _application(request, pk)
    _require(request, "calls.view_proposal", application.proposal)
    return render(request, "access/application_detail.html", _detail_context(request, application))


def _action(request, pk: int, perm: str, save, success, form_class=None, form_name: str = "", **form_kwargs):
    """A form or button of the application page: the one service, else the page again with its refusal."""
    application = _application(request, pk)
    _require(request, perm, application)
    form = form_class(request.POST, **form_kwargs) if form_class else None

    return form_post(
        request,
        form=form,
        template="access/application_detail.html",
        context=lambda: _detail_context(request, application, **({form_name: form} if form else {})),
        save=lambda data: save(application, data),
        success=success,
        redirect_to=_detail_url(application),
        on_refusal=errors_onto(form) if form is not None else None,
    )


@login_required
@require_POST
def application_submit(request, pk: int):
    return _action(
        request,
        pk,
        "calls.change_access",
        lambda a, _: services.access_application_submit(application=a, actor=request.user),
        lambda a: f"Submitted. Your reference is {a.proposal.reference}; a receipt is on its way.",
    )


@login_required
@require_POST
def application_withdraw(request, pk: int):
    return _action(
        request,
        pk,
        "calls.change_access",
        lambda a, _: services.access_application_withdraw(application=a, actor=request.user),
        lambda a: f"Application {a.proposal.reference} withdrawn.",
    )


@login_required
@require_POST
def application_eligibility(request, pk: int):
    return _action(
        request,
        pk,
        "calls.record_access_eligibility",
        lambda a, data: services.access_eligibility_record(application=a, actor=request.user, **data),
        lambda a: f"Eligibility of {a.proposal.reference} recorded: {a.status_label.lower()}.",
        EligibilityForm,
        "eligibility_form",
    )


@login_required
@require_POST
def application_assess(request, pk: int):
    return _action(
        request,
        pk,
        "calls.assess_access",
        lambda a, data: services.technical_assessment_record(application=a, actor=request.user, **data),
        lambda t: f"Technical assessment of {t.application.proposal.reference} recorded.",
        TechnicalForm,
        "technical_form",
    )


@login_required
@require_POST
def application_assign(request, pk: int):
    return _action(
        request,
        pk,
        "calls.decide_access",
        lambda a, data: assignment_create(proposal=a.proposal, evaluator=data["evaluator"], actor=request.user),
        lambda assignment: f"{assignment.evaluator.display_name} assigned to review {assignment.proposal}.",
        ReviewerForm,
        "reviewer_form",
        evaluators=evaluators(),
    )


@login_required
@require_POST
def application_release(request, pk: int):
    return _action(
        request,
        pk,
        "calls.decide_access",
        lambda a, _: services.access_reviews_release(application=a, actor=request.user),
        lambda a: f"Reviews of {a.proposal.reference} sent to the applicant.",
    )


@login_required
@require_POST
def application_reply(request, pk: int):
    return _action(
        request,
        pk,
        "calls.reply_access",
        lambda a, data: services.access_reply_submit(application=a, actor=request.user, **data),
        "Your reply is sent to the access committee.",
        ReplyForm,
        "reply_form",
    )


@login_required
@require_POST
def application_decide(request, pk: int):
    return _action(
        request,
        pk,
        "calls.decide_access",
        lambda a, data: services.access_decide(application=a, actor=request.user, **data),
        lambda a: f"Decision on {a.proposal.reference} recorded: {a.status_label.lower()}.",
        DecisionForm,
        "decision_form",
    )


@login_required
@require_POST
def application_final_report(request, pk: int):
    return _action(
        request,
        pk,
        "calls.report_access",
        lambda a, data: services.access_final_report_submit(application=a, actor=request.user, **data),
        "Final report sent. Thank you.",
        FinalReportForm,
        "report_form",
    )


# --- the committee's ranking of a cut-off ---------------------------------------------------------------------


def _ranking_context(cut_off: CutOff) -> dict:
    now = timezone.now()
    rows = selectors.cut_off_ranking(cut_off=cut_off)
    for row in rows:
        row.decidable = services.batch_awardable(row.application, now=now)
    return {"cut_off": cut_off, "rows": rows, "can_award": any(r.decidable for r in rows), "now": now}


def _access_cut_off(request, pk: int) -> CutOff:
    _require(request, "calls.decide_access")
    return get_object_or_404(CutOff.objects.select_related("call").filter(call__prong=Call.Prong.ACCESS), pk=pk)


@login_required
@require_GET
def ranking(request, pk: int):
    cut_off = _access_cut_off(request, pk)
    return render(request, "access/ranking.html", _ranking_context(cut_off))


@login_required
@require_POST
def ranking_award(request, pk: int):
    cut_off = _access_cut_off(request, pk)

    def success(result) -> str:
        awarded, reserve, skipped = result["awarded"], result["reserve"], result["skipped"]
        parts = [f"{len(awarded)} application{'s' if len(awarded) != 1 else ''} awarded"]
        if reserve:
            parts.append(f"{len(reserve)} put on the reserve list (the pool could not hold them: {', '.join(reserve)})")
        if skipped:
            parts.append(f"{len(skipped)} not decidable yet ({', '.join(skipped)})")
        return "; ".join(parts) + "."

    return form_post(
        request,
        template="access/ranking.html",
        context=lambda: _ranking_context(cut_off),
        save=lambda _: services.access_ranking_award(cut_off=cut_off, actor=request.user),
        success=success,
        redirect_to=reverse("access-ranking", args=[cut_off.pk]),
    )


# --- the access pools -----------------------------------------------------------------------------------------


@login_required
@require_GET
def pool_machines(request):
    _require(request, "calls.view_access_pools")
    return render(request, "access/pool_machines.html", {"machines": list(selectors.pool_machines(user=request.user))})


def _pool_context(request, machine, form=None) -> dict:
    board = selectors.pool_board(machine=machine)
    can_manage = request.user.has_perm("calls.manage_access_pools")
    for block in board:
        block.form = (
            form
            if form is not None and str(form.data.get("quota")) == str(block.quota.pk)
            else PoolForm(initial={"quota": block.quota.pk}, auto_id=f"pool-{block.quota.pk}-%s")
        )
    return {"machine": machine, "board": board, "can_manage": can_manage}


@login_required
@require_http_methods(["GET", "POST"])
def pool_board(request, pk: int):
    _require(request, "calls.view_access_pools")
    machine = get_object_or_404(selectors.pool_machines(user=request.user), pk=pk)
    if request.method == "GET":
        return render(request, "access/pool_board.html", _pool_context(request, machine))
    _require(request, "calls.manage_access_pools")
    form = PoolForm(request.POST, auto_id=f"pool-{request.POST.get('quota')}-%s")

    def save(data):
        quota = get_object_or_404(PartitionQuota.objects.filter(period__machine=machine), pk=data["quota"])
        return access_pool_set(quota=quota, access_mode=data["access_mode"], hours=data["hours"], actor=request.user)

    return form_post(
        request,
        form=form,
        template="access/pool_board.html",
        context=lambda: _pool_context(request, machine, form),
        save=save,
        success=lambda pool: f"The {pool.get_access_mode_display()} pool of {pool.quota} is set.",
        redirect_to=reverse("access-pool-board", args=[machine.pk]),
        on_refusal=lambda exc: _hours_errors(form, exc),
    )


def _hours_errors(form, exc) -> None:
    for problem in exc.errors.get("hours", []):
        form.add_error("hours", problem)


# --- the dashboards ---------------------------------------------------------------------------------------------


def officer_dashboard_context(request) -> dict:
    return {"access_work": selectors.officer_access_work()}


def applicant_dashboard_context(request) -> dict:
    if request.user.organisation_id is None:
        return {}
    rows = list(selectors.application_list(user=request.user, mine=True)[:5])
    return {"access_applications": rows}


def operator_dashboard_context(request) -> dict:
    return {"access_technical": selectors.technical_queue(user=request.user).count()}
