from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from calls.models import Call, Proposal
from calls.services import (
    consortium_member_add,
    cut_off_process,
    document_upload,
    proposal_copy,
    proposal_record_eligibility,
    proposal_set_budget,
    proposal_submit,
    proposal_update,
    proposal_withdraw,
)
from eurohpc.errors import RuleViolation, StateConflict
from tests.calls.factories import make_call, make_draft, make_machine, make_submitted, pdf_upload
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db
LUX = ZoneInfo("Europe/Luxembourg")


def refusal(exc_info) -> dict:
    return exc_info.value.errors


def test_submit_assigns_reference_and_first_cut_off(applicant):
    call = make_call()
    proposal = make_submitted(call=call, applicant=applicant)
    first = call.cut_offs.order_by("closes_at").first()
    assert proposal.status == Proposal.Status.SUBMITTED
    assert proposal.reference == "EUROHPC-2026-CEI-AI-03-0001"
    assert proposal.cut_off == first


def test_submit_twice_yields_one_reference(applicant):
    proposal = make_draft(call=make_call(), applicant=applicant)
    first = proposal_submit(proposal=proposal, actor=applicant)
    second = proposal_submit(proposal=proposal, actor=applicant)
    assert first.reference == second.reference == "EUROHPC-2026-CEI-AI-03-0001"
    assert Call.objects.get().next_reference_number == 2


def test_submit_sends_receipt_with_document_hashes(applicant, django_capture_on_commit_callbacks):
    proposal = make_draft(call=make_call(), applicant=applicant)
    with django_capture_on_commit_callbacks(execute=True):
        proposal_submit(proposal=proposal, actor=applicant)
    assert [m.subject for m in mail.outbox] == ["Receipt: proposal EUROHPC-2026-CEI-AI-03-0001"]
    document = proposal.documents.get()
    assert f"SHA-256 {document.sha256}" in mail.outbox[0].body
    assert "Reference: EUROHPC-2026-CEI-AI-03-0001" in mail.outbox[0].body


def test_submit_refuses_eu_share_above_half_of_acquisition(applicant):
    budget = [
        {
            "category": "acquisition",
            "total_cost": "100.00",
            "eu_contribution": "50.00",
            "national_contribution": "50.00",
        }
    ]
    proposal = make_draft(call=make_call(), applicant=applicant, budget=budget)
    proposal.call.funding_rates = {**proposal.call.funding_rates, "acquisition": "0.40"}
    proposal.call.save()
    with pytest.raises(RuleViolation) as exc:
        proposal_submit(proposal=proposal, actor=applicant)
    assert exc.value.message == "The proposal cannot be submitted: 1 rule(s) not met."
    assert refusal(exc)["cofunding_acquisition"] == [
        "EU contribution to acquisition ≤ 40% of its cost: EUR 50.00 requested of EUR 100.00; the EU may contribute "
        "at most EUR 40.00 (40%). Exceeded by EUR 10.00."
    ]


def test_set_budget_refuses_eu_share_above_half(applicant):
    proposal = make_draft(call=make_call(), applicant=applicant)
    lines = [
        {
            "category": "operations",
            "total_cost": "1000000.00",
            "eu_contribution": "500000.01",
            "national_contribution": "499999.99",
        }
    ]
    with pytest.raises(RuleViolation) as exc:
        proposal_set_budget(proposal=proposal, lines=lines, actor=applicant)
    assert exc.value.message == "The budget breaks the co-funding rules."
    assert refusal(exc) == {
        "operations": [
            "Operations: the EU may contribute at most 50% of the cost (EUR 500,000.00); EUR 500,000.01 requested "
            "exceeds it by EUR 0.01."
        ]
    }


def test_set_budget_refuses_national_share_not_covering_rest(applicant):
    proposal = make_draft(call=make_call(), applicant=applicant)
    lines = [
        {"category": "activities", "total_cost": "100.00", "eu_contribution": "50.00", "national_contribution": "40.00"}
    ]
    with pytest.raises(RuleViolation) as exc:
        proposal_set_budget(proposal=proposal, lines=lines, actor=applicant)
    assert refusal(exc)["activities"] == [
        "AI Factory activities: the national contribution must cover the rest of the cost: EUR 50.00 EU + "
        "EUR 40.00 national = EUR 90.00, not EUR 100.00."
    ]


@pytest.mark.parametrize(
    ("total", "eu", "national", "message"),
    [
        ("0.00", "0.00", "0.00", "Acquisition: the total eligible cost must be positive, got EUR 0.00."),
        ("-10.00", "-5.00", "-5.00", "Acquisition: the total eligible cost must be positive, got -EUR 10.00."),
    ],
)
def test_set_budget_refuses_zero_or_negative_total(applicant, total, eu, national, message):
    proposal = make_draft(call=make_call(), applicant=applicant)
    lines = [{"category": "acquisition", "total_cost": total, "eu_contribution": eu, "national_contribution": national}]
    with pytest.raises(RuleViolation) as exc:
        proposal_set_budget(proposal=proposal, lines=lines, actor=applicant)
    assert refusal(exc)["acquisition"][0] == message


def test_set_budget_refuses_fractions_of_cents(applicant):
    proposal = make_draft(call=make_call(), applicant=applicant)
    lines = [{"category": "acquisition", "total_cost": "10.001", "eu_contribution": "5", "national_contribution": "5"}]
    with pytest.raises(RuleViolation, match="Acquisition: the total eligible cost must be in EUR with at most two"):
        proposal_set_budget(proposal=proposal, lines=lines, actor=applicant)


def test_set_budget_keeps_cents_exact(applicant):
    proposal = make_draft(call=make_call(), applicant=applicant)
    lines = [
        {"category": "activities", "total_cost": "0.03", "eu_contribution": "0.01", "national_contribution": "0.02"}
    ]
    proposal_set_budget(proposal=proposal, lines=lines, actor=applicant)
    line = proposal.budget_lines.get()
    assert (line.total_cost, line.eu_contribution, line.national_contribution) == (
        Decimal("0.03"),
        Decimal("0.01"),
        Decimal("0.02"),
    )


def test_submit_refuses_machine_outside_eu(applicant):
    proposal = make_draft(call=make_call(), applicant=applicant, planned_machine_country="CH")
    with pytest.raises(RuleViolation) as exc:
        proposal_submit(proposal=proposal, actor=applicant)
    assert refusal(exc)["machine_country"] == [
        "The machine sits in an EU Member State (Article 9 of Regulation (EU) 2021/1173): Switzerland is not an EU "
        "Member State."
    ]


def test_submit_admits_participating_state_when_call_does(applicant):
    call = make_call(admits_non_eu_participating_states=True, allowed_types=["new_system"])
    proposal = make_submitted(call=call, applicant=applicant, planned_machine_country="NO")
    assert proposal.status == Proposal.Status.SUBMITTED


def test_submit_refuses_upgrade_of_machine_hosted_by_another(applicant, other_organisation):
    machine = make_machine(hosting_entity=other_organisation, name="Leonardo", country="IT")
    proposal = make_draft(call=make_call(), applicant=applicant, type="upgrade", machine=machine)
    with pytest.raises(RuleViolation) as exc:
        proposal_submit(proposal=proposal, actor=applicant)
    assert refusal(exc)["machine_hosted"] == [
        "The applicant hosts the EuroHPC machine concerned: Leonardo is a EuroHPC machine hosted by CINECA."
    ]


def test_submit_refuses_upgrade_outside_one_to_three_years(applicant, freezer):
    freezer(datetime(2026, 11, 26, 12, 0, tzinfo=LUX))
    machine = make_machine(hosting_entity=applicant.organisation, selected_on=date(2022, 6, 14))
    proposal = make_draft(call=make_call(), applicant=applicant, type="upgrade", machine=machine)
    with pytest.raises(RuleViolation) as exc:
        proposal_submit(proposal=proposal, actor=applicant)
    assert refusal(exc)["upgrade_window"] == [
        "Upgrade asked 1–3 years after the machine's selection (Article 12a of Regulation (EU) 2021/1173): LUMI was "
        "selected on 14 Jun 2022; an "
        "upgrade may be asked from 14 Jun 2023 to 14 Jun 2025, and this is 26 Nov 2026."
    ]


def test_submit_refuses_second_upgrade_of_machine(applicant):
    machine = make_machine(hosting_entity=applicant.organisation, ai_upgrade_selected_on=date(2025, 3, 12))
    proposal = make_draft(call=make_call(), applicant=applicant, type="upgrade", machine=machine)
    with pytest.raises(RuleViolation) as exc:
        proposal_submit(proposal=proposal, actor=applicant)
    assert refusal(exc)["upgrade_once"] == [
        "A machine is upgraded once: LUMI already had an AI upgrade selected on 12 Mar 2025."
    ]


def test_submit_refuses_upgrade_without_commitment_letter(applicant):
    machine = make_machine(hosting_entity=applicant.organisation)
    proposal = make_draft(call=make_call(), applicant=applicant, type="upgrade", machine=machine, documents=False)
    document_upload(proposal=proposal, kind="proposal_form", uploaded_file=pdf_upload(), actor=applicant)
    with pytest.raises(RuleViolation) as exc:
        proposal_submit(proposal=proposal, actor=applicant)
    assert refusal(exc) == {
        "document_ms_commitment_letter": [
            "Member State commitment letter attached: Member State commitment letter missing: required for an upgrade "
            "(the Member State's commitment to the non-EU share)."
        ]
    }


def test_submit_refuses_activities_without_ai_capable_machine(applicant):
    call = make_call(allowed_types=["activities"])
    machine = make_machine(hosting_entity=applicant.organisation, name="Discoverer", country="BG", ai_capable=False)
    budget = [
        {"category": "activities", "total_cost": "10.00", "eu_contribution": "5.00", "national_contribution": "5.00"}
    ]
    proposal = make_draft(call=call, applicant=applicant, type="activities", machine=machine, budget=budget)
    with pytest.raises(RuleViolation) as exc:
        proposal_submit(proposal=proposal, actor=applicant)
    assert refusal(exc) == {
        "machine_ai_capable": ["The host's machine can train large-scale AI models: Discoverer is not AI-capable."]
    }


def test_submit_refuses_acquisition_costs_for_activities(applicant):
    call = make_call(allowed_types=["activities"])
    machine = make_machine(hosting_entity=applicant.organisation)
    budget = [
        {"category": "acquisition", "total_cost": "10.00", "eu_contribution": "5.00", "national_contribution": "5.00"}
    ]
    proposal = make_draft(call=call, applicant=applicant, type="activities", machine=machine, budget=budget)
    with pytest.raises(RuleViolation) as exc:
        proposal_submit(proposal=proposal, actor=applicant)
    assert refusal(exc)["budget_category"] == [
        "Acquisition costs fit the proposal type: Acquisition costs are not eligible for this proposal type (AI "
        "Factory activities at an existing hosting entity)."
    ]


def test_submit_refuses_missing_proposal_form_and_consortium_agreement(applicant, other_organisation):
    proposal = make_draft(call=make_call(), applicant=applicant, documents=False)
    consortium_member_add(proposal=proposal, organisation=other_organisation, role="partner", actor=applicant)
    with pytest.raises(RuleViolation) as exc:
        proposal_submit(proposal=proposal, actor=applicant)
    assert sorted(refusal(exc)) == ["document_consortium_agreement", "document_proposal_form"]


def test_submit_refuses_above_call_maximum(applicant):
    call = make_call(max_eu_contribution=Decimal("5000000.00"))
    proposal = make_draft(call=call, applicant=applicant)
    with pytest.raises(RuleViolation) as exc:
        proposal_submit(proposal=proposal, actor=applicant)
    assert refusal(exc)["max_eu_contribution"] == [
        "EU contribution ≤ EUR 5,000,000.00 per proposal: EUR 140,000,000.00 requested in total. Exceeded by "
        "EUR 135,000,000.00."
    ]


def test_submit_one_second_before_cut_off_is_accepted(applicant, freezer):
    deadline = datetime(2026, 12, 1, 17, 0, tzinfo=LUX)
    call = make_call(cut_offs=[deadline])
    proposal = make_draft(call=call, applicant=applicant)
    freezer(deadline - timedelta(seconds=1))
    assert proposal_submit(proposal=proposal, actor=applicant).cut_off.closes_at == deadline


def test_submit_one_second_after_last_cut_off_is_late(applicant, freezer):
    deadline = datetime(2026, 12, 1, 17, 0, tzinfo=LUX)
    call = make_call(cut_offs=[deadline])
    proposal = make_draft(call=call, applicant=applicant)
    freezer(deadline + timedelta(seconds=1))
    with pytest.raises(StateConflict) as exc:
        proposal_submit(proposal=proposal, actor=applicant)
    assert exc.value.status_code == 409
    assert (
        exc.value.message
        == "EUROHPC-2026-CEI-AI-03 closed on 01 Dec 2026 17:00 CET: submissions are no longer accepted."
    )


def test_submit_at_the_cut_off_second_goes_to_next_cut_off(applicant, freezer):
    first, second = datetime(2026, 12, 1, 17, 0, tzinfo=LUX), datetime(2027, 3, 1, 17, 0, tzinfo=LUX)
    call = make_call(cut_offs=[first, second])
    proposal = make_draft(call=call, applicant=applicant)
    freezer(first)
    assert proposal_submit(proposal=proposal, actor=applicant).cut_off.closes_at == second


def test_cut_off_across_dst_change_compares_instants(applicant, freezer):
    # 29 Mar 2026: clocks go from 02:00 CET to 03:00 CEST. A 17:00 CEST deadline is 15:00 UTC.
    deadline = datetime(2026, 3, 30, 17, 0, tzinfo=LUX)
    call = make_call(cut_offs=[deadline], opens_at=datetime(2026, 3, 1, tzinfo=LUX))
    proposal = make_draft(call=call, applicant=applicant)
    freezer(datetime(2026, 3, 30, 15, 0, 1, tzinfo=ZoneInfo("UTC")))
    with pytest.raises(StateConflict, match=r"closed on 30 Mar 2026 17:00 CEST"):
        proposal_submit(proposal=proposal, actor=applicant)


def test_submit_before_call_opens_refused(applicant, freezer):
    call = make_call()
    proposal = make_draft(call=call, applicant=applicant)
    freezer(call.opens_at - timedelta(seconds=1))
    with pytest.raises(StateConflict, match="EUROHPC-2026-CEI-AI-03 is not open yet."):
        proposal_submit(proposal=proposal, actor=applicant)


def test_submitted_proposal_is_read_only(applicant):
    proposal = make_submitted(call=make_call(), applicant=applicant)
    with pytest.raises(StateConflict) as exc:
        proposal_update(proposal=proposal, title="Changed", actor=applicant)
    assert exc.value.message == "Proposal EUROHPC-2026-CEI-AI-03-0001 is submitted: only a draft can be changed."
    with pytest.raises(StateConflict):
        document_upload(proposal=proposal, kind="other", uploaded_file=pdf_upload(), actor=applicant)


def test_withdraw_before_cut_off_then_copy_into_draft(applicant):
    proposal = make_submitted(call=make_call(), applicant=applicant)
    withdrawn = proposal_withdraw(proposal=proposal, actor=applicant)
    copy = proposal_copy(proposal=withdrawn, actor=applicant)
    assert withdrawn.status == Proposal.Status.WITHDRAWN
    assert copy.status == Proposal.Status.DRAFT
    assert copy.copied_from == withdrawn
    assert copy.reference is None
    assert [d.sha256 for d in copy.documents.all()] == [d.sha256 for d in withdrawn.documents.all()]
    assert copy.budget_lines.count() == 3
    assert proposal_submit(proposal=copy, actor=applicant).reference == "EUROHPC-2026-CEI-AI-03-0002"


def test_withdraw_after_cut_off_refused(applicant, freezer):
    proposal = make_submitted(call=make_call(), applicant=applicant)
    freezer(proposal.cut_off.closes_at)
    with pytest.raises(StateConflict) as exc:
        proposal_withdraw(proposal=proposal, actor=applicant)
    closes = timezone.localtime(proposal.cut_off.closes_at).strftime("%d %b %Y %H:%M %Z")
    assert exc.value.message == f"The cut-off of {closes} has passed: the proposal can no longer be withdrawn."


def test_copy_of_submitted_proposal_refused(applicant):
    proposal = make_submitted(call=make_call(), applicant=applicant)
    with pytest.raises(StateConflict, match="Only a withdrawn proposal can be copied into a new draft."):
        proposal_copy(proposal=proposal, actor=applicant)


def test_eligibility_before_cut_off_refused(applicant, programme_officer):
    proposal = make_submitted(call=make_call(), applicant=applicant)
    with pytest.raises(StateConflict) as exc:
        proposal_record_eligibility(proposal=proposal, eligible=True, reason="ok", actor=programme_officer)
    closes = timezone.localtime(proposal.cut_off.closes_at).strftime("%d %b %Y %H:%M %Z")
    assert exc.value.message == (
        f"Eligibility is recorded once the cut-off has passed; proposal {proposal.reference} belongs to the cut-off "
        f"of {closes}."
    )


def test_eligibility_needs_reason(applicant, programme_officer, freezer):
    proposal = make_submitted(call=make_call(), applicant=applicant)
    freezer(proposal.cut_off.closes_at + timedelta(seconds=1))
    with pytest.raises(RuleViolation, match="Give the reason for the eligibility decision."):
        proposal_record_eligibility(proposal=proposal, eligible=False, reason="  ", actor=programme_officer)


def test_eligibility_recorded_audited_and_notified(
    applicant, programme_officer, freezer, django_capture_on_commit_callbacks
):
    from eurohpc.models import AuditEvent

    proposal = make_submitted(call=make_call(), applicant=applicant)
    freezer(proposal.cut_off.closes_at + timedelta(seconds=1))
    cut_off_process(cut_off=proposal.cut_off)
    with django_capture_on_commit_callbacks(execute=True):
        decided = proposal_record_eligibility(
            proposal=proposal, eligible=False, reason="No MS letter.", actor=programme_officer
        )
    assert decided.status == Proposal.Status.INELIGIBLE
    event = AuditEvent.objects.filter(verb="proposal.record_eligibility").get()
    assert event.changes == {"from": "screening", "to": "ineligible", "reason": "No MS letter."}
    assert mail.outbox[-1].subject == f"Eligibility: proposal {proposal.reference}"
    assert "found not eligible" in mail.outbox[-1].body


def test_cut_off_processing_is_idempotent(applicant, freezer):
    call = make_call()
    first = make_submitted(call=call, applicant=applicant)
    freezer(first.cut_off.closes_at + timedelta(seconds=1))
    assert cut_off_process(cut_off=first.cut_off) == 1
    assert cut_off_process(cut_off=first.cut_off) == 0
    first.refresh_from_db()
    assert first.status == Proposal.Status.SCREENING


def test_cut_off_processing_before_it_passes_refused(applicant):
    proposal = make_submitted(call=make_call(), applicant=applicant)
    with pytest.raises(StateConflict, match="has not passed yet"):
        cut_off_process(cut_off=proposal.cut_off)


def test_last_cut_off_processed_closes_call(applicant, freezer):
    deadline = timezone.now() + timedelta(days=1)
    call = make_call(cut_offs=[deadline])
    make_submitted(call=call, applicant=applicant)
    freezer(deadline + timedelta(seconds=1))
    from calls.services import cut_offs_process_due

    cut_offs_process_due()
    call.refresh_from_db()
    assert call.status == Call.Status.CLOSED


def test_consortium_member_twice_refused(applicant):
    proposal = make_draft(call=make_call(), applicant=applicant)
    partner = OrganisationFactory(short_name="GRNET", country="GR")
    consortium_member_add(proposal=proposal, organisation=partner, role="partner", actor=applicant)
    with pytest.raises(StateConflict, match="GRNET is already a consortium member."):
        consortium_member_add(proposal=proposal, organisation=partner, role="partner", actor=applicant)


def test_a_draft_after_the_last_cut_off_offers_no_submission_and_the_service_refuses_it(client, applicant, freezer):
    from calls.actions import proposal_actions

    call = make_call()
    draft = make_draft(call=call, applicant=applicant)
    assert proposal_actions(proposal=draft, user=applicant) == ["edit", "submit"]
    freezer(call.cut_offs.order_by("-closes_at").first().closes_at + timedelta(minutes=1))
    assert proposal_actions(proposal=draft, user=applicant) == ["edit"]
    client.force_login(applicant)
    assert f"/proposals/{draft.pk}/submit/" not in client.get(f"/proposals/{draft.pk}/").content.decode()
    with pytest.raises(StateConflict, match=r"submissions are no longer accepted\.$"):
        proposal_submit(proposal=draft, actor=applicant)


def test_a_submitted_proposal_offers_withdrawal_only_until_its_cut_off(applicant, freezer):
    from calls.actions import proposal_actions

    proposal = make_submitted(call=make_call(), applicant=applicant)
    assert proposal_actions(proposal=proposal, user=applicant) == ["withdraw"]
    freezer(proposal.cut_off.closes_at)
    assert proposal_actions(proposal=proposal, user=applicant) == []
