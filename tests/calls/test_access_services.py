"""Access calls' services: the whole way of an application in each mode, and every refusal on it."""

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from calls.access.models import AccessApplication, TechnicalAssessment
from calls.access.services import (
    access_application_create,
    access_application_submit,
    access_application_withdraw,
    access_decide,
    access_eligibility_record,
    access_final_report_submit,
    access_ranking_award,
    access_reply_submit,
    access_reviews_release,
    technical_assessment_record,
)
from calls.evaluation.services import assignment_create, assignment_declare, consensus_record, review_save
from calls.evaluation.services.decisions import decision_record
from calls.models import Assignment, CutOff
from eurohpc.errors import LimitExceeded, NotPermitted, RuleViolation, StateConflict
from eurohpc.formatting import local
from eurohpc.models import AuditEvent, Notification, Role
from hosting.models import AccessPool, Allocation, Partition, UserProject
from hosting.services import allocation_create, machine_create, partition_create, project_create
from tests.calls.access_factories import (
    COMMENTS,
    SCORES,
    assessed_application,
    draft_application,
    make_access_call,
    make_gpu_machine,
    make_host_operator,
    reviewed,
    set_pool,
    submitted_application,
    this_month,
)
from tests.calls.evaluation_factories import make_evaluators
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

NOTES = "Runs on PyTorch with ROCm; scales to 64 GPUs."
QUOTA = "LUMI LUMI-G in access"


@pytest.fixture
def world(programme_officer):
    host_org = OrganisationFactory(short_name="LUMI-HE", legal_name="LUMI consortium", country="FI")
    call = make_access_call()
    machine, partition, period = make_gpu_machine(hosting_entity=host_org)
    return SimpleNamespace(
        call=call,
        machine=machine,
        partition=partition,
        period=period,
        host=make_host_operator(host_org),
        officer=programme_officer,
        cut_off=CutOff.objects.filter(call=call).order_by("closes_at").first(),
        last_cut_off=CutOff.objects.filter(call=call).order_by("-closes_at").first(),
    )


def pools(world, **hours):
    for mode, amount in hours.items():
        set_pool(partition=world.partition, period=world.period, mode=mode, hours=amount, officer=world.officer)


def assessed(world, applicant, **kwargs):
    return assessed_application(
        call=world.call,
        partition=world.partition,
        applicant=applicant,
        officer=world.officer,
        host=world.host,
        **kwargs,
    )


def refused(exc_info, kind, code: str, message: str) -> None:
    assert type(exc_info.value) is kind
    assert exc_info.value.code == code
    assert exc_info.value.message == message


def verbs(proposal) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type="calls.proposal", target_id=str(proposal.pk))
        .order_by("seq")
        .values_list("verb", flat=True)
    )


def subjects(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).order_by("id").values_list("subject", flat=True))


def past_cut_off(world, freezer, minutes: int = 1):
    return freezer(world.cut_off.closes_at + timedelta(minutes=minutes))


def reviewed_mode_assessed(world, applicant, freezer, *, mode="large_scale", **overrides):
    """Submitted to the first cut-off, the clock past it, found eligible and assessed feasible."""
    fields = {"gpu_hours": Decimal("60000"), "duration_months": 6, **overrides}
    application = submitted_application(
        call=world.call, partition=world.partition, applicant=applicant, mode=mode, **fields
    )
    past_cut_off(world, freezer)
    access_eligibility_record(
        application=application, eligible=True, reason="Established in the EU.", actor=world.officer
    )
    technical_assessment_record(application=application, feasible=True, notes=NOTES, actor=world.host)
    application.refresh_from_db()
    return application


# --- the whole way, per mode -----------------------------------------------------------------------------


def test_access_playground_path_awards_a_project_with_its_allocation(world, applicant):
    pools(world, playground=10000)
    application = draft_application(call=world.call, partition=world.partition, applicant=applicant)
    assert application.proposal.status == "draft"
    application = access_application_submit(application=application, actor=applicant)
    proposal = application.proposal
    assert (proposal.status, proposal.reference, proposal.cut_off) == (
        "submitted",
        "EUROHPC-2026-AIF-ACCESS-0001",
        None,
    )
    access_eligibility_record(
        application=application, eligible=True, reason="Start-up in Finland.", actor=world.officer
    )
    assessment = technical_assessment_record(
        application=application, feasible=True, notes=NOTES, recommended_gpu_hours="3000", actor=world.host
    )
    assert assessment.recommended_gpu_hours == Decimal("3000")
    application.refresh_from_db()
    assert application.proposal.status == "evaluation"

    application = access_decide(application=application, outcome="awarded", actor=world.officer)

    project = application.project
    code = f"EHPC-AIF-{this_month().year}PG{timezone.localtime().month:02d}-0001"
    assert (application.proposal.status, application.awarded_gpu_hours, project.code) == (
        "selected",
        Decimal("3000.00"),
        code,
    )
    assert (project.access_mode, project.user_type, project.commercial, project.pi) == (
        "playground",
        "startup",
        False,
        applicant,
    )
    allocation = project.allocations.get()
    assert (allocation.amount, allocation.slurm_account, allocation.partition, allocation.period) == (
        Decimal("3000.00"),
        code.lower(),
        world.partition,
        world.period,
    )
    assert verbs(application.proposal) == [
        "access.create",
        "access.submit",
        "access.record_eligibility",
        "access.assess",
        "access.decide",
    ]
    assert subjects(applicant) == [
        "Receipt: access application EUROHPC-2026-AIF-ACCESS-0001",
        "Eligibility: access application EUROHPC-2026-AIF-ACCESS-0001",
        "Decision: access application EUROHPC-2026-AIF-ACCESS-0001",
    ]
    decision = Notification.objects.filter(recipient=applicant).order_by("-id").first()
    assert f"Project: {code}\nSlurm account: {code.lower()}\n" in decision.body
    assert AuditEvent.objects.filter(verb="project.create", target_repr__contains=code).count() == 1
    assert AuditEvent.objects.filter(verb="allocation.create").count() == 1


def test_access_fast_lane_path_awards_the_recommendation(world, applicant):
    pools(world, fast_lane=100000)
    application = assessed(
        world, applicant, mode="fast_lane", gpu_hours=Decimal("45000"), user_type="sme", recommended="40000"
    )
    application = access_decide(application=application, outcome="awarded", actor=world.officer)
    assert application.proposal.cut_off is None
    assert application.project.code == f"EHPC-AIF-{this_month().year}FL{timezone.localtime().month:02d}-0001"
    assert application.project.allocations.get().amount == Decimal("40000.00")


def test_access_large_scale_path_reviews_reply_and_award(world, applicant, freezer):
    pools(world, large_scale=300000)
    application = submitted_application(
        call=world.call,
        partition=world.partition,
        applicant=applicant,
        mode="large_scale",
        gpu_hours=Decimal("60000"),
        duration_months=6,
    )
    assert application.proposal.cut_off == world.cut_off
    past_cut_off(world, freezer)
    access_eligibility_record(
        application=application, eligible=True, reason="Established in the EU.", actor=world.officer
    )
    technical_assessment_record(application=application, feasible=True, notes=NOTES, actor=world.host)
    application.refresh_from_db()
    assert application.proposal.status == "eligible"  # waits for its reviewers
    application = reviewed(application, officer=world.officer, reviewers=make_evaluators(2))
    assert application.proposal.status == "evaluation"
    assert application.reply_deadline == world.cut_off.closes_at + timedelta(minutes=1, days=7)
    access_reply_submit(application=application, reply="We will profile first.", actor=applicant)

    application = access_decide(application=application, outcome="awarded", actor=world.officer)

    assert application.project.code == f"EHPC-AIF-{this_month().year}LS01-0001"
    assert application.project.allocations.get().amount == Decimal("60000.00")
    assert verbs(application.proposal) == [
        "access.create",
        "access.submit",
        "access.record_eligibility",
        "access.assess",
        "evaluation.assign",
        "evaluation.declare",
        "evaluation.review_submit",
        "evaluation.assign",
        "evaluation.declare",
        "evaluation.review_submit",
        "access.release_reviews",
        "access.reply",
        "access.decide",
    ]
    assert subjects(applicant)[-2:] == [
        "Reviews of access application EUROHPC-2026-AIF-ACCESS-0001: your reply",
        "Decision: access application EUROHPC-2026-AIF-ACCESS-0001",
    ]


def test_access_ai_for_science_path_decides_after_the_reply_deadline(world, applicant, freezer):
    pools(world, ai_for_science=100000)
    application = reviewed_mode_assessed(
        world, applicant, freezer, mode="ai_for_science", gpu_hours=Decimal("20000"), user_type="academia"
    )
    application = reviewed(application, officer=world.officer, reviewers=make_evaluators(2))
    freezer(application.reply_deadline + timedelta(seconds=1))
    application = access_decide(application=application, outcome="awarded", gpu_hours="15000", actor=world.officer)
    assert application.project.code == f"EHPC-AIF-{this_month().year}AS01-0001"
    assert (application.awarded_gpu_hours, application.replied_at) == (Decimal("15000.00"), None)


def test_access_rejection_of_an_infeasible_large_scale_application_needs_no_reviews(world, applicant, freezer):
    application = submitted_application(
        call=world.call,
        partition=world.partition,
        applicant=applicant,
        mode="large_scale",
        gpu_hours=Decimal("60000"),
        duration_months=6,
    )
    past_cut_off(world, freezer)
    access_eligibility_record(application=application, eligible=True, reason="EU.", actor=world.officer)
    technical_assessment_record(application=application, feasible=False, notes="No ROCm port.", actor=world.host)
    application.refresh_from_db()
    assert application.proposal.status == "evaluation"
    application = access_decide(
        application=application, outcome="rejected", reason="Not feasible.", actor=world.officer
    )
    assert (application.proposal.status, application.project) == ("rejected", None)


# --- refusals at submission ------------------------------------------------------------------------------


def submit_refusal(world, applicant, *, mode="playground", **overrides):
    application = draft_application(
        call=world.call, partition=world.partition, applicant=applicant, mode=mode, **overrides
    )
    with pytest.raises(RuleViolation) as exc:
        access_application_submit(application=application, actor=applicant)
    application.refresh_from_db()
    assert (application.proposal.status, application.proposal.reference) == ("draft", None)
    assert exc.value.code == "submission_rules"
    assert exc.value.message == "The application cannot be submitted: 1 rule(s) not met."
    return exc.value.errors


def test_access_submit_refuses_a_request_over_the_mode_cap(world, applicant):
    errors = submit_refusal(world, applicant, gpu_hours=Decimal("6000"))
    assert errors == {"gpu_hours_cap": ["Playground asks at most 5,000.00 GPU-hours: asked 6,000.00 GPU-hours."]}


def test_access_submit_refuses_large_scale_under_its_minimum(world, applicant):
    errors = submit_refusal(world, applicant, mode="large_scale", gpu_hours=Decimal("50000"), duration_months=6)
    assert errors == {
        "gpu_hours_minimum": ["Large Scale asks more than 50,000.00 GPU-hours: asked 50,000.00 GPU-hours."]
    }


def test_access_submit_refuses_large_scale_for_four_months(world, applicant):
    errors = submit_refusal(world, applicant, mode="large_scale", gpu_hours=Decimal("60000"), duration_months=4)
    assert errors == {"duration": ["Large Scale access lasts 3, 6 or 12 months: asked 4 months."]}


def test_access_submit_refuses_industry_in_playground(world, applicant):
    errors = submit_refusal(world, applicant, user_type="industry")
    assert errors == {"user_type": ["Playground is open to Start-up or SME: the applicant declares: Large industry."]}


def test_access_submit_refuses_an_organisation_outside_the_participating_states(world):
    us = OrganisationFactory(short_name="ACME", country="US")
    applicant = UserFactory(username="acme", organisation=us, roles=[Role.APPLICANT])
    errors = submit_refusal(world, applicant)
    assert errors == {
        "country": [
            "The organisation is established in an EU Member State or a Participating State: ACME is established "
            "in United States."
        ]
    }


def test_access_submit_refuses_a_cpu_partition(world, applicant):
    cpu = partition_create(
        machine=world.machine, name="LUMI-C", kind=Partition.Kind.CPU, nodes=10, cores_per_node=128, actor=None
    )
    application = draft_application(call=world.call, partition=cpu, applicant=applicant)
    with pytest.raises(RuleViolation) as exc:
        access_application_submit(application=application, actor=applicant)
    assert exc.value.code == "submission_rules"
    assert exc.value.errors == {
        "partition": [
            "The partition is a GPU partition of an operational machine: LUMI LUMI-C (node-hours, operational)."
        ]
    }


def test_access_submit_refuses_a_start_month_in_the_past(world, applicant):
    last_month = (this_month() - timedelta(days=1)).replace(day=1)
    errors = submit_refusal(world, applicant, start_month=last_month)
    assert errors == {
        "start_month": [f"Access starts on the first day of this month or a later one: starts {last_month:%B %Y}."]
    }


def test_access_submit_refuses_without_the_ai_act_declaration(world, applicant):
    errors = submit_refusal(world, applicant, no_prohibited_practice=False)
    assert errors == {
        "ai_act": [
            "AI Act: the project uses no prohibited AI practice (Art. 5 of Regulation (EU) 2024/1689): not declared."
        ]
    }


def test_access_submit_refuses_personal_data_without_measures(world, applicant):
    errors = submit_refusal(world, applicant, personal_data=True, data_protection="  ")
    assert errors == {"data_protection": ["Personal data: the data-protection measures are described: missing."]}


def test_access_submit_refuses_after_the_last_cut_off(world, applicant, freezer):
    application = draft_application(
        call=world.call,
        partition=world.partition,
        applicant=applicant,
        mode="large_scale",
        gpu_hours=Decimal("60000"),
        duration_months=6,
    )
    freezer(world.last_cut_off.closes_at + timedelta(minutes=1))
    with pytest.raises(StateConflict) as exc:
        access_application_submit(application=application, actor=applicant)
    refused(
        exc,
        StateConflict,
        "late",
        f"The last cut-off of EUROHPC-2026-AIF-ACCESS for Large Scale closed on {local(world.last_cut_off.closes_at)}: "
        f"applications are no longer accepted.",
    )
    application.refresh_from_db()
    assert application.proposal.status == "draft"


def test_access_withdraw_refuses_after_the_cut_off(world, applicant, freezer):
    application = submitted_application(
        call=world.call,
        partition=world.partition,
        applicant=applicant,
        mode="large_scale",
        gpu_hours=Decimal("60000"),
        duration_months=6,
    )
    past_cut_off(world, freezer)
    with pytest.raises(StateConflict) as exc:
        access_application_withdraw(application=application, actor=applicant)
    refused(
        exc,
        StateConflict,
        "late",
        f"The cut-off of {local(world.cut_off.closes_at)} has passed: the application can no longer be withdrawn.",
    )
    application.refresh_from_db()
    assert application.proposal.status == "submitted"


def test_access_withdraw_before_the_cut_off_withdraws(world, applicant):
    application = submitted_application(
        call=world.call,
        partition=world.partition,
        applicant=applicant,
        mode="large_scale",
        gpu_hours=Decimal("60000"),
        duration_months=6,
    )
    application = access_application_withdraw(application=application, actor=applicant)
    assert application.proposal.status == "withdrawn"
    assert verbs(application.proposal)[-1] == "access.withdraw"


# --- eligibility and the technical assessment ---------------------------------------------------------------


def test_access_eligibility_refuses_before_the_cut_off(world, applicant):
    application = submitted_application(
        call=world.call,
        partition=world.partition,
        applicant=applicant,
        mode="large_scale",
        gpu_hours=Decimal("60000"),
        duration_months=6,
    )
    with pytest.raises(StateConflict) as exc:
        access_eligibility_record(application=application, eligible=True, reason="EU.", actor=world.officer)
    refused(
        exc,
        StateConflict,
        "cut_off_not_passed",
        f"Eligibility is recorded once the cut-off has passed; application EUROHPC-2026-AIF-ACCESS-0001 belongs "
        f"to the cut-off of {local(world.cut_off.closes_at)}.",
    )


def test_access_eligibility_refuses_a_user_who_is_not_an_officer(world, applicant):
    application = submitted_application(call=world.call, partition=world.partition, applicant=applicant)
    with pytest.raises(NotPermitted) as exc:
        access_eligibility_record(application=application, eligible=True, reason="Mine.", actor=applicant)
    refused(exc, NotPermitted, "permission_denied", "Only programme officers record eligibility.")
    application.refresh_from_db()
    assert application.proposal.status == "submitted"


def test_technical_assessment_refuses_another_hosts_operator(world, applicant, other_organisation):
    application = submitted_application(call=world.call, partition=world.partition, applicant=applicant)
    access_eligibility_record(application=application, eligible=True, reason="EU.", actor=world.officer)
    stranger = make_host_operator(other_organisation, username="cineca-support")
    with pytest.raises(NotPermitted) as exc:
        technical_assessment_record(application=application, feasible=True, notes=NOTES, actor=stranger)
    refused(exc, NotPermitted, "not_host", "Only the support team of LUMI's hosting entity assesses its applications.")
    assert TechnicalAssessment.objects.count() == 0


def test_technical_assessment_refuses_a_recommendation_above_the_request(world, applicant):
    application = submitted_application(call=world.call, partition=world.partition, applicant=applicant)
    access_eligibility_record(application=application, eligible=True, reason="EU.", actor=world.officer)
    with pytest.raises(RuleViolation) as exc:
        technical_assessment_record(
            application=application, feasible=True, notes=NOTES, recommended_gpu_hours="4500", actor=world.host
        )
    refused(
        exc,
        RuleViolation,
        "recommended_above_request",
        "The recommendation may reduce the request, not raise it: asked 4,000.00 GPU-hours, recommended 4,500.00.",
    )
    application.refresh_from_db()
    assert (application.proposal.status, TechnicalAssessment.objects.count()) == ("eligible", 0)


def test_technical_assessment_refuses_a_second_assessment(world, applicant):
    application = assessed(world, applicant)
    first = application.technical.assessed_at
    with pytest.raises(StateConflict) as exc:
        technical_assessment_record(application=application, feasible=False, notes="Again.", actor=world.host)
    refused(
        exc,
        StateConflict,
        "already_assessed",
        f"The technical assessment of EUROHPC-2026-AIF-ACCESS-0001 was recorded on {local(first)}.",
    )
    assert TechnicalAssessment.objects.get().feasible is True


# --- reviewers: the evaluation's services, guarded for access applications -----------------------------------


def test_assignment_refuses_reviewers_before_the_technical_assessment(world, applicant, freezer):
    application = submitted_application(
        call=world.call,
        partition=world.partition,
        applicant=applicant,
        mode="large_scale",
        gpu_hours=Decimal("60000"),
        duration_months=6,
    )
    past_cut_off(world, freezer)
    access_eligibility_record(application=application, eligible=True, reason="EU.", actor=world.officer)
    [expert] = make_evaluators(1)
    with pytest.raises(StateConflict) as exc:
        assignment_create(proposal=application.proposal, evaluator=expert, actor=world.officer)
    refused(
        exc,
        StateConflict,
        "access_not_reviewable",
        "Reviewers are assigned to EUROHPC-2026-AIF-ACCESS-0001 once its technical assessment is recorded.",
    )
    assert application.proposal.assignments.count() == 0


def test_assignment_refuses_reviewers_for_a_playground_application(world, applicant):
    application = assessed(world, applicant)
    [expert] = make_evaluators(1)
    with pytest.raises(StateConflict) as exc:
        assignment_create(proposal=application.proposal, evaluator=expert, actor=world.officer)
    refused(
        exc,
        StateConflict,
        "access_not_reviewable",
        "Playground applications are not peer-reviewed: the technical assessment and the committee decide them.",
    )


def test_hosting_consensus_and_decision_refuse_an_access_application(world, applicant):
    application = assessed(world, applicant)
    message = (
        "Access application EUROHPC-2026-AIF-ACCESS-0001 is decided by the access committee, without a "
        "consensus report."
    )
    with pytest.raises(StateConflict) as exc:
        consensus_record(proposal=application.proposal, scores=SCORES, comments=COMMENTS, actor=world.officer)
    refused(exc, StateConflict, "access_committee", message)
    with pytest.raises(StateConflict) as exc:
        decision_record(proposal=application.proposal, outcome="selected", actor=world.officer)
    refused(exc, StateConflict, "access_committee", message)
    application.refresh_from_db()
    assert application.proposal.status == "evaluation"


# --- the right to reply -----------------------------------------------------------------------------------


def test_access_release_refuses_with_fewer_than_two_reviews(world, applicant, freezer):
    application = reviewed_mode_assessed(world, applicant, freezer)
    first, second = make_evaluators(2)
    for expert in (first, second):
        assignment = assignment_create(proposal=application.proposal, evaluator=expert, actor=world.officer)
        assignment_declare(assignment=assignment, conflict=False, actor=expert)
    review_save(
        assignment=Assignment.objects.get(evaluator=first), scores=SCORES, comments=COMMENTS, actor=first, submit=True
    )
    with pytest.raises(StateConflict) as exc:
        access_reviews_release(application=application, actor=world.officer)
    refused(
        exc,
        StateConflict,
        "reviews_missing",
        "Large Scale needs 2 submitted reviews before the applicant replies; EUROHPC-2026-AIF-ACCESS-0001 has 1.",
    )
    application.refresh_from_db()
    assert application.reply_deadline is None


def test_access_reply_refuses_after_the_deadline(world, applicant, freezer):
    application = reviewed(
        reviewed_mode_assessed(world, applicant, freezer), officer=world.officer, reviewers=make_evaluators(2)
    )
    freezer(application.reply_deadline + timedelta(seconds=1))
    with pytest.raises(StateConflict) as exc:
        access_reply_submit(application=application, reply="Late thoughts.", actor=applicant)
    refused(
        exc,
        StateConflict,
        "late",
        f"The reply to the reviews of EUROHPC-2026-AIF-ACCESS-0001 was due by {local(application.reply_deadline)}.",
    )
    application.refresh_from_db()
    assert (application.reply, application.replied_at) == ("", None)


def test_access_reply_refuses_a_second_reply(world, applicant, freezer):
    application = reviewed(
        reviewed_mode_assessed(world, applicant, freezer), officer=world.officer, reviewers=make_evaluators(2)
    )
    access_reply_submit(application=application, reply="First.", actor=applicant)
    application.refresh_from_db()
    with pytest.raises(StateConflict) as exc:
        access_reply_submit(application=application, reply="Second.", actor=applicant)
    refused(
        exc,
        StateConflict,
        "already_replied",
        f"The reply to the reviews of EUROHPC-2026-AIF-ACCESS-0001 was sent on {local(application.replied_at)}.",
    )
    application.refresh_from_db()
    assert application.reply == "First."


def test_access_decide_refuses_before_the_reply_window_closed(world, applicant, freezer):
    application = reviewed(
        reviewed_mode_assessed(world, applicant, freezer), officer=world.officer, reviewers=make_evaluators(2)
    )
    with pytest.raises(StateConflict) as exc:
        access_decide(application=application, outcome="awarded", actor=world.officer)
    refused(
        exc,
        StateConflict,
        "not_decidable",
        f"The applicant may reply to the reviews of EUROHPC-2026-AIF-ACCESS-0001 until "
        f"{local(application.reply_deadline)}: the committee decides after the reply or the deadline.",
    )
    assert UserProject.objects.count() == 0


# --- the committee's decision ------------------------------------------------------------------------------


def test_access_decide_refuses_an_award_above_the_recommendation(world, applicant):
    pools(world, playground=10000)
    application = assessed(world, applicant, recommended="3000")
    with pytest.raises(RuleViolation) as exc:
        access_decide(application=application, outcome="awarded", gpu_hours="3500", actor=world.officer)
    refused(
        exc,
        RuleViolation,
        "award_above_recommendation",
        "An award gives at most the 3,000.00 GPU-hours the technical assessment recommends; asked 3,500.00.",
    )
    assert (UserProject.objects.count(), Allocation.objects.count()) == (0, 0)


def test_access_decide_refuses_to_award_an_infeasible_application(world, applicant):
    pools(world, playground=10000)
    application = assessed(world, applicant, feasible=False)
    with pytest.raises(StateConflict) as exc:
        access_decide(application=application, outcome="awarded", actor=world.officer)
    refused(
        exc,
        StateConflict,
        "not_feasible",
        "The technical assessment found EUROHPC-2026-AIF-ACCESS-0001 not feasible on LUMI LUMI-G: it cannot be "
        "awarded.",
    )
    application.refresh_from_db()
    assert (application.proposal.status, application.decided_at, UserProject.objects.count()) == ("evaluation", None, 0)


def test_access_decide_refuses_a_reserve_list_in_a_continuous_mode(world, applicant):
    application = assessed(world, applicant)
    with pytest.raises(RuleViolation) as exc:
        access_decide(application=application, outcome="reserve", reason="Pool low.", actor=world.officer)
    refused(exc, RuleViolation, "no_reserve", "Playground is first come, first served: it keeps no reserve list.")


def test_access_decide_refuses_an_award_the_pool_cannot_hold(world, applicant):
    pools(world, playground=5000)
    first = assessed(world, applicant, recommended="4000")
    access_decide(application=first, outcome="awarded", actor=world.officer)
    second = assessed(world, applicant, recommended="3000", acronym="SECOND")
    before = AuditEvent.objects.count()
    with pytest.raises(LimitExceeded) as exc:
        access_decide(application=second, outcome="awarded", actor=world.officer)
    refused(
        exc,
        LimitExceeded,
        "pool_exhausted",
        f"The Playground pool of {QUOTA} would be exceeded by 2,000.00 GPU-hours: pool 5,000.00 GPU-hours, "
        f"awarded 4,000.00 GPU-hours, remaining 1,000.00 GPU-hours, asked 3,000.00 GPU-hours; the Union quota "
        f"has 782,240.00 GPU-hours of 786,240.00 GPU-hours remaining.",
    )
    second.refresh_from_db()
    assert (second.proposal.status, second.awarded_gpu_hours, second.project_id) == ("evaluation", None, None)
    assert (UserProject.objects.count(), Allocation.objects.count(), AuditEvent.objects.count()) == (1, 1, before)


def pre_allocate(world, *, amount: str, user_type: str = "academia", commercial: bool = False):
    """A Large Scale project holding `amount` of the quota, allocated before any pool was set."""
    project = project_create(
        title="Earlier project",
        pi=world.officer,
        organisation=world.host.organisation,
        user_type=user_type,
        access_mode="large_scale",
        starts_on=this_month(),
        duration_months=6,
        commercial=commercial,
        actor=None,
    )
    allocation_create(
        project=project,
        partition=world.partition,
        period=world.period,
        amount=Decimal(amount),
        slurm_account="earlier",
        actor=None,
    )


def test_access_pool_set_refuses_a_pool_over_what_earlier_allocations_left_of_the_union_quota(world, applicant):
    # An award can then never take the Union quota's last hours twice: what the pools hold is still there.
    pre_allocate(world, amount="785000")
    with pytest.raises(LimitExceeded) as exc:
        pools(world, playground=5000)
    refused(
        exc,
        LimitExceeded,
        "pools_over_quota",
        f"The access pools of {QUOTA} would exceed its Union quota of 786,240.00 GPU-hours by 3,760.00 GPU-hours: "
        f"the other pools hold 0.00 GPU-hours, allocations outside the pools 785,000.00 GPU-hours, asked 5,000.00 "
        f"GPU-hours for Playground.",
    )
    assert exc.value.errors == {"hours": ["At most 1,240.00 GPU-hours are left for this pool."]}
    assert not AccessPool.objects.exists()


def test_access_decide_refuses_commercial_terms_over_the_twenty_percent_share(world, applicant):
    pre_allocate(world, amount="155000", user_type="industry")
    pools(world, playground=5000)
    application = assessed(world, applicant, recommended="3000", terms="commercial")
    with pytest.raises(LimitExceeded) as exc:
        access_decide(application=application, outcome="awarded", actor=world.officer)
    refused(
        exc,
        LimitExceeded,
        "pay_per_use_cap",
        f"Industry and commercial access is capped at 20% of the Union quota of {QUOTA} (157,248.00 GPU-hours) "
        f"and would be exceeded by 752.00 GPU-hours: industry and commercial projects hold 155,000.00 GPU-hours, "
        f"asked 3,000.00 GPU-hours.",
    )
    assert UserProject.objects.count() == 1


def test_access_decide_refuses_without_a_period_covering_the_start_month(world, applicant):
    pools(world, playground=5000)
    start = world.period.end + timedelta(days=1)
    application = assessed(world, applicant, start_month=start)
    with pytest.raises(StateConflict) as exc:
        access_decide(application=application, outcome="awarded", actor=world.officer)
    refused(
        exc,
        StateConflict,
        "no_period",
        f"LUMI has no allocation period covering {start:%B %Y}: the officer of the machine opens it first.",
    )
    application.refresh_from_db()
    assert (application.proposal.status, UserProject.objects.count()) == ("evaluation", 0)


def test_access_decide_refuses_a_user_who_is_not_an_officer(world, applicant):
    application = assessed(world, applicant)
    with pytest.raises(NotPermitted) as exc:
        access_decide(application=application, outcome="awarded", actor=applicant)
    refused(
        exc,
        NotPermitted,
        "permission_denied",
        "Only programme officers (the access committee) decide access applications.",
    )


# --- the final report ----------------------------------------------------------------------------------------


def test_access_final_report_refuses_before_the_last_month_and_a_second_time(world, applicant, freezer):
    pools(world, playground=5000)
    application = access_decide(application=assessed(world, applicant), outcome="awarded", actor=world.officer)
    project = application.project
    opens = project.ends_on.replace(day=1)
    with pytest.raises(StateConflict) as exc:
        access_final_report_submit(application=application, report="Done.", actor=applicant)
    refused(
        exc,
        StateConflict,
        "too_early",
        f"The final report of {project.code} is written from {opens:%d %B %Y}, the last month of its access.",
    )
    freezer(timezone.make_aware(timezone.datetime(opens.year, opens.month, 1, 12)))
    application = access_final_report_submit(
        application=application, report="Trained; weights published.", actor=applicant
    )
    assert application.final_report == "Trained; weights published."
    with pytest.raises(StateConflict) as exc:
        access_final_report_submit(application=application, report="Again.", actor=applicant)
    refused(
        exc,
        StateConflict,
        "already_reported",
        f"The final report of {project.code} was sent on {local(application.final_report_at)}.",
    )
    application.refresh_from_db()
    assert application.final_report == "Trained; weights published."
    assert verbs(application.proposal)[-1] == "access.final_report"


# --- the committee's batch at a cut-off ---------------------------------------------------------------------------


def review_with(application, *, officer, experts, score: str):
    for expert in experts:
        assignment = assignment_create(proposal=application.proposal, evaluator=expert, actor=officer)
        assignment_declare(assignment=assignment, conflict=False, actor=expert)
        scores = dict.fromkeys(SCORES, score)
        review_save(assignment=assignment, scores=scores, comments=COMMENTS, actor=expert, submit=True)
    access_reviews_release(application=application, actor=officer)


def test_access_ranking_award_awards_in_ranking_order_while_the_pool_lasts(world, applicant, freezer):
    pools(world, large_scale=140000)
    start = timezone.now()
    asked = {"LOW": "55000", "HIGH": "60000", "MID": "70000"}
    applications = {}
    for minute, (acronym, hours) in enumerate(asked.items()):
        freezer(start + timedelta(minutes=minute))
        applications[acronym] = submitted_application(
            call=world.call,
            partition=world.partition,
            applicant=applicant,
            mode="large_scale",
            acronym=acronym,
            gpu_hours=Decimal(hours),
            duration_months=6,
        )
    past_cut_off(world, freezer)
    experts = make_evaluators(2)
    for acronym, score in (("LOW", "3"), ("HIGH", "5"), ("MID", "4")):
        application = applications[acronym]
        access_eligibility_record(application=application, eligible=True, reason="EU.", actor=world.officer)
        technical_assessment_record(application=application, feasible=True, notes=NOTES, actor=world.host)
        review_with(application, officer=world.officer, experts=experts, score=score)
    freezer(timezone.now() + timedelta(days=8))
    ref = {a: applications[a].proposal.reference for a in applications}

    result = access_ranking_award(cut_off=world.cut_off, actor=world.officer)

    assert result == {"awarded": [ref["HIGH"], ref["MID"]], "reserve": [ref["LOW"]], "skipped": []}
    year = this_month().year
    codes = dict(
        AccessApplication.objects.filter(project__isnull=False).values_list("proposal__acronym", "project__code")
    )
    assert codes == {"HIGH": f"EHPC-AIF-{year}LS01-0001", "MID": f"EHPC-AIF-{year}LS01-0002"}
    low = AccessApplication.objects.select_related("proposal").get(proposal__acronym="LOW")
    assert (low.proposal.status, low.project_id) == ("reserve", None)
    assert low.decision_reason == (
        f"The Large Scale pool of {QUOTA} would be exceeded by 45,000.00 GPU-hours: pool 140,000.00 GPU-hours, "
        f"awarded 130,000.00 GPU-hours, remaining 10,000.00 GPU-hours, asked 55,000.00 GPU-hours; the Union quota "
        f"has 656,240.00 GPU-hours of 786,240.00 GPU-hours remaining."
    )
    assert sum(Allocation.objects.values_list("amount", flat=True)) == Decimal("130000.00")
    assert subjects(applicant).count(f"Decision: access application {ref['LOW']}") == 1
    reserve_note = Notification.objects.get(subject=f"Decision: access application {ref['LOW']}")
    assert reserve_note.body.startswith(f"Your access application {ref['LOW']} (LOW) is on the reserve list.")
    assert verbs(low.proposal)[-1] == "access.decide"


def test_access_ranking_award_refuses_a_user_who_is_not_an_officer(world, applicant):
    with pytest.raises(NotPermitted) as exc:
        access_ranking_award(cut_off=world.cut_off, actor=applicant)
    refused(
        exc,
        NotPermitted,
        "permission_denied",
        "Only programme officers (the access committee) decide access applications.",
    )


def test_access_create_refuses_a_user_who_is_not_an_applicant(world):
    with pytest.raises(NotPermitted) as exc:
        access_application_create(
            call=world.call, mode="playground", partition=world.partition, title="T", acronym="T", actor=world.officer
        )
    refused(exc, NotPermitted, "not_applicant", "Only applicants of a registered organisation apply for access.")


def test_machine_of_another_host_is_not_the_partitions_machine(world, applicant, other_organisation):
    other = machine_create(
        name="LEONARDO",
        hosting_entity=other_organisation,
        country="IT",
        machine_class="high_end",
        eu_share_of_tco=Decimal("0.50"),
        slurm_cluster="leonardo",
        time_zone="Europe/Rome",
        actor=None,
    )
    with pytest.raises(RuleViolation) as exc:
        draft_application(call=world.call, partition=world.partition, applicant=applicant, machine_id=other.pk)
    refused(
        exc, RuleViolation, "partition_machine", "LUMI-G is not a partition of the machine chosen: it belongs to LUMI."
    )


def test_evaluation_confirm_and_publish_refuse_an_access_cut_off(world, applicant):
    from calls.evaluation.services import decisions_confirm, decisions_publish

    cut_off = world.call.cut_offs.order_by("closes_at").first()
    for service in (decisions_confirm, decisions_publish):
        with pytest.raises(StateConflict) as exc:
            service(cut_off=cut_off, actor=world.officer)
        refused(
            exc,
            StateConflict,
            "access_committee",
            f"{world.call.identifier} is an access call: the access committee decides its applications one by one "
            f"or awards a cut-off's ranking; there is nothing to confirm or publish here.",
        )
