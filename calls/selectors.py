"""Reads of calls and proposals, each in a bounded number of queries."""

from decimal import Decimal

from django.db.models import Count, DecimalField, Max, Min, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from calls.models import BudgetLine, Call, ConsortiumMember, CutOff, Document, Proposal
from eurohpc.models import AuditEvent

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)


def call_list(*, user=None, include_drafts: bool = False) -> QuerySet[Call]:
    """Calls with their cut-offs (one prefetch) and the next cut-off, newest first."""
    now = timezone.now()
    calls = Call.objects.all()
    if not include_drafts:
        calls = calls.exclude(status=Call.Status.DRAFT)
    return (
        calls.annotate(
            next_cut_off=Min("cut_offs__closes_at", filter=Q(cut_offs__closes_at__gt=now)),
            last_cut_off=Max("cut_offs__closes_at"),
        )
        .prefetch_related(Prefetch("cut_offs", queryset=CutOff.objects.order_by("closes_at")))
        .order_by("status", "-opens_at", "identifier")
    )


def _filtered(proposals, *, call_id=None, cut_off_id=None, status=None, type=None, search=None):
    if call_id:
        proposals = proposals.filter(call_id=call_id)
    if cut_off_id:
        proposals = proposals.filter(cut_off_id=cut_off_id)
    if status:
        proposals = proposals.filter(status=status)
    if type:
        proposals = proposals.filter(type=type)
    if search:
        proposals = proposals.filter(
            Q(reference__icontains=search)
            | Q(acronym__icontains=search)
            | Q(title__icontains=search)
            | Q(organisation__short_name__icontains=search)
        )
    return proposals


def proposal_list_for_organisation(*, organisation_id: int, **filters) -> QuerySet[Proposal]:
    """An applicant organisation's proposals, drafts included, newest first (totals: `with_budget_totals`). Access
    applications have their own list (calls.access.selectors.application_list)."""
    proposals = (
        Proposal.objects.filter(organisation_id=organisation_id)
        .exclude(type=Proposal.Type.ACCESS)
        .select_related("call", "cut_off", "organisation")
    )
    return _filtered(proposals, **filters).order_by("-created_at", "-pk")


# What a row of the submissions (page and API) shows: the call's settings and the proposal's texts stay unread.
SUBMISSION_ROW_FIELDS = (
    "id", "call_id", "cut_off_id", "organisation_id", "type", "title", "acronym", "status", "reference",
    "submitted_at", "call__identifier", "cut_off__closes_at", "cut_off__processed_at", "organisation__short_name",
)  # fmt: skip


def submissions(**filters) -> QuerySet[Proposal]:
    """The officer's list of submitted proposals, filtered; drafts never appear (totals: `with_budget_totals`).
    Access applications have their own list (calls.access.selectors.application_list). Each row reads what the
    list shows (`SUBMISSION_ROW_FIELDS`)."""
    proposals = (
        Proposal.objects.exclude(status=Proposal.Status.DRAFT)
        .exclude(type=Proposal.Type.ACCESS)
        .select_related("call", "cut_off", "organisation")
        .only(*SUBMISSION_ROW_FIELDS)
    )
    return _filtered(proposals, **filters).order_by("-submitted_at", "-pk")


def with_budget_totals(proposals) -> list[Proposal]:
    """Attach `eu_requested` and `total_cost` to a page of proposals, in one aggregate query.

    Summing after pagination keeps a deep page as cheap as the first: the database adds up the budget lines
    of the 50 proposals shown, not of every proposal before them.
    """
    page = list(proposals)
    totals = {
        row["proposal_id"]: row
        for row in BudgetLine.objects.filter(proposal_id__in=[p.pk for p in page])
        .order_by()
        .values("proposal_id")
        .annotate(eu=Sum("eu_contribution"), total=Sum("total_cost"))
    }
    for proposal in page:
        row = totals.get(proposal.pk)
        # No budget line (a draft, or a historic record without published figures): no amount to show.
        proposal.eu_requested = row["eu"] if row else None
        proposal.total_cost = row["total"] if row else None
    return page


def call_choices() -> QuerySet[Call]:
    """Every call, by identifier, for a filter or a choice on another app's page."""
    return Call.objects.order_by("identifier")


def proposal_by_id(*, pk: int) -> Proposal | None:
    """One proposal with its call, cut-off and organisation, for a service of another app to act on (that
    service checks the proposal's state; the caller answers 404 for None)."""
    return Proposal.objects.select_related("call", "cut_off", "organisation").filter(pk=pk).first()


def selected_proposals() -> QuerySet[Proposal]:
    """The selected proposals with their applicant and call and their requested EU contribution (`eu_total`), by
    reference: the proposals a grant is prepared from."""
    return (
        Proposal.objects.filter(status=Proposal.Status.SELECTED)
        .select_related("organisation", "call")
        .annotate(eu_total=Coalesce(Sum("budget_lines__eu_contribution"), Value(ZERO), output_field=MONEY))
        .order_by("reference")
    )


def submission_counts(*, call_id=None) -> dict[str, int]:
    """Proposals that are not drafts (access applications included), per status, of one call or of all."""
    return submission_counts_of(submission_tally(call_id=call_id))


def submission_counts_of(tally: dict[tuple[str, str], int]) -> dict[str, int]:
    """`submission_counts` from a `submission_tally` already read."""
    counts: dict[str, int] = {}
    for (status, _type), n in tally.items():
        counts[status] = counts.get(status, 0) + n
    return counts


def submission_tally(*, call_id=None) -> dict[tuple[str, str], int]:
    """Proposals that are not drafts, per (status, type), of one call or of all; one query. The counts per status
    (`submission_counts`) and, for most filters, the number of submissions (`submission_total`) come from it."""
    rows = Proposal.objects.exclude(status=Proposal.Status.DRAFT)
    if call_id:
        rows = rows.filter(call_id=call_id)
    tally = rows.order_by("status", "type").values_list("status", "type").annotate(n=Count("pk"))
    return {(status, type_): n for status, type_, n in tally}


def submission_total(tally: dict[tuple[str, str], int], *, cut_off_id=None, status=None, type=None, search=None,
                     **_call) -> int | None:  # fmt: skip
    """How many rows `submissions(**filters)` has, from the call's `submission_tally`; None when a filter (a
    cut-off, a search) needs the rows counted."""
    if cut_off_id or search:
        return None
    return sum(
        n
        for (status_, type_), n in tally.items()
        if type_ != Proposal.Type.ACCESS and status in (None, status_) and type in (None, type_)
    )


def proposal_detail(*, queryset: QuerySet[Proposal]) -> QuerySet[Proposal]:
    """Everything the proposal page, the API and the rule checks read, in a fixed number of queries."""
    return queryset.select_related(
        "call",
        "cut_off",
        "organisation",
        "machine",
        "machine__hosting_entity",
        "created_by",
        "submitted_by",
        "eligibility_decided_by",
        "copied_from",
    ).prefetch_related(
        Prefetch("budget_lines", queryset=BudgetLine.objects.order_by("id")),
        Prefetch("consortium_members", queryset=ConsortiumMember.objects.select_related("organisation").order_by("id")),
        Prefetch("documents", queryset=Document.objects.select_related("uploaded_by").order_by("uploaded_at", "id")),
    )


TIMELINE_FIELDS = ("seq", "created_at", "verb", "actor", "actor_repr", "changes", "actor__first_name",
                   "actor__last_name", "actor__username")  # fmt: skip


# Steps of the evaluation the applicant (and anyone outside the programme office) may read on a proposal's history:
# the ones taken after publication, in the open. The others would name the experts (assignments, declarations,
# reviews, technical assessments) or tell of decisions before they are published.
PUBLIC_EVALUATION_VERBS = frozenset({"evaluation.promotion", "evaluation.withdrawal"})


def proposal_timeline(*, proposal: Proposal, user) -> list[AuditEvent]:
    """The proposal's history as recorded in the audit trail, oldest first: all of it for the programme office
    (`calls.view_evaluation_history`); for anyone else without the evaluation's inner steps."""
    events = (
        AuditEvent.objects.filter(target_type="calls.proposal", target_id=str(proposal.pk))
        .select_related("actor")
        .only(*TIMELINE_FIELDS)
        .order_by("seq")
    )
    if not user.has_perm("calls.view_evaluation_history"):
        events = events.exclude(Q(verb__startswith="evaluation.") & ~Q(verb__in=PUBLIC_EVALUATION_VERBS))
    return list(events)


def budget_totals(lines) -> dict:
    total = sum((line.total_cost for line in lines), 0)
    eu = sum((line.eu_contribution for line in lines), 0)
    national = sum((line.national_contribution for line in lines), 0)
    return {"total_cost": total, "eu_contribution": eu, "national_contribution": national}


def proposal_for(*, user, pk: int, queryset: QuerySet[Proposal] | None = None) -> Proposal:
    """The proposal `pk` if `user` may see it, read with `queryset` (default: everything its page reads).

    Another organisation's proposal does not exist for the user (404); an evaluator assigned to it who has not
    declared "no conflict" learns why it is closed (403 with the reason).
    """
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from calls.evaluation.rules import coi_closed_reason

    queryset = proposal_detail(queryset=Proposal.objects.all()) if queryset is None else queryset
    proposal = queryset.visible_to(user).filter(pk=pk).first()
    if proposal is not None:
        return proposal
    reason = coi_closed_reason(user, pk)
    if reason:
        raise PermissionDenied(reason)
    raise Http404("No proposal matches the given query.")
