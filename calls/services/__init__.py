"""Writes of calls, cut-offs and proposals. A proposal's state changes only through these."""

from calls.services.calls import (
    DEFAULT_TYPES_BY_PRONG,
    call_create,
    call_open,
    cut_off_add,
    cut_off_process,
    cut_offs_process_due,
)
from calls.services.history import proposal_record_history
from calls.services.proposals import (
    EDITABLE_FIELDS,
    call_takes_submissions,
    consortium_member_add,
    consortium_member_remove,
    document_delete,
    document_upload,
    eligibility_recordable,
    proposal_change,
    proposal_copy,
    proposal_create,
    proposal_record_eligibility,
    proposal_set_budget,
    proposal_submit,
    proposal_update,
    proposal_withdraw,
)

__all__ = [
    "DEFAULT_TYPES_BY_PRONG",
    "EDITABLE_FIELDS",
    "call_create",
    "call_open",
    "call_takes_submissions",
    "consortium_member_add",
    "consortium_member_remove",
    "cut_off_add",
    "cut_off_process",
    "cut_offs_process_due",
    "document_delete",
    "document_upload",
    "eligibility_recordable",
    "proposal_change",
    "proposal_copy",
    "proposal_create",
    "proposal_record_eligibility",
    "proposal_record_history",
    "proposal_set_budget",
    "proposal_submit",
    "proposal_update",
    "proposal_withdraw",
]
