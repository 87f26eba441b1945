"""Writes of proposals: a proposal's state changes only here."""

from decimal import Decimal, InvalidOperation

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from calls.checks import failures, proposal_checks
from calls.documents import inspect_pdf
from calls.models import BudgetLine, Call, ConsortiumMember, CutOff, Document, Proposal
from calls.transitions import PROPOSAL, proposal_transition
from eurohpc.countries import COUNTRIES
from eurohpc.errors import RuleViolation, StateConflict
from eurohpc.formatting import eur, local
from eurohpc.models import Organisation, User
from eurohpc.services import audit_record, notification_queue
from hosting.models import Machine

CENT = Decimal("0.01")


# --- proposals --------------------------------------------------------------------------------------


def _locked_draft(proposal: Proposal) -> Proposal:
    locked = Proposal.objects.select_for_update(of=("self",)).select_related("call").get(pk=proposal.pk)
    if locked.status != Proposal.Status.DRAFT:
        raise StateConflict(
            f"Proposal {locked} is {locked.get_status_display().lower()}: only a draft can be changed.",
            code="not_draft",
        )
    return locked


def _check_machine_fields(*, type: str, machine: Machine | None, planned_machine_country: str) -> None:
    if type not in Proposal.Type.values:
        raise RuleViolation(
            f"Unknown proposal type {type!r}; types are {', '.join(Proposal.Type.values)}.", code="proposal_type"
        )
    if type == Proposal.Type.NEW_SYSTEM and machine is not None:
        raise RuleViolation("A new system proposal names the planned machine, not an existing one.", code="machine")
    if planned_machine_country and planned_machine_country not in COUNTRIES:
        raise RuleViolation(f"Unknown country {planned_machine_country!r}.", code="planned_machine_country")


@transaction.atomic
def proposal_create(
    *,
    call: Call,
    organisation: Organisation,
    type: str,
    title: str,
    acronym: str,
    abstract: str = "",
    experimental_platform: bool = False,
    machine: Machine | None = None,
    planned_machine_name: str = "",
    planned_machine_country: str = "",
    budget_lines: list[dict] | None = None,
    actor: User,
) -> Proposal:
    if call.status != Call.Status.OPEN or call.opens_at > timezone.now():
        raise StateConflict(f"{call.identifier} is not open for proposals.", code="call_not_open")
    if type not in call.allowed_types:
        label = Proposal.Type(type).label.lower() if type in Proposal.Type.values else type
        raise RuleViolation(f"{call.identifier} does not accept proposals for {label}.", code="type_allowed")
    _check_machine_fields(type=type, machine=machine, planned_machine_country=planned_machine_country)
    if not title.strip() or not acronym.strip():
        raise RuleViolation("A proposal needs a title and an acronym.", code="described")
    proposal = Proposal.objects.create(
        call=call,
        organisation=organisation,
        created_by=actor,
        type=type,
        title=title.strip(),
        acronym=acronym.strip(),
        abstract=abstract,
        experimental_platform=experimental_platform,
        machine=machine,
        planned_machine_name=planned_machine_name.strip(),
        planned_machine_country=planned_machine_country,
    )
    audit_record(
        actor=actor,
        verb="proposal.create",
        target=proposal,
        changes={"call": call.identifier, "type": type, "acronym": proposal.acronym},
    )
    if budget_lines is not None:
        proposal_set_budget(proposal=proposal, lines=budget_lines, actor=actor)
    return proposal


EDITABLE_FIELDS = {
    "type",
    "title",
    "acronym",
    "abstract",
    "experimental_platform",
    "machine",
    "planned_machine_name",
    "planned_machine_country",
}


@transaction.atomic
def proposal_update(*, proposal: Proposal, actor: User, **fields) -> Proposal:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise RuleViolation(f"These fields cannot be changed: {', '.join(sorted(unknown))}.", code="not_editable")
    proposal = _locked_draft(proposal)
    new_type = fields.get("type", proposal.type)
    if new_type not in proposal.call.allowed_types:
        label = Proposal.Type(new_type).label.lower() if new_type in Proposal.Type.values else new_type
        raise RuleViolation(f"{proposal.call.identifier} does not accept proposals for {label}.", code="type_allowed")
    _check_machine_fields(
        type=new_type,
        machine=fields.get("machine", proposal.machine),
        planned_machine_country=fields.get("planned_machine_country", proposal.planned_machine_country),
    )
    for name in ("title", "acronym"):
        if name in fields and not str(fields[name]).strip():
            raise RuleViolation(f"The {name} cannot be empty.", code="described")
    changes = {}
    for name, value in fields.items():
        if getattr(proposal, name) != value:
            changes[name] = str(value.pk if hasattr(value, "pk") else value)
            setattr(proposal, name, value.strip() if isinstance(value, str) else value)
    if changes:
        proposal.save()
        audit_record(actor=actor, verb="proposal.update", target=proposal, changes=changes)
    return proposal


def _money(value, field: str, category: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise RuleViolation(
            f"{category}: {field} must be an amount in EUR, got {value!r}.", code="budget_amount"
        ) from None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise RuleViolation(
            f"{category}: {field} must be in EUR with at most two decimals, got {value}.", code="budget_amount"
        )
    return amount.quantize(CENT)


@transaction.atomic
def proposal_set_budget(*, proposal: Proposal, lines: list[dict], actor: User) -> list[BudgetLine]:
    """Replace the budget. Each line: category, total_cost, eu_contribution, national_contribution."""
    proposal = _locked_draft(proposal)
    built, seen, errors = [], set(), {}
    for row in lines:
        category = row.get("category")
        if category not in BudgetLine.Category.values:
            raise RuleViolation(f"Unknown budget category {category!r}.", code="budget_category")
        label = BudgetLine.Category(category).label
        if category in seen:
            raise RuleViolation(f"{label} appears twice in the budget.", code="budget_category")
        seen.add(category)
        total = _money(row.get("total_cost"), "the total eligible cost", label)
        eu = _money(row.get("eu_contribution"), "the EU contribution", label)
        national = _money(row.get("national_contribution"), "the national contribution", label)
        if total <= 0:
            errors.setdefault(category, []).append(
                f"{label}: the total eligible cost must be positive, got {eur(total)}."
            )
        if eu < 0 or national < 0:
            errors.setdefault(category, []).append(f"{label}: contributions cannot be negative.")
        if eu + national != total:
            errors.setdefault(category, []).append(
                f"{label}: the national contribution must cover the rest of the cost: {eur(eu)} EU + "
                f"{eur(national)} national = {eur(eu + national)}, not {eur(total)}."
            )
        rate = proposal.call.funding_rate(category)
        cap = (total * rate).quantize(CENT)
        if total > 0 and eu > cap:
            errors.setdefault(category, []).append(
                f"{label}: the EU may contribute at most {rate * 100:.0f}% of the cost ({eur(cap)}); "
                f"{eur(eu)} requested exceeds it by {eur(eu - cap)}."
            )
        built.append(
            BudgetLine(
                proposal=proposal,
                category=category,
                total_cost=total,
                eu_contribution=eu,
                national_contribution=national,
            )
        )
    if errors:
        raise RuleViolation("The budget breaks the co-funding rules.", code="budget", errors=errors)
    proposal.budget_lines.all().delete()
    created = BudgetLine.objects.bulk_create(built)
    audit_record(
        actor=actor,
        verb="proposal.set_budget",
        target=proposal,
        changes={line.category: {"total": line.total_cost, "eu": line.eu_contribution} for line in built},
    )
    return created


@transaction.atomic
def consortium_member_add(
    *, proposal: Proposal, organisation: Organisation, role: str, actor: User
) -> ConsortiumMember:
    proposal = _locked_draft(proposal)
    if role not in ConsortiumMember.Role.values:
        raise RuleViolation(f"Unknown consortium role {role!r}.", code="consortium_role")
    if organisation.pk == proposal.organisation_id:
        raise RuleViolation("The applicant is not listed as its own consortium member.", code="consortium_self")
    if proposal.consortium_members.filter(organisation=organisation).exists():
        raise StateConflict(f"{organisation.short_name} is already a consortium member.", code="consortium_duplicate")
    member = ConsortiumMember.objects.create(
        proposal=proposal, organisation=organisation, role=role, country=organisation.country
    )
    audit_record(
        actor=actor,
        verb="proposal.add_member",
        target=proposal,
        changes={"organisation": organisation.short_name, "role": role},
    )
    return member


@transaction.atomic
def consortium_member_remove(*, member: ConsortiumMember, actor: User) -> None:
    proposal = _locked_draft(member.proposal)
    name = member.organisation.short_name
    member.delete()
    audit_record(actor=actor, verb="proposal.remove_member", target=proposal, changes={"organisation": name})


def document_store(*, proposal: Proposal, kind: str, uploaded_file, sha256: str, size: int, actor: User) -> Document:
    """Write a checked PDF and its row (the upload and the recorded history both store documents so)."""
    filename = (getattr(uploaded_file, "name", "") or "document.pdf").rsplit("/", 1)[-1][:255]
    document = Document(proposal=proposal, kind=kind, filename=filename, sha256=sha256, size=size, uploaded_by=actor)
    # The file is written before the row, so a committed row always points at a stored file.
    document.file.save(filename, uploaded_file, save=False)
    document.save()
    return document


@transaction.atomic
def document_upload(*, proposal: Proposal, kind: str, uploaded_file, actor: User) -> Document:
    if kind not in Document.Kind.values:
        raise RuleViolation(
            f"Unknown document kind {kind!r}; kinds are {', '.join(Document.Kind.values)}.", code="document_kind"
        )
    sha256, size = inspect_pdf(uploaded_file)
    proposal = _locked_draft(proposal)
    document = document_store(proposal=proposal, kind=kind, uploaded_file=uploaded_file, sha256=sha256, size=size,
                              actor=actor)  # fmt: skip
    audit_record(
        actor=actor,
        verb="proposal.upload_document",
        target=proposal,
        changes={"kind": kind, "filename": document.filename, "sha256": sha256, "size": size},
    )
    return document


@transaction.atomic
def document_delete(*, document: Document, actor: User) -> None:
    proposal = _locked_draft(document.proposal)
    path, storage = document.file.name, document.file.storage
    changes = {"kind": document.kind, "filename": document.filename, "sha256": document.sha256}
    document.delete()
    audit_record(actor=actor, verb="proposal.delete_document", target=proposal, changes=changes)
    transaction.on_commit(lambda: storage.delete(path))


def _receipt(proposal: Proposal) -> str:
    documents = "\n".join(
        f"  - {d.get_kind_display()}: {d.filename} ({d.size} bytes), SHA-256 {d.sha256}"
        for d in proposal.documents.order_by("uploaded_at", "id")
    )
    return (
        f"Your proposal {proposal.acronym} — {proposal.title} was submitted to {proposal.call.identifier}.\n\n"
        f"Reference: {proposal.reference}\n"
        f"Submitted: {local(proposal.submitted_at)}\n"
        f"Cut-off: {local(proposal.cut_off.closes_at)} (you may withdraw it until then)\n"
        f"Documents:\n{documents}\n"
    )


def _cut_offs_ahead(call: Call, now) -> QuerySet[CutOff]:
    """The cut-offs a submission made now would go to, soonest first."""
    return CutOff.objects.filter(call=call, closes_at__gt=now, processed_at__isnull=True).order_by("closes_at")


def call_takes_submissions(call: Call) -> bool:
    """proposal_submit would accept a draft of `call` now (its rules aside): open, and a cut-off lies ahead."""
    now = timezone.now()
    return call.status == Call.Status.OPEN and call.opens_at <= now and _cut_offs_ahead(call, now).exists()


def proposal_lock(*, proposal: Proposal) -> Proposal:
    """The proposal's row locked (in the caller's transaction) with its call, organisation and author, for a
    service of a higher app that acts on it (grants prepares a grant from it)."""
    return (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("call", "organisation", "created_by")
        .get(pk=proposal.pk)
    )


@transaction.atomic
def proposal_submit(*, proposal: Proposal, actor: User) -> Proposal:
    """Submit before the call's next cut-off. A second submit of the same proposal returns it unchanged."""
    # In the product's lock order (eurohpc/locking.py): the call, its next cut-off, then the proposal.
    call_id = Proposal.objects.filter(pk=proposal.pk).values_list("call_id", flat=True).get()
    call = Call.objects.select_for_update().get(pk=call_id)
    now = timezone.now()
    cut_off = _cut_offs_ahead(call, now).select_for_update().first()
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.status == Proposal.Status.SUBMITTED:
        return proposal  # a double click: one reference
    if proposal.status != Proposal.Status.DRAFT:
        raise StateConflict(
            f"Proposal {proposal} is {proposal.get_status_display().lower()}: only a draft can be submitted.",
            code="not_draft",
        )
    if call.status == Call.Status.DRAFT or call.opens_at > now:
        raise StateConflict(f"{call.identifier} is not open yet.", code="call_not_open")
    if call.status == Call.Status.CLOSED or cut_off is None:
        last = call.cut_offs.order_by("-closes_at").values_list("closes_at", flat=True).first()
        when = f" on {local(last)}" if last else ""
        raise StateConflict(f"{call.identifier} closed{when}: submissions are no longer accepted.", code="late")
    proposal.call = call
    checks = proposal_checks(proposal, at=now)
    problems = failures(checks)
    if problems:
        raise RuleViolation(
            f"The proposal cannot be submitted: {sum(len(v) for v in problems.values())} rule(s) not met.",
            code="submission_rules",
            errors=problems,
        )
    Call.objects.filter(pk=call.pk).update(next_reference_number=F("next_reference_number") + 1)
    proposal_transition(
        proposal=proposal,
        to=Proposal.Status.SUBMITTED,
        reference=f"{call.identifier}-{call.next_reference_number:04d}",
        submitted_at=now,
        submitted_by=actor,
        cut_off=cut_off,
    )
    audit_record(
        actor=actor,
        verb="proposal.submit",
        target=proposal,
        changes={"reference": proposal.reference, "cut_off": cut_off.closes_at},
    )
    body = _receipt(proposal)
    for recipient in {actor, proposal.created_by}:
        notification_queue(recipient=recipient, subject=f"Receipt: proposal {proposal.reference}", body=body)
    return proposal


@transaction.atomic
def proposal_withdraw(*, proposal: Proposal, actor: User) -> Proposal:
    proposal = Proposal.objects.select_for_update(of=("self",)).select_related("cut_off").get(pk=proposal.pk)
    if proposal.status != Proposal.Status.SUBMITTED:
        raise StateConflict(
            f"Proposal {proposal} is {proposal.get_status_display().lower()}: only a submitted "
            f"proposal can be withdrawn.",
            code="not_submitted",
        )
    if proposal.cut_off.closes_at <= timezone.now():
        raise StateConflict(
            f"The cut-off of {local(proposal.cut_off.closes_at)} has passed: the proposal can no longer be withdrawn.",
            code="late",
        )
    proposal_transition(proposal=proposal, to=Proposal.Status.WITHDRAWN, withdrawn_at=timezone.now())
    audit_record(actor=actor, verb="proposal.withdraw", target=proposal, changes={"status": "withdrawn"})
    return proposal


@transaction.atomic
def proposal_copy(*, proposal: Proposal, actor: User) -> Proposal:
    """A withdrawn proposal becomes a new draft with the same content, documents included."""
    source = Proposal.objects.select_related("call").get(pk=proposal.pk)
    if source.status != Proposal.Status.WITHDRAWN:
        raise StateConflict("Only a withdrawn proposal can be copied into a new draft.", code="not_withdrawn")
    if source.call.status != Call.Status.OPEN:
        raise StateConflict(
            f"{source.call.identifier} is no longer open: the copy could not be submitted.", code="call_not_open"
        )
    copy = Proposal.objects.create(
        call=source.call,
        organisation=source.organisation,
        created_by=actor,
        type=source.type,
        experimental_platform=source.experimental_platform,
        title=source.title,
        acronym=source.acronym,
        abstract=source.abstract,
        machine=source.machine,
        planned_machine_name=source.planned_machine_name,
        planned_machine_country=source.planned_machine_country,
        copied_from=source,
    )
    BudgetLine.objects.bulk_create(
        [
            BudgetLine(
                proposal=copy,
                category=line.category,
                total_cost=line.total_cost,
                eu_contribution=line.eu_contribution,
                national_contribution=line.national_contribution,
            )
            for line in source.budget_lines.all()
        ]
    )
    ConsortiumMember.objects.bulk_create(
        [
            ConsortiumMember(proposal=copy, organisation_id=m.organisation_id, country=m.country, role=m.role)
            for m in source.consortium_members.order_by("id")
        ]
    )
    for doc in source.documents.order_by("uploaded_at", "id"):
        duplicate = Document(
            proposal=copy, kind=doc.kind, filename=doc.filename, sha256=doc.sha256, size=doc.size, uploaded_by=actor
        )
        with doc.file.open("rb") as handle:
            duplicate.file.save(doc.filename, ContentFile(handle.read()), save=False)
        duplicate.save()
    audit_record(actor=actor, verb="proposal.copy", target=copy, changes={"copied_from": source.reference})
    return copy


# The states an eligibility decision is recorded from, as the proposal's map allows them.
SCREENABLE = tuple(
    state for state in Proposal.Status
    if PROPOSAL.allows(state, Proposal.Status.ELIGIBLE) or PROPOSAL.allows(state, Proposal.Status.INELIGIBLE)
)  # fmt: skip


def eligibility_recordable(proposal: Proposal) -> bool:
    """proposal_record_eligibility would take a decision now: submitted (or screened) and its cut-off passed.
    The eligibility page shows its form only then."""
    cut_off = proposal.cut_off
    return proposal.status in SCREENABLE and cut_off is not None and cut_off.closes_at <= timezone.now()


@transaction.atomic
def proposal_record_eligibility(*, proposal: Proposal, eligible: bool, reason: str, actor: User) -> Proposal:
    proposal = Proposal.objects.select_for_update(of=("self",)).select_related("cut_off", "call").get(pk=proposal.pk)
    reason = (reason or "").strip()
    if proposal.status not in SCREENABLE:
        raise StateConflict(
            f"Proposal {proposal} is {proposal.get_status_display().lower()}: eligibility is "
            f"recorded for submitted proposals only.",
            code="not_screening",
        )
    if proposal.cut_off.closes_at > timezone.now():
        raise StateConflict(
            f"Eligibility is recorded once the cut-off has passed; proposal {proposal} belongs to the "
            f"cut-off of {local(proposal.cut_off.closes_at)}.",
            code="cut_off_not_passed",
        )
    if not reason:
        raise RuleViolation(
            "Give the reason for the eligibility decision.",
            code="reason_required",
            errors={"reason": ["This field may not be blank."]},
        )
    before = proposal_transition(
        proposal=proposal,
        to=Proposal.Status.ELIGIBLE if eligible else Proposal.Status.INELIGIBLE,
        eligibility_reason=reason,
        eligibility_decided_at=timezone.now(),
        eligibility_decided_by=actor,
    )
    audit_record(
        actor=actor,
        verb="proposal.record_eligibility",
        target=proposal,
        changes={"from": before, "to": proposal.status, "reason": reason},
    )
    outcome = "eligible" if eligible else "not eligible"
    body = (
        f"Your proposal {proposal.reference} ({proposal.acronym}) was found {outcome} for evaluation.\n\n"
        f"Reason: {reason}\n"
    )
    recipients = {u for u in (proposal.created_by, proposal.submitted_by) if u is not None}
    for recipient in recipients:
        notification_queue(recipient=recipient, subject=f"Eligibility: proposal {proposal.reference}", body=body)
    return proposal


@transaction.atomic
def proposal_change(*, proposal: Proposal, actor: User, budget_lines: list[dict] | None = None, **fields) -> Proposal:
    """Change a draft's fields and, when given, replace its budget — all or nothing."""
    if fields:
        proposal = proposal_update(proposal=proposal, actor=actor, **fields)
    if budget_lines is not None:
        proposal_set_budget(proposal=proposal, lines=budget_lines, actor=actor)
    return proposal
