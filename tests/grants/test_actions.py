"""The grant page offers only what the services accept: every rendered action is accepted when sent, and each
hidden one is refused by its service with the rule it breaks."""

import re
from decimal import Decimal

import pytest
from django.db import transaction

from eurohpc.errors import LimitExceeded, StateConflict
from grants.actions import grant_actions
from grants.models import Grant, LedgerEntry
from grants.selectors import grant_totals
from grants.services import commitment_create, grant_sign, ledger_entry_reverse, payment_record
from tests.conftest import api_for
from tests.grants.factories import make_signed

pytestmark = pytest.mark.django_db
ACTION_URL = re.compile(r'<form method="post" action="(/grants/\d+/[a-z0-9/-]+)"')


def _state(name: str, grant: Grant, tree, finance_officer) -> Grant:
    envelope = tree[1]
    if name == "partly committed":
        commitment_create(grant=grant, envelope=envelope, amount=Decimal("1000.00"), actor=finance_officer)
    elif name == "fully committed":
        commitment_create(grant=grant, envelope=envelope, amount=grant.eu_contribution, actor=finance_officer)
    elif name in ("signed", "paid in part", "closed"):
        make_signed(grant, envelope, actor=finance_officer)
        if name in ("paid in part", "closed"):
            payment_record(grant=grant, kind="prefinancing", amount=Decimal("1000000.00"), actor=finance_officer)
        if name == "closed":
            rest = grant_totals(grant=grant).outstanding
            payment_record(grant=grant, kind="final", amount=rest, actor=finance_officer)
    grant.refresh_from_db()
    return grant


def _payload(url: str, grant: Grant, tree) -> dict:
    if url.endswith("/commit/"):
        return {"envelope": grant.envelope_id or tree[1].pk, "amount": "1.00"}
    if url.endswith("/pay/"):
        return {"kind": "interim", "amount": "1.00"}
    if url.endswith("/decommit/"):
        return {"decommit-amount": "1.00"}
    if url.endswith("/recover/"):
        return {"recover-amount": "1.00"}
    if url.endswith("/terminate/"):
        return {"terminate-reason": "The hosting entity withdrew."}
    if "/reverse/" in url:
        entry_id = url.rstrip("/").split("/")[-2]
        return {f"reverse{entry_id}-reason": "Booked twice."}
    return {}


STATES = ["prepared", "partly committed", "fully committed", "signed", "paid in part", "closed"]


@pytest.mark.parametrize("state", STATES)
def test_every_action_the_grant_page_offers_is_accepted(client, grant, tree, finance_officer, state):
    grant = _state(state, grant, tree, finance_officer)
    client.force_login(finance_officer)
    page = client.get(f"/grants/{grant.pk}/").content.decode()
    urls = ACTION_URL.findall(page)
    refused = []
    for url in urls:
        savepoint = transaction.savepoint()
        try:
            response = client.post(url, _payload(url, grant, tree))
            if response.status_code != 302:
                refused.append((url, response.status_code))
        finally:
            transaction.savepoint_rollback(savepoint)
    assert refused == []
    offered = {url.split("/")[3] for url in urls}
    assert ("commit" in offered) == (state in ("prepared", "partly committed"))
    assert ("sign" in offered) == (state in ("partly committed", "fully committed"))
    assert ("pay" in offered) == (state in ("signed", "paid in part"))


def test_fully_committed_grant_offers_no_commitment_and_the_service_refuses_one(grant, tree, finance_officer):
    commitment_create(grant=grant, envelope=tree[1], amount=grant.eu_contribution, actor=finance_officer)
    assert "commit" not in grant_actions(grant=grant, user=finance_officer, totals=grant_totals(grant=grant))
    with pytest.raises(LimitExceeded) as refused:
        commitment_create(grant=grant, envelope=tree[1], amount=Decimal("0.01"), actor=finance_officer)
    assert refused.value.message == (
        f"{grant.reference}'s EU contribution of EUR 140,000,000.00 would be exceeded by EUR 0.01"
    )


def test_commitment_paid_against_offers_no_reversal_and_the_service_refuses_it(client, grant, tree, finance_officer):
    make_signed(grant, tree[1], actor=finance_officer)
    payment_record(grant=grant, kind="prefinancing", amount=Decimal("1000000.00"), actor=finance_officer)
    commitment = LedgerEntry.objects.get(grant=grant, kind=LedgerEntry.Kind.COMMITMENT)
    client.force_login(finance_officer)
    page = client.get(f"/grants/{grant.pk}/").content.decode()
    assert f"/ledger/{commitment.pk}/reverse/" not in page
    assert "paid against" in page
    with pytest.raises(LimitExceeded) as refused:
        ledger_entry_reverse(entry=commitment, reason="Booked twice.", actor=finance_officer)
    assert refused.value.message.startswith(f"{grant.reference} has EUR 139,000,000.00 committed and unpaid")


def test_signed_grant_offers_no_second_signature_and_the_service_refuses_it(grant, tree, finance_officer):
    make_signed(grant, tree[1], actor=finance_officer)
    assert "sign" not in grant_actions(grant=grant, user=finance_officer, totals=grant_totals(grant=grant))
    with pytest.raises(StateConflict, match=r"it cannot be signed again\.$"):
        grant_sign(grant=grant, actor=finance_officer)


def test_grant_api_detail_lists_the_actions_open_to_the_user(grant, tree, finance_officer, applicant):
    commitment_create(grant=grant, envelope=tree[1], amount=Decimal("1000.00"), actor=finance_officer)
    body = api_for(finance_officer).get(f"/api/v1/grants/{grant.pk}/").json()
    assert body["actions"] == ["commit", "sign", "decommit", "terminate", "issue_award_letter"]
    assert api_for(applicant).get(f"/api/v1/grants/{grant.pk}/").json()["actions"] == []


def test_a_candidate_without_eu_contribution_offers_no_grant_and_the_service_refuses_it(
    client, applicant, programme_officer, finance_officer, freezer
):
    from eurohpc.errors import RuleViolation
    from grants.services import grant_create_from_proposal
    from tests.grants.factories import make_selected

    national_only = [{"category": "acquisition", "total_cost": "1000000.00", "eu_contribution": "0.00",
                      "national_contribution": "1000000.00"}]  # fmt: skip
    proposal = make_selected(applicant=applicant, officer=programme_officer, freezer=freezer,
                             budget=national_only)  # fmt: skip
    client.force_login(finance_officer)
    page = client.get("/grants/new/").content.decode()
    assert f'name="proposal" value="{proposal.pk}"' not in page
    assert "No EU contribution requested: nothing to grant." in page
    with pytest.raises(RuleViolation) as refused:
        grant_create_from_proposal(proposal=proposal, actor=finance_officer)
    assert refused.value.message == f"Proposal {proposal} asks for no EU contribution: there is nothing to grant."


def _without_signatory(grant: Grant) -> None:
    from eurohpc.services import organisation_signatory_update

    organisation_signatory_update(organisation=grant.beneficiary, address="", representative_name="",
                                  representative_function="", actor=None)  # fmt: skip
    grant.beneficiary.refresh_from_db()


def test_beneficiary_without_address_or_representative_offers_no_signature_and_the_service_refuses_it(
    client, grant, tree, finance_officer
):
    commitment_create(grant=grant, envelope=tree[1], amount=grant.eu_contribution, actor=finance_officer)
    _without_signatory(grant)
    assert grant_actions(grant=grant, user=finance_officer, totals=grant_totals(grant=grant)) == [
        "decommit",
        "terminate",
    ]
    short = grant.beneficiary.short_name
    expected = (
        f"The award letter is addressed to {short}'s registered address and names its legal representative; the "
        f"organisation register holds no registered address and no legal representative for {short} yet. "
        "An administrator records them first."
    )
    with pytest.raises(StateConflict) as refused:
        grant_sign(grant=grant, actor=finance_officer)
    assert refused.value.message == expected
    assert refused.value.code == "beneficiary_signatory_missing"
    grant.refresh_from_db()
    assert grant.status == Grant.Status.BUDGET_COMMITTED  # nothing half-written

    response = api_for(finance_officer).post(f"/api/v1/grants/{grant.pk}/award-letter/")
    assert response.status_code == 409
    assert response.json()["detail"] == expected
    client.force_login(finance_officer)
    page = client.get(f"/grants/{grant.pk}/").content.decode()
    assert "the organisation register holds no registered address and no legal representative yet" in page
    assert f"/grants/{grant.pk}/award-letters/" not in page
