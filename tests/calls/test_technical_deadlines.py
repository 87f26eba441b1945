"""Deadlines of the technical assessment: reminders before and at the deadline, overdue assessments still accepted,
their reassignment to another expert, closed assessments refused everywhere (service, page, API), and the
office's queue and overdue page."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.evaluation.selectors import (
    assessment_overdue,
    overdue_assessments,
    technical_overdue,
    technical_queue,
    technical_queue_rows,
    technical_refusal,
)
from calls.evaluation.services import (
    feasibility_assign,
    feasibility_declare,
    feasibility_reassign,
    feasibility_reminders_send,
    feasibility_save,
)
from calls.evaluation.tasks import send_evaluation_reminders
from calls.models import FeasibilityAssessment, FeasibilityReminder, Proposal
from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.formatting import local
from eurohpc.models import AuditEvent, Notification, Role
from tests.calls.evaluation_factories import batch_of, feasibility_answers, make_batch, technical_expert
from tests.calls.factories import make_call
from tests.conftest import api_for, queries_of_page, race, requires_postgresql
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REF = "EUROHPC-2026-CEI-AI-03-0001"
QUEUE = "/officer/evaluation/technical/"
OVERDUE = "/officer/evaluation/overdue/"


@pytest.fixture
def expert():
    return technical_expert()


@pytest.fixture
def spare(db):
    return UserFactory(username="spare-expert", first_name="Sam", last_name="Spare", roles=[Role.TECHNICAL_EXPERT])


@pytest.fixture
def assigned(proposal, expert, programme_officer):
    return feasibility_assign(proposal=proposal, expert=expert, actor=programme_officer)


@pytest.fixture
def late(assigned, freezer):
    """The assessment (declaration pending) one day past its deadline."""
    freezer(assigned.deadline + timedelta(days=1))
    return assigned


@pytest.fixture
def reassigned(late, spare, programme_officer):
    """The late assessment reassigned to the spare expert; returns the new one."""
    return feasibility_reassign(assessment=late, expert=spare, actor=programme_officer, reason="No answer.")


def _reminders(user) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user, subject__startswith="Technical assessment: proposal")
        .exclude(subject__endswith="assigned to you")
        .exclude(subject__endswith="was reassigned")
        .order_by("id")
        .values_list("subject", flat=True)
    )


def _closed_message(assessment: FeasibilityAssessment) -> str:
    assessment.refresh_from_db()
    return (
        f"Your technical assessment of proposal {REF} was reassigned on {local(assessment.closed_at)} after its "
        f"deadline of {local(assessment.deadline)}: your draft is kept but no longer accepted."
    )


# --- reminders ------------------------------------------------------------------------------------------------


def test_feasibility_reminders_send_soon_and_due_once_each_as_the_clock_moves(assigned, expert, freezer):
    due = local(assigned.deadline)
    freezer(assigned.deadline - timedelta(days=3))
    assert feasibility_reminders_send() == 0
    freezer(assigned.deadline - timedelta(days=1))
    assert feasibility_reminders_send() == 1
    assert feasibility_reminders_send() == 0
    freezer(assigned.deadline + timedelta(hours=1))
    assert feasibility_reminders_send() == 1
    freezer(assigned.deadline + timedelta(days=3))
    assert feasibility_reminders_send() == 0
    assert _reminders(expert) == [
        f"Technical assessment: proposal {REF} is due by {due}",
        f"Technical assessment: proposal {REF} is overdue",
    ]
    assert sorted(FeasibilityReminder.objects.values_list("kind", flat=True)) == ["due", "soon"]


def test_feasibility_reminders_send_due_alone_when_the_window_was_missed(assigned, expert, freezer):
    freezer(assigned.deadline + timedelta(minutes=1))
    assert feasibility_reminders_send() == 1
    body = Notification.objects.get(recipient=expert, subject__endswith="is overdue").body
    assert body == (
        f"Your technical assessment of proposal {REF} (AIF1) was due by {local(assigned.deadline)}. You may still "
        f"submit it until the programme office assigns another expert; your draft is then kept but no longer "
        f"accepted.\n"
    )


def test_feasibility_reminders_skip_submitted_recused_and_closed_assessments(
    call, applicant, programme_officer, freezer, expert, spare
):
    done, recused, closed = batch_of(call, applicant, programme_officer, freezer, ["1.00", "1.00", "1.00"])
    a = feasibility_assign(proposal=done, expert=expert, actor=programme_officer)
    feasibility_declare(assessment=a, conflict=False, actor=expert)
    feasibility_save(assessment=a, **feasibility_answers(), summary="Fine.", actor=expert, submit=True)
    b = feasibility_assign(proposal=recused, expert=expert, actor=programme_officer)
    feasibility_declare(assessment=b, conflict=True, reason="Former employer.", actor=expert)
    c = feasibility_assign(proposal=closed, expert=expert, actor=programme_officer)
    freezer(c.deadline + timedelta(days=1))
    feasibility_reassign(assessment=c, expert=spare, actor=programme_officer)
    assert feasibility_reminders_send() == 0
    assert _reminders(expert) == []


def test_send_evaluation_reminders_task_reminds_technical_experts_too(assigned, expert, freezer):
    freezer(assigned.deadline + timedelta(hours=1))
    assert send_evaluation_reminders() == 1
    assert send_evaluation_reminders() == 0
    assert _reminders(expert) == [f"Technical assessment: proposal {REF} is overdue"]


def test_feasibility_reminders_select_in_the_same_queries_for_one_and_several(applicant, programme_officer, freezer):
    def selection_queries(made) -> int:
        assert made
        earliest = FeasibilityAssessment.objects.order_by("deadline").first().deadline
        freezer(earliest - timedelta(days=5))  # before every reminder window: nothing to send
        with CaptureQueriesContext(connection) as queries:
            assert feasibility_reminders_send() == 0
        return len(queries)

    one = selection_queries(
        _technical_batch(make_call(identifier="EUROHPC-2026-CEI-AI-05"), applicant, programme_officer, freezer, "a", 1)
    )
    several = selection_queries(
        _technical_batch(make_call(identifier="EUROHPC-2026-CEI-AI-06"), applicant, programme_officer, freezer, "b", 3)
    )
    assert several == one == 2


# --- overdue ----------------------------------------------------------------------------------------------------


def test_overdue_sql_and_python_agree(assigned, expert):
    after = assigned.deadline + timedelta(days=1)

    def both():
        in_sql = FeasibilityAssessment.objects.filter(technical_overdue(after), pk=assigned.pk).exists()
        fresh = FeasibilityAssessment.objects.select_related("proposal").get(pk=assigned.pk)
        return in_sql, assessment_overdue(fresh, after)

    assert both() == (True, True)
    feasibility_declare(assessment=assigned, conflict=False, actor=expert)
    assert both() == (True, True)  # declared or not, the whole assessment is due by its deadline
    feasibility_save(assessment=assigned, **feasibility_answers(), summary="Fine.", actor=expert, submit=True)
    assert both() == (False, False)


def test_overdue_assessment_is_still_accepted_before_reassignment(late, expert):
    feasibility_declare(assessment=late, conflict=False, actor=expert)
    done = feasibility_save(assessment=late, **feasibility_answers(), summary="Fine.", actor=expert, submit=True)
    assert done.status == "submitted" and done.closed_at is None


# --- reassignment ---------------------------------------------------------------------------------------------


def test_feasibility_reassign_closes_the_late_assessment_and_assigns_the_expert(late, reassigned, spare, expert):
    late.refresh_from_db()
    now = late.closed_at
    assert now == late.deadline + timedelta(days=1)
    assert reassigned.expert == spare and reassigned.declaration == "pending"
    assert reassigned.deadline == now + timedelta(days=10)  # a late start gets the replacement time
    event = AuditEvent.objects.get(verb="evaluation.technical_reassign")
    assert event.changes["from"] == expert.username and event.changes["to"] == spare.username
    assert event.changes["reason"] == "No answer."
    told = Notification.objects.get(recipient=expert, subject=f"Technical assessment: proposal {REF} was reassigned")
    assert told.body == (
        f"Your technical assessment of proposal {REF} (AIF1) was due by {local(late.deadline)}. The programme office "
        f"assigned another expert on {local(now)}; your assessment is closed and your draft, if any, is kept but no "
        f"longer accepted.\n\nReason: No answer.\n"
    )
    assert Notification.objects.filter(
        recipient=spare, subject=f"Technical assessment: proposal {REF} assigned to you"
    ).exists()


def test_feasibility_reassign_keeps_the_late_draft(late, expert, spare, programme_officer):
    feasibility_declare(assessment=late, conflict=False, actor=expert)
    feasibility_save(assessment=late, items={"tco": "pass"}, comments={"tco": "Sound."}, actor=expert)
    feasibility_reassign(assessment=late, expert=spare, actor=programme_officer)
    late.refresh_from_db()
    assert late.draft["items"] == {"tco": "pass"} and late.status == "draft" and late.closed_at is not None


def test_feasibility_reassign_refuses_an_assessment_not_overdue(assigned, spare, programme_officer):
    with pytest.raises(StateConflict) as refused:
        feasibility_reassign(assessment=assigned, expert=spare, actor=programme_officer)
    assert refused.value.code == "not_overdue"
    assert refused.value.message == (
        f"The technical assessment of proposal {REF} by {assigned.expert.display_name} is not overdue: it is due by "
        f"{local(assigned.deadline)}."
    )


def test_feasibility_reassign_refuses_a_closed_assessment(late, reassigned, programme_officer):
    other = UserFactory(username="third-expert", roles=[Role.TECHNICAL_EXPERT])
    late.refresh_from_db()
    with pytest.raises(StateConflict) as refused:
        feasibility_reassign(assessment=late, expert=other, actor=programme_officer)
    assert refused.value.code == "assessment_closed"
    assert refused.value.message == (
        f"The technical assessment of proposal {REF} by {late.expert.display_name} was already closed on "
        f"{local(late.closed_at)} (reassigned)."
    )


def test_feasibility_reassign_refuses_a_submitted_assessment(assigned, expert, spare, programme_officer, freezer):
    feasibility_declare(assessment=assigned, conflict=False, actor=expert)
    done = feasibility_save(assessment=assigned, **feasibility_answers(), summary="Fine.", actor=expert, submit=True)
    freezer(assigned.deadline + timedelta(days=1))
    with pytest.raises(StateConflict) as refused:
        feasibility_reassign(assessment=assigned, expert=spare, actor=programme_officer)
    assert refused.value.code == "assessment_submitted"
    assert refused.value.message == (
        f"{expert.display_name} submitted the technical assessment of proposal {REF} on {local(done.submitted_at)}: "
        f"a submitted assessment is not reassigned."
    )


def test_feasibility_reassign_refuses_a_recused_expert(assigned, expert, spare, programme_officer, freezer):
    feasibility_declare(assessment=assigned, conflict=True, reason="Former employer.", actor=expert)
    freezer(assigned.deadline + timedelta(days=1))
    with pytest.raises(StateConflict) as refused:
        feasibility_reassign(assessment=assigned, expert=spare, actor=programme_officer)
    assert refused.value.code == "recused"
    assert refused.value.message == (
        f"{expert.display_name} declared a conflict of interest with proposal {REF}: assign another technical expert "
        f"in the queue instead."
    )


def test_feasibility_reassign_refuses_an_actor_who_is_not_an_officer(late, spare, expert):
    with pytest.raises(NotPermitted) as refused:
        feasibility_reassign(assessment=late, expert=spare, actor=expert)
    assert refused.value.status_code == 403
    assert refused.value.message == "Only programme officers reassign overdue evaluation work."


def test_feasibility_reassign_checks_the_new_expert_as_an_assignment(late, evaluator, expert, programme_officer):
    with pytest.raises(RuleViolation) as refused:
        feasibility_reassign(assessment=late, expert=evaluator, actor=programme_officer)
    assert refused.value.code == "not_technical_expert"
    with pytest.raises(StateConflict) as again:
        feasibility_reassign(assessment=late, expert=expert, actor=programme_officer)
    assert again.value.code == "already_assigned"
    insider = UserFactory(username="insider", organisation=late.proposal.organisation, roles=[Role.TECHNICAL_EXPERT])
    with pytest.raises(RuleViolation) as conflicted:
        feasibility_reassign(assessment=late, expert=insider, actor=programme_officer)
    assert conflicted.value.code == "conflict_of_interest"
    late.refresh_from_db()
    assert late.closed_at is None  # every refusal leaves it open


# --- closed means closed --------------------------------------------------------------------------------------


def test_closed_assessment_refuses_the_declaration(late, reassigned, expert):
    with pytest.raises(StateConflict) as refused:
        feasibility_declare(assessment=late, conflict=False, actor=expert)
    assert refused.value.code == "assessment_closed"
    assert refused.value.message == _closed_message(late)


@pytest.mark.parametrize("submit", [False, True])
def test_closed_assessment_refuses_save_and_submit(assigned, expert, spare, programme_officer, freezer, submit):
    feasibility_declare(assessment=assigned, conflict=False, actor=expert)
    freezer(assigned.deadline + timedelta(days=1))
    feasibility_reassign(assessment=assigned, expert=spare, actor=programme_officer)
    with pytest.raises(StateConflict) as refused:
        feasibility_save(assessment=assigned, **feasibility_answers(), summary="Late.", actor=expert, submit=submit)
    assert refused.value.code == "assessment_closed" and refused.value.status_code == 409
    assert refused.value.message == _closed_message(assigned)


def test_closed_assessment_no_longer_opens_the_proposal_to_its_expert(
    assigned, expert, spare, proposal, programme_officer, freezer
):
    feasibility_declare(assessment=assigned, conflict=False, actor=expert)
    assert expert.has_perm("calls.view_proposal", proposal)
    freezer(assigned.deadline + timedelta(days=1))
    feasibility_reassign(assessment=assigned, expert=spare, actor=programme_officer)
    fresh = type(expert).objects.get(pk=expert.pk)
    assert not fresh.has_perm("calls.view_proposal", proposal)


def test_new_expert_assesses_and_the_selection_gate_reads_the_new_assessment(
    late, reassigned, spare, proposal, programme_officer
):
    assert technical_refusal(proposal).code == "technical_assessment_missing"
    feasibility_declare(assessment=reassigned, conflict=False, actor=spare)
    feasibility_save(
        assessment=reassigned, **feasibility_answers(failing=("tco",)), summary="Costs missing.", actor=spare,
        submit=True,
    )  # fmt: skip
    assert technical_refusal(proposal).code == "technical_assessment_failed"
    rows = technical_queue_rows(proposals=list(technical_queue()))
    assert rows[0].assessment.pk == reassigned.pk and rows[0].state == "failed"
    assert [c.pk for c in rows[0].closed] == [late.pk]


# --- pages ----------------------------------------------------------------------------------------------------


def test_technical_queue_puts_overdue_first_and_offers_the_reassign_form(
    client, call, applicant, programme_officer, freezer, expert, spare
):
    on_time, slow = batch_of(call, applicant, programme_officer, freezer, ["1.00", "1.00"])
    late = feasibility_assign(proposal=slow, expert=expert, actor=programme_officer)
    freezer(late.deadline + timedelta(days=1))
    fine = feasibility_assign(proposal=on_time, expert=spare, actor=programme_officer)
    assert [p.pk for p in technical_queue()] == [slow.pk, on_time.pk]
    client.force_login(programme_officer)
    html = client.get(QUEUE).content.decode()
    assert html.index(slow.reference) < html.index(on_time.reference)
    assert html.count('<span class="badge badge-bad">Overdue</span>') == 1
    assert f"/officer/evaluation/technical/assessments/{late.pk}/reassign/" in html
    assert f"/officer/evaluation/technical/assessments/{fine.pk}/reassign/" not in html


def test_technical_reassign_form_reassigns(client, late, spare, programme_officer):
    client.force_login(programme_officer)
    response = client.post(f"/officer/evaluation/technical/assessments/{late.pk}/reassign/", {"expert": spare.pk})
    assert response.status_code == 302
    late.refresh_from_db()
    assert late.closed_at is not None
    assert FeasibilityAssessment.objects.get(proposal_id=late.proposal_id, closed_at=None).expert == spare


def test_technical_reassign_form_refuses_an_assessment_not_overdue_with_409(client, assigned, spare, programme_officer):
    client.force_login(programme_officer)
    response = client.post(f"/officer/evaluation/technical/assessments/{assigned.pk}/reassign/", {"expert": spare.pk})
    assert response.status_code == 409
    assert f"is not overdue: it is due by {local(assigned.deadline)}." in response.content.decode()


def test_technical_reassign_form_is_refused_to_an_expert(client, late, spare, expert):
    client.force_login(expert)
    response = client.post(f"/officer/evaluation/technical/assessments/{late.pk}/reassign/", {"expert": spare.pk})
    assert response.status_code == 403
    assert "Only programme officers reassign overdue evaluation work." in response.content.decode()


def test_expert_pages_show_overdue_then_closed_without_forms(client, late, expert, spare, programme_officer):
    client.force_login(expert)
    page = f"/evaluation/technical/{late.pk}/"
    assert '<span class="badge badge-bad">overdue</span>' in client.get(page).content.decode()
    feasibility_reassign(assessment=late, expert=spare, actor=programme_officer)
    html = client.get(page).content.decode()
    assert "closed — reassigned" in html and "<form" not in html.split("<main", 1)[-1].split("</main>")[0]
    assert "Closed — reassigned" in client.get("/evaluation/technical/").content.decode()


OVERDUE_BADGE = '<span class="badge badge-bad">overdue</span>'


def test_expert_pages_show_overdue_on_list_page_and_dashboard(client, late, expert):
    client.force_login(expert)
    for url in ("/evaluation/technical/", f"/evaluation/technical/{late.pk}/", "/dashboard/"):
        assert OVERDUE_BADGE in client.get(url).content.decode(), url
    assert '<span class="badge badge-bad">1 overdue</span>' in client.get("/dashboard/").content.decode()


def test_expert_pages_show_no_overdue_once_the_proposal_is_decided(client, late, expert):
    """The pages read `assessment_overdue`: a rejected proposal's late draft is not overdue (nor counted)."""
    Proposal.objects.filter(pk=late.proposal_id).update(status=Proposal.Status.REJECTED)
    assert assessment_overdue(FeasibilityAssessment.objects.select_related("proposal").get(pk=late.pk)) is False
    client.force_login(expert)
    for url in ("/evaluation/technical/", f"/evaluation/technical/{late.pk}/", "/dashboard/"):
        response = client.get(url)
        assert response.status_code == 200
        assert OVERDUE_BADGE not in response.content.decode(), url
    assert "1 overdue" not in client.get("/dashboard/").content.decode()


def test_expert_dashboard_lists_a_reserve_proposal_as_its_counts_do(client, late, expert):
    """The dashboard's list and counts both cover TECHNICAL_OPEN: a reserve proposal is still assessed."""
    Proposal.objects.filter(pk=late.proposal_id).update(status=Proposal.Status.RESERVE)
    client.force_login(expert)
    html = client.get("/dashboard/").content.decode()
    assert "1 to declare" in html and '<span class="badge badge-bad">1 overdue</span>' in html
    assert f'href="/evaluation/technical/{late.pk}/"' in html and OVERDUE_BADGE in html


def test_expert_save_page_refuses_a_closed_assessment_with_409(client, late, reassigned, expert):
    client.force_login(expert)
    response = client.post(f"/evaluation/technical/{late.pk}/declaration/", {"declaration": "no_conflict"})
    assert response.status_code == 409
    assert _closed_message(late) in response.content.decode()


def test_overdue_page_lists_technical_assessments(client, late, programme_officer):
    client.force_login(programme_officer)
    html = client.get(OVERDUE).content.decode()
    assert "Technical assessments" in html
    section = html.split('id="technical"', 1)[1]
    assert REF in section and late.expert.display_name in section


def test_officer_dashboard_counts_overdue_technical_assessments(client, late, programme_officer):
    client.force_login(programme_officer)
    html = client.get("/dashboard/").content.decode()
    assert "<strong>1</strong> overdue technical assessment</a>" in html


def _technical_batch(call, applicant, officer, freezer, expert_prefix: str, count: int):
    proposals = make_batch(call=call, applicant=applicant, officer=officer, freezer=freezer, count=count)
    made = []
    for i, p in enumerate(proposals):
        person = UserFactory(username=f"{expert_prefix}{i}", roles=[Role.TECHNICAL_EXPERT])
        made.append(feasibility_assign(proposal=p, expert=person, actor=officer))
    UserFactory(username=f"{expert_prefix}-spare", roles=[Role.TECHNICAL_EXPERT])
    return made


@pytest.mark.parametrize("url", [QUEUE, OVERDUE])
def test_lists_with_overdue_technical_rows_cost_the_same_queries_for_one_and_several(
    client, url, applicant, programme_officer, freezer
):
    first = _technical_batch(
        make_call(identifier="EUROHPC-2026-CEI-AI-05"), applicant, programme_officer, freezer, "one", 1
    )
    freezer(first[0].deadline + timedelta(days=1))
    one = queries_of_page(client, programme_officer, url)
    _technical_batch(make_call(identifier="EUROHPC-2026-CEI-AI-06"), applicant, programme_officer, freezer, "more", 3)
    freezer(FeasibilityAssessment.objects.order_by("-deadline").first().deadline + timedelta(days=1))
    assert len(list(overdue_assessments())) == 4
    several = queries_of_page(client, programme_officer, url)
    assert several == one


# --- API ------------------------------------------------------------------------------------------------------


def test_api_assessment_shows_overdue_and_closed_at(late, expert, spare, programme_officer):
    url = f"/api/v1/evaluation/technical/assessments/{late.pk}/"
    shown = api_for(expert).get(url).json()
    assert shown["overdue"] is True and shown["closed_at"] is None
    feasibility_reassign(assessment=late, expert=spare, actor=programme_officer)
    shown = api_for(expert).get(url).json()
    assert shown["overdue"] is False and shown["closed_at"] is not None and shown["actions"] == []
    queue = api_for(programme_officer).get("/api/v1/evaluation/technical/").json()["results"]
    assert queue[0]["assessment"]["expert"]["username"] == spare.username
    assert queue[0]["assessment"]["overdue"] is False


def test_api_reassign_and_refusals(late, expert, spare, programme_officer):
    url = f"/api/v1/evaluation/technical/assessments/{late.pk}/reassign/"
    refused = api_for(expert).post(url, {"expert": spare.pk}, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only programme officers reassign overdue evaluation work."
    created = api_for(programme_officer).post(url, {"expert": spare.pk, "reason": "Silent."}, format="json")
    assert created.status_code == 201
    assert created.json()["expert"]["username"] == spare.username and created.json()["overdue"] is False
    again = api_for(programme_officer).post(url, {"expert": spare.pk}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "assessment_closed"


def test_api_save_on_a_closed_assessment_is_409(late, reassigned, expert):
    response = api_for(expert).post(
        f"/api/v1/evaluation/technical/assessments/{late.pk}/assessment/", {"submit": False}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "assessment_closed"
    assert response.json()["detail"] == _closed_message(late)


# --- concurrency ----------------------------------------------------------------------------------------------


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_reminder_runs_send_each_technical_reminder_once(applicant, programme_officer, freezer):
    made = _technical_batch(make_call(), applicant, programme_officer, freezer, "busy", 3)
    freezer(max(a.deadline for a in made) + timedelta(minutes=1))
    results, errors = race(feasibility_reminders_send, feasibility_reminders_send)
    assert errors == []
    assert sum(results) == 3
    assert FeasibilityReminder.objects.count() == 3
    assert Notification.objects.filter(subject__endswith="is overdue").count() == 3
