"""Evaluation services: assignments, auto-assignment and conflict-of-interest declarations."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.evaluation.services import (
    assignment_create,
    assignment_declare,
    assignments_auto_assign,
)
from calls.models import Assignment, Proposal
from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.models import AuditEvent, Notification, Role
from tests.calls.evaluation_factories import (
    assign_all,
    make_batch,
    make_evaluators,
)
from tests.calls.factories import add_member
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


# --- assignments ------------------------------------------------------------------------------------


def test_assignment_create_moves_proposal_to_evaluation(proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    assert assignment.declaration == Assignment.Declaration.PENDING
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.EVALUATION
    assert AuditEvent.objects.filter(verb="evaluation.assign", target_id=str(proposal.pk)).count() == 1
    assert Notification.objects.filter(recipient=experts[0], subject__startswith="Evaluation:").count() == 1


def test_assignment_create_refuses_same_evaluator_twice(proposal, experts, programme_officer):
    assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    with pytest.raises(
        StateConflict, match=r"^Test User \d+ is already assigned to proposal EUROHPC-2026-CEI-AI-03-0001\.$"
    ):
        assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)


def test_assignment_once_per_evaluator_is_a_database_constraint(proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(
            proposal=proposal,
            evaluator=experts[0],
            assigned_at=assignment.assigned_at,
            deadline=assignment.deadline,
            declaration_deadline=assignment.declaration_deadline,
        )


def test_assignment_create_refuses_evaluator_of_the_applicant(proposal, organisation, programme_officer):
    insider = UserFactory(
        username="insider", first_name="Ilse", last_name="Insider", organisation=organisation, roles=[Role.EVALUATOR]
    )
    with pytest.raises(RuleViolation) as refused:
        assignment_create(proposal=proposal, evaluator=insider, actor=programme_officer)
    assert refused.value.message == (
        "Conflict of interest: Ilse Insider works for CSC, the applicant of EUROHPC-2026-CEI-AI-03-0001."
    )


def test_assignment_create_refuses_evaluator_of_a_consortium_member(
    call, applicant, programme_officer, freezer, other_organisation
):
    from tests.calls.factories import make_draft, pdf_upload

    draft = make_draft(call=call, applicant=applicant)
    add_member(draft, other_organisation, applicant)
    from calls.services import document_upload, proposal_submit

    document_upload(proposal=draft, kind="consortium_agreement", uploaded_file=pdf_upload("ca.pdf"), actor=applicant)
    proposal_submit(proposal=draft, actor=applicant)
    from calls.services import cut_off_process, proposal_record_eligibility

    draft.refresh_from_db()
    freezer(draft.cut_off.closes_at + timedelta(seconds=1))
    cut_off_process(cut_off=draft.cut_off)
    proposal = proposal_record_eligibility(proposal=draft, eligible=True, reason="ok", actor=programme_officer)
    member_expert = UserFactory(
        username="partner",
        first_name="Paolo",
        last_name="Partner",
        organisation=other_organisation,
        roles=[Role.EVALUATOR],
    )
    with pytest.raises(RuleViolation) as refused:
        assignment_create(proposal=proposal, evaluator=member_expert, actor=programme_officer)
    assert refused.value.message == (
        "Conflict of interest: Paolo Partner works for CINECA, a consortium member of EUROHPC-2026-CEI-AI-03-0001."
    )


def test_assignment_create_refuses_user_without_evaluator_role(proposal, programme_officer, other_applicant):
    with pytest.raises(RuleViolation, match=r"^Test User \d+ is not an evaluator\.$"):
        assignment_create(proposal=proposal, evaluator=other_applicant, actor=programme_officer)


def test_assignment_create_refuses_proposal_not_eligible(call, applicant, experts, programme_officer):
    from tests.calls.factories import make_submitted

    submitted = make_submitted(call=call, applicant=applicant)
    with pytest.raises(StateConflict) as refused:
        assignment_create(proposal=submitted, evaluator=experts[0], actor=programme_officer)
    assert refused.value.message == (
        "Proposal EUROHPC-2026-CEI-AI-03-0001 is submitted: evaluators are assigned to eligible proposals under "
        "evaluation."
    )


def test_assignment_create_refuses_deadline_in_the_past(proposal, experts, programme_officer):
    past = timezone.now() - timedelta(hours=1)
    with pytest.raises(RuleViolation, match="^The review deadline must lie in the future; "):
        assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer, deadline=past)


def test_auto_assign_gives_minimum_and_balances_load(call, applicant, programme_officer, freezer):
    proposals = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=4)
    experts = make_evaluators(6)
    result = assignments_auto_assign(cut_off=proposals[0].cut_off, actor=programme_officer)
    assert len(result.created) == 12
    assert result.shortfall == {}
    per_proposal = {p.pk: Assignment.objects.filter(proposal=p).count() for p in proposals}
    assert set(per_proposal.values()) == {3}
    per_expert = sorted(Assignment.objects.filter(evaluator=e).count() for e in experts)
    assert per_expert == [2, 2, 2, 2, 2, 2]
    assert {p.status for p in Proposal.objects.filter(pk__in=[p.pk for p in proposals])} == {"evaluation"}


def test_auto_assign_excludes_detected_conflicts_and_reports_shortfall(
    proposal, organisation, programme_officer, experts
):
    UserFactory(username="insider", organisation=organisation, roles=[Role.EVALUATOR])
    experts[2].is_active = False
    experts[2].save()
    result = assignments_auto_assign(cut_off=proposal.cut_off, actor=programme_officer)
    assert sorted(a.evaluator.username for a in result.created) == ["expert1", "expert2"]
    assert result.shortfall == {Proposal.objects.get(pk=proposal.pk): 1}


def test_auto_assign_twice_adds_nothing(proposal, experts, programme_officer):
    assignments_auto_assign(cut_off=proposal.cut_off, actor=programme_officer)
    again = assignments_auto_assign(cut_off=proposal.cut_off, actor=programme_officer)
    assert again.created == []
    assert Assignment.objects.filter(proposal=proposal).count() == 3


def test_auto_assign_replaces_a_recused_evaluator(proposal, programme_officer):
    experts = make_evaluators(4)
    assignments = assign_all(proposal, experts[:3], programme_officer, declare=False)
    assignment_declare(assignment=assignments[1], conflict=True, reason="Former employee.", actor=experts[1])
    result = assignments_auto_assign(cut_off=proposal.cut_off, actor=programme_officer)
    assert [a.evaluator for a in result.created] == [experts[3]]
    assert result.created[0].replaces_id == assignments[1].pk


# --- conflict of interest ---------------------------------------------------------------------------


def test_declaration_no_conflict_opens_the_proposal(proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    assert not experts[0].has_perm("calls.view_proposal", proposal)
    assert not Proposal.objects.visible_to(experts[0]).filter(pk=proposal.pk).exists()
    assignment_declare(assignment=assignment, conflict=False, actor=experts[0])
    assert experts[0].has_perm("calls.view_proposal", proposal)
    assert Proposal.objects.visible_to(experts[0]).filter(pk=proposal.pk).exists()
    event = AuditEvent.objects.get(verb="evaluation.declare")
    assert event.changes == {"evaluator": "expert1", "conflict": False, "reason": ""}


def test_declaration_conflict_recuses_and_keeps_proposal_closed(proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    assignment_declare(assignment=assignment, conflict=True, reason="I co-wrote the proposal.", actor=experts[0])
    assignment.refresh_from_db()
    assert assignment.is_recused
    assert not experts[0].has_perm("calls.view_proposal", proposal)
    assert Notification.objects.filter(recipient=programme_officer, subject__startswith="Conflict of interest").exists()


def test_declaration_conflict_refused_without_reason(proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    with pytest.raises(RuleViolation, match=r"^Describe the conflict of interest\.$"):
        assignment_declare(assignment=assignment, conflict=True, reason="  ", actor=experts[0])


def test_declaration_is_final(proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    assignment_declare(assignment=assignment, conflict=False, actor=experts[0])
    with pytest.raises(StateConflict, match="^You already declared no conflict of interest for proposal "):
        assignment_declare(assignment=assignment, conflict=True, reason="Changed my mind", actor=experts[0])


def test_declaration_refused_for_another_evaluator(proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    with pytest.raises(NotPermitted, match=r"^Only the assigned evaluator declares a conflict of interest\.$"):
        assignment_declare(assignment=assignment, conflict=False, actor=experts[1])
