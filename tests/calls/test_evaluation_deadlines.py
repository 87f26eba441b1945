"""Evaluation deadlines: the calendar's deadlines, reminders before and at each deadline, overdue work and its
reassignment, and closed assignments left out of every count."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.evaluation.selectors import (
    cut_off_ranking,
    evaluator_loads,
    overdue_assignments,
    overdue_queryset,
    overdue_step,
    submitted_reviews,
)
from calls.evaluation.selectors.deadlines import overdue_ids
from calls.evaluation.services import (
    assignment_create,
    assignment_declare,
    assignment_reassign,
    assignments_auto_assign,
    consensus_record,
    evaluation_reminders_send,
    review_save,
    review_submit,
)
from calls.evaluation.services._common import close_assignments
from calls.evaluation.tasks import send_evaluation_reminders
from calls.models import Assignment, AssignmentReminder, Call, Proposal
from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.formatting import local
from eurohpc.models import AuditEvent, Notification, Role
from tests.calls.evaluation_factories import assign_all, comments_for, make_batch, scores_of
from tests.calls.factories import make_call
from tests.conftest import race, requires_postgresql
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REF = "EUROHPC-2026-CEI-AI-03-0001"


@pytest.fixture
def spare(db):
    return UserFactory(username="spare", first_name="Sara", last_name="Spare", roles=[Role.EVALUATOR])


@pytest.fixture
def assigned(proposal, experts, programme_officer):
    """Three experts assigned at the cut-off (not declared yet)."""
    return assign_all(proposal, experts, programme_officer, declare=False)


def _late_review(proposal, experts, programme_officer, freezer) -> list[Assignment]:
    """Three experts who declared no conflict; the clock one day past the review deadline."""
    assignments = assign_all(proposal, experts, programme_officer)
    freezer(assignments[0].deadline + timedelta(days=1))
    return assignments


def _reminders(evaluator) -> list[str]:
    return list(
        Notification.objects.filter(recipient=evaluator)
        .exclude(subject__contains="assigned to you")
        .order_by("id")
        .values_list("subject", flat=True)
    )


# --- the calendar -------------------------------------------------------------------------------------------


def test_assignment_deadlines_come_from_the_cut_off_calendar(proposal, experts, programme_officer):
    a = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    closes = proposal.cut_off.closes_at
    assert a.deadline == closes + timedelta(days=21)
    assert a.declaration_deadline == a.assigned_at + timedelta(days=3)


def test_assignment_deadlines_follow_the_calls_own_calendar(applicant, programme_officer, freezer, experts):
    call = make_call()
    Call.objects.filter(pk=call.pk).update(evaluation_calendar={"declaration_days": 5, "review_days": 14})
    proposal = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer)[0]
    a = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    assert a.deadline == proposal.cut_off.closes_at + timedelta(days=14)
    assert a.declaration_deadline == a.assigned_at + timedelta(days=5)


def test_late_assignment_gets_the_replacement_days(proposal, experts, programme_officer, freezer):
    now = freezer(proposal.cut_off.closes_at + timedelta(days=15))
    a = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    assert a.deadline == now + timedelta(days=10)
    assert a.declaration_deadline == now + timedelta(days=3)


# --- reminders ----------------------------------------------------------------------------------------------


def test_reminders_are_sent_once_each_at_the_right_moments(proposal, experts, programme_officer, freezer):
    a = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    freezer(a.declaration_deadline - timedelta(days=2, minutes=1))
    assert evaluation_reminders_send() == 0
    freezer(a.declaration_deadline - timedelta(days=1))
    assert evaluation_reminders_send() == 1
    assert evaluation_reminders_send() == 0
    freezer(a.declaration_deadline + timedelta(minutes=1))
    assert evaluation_reminders_send() == 1
    assert evaluation_reminders_send() == 0
    assignment_declare(assignment=a, conflict=False, actor=experts[0])
    freezer(a.deadline - timedelta(days=3))
    assert evaluation_reminders_send() == 0
    freezer(a.deadline - timedelta(days=1))
    assert evaluation_reminders_send() == 1
    freezer(a.deadline + timedelta(hours=1))
    assert evaluation_reminders_send() == 1
    assert evaluation_reminders_send() == 0
    assert _reminders(experts[0]) == [
        f"Evaluation: declare your conflict of interest with proposal {REF} by {local(a.declaration_deadline)}",
        f"Evaluation: your declaration on proposal {REF} is overdue",
        f"Evaluation: your review of proposal {REF} is due by {local(a.deadline)}",
        f"Evaluation: your review of proposal {REF} is overdue",
    ]
    assert sorted(AssignmentReminder.objects.filter(assignment=a).values_list("kind", flat=True)) == [
        "declaration_due", "declaration_soon", "review_due", "review_soon",
    ]  # fmt: skip


def test_reminders_skip_submitted_reviews_recusals_and_closed_assignments(
    proposal, experts, programme_officer, freezer, spare
):
    a, b, c = assign_all(proposal, experts, programme_officer, declare=False)
    assignment_declare(assignment=a, conflict=False, actor=experts[0])
    review_save(assignment=a, scores=scores_of("4", "4", "4"), comments=comments_for(), actor=experts[0], submit=True)
    assignment_declare(assignment=b, conflict=True, reason="A former colleague.", actor=experts[1])
    freezer(c.declaration_deadline + timedelta(hours=1))
    assignment_reassign(assignment=c, evaluator=spare, actor=programme_officer)
    freezer(a.deadline + timedelta(hours=1))
    evaluation_reminders_send()
    kinds = set(AssignmentReminder.objects.values_list("assignment__evaluator__username", "kind"))
    assert kinds == {("spare", "declaration_due")}


def test_reminder_task_is_idempotent(proposal, experts, programme_officer, freezer):
    a = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    freezer(a.declaration_deadline + timedelta(minutes=1))
    assert send_evaluation_reminders.delay().get() == 1
    assert send_evaluation_reminders.delay().get() == 0
    assert len(_reminders(experts[0])) == 1


def test_reminders_read_the_assignments_in_a_bounded_number_of_queries(proposal, experts, programme_officer, freezer):
    assignments = assign_all(proposal, experts, programme_officer, declare=False)
    freezer(assignments[0].declaration_deadline + timedelta(minutes=1))
    evaluation_reminders_send()  # every reminder sent: what is left is the selection alone
    with CaptureQueriesContext(connection) as captured:
        assert evaluation_reminders_send() == 0
    assert len(captured) == 2  # the open assignments (with proposal, call, expert, review) and their reminders


# --- overdue ------------------------------------------------------------------------------------------------


def test_overdue_step_in_python_and_sql_agree(proposal, experts, programme_officer, freezer):
    a, b, c = assign_all(proposal, experts, programme_officer, declare=False)
    assignment_declare(assignment=a, conflict=False, actor=experts[0])
    assignment_declare(assignment=b, conflict=True, reason="My employer's partner.", actor=experts[1])
    freezer(c.declaration_deadline + timedelta(minutes=1))
    rows = {x.pk: x for x in overdue_queryset()}
    assert list(rows) == [c.pk]
    assert overdue_step(rows[c.pk]) == "declaration"
    freezer(a.deadline + timedelta(minutes=1))
    late = {x.pk: overdue_step(x) for x in overdue_queryset()}
    assert late == {c.pk: "declaration", a.pk: "review"}
    assert overdue_ids(assignment_ids=[a.pk, b.pk, c.pk]) == {a.pk, c.pk}


def test_overdue_review_is_still_accepted_before_reassignment(proposal, experts, programme_officer, freezer):
    a = _late_review(proposal, experts, programme_officer, freezer)[0]
    review = review_save(
        assignment=a, scores=scores_of("4", "3.5", "4"), comments=comments_for(), actor=experts[0], submit=True
    )
    assert review.status == "submitted"


def test_overdue_declaration_is_still_accepted_before_reassignment(assigned, experts, freezer):
    freezer(assigned[0].declaration_deadline + timedelta(days=1))
    assert assignment_declare(assignment=assigned[0], conflict=False, actor=experts[0]).declaration == "no_conflict"


def test_overdue_assignments_lists_the_most_overdue_first_with_candidates(
    proposal, experts, programme_officer, freezer, spare
):
    a, b, c = assign_all(proposal, experts, programme_officer, declare=False)
    assignment_declare(assignment=a, conflict=False, actor=experts[0])
    now = freezer(a.deadline + timedelta(hours=30))
    rows = overdue_assignments()
    assert [(r.assignment.pk, r.step, r.days_late) for r in rows] == [
        (b.pk, "declaration", 20), (c.pk, "declaration", 20), (a.pk, "review", 2),
    ]  # fmt: skip
    assert rows[2].due == a.deadline and now > a.deadline
    assert [p.username for p in rows[0].candidates] == ["spare"]


def test_overdue_selector_query_count_is_constant(applicant, programme_officer, freezer, spare):
    from tests.calls.evaluation_factories import make_evaluators

    call = make_call()
    proposals = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=4)
    experts = make_evaluators(3, prefix="late")
    assign_all(proposals[0], experts[:1], programme_officer, declare=False)
    moment = proposals[0].cut_off.closes_at + timedelta(days=4)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            rows = overdue_assignments(now=moment)
        return len(rows), len(captured)

    one = count()
    for p in proposals[1:]:
        assign_all(p, experts, programme_officer, declare=False)
    several = count()
    assert (one[0], several[0]) == (1, 10)
    assert one[1] == several[1] == 5


# --- reassignment -------------------------------------------------------------------------------------------


def test_reassign_closes_the_late_assignment_and_assigns_the_replacement(
    proposal, experts, programme_officer, freezer, spare
):
    a = _late_review(proposal, experts, programme_officer, freezer)[0]
    review_save(assignment=a, scores=scores_of("4", "", ""), comments={}, actor=experts[0])
    now = freezer(a.deadline + timedelta(days=2))
    new = assignment_reassign(assignment=a, evaluator=spare, actor=programme_officer, reason="No answer.")
    a.refresh_from_db()
    assert (a.closed_at, a.close_reason, a.review.status) == (now, "reassigned", "draft")
    assert new.replaces_id == a.pk and new.evaluator == spare
    assert new.deadline == now + timedelta(days=10)  # the calendar's replacement time
    assert new.declaration_deadline == now + timedelta(days=3)
    event = AuditEvent.objects.get(verb="evaluation.reassign")
    assert event.changes["from"] == experts[0].username and event.changes["to"] == "spare"
    told = Notification.objects.get(recipient=experts[0], subject__contains="reassigned")
    assert told.subject == f"Evaluation: your assignment to proposal {REF} was reassigned"
    assert "Reason: No answer." in told.body
    assert Notification.objects.filter(recipient=spare, subject="Evaluation: 1 proposal(s) assigned to you").exists()


def test_review_after_reassignment_is_refused_with_409(proposal, experts, programme_officer, freezer, spare):
    a = _late_review(proposal, experts, programme_officer, freezer)[0]
    review_save(assignment=a, scores=scores_of("4", "", ""), comments={}, actor=experts[0])
    assignment_reassign(assignment=a, evaluator=spare, actor=programme_officer)
    a.refresh_from_db()
    expected = (
        f"Your assignment to proposal {REF} was reassigned on {local(a.closed_at)} after its deadline of "
        f"{local(a.deadline)}: your draft is kept but no longer accepted."
    )
    for attempt in (
        lambda: review_save(assignment=a, scores=scores_of("4", "4", "4"), comments=comments_for(), actor=experts[0]),
        lambda: review_submit(assignment=a, actor=experts[0]),
    ):
        with pytest.raises(StateConflict) as refused:
            attempt()
        assert (refused.value.status_code, refused.value.code, refused.value.message) == (
            409, "assignment_closed", expected,
        )  # fmt: skip


def test_declaration_after_reassignment_is_refused_with_409(assigned, experts, programme_officer, freezer, spare):
    a = assigned[0]
    freezer(a.declaration_deadline + timedelta(hours=1))
    assignment_reassign(assignment=a, evaluator=spare, actor=programme_officer)
    a.refresh_from_db()
    with pytest.raises(StateConflict) as refused:
        assignment_declare(assignment=a, conflict=False, actor=experts[0])
    assert refused.value.code == "assignment_closed"
    assert refused.value.message == (
        f"Your assignment to proposal {REF} was reassigned on {local(a.closed_at)} after its deadline of "
        f"{local(a.declaration_deadline)}: your draft is kept but no longer accepted."
    )


def test_reassign_refuses_work_that_is_not_overdue(assigned, programme_officer, spare, experts):
    a = assigned[0]
    with pytest.raises(StateConflict) as refused:
        assignment_reassign(assignment=a, evaluator=spare, actor=programme_officer)
    assert (refused.value.status_code, refused.value.code) == (409, "not_overdue")
    assert refused.value.message == (
        f"The assignment of {experts[0].display_name} to proposal {REF} is not overdue: its declaration is due by "
        f"{local(a.declaration_deadline)}."
    )
    assert not Assignment.objects.filter(closed_at__isnull=False).exists()


def test_reassign_refuses_a_replacement_with_a_conflict_of_interest(assigned, programme_officer, freezer, organisation):
    insider = UserFactory(
        username="insider", first_name="Ines", last_name="Insider", organisation=organisation, roles=[Role.EVALUATOR]
    )
    freezer(assigned[0].declaration_deadline + timedelta(hours=1))
    with pytest.raises(RuleViolation) as refused:
        assignment_reassign(assignment=assigned[0], evaluator=insider, actor=programme_officer)
    assert (refused.value.status_code, refused.value.code) == (400, "conflict_of_interest")
    assert refused.value.message == (
        f"Conflict of interest: Ines Insider works for {organisation.short_name}, the applicant of {REF}."
    )
    assert Assignment.objects.get(pk=assigned[0].pk).closed_at is None  # nothing closed on a refusal


def test_reassign_refuses_a_replacement_already_assigned(assigned, programme_officer, freezer, experts):
    freezer(assigned[0].declaration_deadline + timedelta(hours=1))
    with pytest.raises(StateConflict, match=r"is already assigned to proposal") as refused:
        assignment_reassign(assignment=assigned[0], evaluator=experts[1], actor=programme_officer)
    assert refused.value.code == "already_assigned"


def test_reassign_refuses_a_non_evaluator_replacement(assigned, programme_officer, freezer, applicant):
    freezer(assigned[0].declaration_deadline + timedelta(hours=1))
    with pytest.raises(RuleViolation) as refused:
        assignment_reassign(assignment=assigned[0], evaluator=applicant, actor=programme_officer)
    assert refused.value.message == f"{applicant.display_name} is not an evaluator."


def test_reassign_refuses_anyone_but_a_programme_officer(assigned, freezer, spare, evaluator):
    freezer(assigned[0].declaration_deadline + timedelta(hours=1))
    with pytest.raises(NotPermitted) as refused:
        assignment_reassign(assignment=assigned[0], evaluator=spare, actor=evaluator)
    assert (refused.value.status_code, refused.value.message) == (
        403, "Only programme officers reassign overdue evaluation work.",
    )  # fmt: skip


def test_reassign_refuses_a_submitted_review_and_a_closed_assignment(
    proposal, experts, programme_officer, freezer, spare
):
    a, b, _ = _late_review(proposal, experts, programme_officer, freezer)
    review_save(assignment=a, scores=scores_of("4", "4", "4"), comments=comments_for(), actor=experts[0], submit=True)
    with pytest.raises(StateConflict) as refused:
        assignment_reassign(assignment=a, evaluator=spare, actor=programme_officer)
    assert refused.value.code == "review_submitted"
    assignment_reassign(assignment=b, evaluator=spare, actor=programme_officer)
    second = UserFactory(username="second", roles=[Role.EVALUATOR])
    with pytest.raises(StateConflict) as refused:
        assignment_reassign(assignment=b, evaluator=second, actor=programme_officer)
    b.refresh_from_db()
    assert refused.value.code == "assignment_closed"
    assert refused.value.message == (
        f"The assignment of {experts[1].display_name} to proposal {REF} was already closed on {local(b.closed_at)} "
        f"(reassigned after its deadline)."
    )


def test_reassigned_expert_no_longer_sees_the_proposal(proposal, experts, programme_officer, freezer, spare):
    a = _late_review(proposal, experts, programme_officer, freezer)[0]
    assert experts[0].has_perm("calls.view_proposal", proposal)
    assignment_reassign(assignment=a, evaluator=spare, actor=programme_officer)
    from eurohpc.models import User

    late = User.objects.get(pk=experts[0].pk)
    assert not late.has_perm("calls.view_proposal", proposal)
    assert not Proposal.objects.visible_to(late).filter(pk=proposal.pk).exists()


# --- closed assignments leave every count ------------------------------------------------------------------


def _three_reviews(proposal, experts, officer) -> list[Assignment]:
    assignments = assign_all(proposal, experts, officer)
    for a in assignments:
        review_save(
            assignment=a, scores=scores_of("4", "4", "4"), comments=comments_for(), actor=a.evaluator, submit=True
        )
    return assignments


def test_consensus_counts_only_open_assignments(proposal, experts, programme_officer, freezer):
    assignments = _three_reviews(proposal, experts, programme_officer)
    close_assignments(
        list(Assignment.objects.filter(pk=assignments[0].pk)),
        reason=Assignment.CloseReason.RE_EVALUATION,
        now=freezer(proposal.cut_off.closes_at + timedelta(days=1)),
    )
    assert len(submitted_reviews(proposal=proposal)) == 2
    assert cut_off_ranking(cut_off=proposal.cut_off).pending[0].proposal.reviews_submitted == 2
    with pytest.raises(StateConflict) as refused:
        consensus_record(
            proposal=proposal, scores=scores_of("4", "4", "4"), comments=comments_for(), actor=programme_officer
        )
    assert refused.value.message == (
        f"The consensus needs at least 3 submitted individual reviews; proposal {REF} has 2."
    )


def test_closed_assignments_leave_loads_and_auto_assign_counts(proposal, experts, programme_officer, freezer, spare):
    assignments = assign_all(proposal, experts, programme_officer)
    assert evaluator_loads()[experts[0].pk] == 1
    close_assignments(
        list(Assignment.objects.filter(pk=assignments[0].pk)),
        reason=Assignment.CloseReason.RE_EVALUATION,
        now=freezer(proposal.cut_off.closes_at + timedelta(days=1)),
    )
    assert experts[0].pk not in evaluator_loads()
    result = assignments_auto_assign(cut_off=proposal.cut_off, actor=programme_officer)
    assert [a.evaluator.username for a in result.created] == ["spare"]


# --- concurrency (PostgreSQL) -------------------------------------------------------------------------------


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_reminder_runs_send_each_reminder_once(applicant, programme_officer, freezer):
    from tests.calls.evaluation_factories import make_evaluators

    call = make_call()
    proposals = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=3)
    experts = make_evaluators(3, prefix="busy")
    for p in proposals:
        assign_all(p, experts, programme_officer, declare=False)
    freezer(Assignment.objects.order_by("declaration_deadline").first().declaration_deadline + timedelta(minutes=1))
    results, errors = race(evaluation_reminders_send, evaluation_reminders_send)
    assert errors == []
    assert sum(results) == 9
    assert AssignmentReminder.objects.count() == 9
    assert Notification.objects.filter(subject__endswith="is overdue").count() == 9


@requires_postgresql
def test_reassign_locks_in_the_products_order(proposal, experts, programme_officer, freezer, spare):
    from tests.eurohpc.test_lock_order import assert_in_order, locked_tables

    a = _late_review(proposal, experts, programme_officer, freezer)[0]
    with CaptureQueriesContext(connection) as captured:
        assignment_reassign(assignment=a, evaluator=spare, actor=programme_officer)
    tables = locked_tables(captured)
    assert tables[:2] == ["calls_proposal", "calls_assignment"]
    assert_in_order(tables)
