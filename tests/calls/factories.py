"""Calls and proposals built through the services, up to any state of the applicant's journey."""

import io
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pypdf import PdfWriter

from calls.models import Call, Proposal
from calls.services import (
    call_create,
    consortium_member_add,
    cut_off_process,
    document_upload,
    proposal_create,
    proposal_record_eligibility,
    proposal_submit,
)
from hosting.models import Machine
from hosting.services import machine_create


def pdf_bytes(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_upload(name: str = "proposal.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(), content_type="application/pdf")


def make_call(
    *,
    identifier: str = "EUROHPC-2026-CEI-AI-03",
    prong: str = Call.Prong.NEW_HOST,
    cut_offs: list[datetime] | None = None,
    opens_at: datetime | None = None,
    status: str = Call.Status.OPEN,
    **kwargs,
) -> Call:
    now = timezone.now()
    return call_create(
        identifier=identifier,
        title="AI Factories: new AI-optimised supercomputers",
        prong=prong,
        opens_at=opens_at or now - timedelta(days=30),
        cut_offs=cut_offs if cut_offs is not None else [now + timedelta(days=10), now + timedelta(days=100)],
        status=status,
        actor=None,
        **kwargs,
    )


def make_machine(*, hosting_entity, name: str = "LUMI", country: str = "FI", **kwargs) -> Machine:
    defaults = {
        "machine_class": Machine.MachineClass.HIGH_END,
        "ai_capable": True,
        "selected_on": timezone.localdate() - timedelta(days=2 * 365),
    }
    return machine_create(
        name=name, hosting_entity=hosting_entity, country=country, actor=None, **{**defaults, **kwargs}
    )


NEW_SYSTEM_BUDGET = [
    {"category": "acquisition", "total_cost": "200000000.00", "eu_contribution": "100000000.00",
     "national_contribution": "100000000.00"},
    {"category": "operations", "total_cost": "60000000.00", "eu_contribution": "30000000.00",
     "national_contribution": "30000000.00"},
    {"category": "activities", "total_cost": "20000000.00", "eu_contribution": "10000000.00",
     "national_contribution": "10000000.00"},
]  # fmt: skip


def make_draft(
    *, call: Call, applicant, type: str = Proposal.Type.NEW_SYSTEM, machine=None, budget=None, documents=True, **kw
) -> Proposal:
    fields = {
        "title": "A new AI-optimised supercomputer for Europe",
        "acronym": "NORDAI",
        "abstract": "Training large models for European science and industry.",
        "planned_machine_name": "" if machine else "NORDAI-1",
        "planned_machine_country": "" if machine else "FI",
        **kw,
    }
    proposal = proposal_create(
        call=call,
        organisation=applicant.organisation,
        type=type,
        machine=machine,
        budget_lines=NEW_SYSTEM_BUDGET if budget is None else budget,
        actor=applicant,
        **fields,
    )
    if documents:
        document_upload(proposal=proposal, kind="proposal_form", uploaded_file=pdf_upload(), actor=applicant)
        if type == Proposal.Type.UPGRADE:
            document_upload(proposal=proposal, kind="ms_commitment_letter", uploaded_file=pdf_upload("ms.pdf"),
                            actor=applicant)  # fmt: skip
    return proposal


def make_submitted(*, call: Call, applicant, **kwargs) -> Proposal:
    return proposal_submit(proposal=make_draft(call=call, applicant=applicant, **kwargs), actor=applicant)


def make_eligible(*, call: Call, applicant, officer, freezer, **kwargs) -> Proposal:
    """Submit, let the cut-off pass (with the `freezer` fixture), process it, record eligibility."""
    proposal = make_submitted(call=call, applicant=applicant, **kwargs)
    freezer(proposal.cut_off.closes_at + timedelta(seconds=1))
    cut_off_process(cut_off=proposal.cut_off)
    return proposal_record_eligibility(proposal=proposal, eligible=True, reason="All rules met.", actor=officer)


def add_member(proposal: Proposal, organisation, applicant) -> None:
    consortium_member_add(proposal=proposal, organisation=organisation, role="partner", actor=applicant)


EUR = Decimal
