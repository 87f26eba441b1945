"""Overdue access reviewers: reassigned like any evaluator while the reviews are not released, never afterwards
(service, overdue page, API); the application page marks a reassigned reviewer as closed."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from calls.access.services import access_eligibility_record, access_reviews_release, technical_assessment_record
from calls.evaluation.actions import may_reassign
from calls.evaluation.selectors import overdue_queryset
from calls.evaluation.services import assignment_create, assignment_declare, assignment_reassign, review_save
from calls.models import Assignment
from eurohpc.errors import StateConflict
from eurohpc.formatting import local
from eurohpc.models import Role
from tests.calls.access_factories import (
    COMMENTS,
    SCORES,
    make_access_call,
    make_gpu_machine,
    make_host_operator,
    submitted_application,
)
from tests.conftest import api_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OVERDUE = "/officer/evaluation/overdue/"


@pytest.fixture
def access(organisation, applicant, programme_officer, freezer):
    """An AI for Science application past its cut-off, eligible, assessed feasible, three reviewers assigned: two
    submitted their review, the third ("late") has not declared yet. Returns (application, late assignment)."""
    call = make_access_call()
    _machine, partition, _period = make_gpu_machine(hosting_entity=organisation)
    application = submitted_application(
        call=call, partition=partition, applicant=applicant, mode="ai_for_science", user_type="academia",
        duration_months=6,
    )  # fmt: skip
    freezer(timezone.now() + timedelta(days=11))
    access_eligibility_record(
        application=application, eligible=True, reason="Established in the EU.", actor=programme_officer
    )
    technical_assessment_record(application=application, feasible=True, notes="Runs on ROCm.",
                                recommended_gpu_hours="3000", actor=make_host_operator(organisation))  # fmt: skip
    reviewers = [UserFactory(username=f"reviewer{i}", roles=[Role.EVALUATOR]) for i in range(3)]
    assignments = [
        assignment_create(proposal=application.proposal, evaluator=r, actor=programme_officer) for r in reviewers
    ]
    for assignment, reviewer in zip(assignments[:2], reviewers[:2], strict=True):
        assignment_declare(assignment=assignment, conflict=False, actor=reviewer)
        review_save(assignment=assignment, scores=SCORES, comments=COMMENTS, actor=reviewer, submit=True)
    return application, assignments[2]


@pytest.fixture
def spare(db):
    return UserFactory(username="spare-reviewer", first_name="Sam", last_name="Spare", roles=[Role.EVALUATOR])


def _late(assignment: Assignment, freezer) -> Assignment:
    freezer(assignment.declaration_deadline + timedelta(days=1))
    return overdue_queryset().get(pk=assignment.pk)


def _released(application, officer):
    access_reviews_release(application=application, actor=officer)
    application.refresh_from_db()
    return application


def _message(application, late: Assignment) -> str:
    return (
        f"The reviews of access application {application.proposal} were released to the applicant (reply due by "
        f"{local(application.reply_deadline)}): reviewers are assigned only until the reviews are released, so the "
        f"assignment of {late.evaluator.display_name} is not reassigned."
    )


def test_an_overdue_access_reviewer_is_reassigned_before_the_release(access, spare, programme_officer, freezer):
    _application, late = access
    late = _late(late, freezer)
    assert may_reassign(assignment=late, user=programme_officer) is True
    new = assignment_reassign(assignment=late, evaluator=spare, actor=programme_officer)
    assert new.evaluator == spare


def test_an_overdue_access_reviewer_is_not_reassigned_after_the_release(access, spare, programme_officer, freezer):
    application, late = access
    application = _released(application, programme_officer)
    late = _late(late, freezer)
    assert may_reassign(assignment=late, user=programme_officer) is False
    with pytest.raises(StateConflict) as refused:
        assignment_reassign(assignment=late, evaluator=spare, actor=programme_officer)
    assert (refused.value.status_code, refused.value.code) == (409, "access_reviews_released")
    assert refused.value.message == _message(application, late)
    assert Assignment.objects.get(pk=late.pk).closed_at is None
    assert not Assignment.objects.filter(evaluator=spare).exists()


def test_the_overdue_page_offers_no_reassignment_after_the_release(client, access, spare, programme_officer, freezer):
    application, late = access
    client.force_login(programme_officer)
    _late(late, freezer)
    action = reverse("evaluation-reassign", args=[late.pk])
    assert f'action="{action}"' in client.get(OVERDUE).content.decode()
    _released(application, programme_officer)
    html = client.get(OVERDUE).content.decode()
    assert str(application.proposal) in html and f'action="{action}"' not in html
    response = client.post(action, {"evaluator": spare.pk})
    assert response.status_code == 409
    assert "reviewers are assigned only until the reviews are released" in response.content.decode()


def test_api_reassign_after_the_release_is_409(access, spare, programme_officer, freezer):
    application, late = access
    application = _released(application, programme_officer)
    late = _late(late, freezer)
    response = api_for(programme_officer).post(
        reverse("api-assignment-reassign", args=[late.pk]), {"evaluator": spare.pk}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "access_reviews_released"
    assert response.json()["detail"] == _message(application, late)


def test_the_application_page_marks_a_reassigned_reviewer_closed(client, access, spare, programme_officer, freezer):
    application, late = access
    late = _late(late, freezer)
    assignment_reassign(assignment=late, evaluator=spare, actor=programme_officer)
    client.force_login(programme_officer)
    html = client.get(f"/access/applications/{application.pk}/").content.decode()
    section = html.split('id="reviewers"', 1)[1].split("</section>", 1)[0]
    closed = Assignment.objects.get(pk=late.pk).closed_at
    assert (
        f'{late.evaluator.display_name} — declaration pending <span class="badge badge-bad">closed — reassigned</span> '
        f'<span class="small muted">{timezone.localtime(closed):%d %b %Y}; no longer counted</span>'
    ) in section
    assert f"{spare.display_name} — declaration pending</li>" in section
    assert "2 of 2 required reviews submitted." in section


def test_no_access_reviewer_is_assigned_after_the_release(access, spare, programme_officer):
    application, _late = access
    _released(application, programme_officer)
    with pytest.raises(StateConflict) as refused:
        assignment_create(proposal=application.proposal, evaluator=spare, actor=programme_officer)
    assert (refused.value.status_code, refused.value.code) == (409, "access_not_reviewable")
    assert refused.value.message == (
        f"The reviews of {application.proposal} were released to the applicant: reviewers are assigned only until "
        f"the reviews are released."
    )
    assert not Assignment.objects.filter(evaluator=spare).exists()
