"""Recording the programme's decisions taken before this system ran."""

from datetime import datetime

from django.db import transaction
from django.db.models import F

from calls.documents import inspect_pdf
from calls.models import BudgetLine, Call, CutOff, Document, Proposal
from calls.services.proposals import document_store
from calls.transitions import HISTORY_STATES
from eurohpc.errors import RuleViolation
from eurohpc.models import Organisation, User
from eurohpc.services import audit_record
from hosting.models import Machine


@transaction.atomic
def proposal_record_history(
    *,
    call: Call,
    cut_off: CutOff,
    organisation: Organisation,
    created_by: User,
    type: str,
    title: str,
    acronym: str,
    status: str,
    submitted_at: datetime,
    decided_at: datetime,
    reason: str,
    machine: Machine | None = None,
    planned_machine_name: str = "",
    planned_machine_country: str = "",
    budget_lines: list[dict] | None = None,
    documents: list[tuple[str, object]] | None = None,
    actor: User | None,
) -> Proposal:
    """Record a proposal decided before this system ran (the programme's published selections).

    It enters with its final status, a reference of its call, its budget lines and documents (`(kind, file)`,
    each a checked PDF, dated as submitted), and an audit event saying it was recorded.
    """
    if status not in HISTORY_STATES:
        raise RuleViolation("Only decided proposals (selected, reserve, rejected) are recorded as history.")
    if cut_off.call_id != call.pk or submitted_at >= cut_off.closes_at:
        raise RuleViolation("A historic proposal belongs to a cut-off of its call, submitted before it.")
    call = Call.objects.select_for_update().get(pk=call.pk)
    proposal = Proposal.objects.create(
        call=call,
        organisation=organisation,
        created_by=created_by,
        submitted_by=created_by,
        type=type,
        title=title,
        acronym=acronym,
        abstract=title,
        machine=machine,
        planned_machine_name=planned_machine_name,
        planned_machine_country=planned_machine_country,
        status=status,
        submitted_at=submitted_at,
        cut_off=cut_off,
        reference=f"{call.identifier}-{call.next_reference_number:04d}",
        eligibility_reason=reason,
        eligibility_decided_at=decided_at,
    )
    Call.objects.filter(pk=call.pk).update(next_reference_number=F("next_reference_number") + 1)
    BudgetLine.objects.bulk_create([BudgetLine(proposal=proposal, **line) for line in budget_lines or []])
    for kind, uploaded_file in documents or []:
        if kind not in Document.Kind.values:
            raise RuleViolation(f"Unknown document kind {kind!r}.", code="document_kind")
        sha256, size = inspect_pdf(uploaded_file)
        document = document_store(proposal=proposal, kind=kind, uploaded_file=uploaded_file, sha256=sha256,
                                  size=size, actor=created_by)  # fmt: skip
        # uploaded_at is set on save; the record keeps the submission's time.
        Document.objects.filter(pk=document.pk).update(uploaded_at=submitted_at)
    audit_record(
        actor=actor,
        verb="proposal.record_history",
        target=proposal,
        changes={"status": status, "reference": proposal.reference, "decided_at": decided_at},
    )
    return proposal
