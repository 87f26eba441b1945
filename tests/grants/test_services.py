from decimal import Decimal

import pytest

from calls.models import Proposal
from eurohpc.errors import LimitExceeded, RuleViolation, StateConflict
from eurohpc.models import AuditEvent
from grants.models import AwardLetter, Grant, LedgerEntry
from grants.selectors import envelope_available, envelope_position, grant_totals
from grants.services import (
    commitment_create,
    decommitment_create,
    envelope_create,
    envelope_set_amount,
    grant_create_from_proposal,
    grant_sign,
    grant_terminate,
    ledger_entry_reverse,
    payment_record,
    recovery_record,
)
from tests.calls.factories import make_call, make_eligible
from tests.grants.factories import make_envelope, make_selected, make_signed

pytestmark = pytest.mark.django_db
EUR = Decimal


# --- envelopes --------------------------------------------------------------------------------------


def test_envelope_create_refuses_child_larger_than_parent(tree):
    parent, _child = tree
    with pytest.raises(RuleViolation, match=r"^AIF-2025 \(EUR 900,000,000.00\) cannot be larger than AIF-2024-2027"):
        make_envelope(code="AIF-2025", amount="900000000.00", parent=parent, years=(2025, 2025))


def test_envelope_create_refuses_period_outside_parent(tree):
    parent, _child = tree
    with pytest.raises(RuleViolation) as refusal:
        make_envelope(code="AIF-2028", amount="1.00", parent=parent, years=(2028, 2028))
    assert refusal.value.message == "The period 2028–2028 lies outside AIF-2024-2027's period 2024–2027."


def test_envelope_create_refuses_duplicate_code(tree):
    with pytest.raises(StateConflict, match="^An envelope with the code AIF-2024 already exists.$"):
        envelope_create(code="aif-2024", name="x", programme="digital_europe", period_start=2024, period_end=2024,
                        amount=EUR("1.00"), actor=None)  # fmt: skip


def test_envelope_set_amount_refuses_below_commitments(tree, grant, finance_officer):
    _parent, child = tree
    commitment_create(grant=grant, envelope=child, amount=EUR("1000000.00"), actor=finance_officer)
    with pytest.raises(LimitExceeded) as refusal:
        envelope_set_amount(envelope=child, amount=EUR("999999.99"), actor=finance_officer)
    assert refusal.value.message == (
        "AIF-2024 has EUR 1,000,000.00 committed: its amount cannot fall to EUR 999,999.99 (short by EUR 0.01)."
    )


# --- grants -----------------------------------------------------------------------------------------


def test_grant_create_takes_the_proposal_budget(grant, applicant):
    assert grant.reference == f"GA-{grant.proposal.reference}"
    assert grant.beneficiary == applicant.organisation
    assert grant.status == Grant.Status.PREPARED
    assert grant.eu_contribution == EUR("140000000.00")
    assert grant.national_contribution == EUR("140000000.00")
    assert grant.total_cost == EUR("280000000.00")
    assert grant.co_funding_rate == EUR("0.5000")
    assert grant.mutual_insurance_rate == EUR("0.0500")
    assert [(line.category, line.eu_contribution) for line in grant.budget_lines.order_by("id")] == [
        ("acquisition", EUR("100000000.00")),
        ("operations", EUR("30000000.00")),
        ("activities", EUR("10000000.00")),
    ]
    assert AuditEvent.objects.filter(verb="grant.create", target_id=str(grant.pk)).exists()


def test_grant_create_refuses_proposal_not_selected(applicant, programme_officer, finance_officer, freezer):
    proposal = make_eligible(call=make_call(), applicant=applicant, officer=programme_officer, freezer=freezer)
    with pytest.raises(StateConflict) as refusal:
        grant_create_from_proposal(proposal=proposal, actor=finance_officer)
    assert refusal.value.status_code == 409
    assert refusal.value.message == (
        f"Proposal {proposal.reference} is eligible: only a selected proposal becomes a grant."
    )


def test_grant_create_refuses_a_second_grant(grant, finance_officer):
    with pytest.raises(StateConflict) as refusal:
        grant_create_from_proposal(proposal=grant.proposal, actor=finance_officer)
    assert refusal.value.message == f"Proposal {grant.proposal.reference} already became grant {grant.reference}."


def test_grant_create_uses_the_envelope_funding_the_call(tree, applicant, programme_officer, finance_officer, freezer):
    from grants.services import call_funding_set

    _parent, child = tree
    call = make_call(indicative_budget=EUR("1000000000.00"))
    call_funding_set(call=call, envelope=child, actor=finance_officer)
    proposal = make_selected(applicant=applicant, officer=programme_officer, freezer=freezer, call=call)
    assert grant_create_from_proposal(proposal=proposal, actor=finance_officer).envelope == child


# --- commitments ------------------------------------------------------------------------------------


def test_commitment_create_moves_grant_to_budget_committed(tree, grant, finance_officer):
    _parent, child = tree
    entry = commitment_create(grant=grant, envelope=child, amount=EUR("140000000.00"), actor=finance_officer)
    grant.refresh_from_db()
    assert (entry.kind, entry.amount, entry.envelope) == ("commitment", EUR("140000000.00"), child)
    assert grant.status == Grant.Status.BUDGET_COMMITTED
    assert grant.envelope == child
    assert envelope_position(envelope=child).available == EUR("260000000.00")


def test_commitment_create_refuses_when_envelope_exceeded(grant, finance_officer):
    parent = make_envelope(code="AIF-2024-2027", amount="800000000.00")
    child = make_envelope(code="AIF-2024", amount="138750000.00", parent=parent, years=(2024, 2024))
    with pytest.raises(LimitExceeded) as refusal:
        commitment_create(grant=grant, envelope=child, amount=EUR("140000000.00"), actor=finance_officer)
    assert refusal.value.status_code == 409
    assert refusal.value.message == "AIF-2024 would be exceeded by EUR 1,250,000.00"
    assert not LedgerEntry.objects.exists()


def test_commitment_create_refuses_when_parent_envelope_is_full(
    applicant, programme_officer, finance_officer, freezer, grant
):
    parent = make_envelope(code="AIF-2024-2027", amount="150000000.00")
    child_a = make_envelope(code="AIF-2024", amount="100000000.00", parent=parent, years=(2024, 2024))
    child_b = make_envelope(code="AIF-2025", amount="100000000.00", parent=parent, years=(2025, 2025))
    other = make_selected(applicant=applicant, officer=programme_officer, freezer=freezer, acronym="OTHER")
    other_grant = grant_create_from_proposal(proposal=other, actor=finance_officer)
    commitment_create(grant=grant, envelope=child_a, amount=EUR("100000000.00"), actor=finance_officer)
    commitment_create(grant=other_grant, envelope=child_b, amount=EUR("50000000.00"), actor=finance_officer)
    assert envelope_position(envelope=child_b).available == EUR("50000000.00")  # the child has room
    with pytest.raises(LimitExceeded, match=r"^AIF-2024-2027 would be exceeded by EUR 1\.00$"):
        commitment_create(grant=other_grant, envelope=child_b, amount=EUR("1.00"), actor=finance_officer)
    assert envelope_available(child_b) == EUR("0.00")


def test_commitment_create_refuses_beyond_the_grant(tree, grant, finance_officer):
    _parent, child = tree
    with pytest.raises(LimitExceeded) as refusal:
        commitment_create(grant=grant, envelope=child, amount=EUR("140000000.01"), actor=finance_officer)
    assert refusal.value.message == (
        f"{grant.reference}'s EU contribution of EUR 140,000,000.00 would be exceeded by EUR 0.01"
    )


def test_commitment_create_refuses_another_envelope(tree, grant, finance_officer):
    parent, child = tree
    commitment_create(grant=grant, envelope=child, amount=EUR("1.00"), actor=finance_officer)
    with pytest.raises(StateConflict) as refusal:
        commitment_create(grant=grant, envelope=parent, amount=EUR("1.00"), actor=finance_officer)
    assert refusal.value.message == (
        f"{grant.reference} is committed against AIF-2024: further commitments use the same envelope, "
        f"not AIF-2024-2027."
    )


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "The amount must be positive, got EUR 0.00."),
        ("-5.00", "The amount must be positive, got -EUR 5.00."),
        ("1.001", "The amount must be in EUR with at most two decimals, got 1.001."),
        ("abc", "The amount must be an amount in EUR, got 'abc'."),
    ],
)
def test_commitment_create_refuses_bad_amounts(tree, grant, finance_officer, amount, message):
    with pytest.raises(RuleViolation) as refusal:
        commitment_create(grant=grant, envelope=tree[1], amount=amount, actor=finance_officer)
    assert refusal.value.message == message


# --- signature --------------------------------------------------------------------------------------


def test_grant_sign_refuses_before_the_budget_commitment(grant, finance_officer):
    with pytest.raises(StateConflict) as refusal:
        grant_sign(grant=grant, actor=finance_officer)
    assert refusal.value.message == (
        f"{grant.reference} has no budget commitment yet: the grant is signed only after the budget commitment."
    )


def test_grant_sign_records_the_legal_commitment_and_issues_the_letter(
    tree, grant, finance_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signed = make_signed(grant, tree[1], actor=finance_officer)
    assert signed.status == Grant.Status.SIGNED
    assert signed.signed_by == finance_officer
    letter = AwardLetter.objects.get(grant=grant)
    assert (letter.version, letter.status) == (1, AwardLetter.Status.READY)  # the task ran eagerly after commit


def test_grant_sign_refuses_twice(tree, grant, finance_officer):
    make_signed(grant, tree[1], actor=finance_officer)
    with pytest.raises(StateConflict, match=r"is signed: it cannot be signed again\.$"):
        grant_sign(grant=grant, actor=finance_officer)


# --- payments ---------------------------------------------------------------------------------------


def test_payment_refused_before_signature(tree, grant, finance_officer):
    commitment_create(grant=grant, envelope=tree[1], amount=EUR("1000.00"), actor=finance_officer)
    with pytest.raises(StateConflict) as refusal:
        payment_record(grant=grant, kind="prefinancing", amount=EUR("100.00"), actor=finance_officer)
    assert refusal.value.message == f"{grant.reference} is budget committed: payments are made on a signed grant only."


def test_prefinancing_deducts_the_mutual_insurance_contribution(tree, grant, finance_officer):
    make_signed(grant, tree[1], actor=finance_officer)
    entry = payment_record(grant=grant, kind="prefinancing", amount=EUR("56000000.00"), actor=finance_officer)
    assert entry.withheld == EUR("2800000.00")
    assert entry.net_paid == EUR("53200000.00")
    grant.refresh_from_db()
    assert grant.status == Grant.Status.ACTIVE


def test_mutual_insurance_rate_is_configurable(tree, settings, applicant, programme_officer, finance_officer, freezer):
    settings.GRANTS_MUTUAL_INSURANCE_RATE = "0.08"
    proposal = make_selected(applicant=applicant, officer=programme_officer, freezer=freezer)
    grant = grant_create_from_proposal(proposal=proposal, actor=finance_officer)
    make_signed(grant, tree[1], actor=finance_officer)
    entry = payment_record(grant=grant, kind="prefinancing", amount=EUR("1000.00"), actor=finance_officer)
    assert entry.withheld == EUR("80.00")


def test_payment_refused_beyond_net_commitment(tree, grant, finance_officer):
    make_signed(grant, tree[1], amount="1000000.00", actor=finance_officer)
    with pytest.raises(LimitExceeded) as refusal:
        payment_record(grant=grant, kind="interim", amount=EUR("1000000.01"), actor=finance_officer)
    assert refusal.value.message == (
        f"Payments on {grant.reference} would exceed its net commitment of EUR 1,000,000.00 by EUR 0.01"
    )


def test_prefinancing_and_interim_capped_at_90_percent(tree, grant, finance_officer):
    make_signed(grant, tree[1], actor=finance_officer)
    payment_record(grant=grant, kind="prefinancing", amount=EUR("56000000.00"), actor=finance_officer)
    payment_record(grant=grant, kind="interim", amount=EUR("70000000.00"), actor=finance_officer)
    with pytest.raises(LimitExceeded) as refusal:
        payment_record(grant=grant, kind="interim", amount=EUR("0.01"), actor=finance_officer)
    assert refusal.value.message == (
        f"Pre-financing and interim payments on {grant.reference} would exceed 90% of the grant "
        f"(EUR 126,000,000.00) by EUR 0.01"
    )


def test_final_payment_settles_the_balance_and_closes(tree, grant, finance_officer):
    make_signed(grant, tree[1], actor=finance_officer)
    payment_record(grant=grant, kind="prefinancing", amount=EUR("56000000.00"), actor=finance_officer)
    payment_record(grant=grant, kind="interim", amount=EUR("70000000.00"), actor=finance_officer)
    payment_record(grant=grant, kind="final", amount=EUR("10000000.00"), actor=finance_officer)
    grant.refresh_from_db()
    totals = grant_totals(grant=grant)
    assert grant.status == Grant.Status.CLOSED
    assert totals.paid == EUR("136000000.00")
    assert totals.decommitted == EUR("4000000.00")
    assert totals.outstanding == EUR("0.00")
    assert envelope_position(envelope=tree[1]).available == EUR("264000000.00")
    with pytest.raises(StateConflict, match="is closed: payments are made on a signed grant only.$"):
        payment_record(grant=grant, kind="interim", amount=EUR("1.00"), actor=finance_officer)


def test_unknown_payment_kind_refused(tree, grant, finance_officer):
    with pytest.raises(RuleViolation) as refusal:
        payment_record(grant=grant, kind="bonus", amount=EUR("1.00"), actor=finance_officer)
    assert refusal.value.message == "Unknown payment kind 'bonus'; kinds are prefinancing, interim, final."


# --- decommitments, recoveries, corrections, termination --------------------------------------------


def test_decommitment_refused_beyond_committed_and_unpaid(tree, grant, finance_officer):
    make_signed(grant, tree[1], amount="1000000.00", actor=finance_officer)
    payment_record(grant=grant, kind="prefinancing", amount=EUR("400000.00"), actor=finance_officer)
    with pytest.raises(LimitExceeded) as refusal:
        decommitment_create(grant=grant, amount=EUR("600000.01"), actor=finance_officer)
    assert refusal.value.message == (
        f"{grant.reference} has EUR 600,000.00 committed and unpaid: a decommitment of EUR 600,000.01 exceeds it "
        f"by EUR 0.01"
    )
    decommitment_create(grant=grant, amount=EUR("600000.00"), actor=finance_officer)
    assert grant_totals(grant=grant).outstanding == EUR("0.00")


def test_recovery_refused_beyond_paid(tree, grant, finance_officer):
    make_signed(grant, tree[1], amount="1000.00", actor=finance_officer)
    payment_record(grant=grant, kind="interim", amount=EUR("100.00"), actor=finance_officer)
    with pytest.raises(LimitExceeded) as refusal:
        recovery_record(grant=grant, amount=EUR("100.01"), actor=finance_officer)
    assert (
        refusal.value.message
        == f"{grant.reference} was paid EUR 100.00: a recovery of EUR 100.01 exceeds it by EUR 0.01"
    )
    recovery_record(grant=grant, amount=EUR("40.00"), actor=finance_officer)
    assert grant_totals(grant=grant).paid == EUR("60.00")


def test_reversal_cancels_an_entry_without_changing_it(tree, grant, finance_officer):
    make_signed(grant, tree[1], amount="1000.00", actor=finance_officer)
    payment = payment_record(grant=grant, kind="interim", amount=EUR("300.00"), actor=finance_officer)
    reversal = ledger_entry_reverse(entry=payment, reason="Paid twice by mistake", actor=finance_officer)
    assert (reversal.kind, reversal.amount, reversal.reverses_id) == ("interim", EUR("300.00"), payment.pk)
    assert grant_totals(grant=grant).paid == EUR("0.00")
    payment.refresh_from_db()
    assert payment.amount == EUR("300.00")
    with pytest.raises(StateConflict, match=rf"^Entry #{payment.pk} is already reversed\.$"):
        ledger_entry_reverse(entry=payment, reason="again", actor=finance_officer)
    with pytest.raises(StateConflict, match=r"^A reversing entry cannot itself be reversed"):
        ledger_entry_reverse(entry=reversal, reason="again", actor=finance_officer)


def test_reversal_of_a_commitment_refused_beyond_unpaid(tree, grant, finance_officer):
    make_signed(grant, tree[1], amount="1000.00", actor=finance_officer)
    payment_record(grant=grant, kind="interim", amount=EUR("300.00"), actor=finance_officer)
    commitment = LedgerEntry.objects.get(kind="commitment")
    with pytest.raises(LimitExceeded) as refusal:
        ledger_entry_reverse(entry=commitment, reason="wrong amount", actor=finance_officer)
    assert refusal.value.message == (
        f"{grant.reference} has EUR 700.00 committed and unpaid: reversing a commitment of EUR 1,000.00 exceeds it "
        f"by EUR 300.00"
    )


def test_reversal_of_a_decommitment_must_fit_the_envelope(
    grant, finance_officer, applicant, programme_officer, freezer
):
    envelope = make_envelope(code="AIF-2024", amount="1000.00")
    commitment_create(grant=grant, envelope=envelope, amount=EUR("1000.00"), actor=finance_officer)
    decommitment = decommitment_create(grant=grant, amount=EUR("400.00"), actor=finance_officer)
    other = grant_create_from_proposal(
        proposal=make_selected(applicant=applicant, officer=programme_officer, freezer=freezer, acronym="OTHER"),
        actor=finance_officer,
    )
    commitment_create(grant=other, envelope=envelope, amount=EUR("300.00"), actor=finance_officer)
    with pytest.raises(LimitExceeded, match=r"^AIF-2024 would be exceeded by EUR 300\.00$"):
        ledger_entry_reverse(entry=decommitment, reason="decommitted by mistake", actor=finance_officer)


def test_reversal_requires_a_reason(tree, grant, finance_officer):
    entry = commitment_create(grant=grant, envelope=tree[1], amount=EUR("1.00"), actor=finance_officer)
    with pytest.raises(RuleViolation, match="^Give the reason for the correction.$"):
        ledger_entry_reverse(entry=entry, reason="  ", actor=finance_officer)


def test_terminate_decommits_what_is_unpaid(tree, grant, finance_officer):
    make_signed(grant, tree[1], amount="1000.00", actor=finance_officer)
    payment_record(grant=grant, kind="prefinancing", amount=EUR("200.00"), actor=finance_officer)
    grant_terminate(grant=grant, reason="The hosting entity withdrew.", actor=finance_officer)
    grant.refresh_from_db()
    assert grant.status == Grant.Status.TERMINATED
    assert grant_totals(grant=grant).outstanding == EUR("0.00")
    assert grant_totals(grant=grant).decommitted == EUR("800.00")
    with pytest.raises(StateConflict, match="is terminated: it cannot be terminated.$"):
        grant_terminate(grant=grant, reason="again", actor=finance_officer)


def test_selected_proposal_status_is_untouched_by_the_grant(grant):
    assert Proposal.objects.get(pk=grant.proposal_id).status == Proposal.Status.SELECTED
