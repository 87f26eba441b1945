"""Pages of the budget: finance dashboard, envelopes, grants, ledger actions, exports, award letters, /verify/.

Thin: parse, check the permission (django-rules), call one service or selector, render. A refused action
renders the page again with the rule's message under the refusal's status code (400/409).
"""

import csv
import hashlib
import re
from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calls.evaluation.selectors import summary_report_by_hash
from calls.selectors import call_choices, proposal_by_id
from eurohpc.pages import form_post
from eurohpc.pages import require_perm as _require
from grants import services
from grants.actions import grant_actions, ledger_entry_reversible
from grants.charts import envelope_bars, time_series
from grants.forms import (
    AmountForm,
    AsOfForm,
    CallFundingForm,
    CommitmentForm,
    EnvelopeForm,
    GrantCreateForm,
    GrantFilterForm,
    PaymentForm,
    ReasonForm,
    VerifyUploadForm,
)
from grants.models import AwardLetter, CallFunding, Envelope, Grant, LedgerEntry
from grants.schedule import payment_schedule
from grants.selectors import (
    Totals,
    award_letter_by_hash,
    beneficiaries_open_data,
    envelope_positions,
    finance_overview,
    grant_detail,
    grant_ledger,
    grant_list,
    grant_totals_attach,
    ledger_export_rows,
    selected_proposals_without_grant,
)
from grants.xlsx import xlsx_bytes

PAGE_SIZE = 25
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _as_of(request) -> tuple[date | None, AsOfForm]:
    """The day of a position the page or export shows (None: now), and the form that read it: a date that is not
    one leaves its error on the form and the request is refused."""
    form = AsOfForm(request.GET)
    return (form.cleaned_data.get("as_of") if form.is_valid() else None), form


def _refused_as_of_response(form: AsOfForm) -> HttpResponse:
    return HttpResponse(
        f"Position as of: {form.errors['as_of'][0]}", status=400, content_type="text/plain; charset=utf-8"
    )


# --- finance dashboard and envelopes ----------------------------------------------------------------


def _dashboard_context(request, *, as_of: date | None) -> dict:
    overview = finance_overview(as_of=as_of)
    positions, root = overview.positions, overview.root
    return {
        "positions": positions,
        "bars": envelope_bars(positions),
        "series": time_series(overview.series, ceiling=root.amount if root else None),
        "series_envelope": root.envelope if root else None,
        "as_of": as_of,
        "as_of_form": AsOfForm(initial={"as_of": as_of}),
    }


def dashboard_panel(request) -> dict:
    """The finance officer's panel on /dashboard/: the envelopes and the grants waiting for an action."""
    positions = envelope_positions()
    counts = dict(Grant.objects.order_by().values_list("status").annotate(n=Count("id")))
    return {
        "grants_positions": positions,
        "grants_bars": envelope_bars(positions),
        "grants_waiting": {
            "to_prepare": selected_proposals_without_grant().count(),
            "to_commit": counts.get(Grant.Status.PREPARED, 0),
            "to_sign": counts.get(Grant.Status.BUDGET_COMMITTED, 0),
            "active": counts.get(Grant.Status.SIGNED, 0) + counts.get(Grant.Status.ACTIVE, 0),
        },
    }


@login_required
@require_GET
def finance_dashboard(request):
    _require(request, "grants.view_budget")
    as_of, as_of_form = _as_of(request)
    context = _dashboard_context(request, as_of=as_of)
    status = 400 if as_of_form.errors else 200
    if as_of_form.errors:
        context["as_of_form"] = as_of_form  # the typed date stays in the field, with the rule it breaks
    if request.user.has_perm("grants.manage_envelopes"):
        context["envelope_form"] = EnvelopeForm()
        calls = list(call_choices())
        funding = {f.call_id: f.envelope_id for f in CallFunding.objects.all()}
        envelopes = [p.envelope for p in context["positions"]]
        context["calls"] = [
            {"call": c, "envelope_id": funding.get(c.pk), "envelope": next(
                (e for e in envelopes if e.pk == funding.get(c.pk)), None)}
            for c in calls
        ]  # fmt: skip
        context["envelopes"] = envelopes
    return render(request, "grants/finance_dashboard.html", context, status=status)


@login_required
@require_POST
def envelope_create_view(request):
    _require(request, "grants.manage_envelopes")
    form = EnvelopeForm(request.POST)
    return form_post(
        request,
        form=form,
        template="grants/finance_dashboard.html",
        context=lambda: {**_dashboard_context(request, as_of=None), "envelope_form": form},
        save=lambda data: services.envelope_create(**data, actor=request.user),
        success=lambda envelope: f"Envelope {envelope.code} created.",
        redirect_to="grants-finance",
        invalid_message="The envelope could not be created: check the fields.",
    )


@login_required
@require_POST
def call_funding_view(request, call_id: int):
    _require(request, "grants.manage_envelopes")
    call = get_object_or_404(call_choices(), pk=call_id)
    form = CallFundingForm(request.POST)
    if form.is_valid():
        services.call_funding_set(call=call, envelope=form.cleaned_data["envelope"], actor=request.user)
        messages.success(request, f"{call.identifier} is funded by {form.cleaned_data['envelope'].code}.")
    else:
        messages.error(request, "Choose an envelope.")
    return redirect(f"{reverse('grants-finance')}#call-funding")


# --- grants -----------------------------------------------------------------------------------------


@login_required
@require_GET
def grant_list_view(request):
    _require(request, "grants.list_grants")
    calls = list(call_choices().only("id", "identifier"))
    envelopes = list(Envelope.objects.order_by("code").only("id", "code"))
    form = GrantFilterForm(request.GET or None, calls=calls, envelopes=envelopes)
    filters = form.cleaned_data if form.is_valid() else {}
    grants = grant_list(
        user=request.user,
        status=filters.get("status") or None,
        call_id=filters.get("call"),
        envelope_id=filters.get("envelope"),
        country=filters.get("country") or None,
        search=filters.get("q") or None,
    )
    page = Paginator(grants, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = grant_totals_attach(page.object_list)  # the ledger of this page's grants only
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "grants/grant_list.html", {"page": page, "form": form, "query": query.urlencode()})


@login_required
@require_http_methods(["GET", "POST"])
def grant_create_view(request):
    _require(request, "grants.add_grant")
    if request.method == "POST":
        form = GrantCreateForm(request.POST)
        if form.is_valid():  # a form that does not validate shows the list again (200)
            proposal = proposal_by_id(pk=form.cleaned_data["proposal"])
            if proposal is None:
                raise Http404("No Proposal matches the given query.")
            return form_post(
                request,
                form=form,
                template="grants/grant_create.html",
                context=lambda: {"proposals": selected_proposals_without_grant()},
                save=lambda _: services.grant_create_from_proposal(proposal=proposal, actor=request.user),
                success=lambda grant: f"Grant {grant.reference} prepared from proposal {proposal.reference}.",
                redirect_to=lambda grant: reverse("grants-detail", args=[grant.pk]),
            )
    proposals = selected_proposals_without_grant()
    return render(request, "grants/grant_create.html", {"proposals": proposals})


def _grant_page_context(request, grant: Grant, **forms) -> dict:
    ledger = list(grant_ledger(grant=grant))
    totals = Totals()
    paid_by_kind: dict[str, Decimal] = {}
    for entry in ledger:
        signed = entry.signed_amount
        if entry.kind == LedgerEntry.Kind.COMMITMENT:
            totals.committed += signed
        elif entry.kind == LedgerEntry.Kind.DECOMMITMENT:
            totals.decommitted += signed
        elif entry.kind == LedgerEntry.Kind.RECOVERY:
            totals.recovered += signed
        else:
            totals.payments += signed
            paid_by_kind[entry.kind] = paid_by_kind.get(entry.kind, Decimal("0.00")) + signed
            if entry.kind != LedgerEntry.Kind.FINAL:
                totals.prefinancing_interim += signed
        totals.withheld += -entry.withheld if entry.reverses_id else entry.withheld
    for entry in ledger:
        entry.reversible = ledger_entry_reversible(entry=entry, grant=grant, totals=totals)
    letters = list(grant.award_letters.all())
    user = request.user
    context = {
        "grant": grant,
        "ledger": ledger,
        "totals": totals,
        "schedule": payment_schedule(grant, paid_by_kind=paid_by_kind),
        "letters": [letter for letter in letters if user.has_perm("grants.view_award_letter", letter)],
        "letter_pending": any(letter.status == AwardLetter.Status.PENDING for letter in letters),
        "actions": grant_actions(grant=grant, user=user, totals=totals),
        "can_correct_ledger": user.has_perm("grants.correct_ledger", grant),
        "commitment_form": CommitmentForm(initial={"envelope": grant.envelope_id}),
        "payment_form": PaymentForm(),
        "decommitment_form": AmountForm(prefix="decommit"),
        "recovery_form": AmountForm(prefix="recover"),
        "terminate_form": ReasonForm(prefix="terminate"),
    }
    context.update(forms)
    return context


def _grant(request, pk: int) -> Grant:
    grant = grant_detail(user=request.user, pk=pk)
    if grant is None:
        raise Http404("No such grant.")
    return grant


@login_required
@require_GET
def grant_detail_view(request, pk: int):
    grant = _grant(request, pk)
    return render(request, "grants/grant_detail.html", _grant_page_context(request, grant))


def _grant_action(request, pk: int, *, perm: str, form_class, form_name: str, prefix=None, act):
    """Validate the form, run the service (`act` returns the success message); on a refusal render the grant page
    with the message and its status."""
    grant = _grant(request, pk)
    _require(request, perm, grant)
    form = form_class(request.POST, prefix=prefix) if form_class else None
    forms = {form_name: form} if form is not None else {}

    def read_again(exc) -> None:
        nonlocal grant
        grant = _grant(request, pk)  # the service may have changed it in memory before it refused

    return form_post(
        request,
        form=form,
        template="grants/grant_detail.html",
        context=lambda: _grant_page_context(request, grant, **forms),
        save=lambda data: act(grant, data),
        success=lambda message: message,
        redirect_to=reverse("grants-detail", args=[pk]),
        invalid_message="The form has errors: nothing was recorded.",
        on_refusal=read_again,
    )


@login_required
@require_POST
def grant_commit_view(request, pk: int):
    def act(grant, data):
        entry = services.commitment_create(grant=grant, actor=request.user, **data)
        return f"{_eur(entry.amount)} committed against {entry.envelope.code}."

    return _grant_action(
        request, pk, perm="grants.commit", form_class=CommitmentForm, form_name="commitment_form", act=act
    )


@login_required
@require_POST
def grant_sign_view(request, pk: int):
    def act(grant, data):
        services.grant_sign(grant=grant, actor=request.user)
        return f"{grant.reference} signed; the award letter is being rendered."

    return _grant_action(request, pk, perm="grants.sign", form_class=None, form_name="", act=act)


@login_required
@require_POST
def grant_pay_view(request, pk: int):
    def act(grant, data):
        entry = services.payment_record(grant=grant, actor=request.user, **data)
        extra = f" ({_eur(entry.withheld)} withheld for mutual insurance)" if entry.withheld else ""
        return f"{entry.get_kind_display()} of {_eur(entry.amount)} recorded{extra}."

    return _grant_action(request, pk, perm="grants.pay", form_class=PaymentForm, form_name="payment_form", act=act)


@login_required
@require_POST
def grant_decommit_view(request, pk: int):
    def act(grant, data):
        entry = services.decommitment_create(grant=grant, actor=request.user, **data)
        return f"{_eur(entry.amount)} decommitted."

    return _grant_action(
        request,
        pk,
        perm="grants.decommit",
        form_class=AmountForm,
        form_name="decommitment_form",
        prefix="decommit",
        act=act,
    )


@login_required
@require_POST
def grant_recover_view(request, pk: int):
    def act(grant, data):
        entry = services.recovery_record(grant=grant, actor=request.user, **data)
        return f"Recovery of {_eur(entry.amount)} recorded."

    return _grant_action(
        request, pk, perm="grants.pay", form_class=AmountForm, form_name="recovery_form", prefix="recover", act=act
    )


@login_required
@require_POST
def grant_terminate_view(request, pk: int):
    def act(grant, data):
        services.grant_terminate(grant=grant, actor=request.user, reason=data["reason"])
        return f"{grant.reference} terminated; what was committed and unpaid is decommitted."

    return _grant_action(
        request,
        pk,
        perm="grants.terminate",
        form_class=ReasonForm,
        form_name="terminate_form",
        prefix="terminate",
        act=act,
    )


@login_required
@require_POST
def ledger_reverse_view(request, pk: int, entry_id: int):
    def act(grant, data):
        entry = get_object_or_404(LedgerEntry, pk=entry_id, grant=grant)
        services.ledger_entry_reverse(entry=entry, reason=data["reason"], actor=request.user)
        return f"Entry #{entry.pk} reversed."

    return _grant_action(
        request,
        pk,
        perm="grants.correct_ledger",
        form_class=ReasonForm,
        form_name="reverse_form",
        prefix=f"reverse{entry_id}",
        act=act,
    )


@login_required
@require_POST
def award_letter_issue_view(request, pk: int):
    def act(grant, data):
        letter = services.award_letter_request(grant=grant, actor=request.user)
        return f"Award letter version {letter.version} requested."

    return _grant_action(request, pk, perm="grants.issue_award_letter", form_class=None, form_name="", act=act)


@login_required
@require_GET
def award_letter_download(request, pk: int, version: int):
    grant = _grant(request, pk)
    letter = get_object_or_404(AwardLetter.objects.select_related("grant"), grant=grant, version=version)
    if not request.user.has_perm("grants.view_award_letter", letter):
        raise Http404("No such award letter.")
    if letter.status != AwardLetter.Status.READY:
        messages.info(
            request, f"Version {letter.version} of the award letter is {letter.get_status_display().lower()}."
        )
        return redirect("grants-detail", pk=pk)
    response = FileResponse(letter.file.open("rb"), content_type="application/pdf", as_attachment=True,
                            filename=letter.filename)  # fmt: skip
    response["X-Content-SHA256"] = letter.sha256
    return response


def _eur(amount) -> str:
    from eurohpc.formatting import eur

    return eur(amount)


# --- exports ----------------------------------------------------------------------------------------


class _Echo:
    def write(self, value):
        return value


LEDGER_HEADER = ["entry", "created_at", "grant", "beneficiary", "envelope", "kind", "reversal_of", "amount",
                 "signed_amount", "withheld", "net_transfer", "actor", "memo"]  # fmt: skip
POSITION_HEADER = ["envelope", "name", "programme", "period", "parent", "as_of", "amount", "committed", "decommitted",
                   "net_committed", "paid", "outstanding", "available"]  # fmt: skip
BENEFICIARY_HEADER = ["beneficiary", "legal_name", "country", "call", "grant", "programme", "year", "amount",
                      "envelope", "signed_on"]  # fmt: skip


def _ledger_rows(as_of):
    for entry in ledger_export_rows(as_of=as_of):
        yield [
            entry.pk,
            timezone.localtime(entry.created_at).isoformat(timespec="seconds"),
            entry.grant.reference,
            entry.grant.beneficiary.short_name,
            entry.envelope.code,
            entry.kind,
            entry.reverses_id or "",
            entry.amount,
            entry.signed_amount,
            entry.withheld,
            entry.net_paid if entry.kind in ("prefinancing", "interim", "final") else "",
            entry.actor.username if entry.actor else "system",
            entry.memo,
        ]


def _position_rows(as_of):
    for p in envelope_positions(as_of=as_of):
        e = p.envelope
        yield [e.code, e.name, e.get_programme_display(), e.period, e.parent.code if e.parent_id else "",
               as_of.isoformat() if as_of else "", p.amount, p.committed, p.decommitted, p.net_committed, p.paid,
               p.outstanding, p.available]  # fmt: skip


def _beneficiary_rows():
    for g in beneficiaries_open_data():
        envelope = g.envelope
        yield [g.beneficiary.short_name, g.beneficiary.legal_name, g.beneficiary.country, g.proposal.call.identifier,
               g.reference, envelope.get_programme_display() if envelope else "",
               timezone.localtime(g.signed_at).year if g.signed_at else "", g.eu_contribution,
               envelope.code if envelope else "", timezone.localtime(g.signed_at).date().isoformat()]  # fmt: skip


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(value):
    """Text that a spreadsheet would run as a formula is quoted (CSV injection); numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_response(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow([_safe(value) for value in row]) for row in _chain([header], rows)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _chain(first, rest):
    yield from first
    yield from rest


def _xlsx_response(filename: str, sheet: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(
        xlsx_bytes(sheet=sheet, header=header, rows=rows),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _export_name(stem: str, as_of, ext: str) -> str:
    return f"{stem}-{(as_of or timezone.localdate()).isoformat()}.{ext}"


@login_required
@require_GET
def ledger_export(request, fmt: str):
    _require(request, "grants.export")
    as_of, as_of_form = _as_of(request)
    if as_of_form.errors:
        return _refused_as_of_response(as_of_form)
    if fmt == "csv":
        return _csv_response(_export_name("ledger", as_of, "csv"), LEDGER_HEADER, _ledger_rows(as_of))
    return _xlsx_response(_export_name("ledger", as_of, "xlsx"), "Ledger", LEDGER_HEADER, _ledger_rows(as_of))


@login_required
@require_GET
def positions_export(request, fmt: str):
    _require(request, "grants.export")
    as_of, as_of_form = _as_of(request)
    if as_of_form.errors:
        return _refused_as_of_response(as_of_form)
    rows = list(_position_rows(as_of))
    if fmt == "csv":
        return _csv_response(_export_name("envelope-positions", as_of, "csv"), POSITION_HEADER, rows)
    return _xlsx_response(_export_name("envelope-positions", as_of, "xlsx"), "Positions", POSITION_HEADER, rows)


@require_GET
def beneficiaries_export(request, fmt: str):
    """Open data, like the EU Financial Transparency System: signed grants, their beneficiary and amount."""
    rows = list(_beneficiary_rows())
    if fmt == "csv":
        return _csv_response("aif-beneficiaries.csv", BENEFICIARY_HEADER, rows)
    return _xlsx_response("aif-beneficiaries.xlsx", "Beneficiaries", BENEFICIARY_HEADER, rows)


# --- public verification ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def verify_start(request):
    """Paste a SHA-256, or upload the PDF and let the page compute it."""
    if request.method == "POST":
        form = VerifyUploadForm(request.POST, request.FILES)
        if form.is_valid():
            digest = hashlib.sha256()
            for chunk in form.cleaned_data["file"].chunks():
                digest.update(chunk)
            return redirect("grants-verify", sha256=digest.hexdigest())
        return render(request, "grants/verify.html", {"form": form}, status=400)
    value = (request.GET.get("sha256") or "").strip().lower()
    if value:
        if SHA256.match(value):
            return redirect("grants-verify", sha256=value)
        messages.error(request, "A SHA-256 fingerprint is 64 hexadecimal characters.")
        return render(request, "grants/verify.html", {"form": VerifyUploadForm(), "value": value}, status=400)
    return render(request, "grants/verify.html", {"form": VerifyUploadForm()})


@require_GET
def verify_letter(request, sha256: str):
    """Whether the JU issued the document with this fingerprint: an award letter, else an Evaluation Summary
    Report. Of a report only what identifies it is shown; its scores and outcome stay confidential."""
    sha256 = sha256.lower()
    letter = report = None
    if SHA256.match(sha256):
        letter = award_letter_by_hash(sha256=sha256)
        if letter is None:
            report = summary_report_by_hash(sha256=sha256)
    return render(
        request,
        "grants/verify_result.html",
        {"letter": letter, "report": report, "sha256": sha256},
        status=200 if letter is not None or report is not None else 404,
    )
