"""Submissions racing each other on PostgreSQL: references stay unique and a double submit yields one."""

import pytest

from calls.models import Call, Proposal
from calls.services import proposal_submit
from eurohpc.selectors import audit_chain_report
from tests.calls.factories import make_call, make_draft
from tests.conftest import race, requires_postgresql

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]


def test_concurrent_submits_of_one_proposal_yield_one_reference(applicant):
    proposal = make_draft(call=make_call(), applicant=applicant)
    results, errors = race(*[lambda: proposal_submit(proposal=proposal, actor=applicant) for _ in range(4)])
    assert errors == []
    assert {r.reference for r in results} == {"EUROHPC-2026-CEI-AI-03-0001"}
    assert Call.objects.get().next_reference_number == 2


def test_concurrent_submits_of_different_proposals_get_distinct_references(applicant):
    call = make_call()
    drafts = [make_draft(call=call, applicant=applicant, acronym=f"P{i}") for i in range(4)]
    results, errors = race(*[lambda d=d: proposal_submit(proposal=d, actor=applicant) for d in drafts])
    assert errors == []
    assert sorted(r.reference for r in results) == [f"EUROHPC-2026-CEI-AI-03-{n:04d}" for n in range(1, 5)]
    assert Proposal.objects.filter(status="submitted").count() == 4
    assert audit_chain_report().ok
