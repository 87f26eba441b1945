"""The access calls' pages: the landing page, the application form and page with its action forms, the lists, the
technical queue, a cut-off's ranking, the access pools and the dashboards. State is built through the services."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.html import escape

from calls.access.models import AccessApplication
from calls.access.services import (
    access_eligibility_record,
    access_reviews_release,
    technical_assessment_record,
)
from calls.evaluation.services import assignment_create, assignment_declare, review_save
from calls.models import Assignment
from eurohpc.formatting import local
from eurohpc.models import Role
from eurohpc.permissions import denial_message
from hosting.models import AccessPool, PartitionQuota
from tests.calls.access_factories import (
    COMMENTS,
    SCORES,
    access_decide,
    assessed_application,
    draft_application,
    make_access_call,
    make_gpu_machine,
    make_host_operator,
    set_pool,
    submitted_application,
    this_month,
)
from tests.conftest import queries_of_page
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def call():
    return make_access_call()


@pytest.fixture
def gpu(organisation):
    """LUMI at the applicant's own organisation (CSC), with a GPU partition and a period from this month."""
    machine, partition, period = make_gpu_machine(hosting_entity=organisation)
    return machine, partition, period


@pytest.fixture
def host(organisation):
    return make_host_operator(organisation)


@pytest.fixture
def pools(gpu, programme_officer):
    _machine, partition, period = gpu
    for mode, hours in (("playground", 10000), ("fast_lane", 100000), ("ai_for_science", 100000)):
        set_pool(partition=partition, period=period, mode=mode, hours=hours, officer=programme_officer)


def _form(partition, **overrides) -> dict:
    data = {
        "mode": "playground",
        "acronym": "FINLEX-SLM",
        "title": "Small language model for Finnish legal texts",
        "abstract": "Fine-tuning an open 7B model on public Finnish legislation.",
        "ai_model": "Open-weight 7B decoder model; public legislation corpus.",
        "team": "Two ML engineers",
        "user_type": "startup",
        "terms": "open_science",
        "machine": partition.machine_id,
        "partition": partition.pk,
        "gpu_hours": "4,000",
        "duration_months": "3",
        "start_month": this_month().strftime("%Y-%m"),
        "no_prohibited_practice": "on",
    }
    data.update(overrides)
    return data


def _reviewers(n: int = 2):
    return [UserFactory(username=f"reviewer{i}", roles=[Role.EVALUATOR]) for i in range(n)]


def _released(*, call, partition, applicant, officer, host, freezer, **overrides) -> AccessApplication:
    """An AI for Science application past its cut-off: eligible, assessed feasible, two reviews submitted and
    released to the applicant (the clock left 11 days ahead)."""
    fields = {"mode": "ai_for_science", "user_type": "academia", "duration_months": 6, **overrides}
    application = submitted_application(call=call, partition=partition, applicant=applicant, **fields)
    freezer(timezone.now() + timedelta(days=11))
    access_eligibility_record(application=application, eligible=True, reason="Established in the EU.", actor=officer)
    technical_assessment_record(application=application, feasible=True, notes="Runs on ROCm.",
                                recommended_gpu_hours="3000", actor=host)  # fmt: skip
    for reviewer in _reviewers():
        assignment = assignment_create(proposal=application.proposal, evaluator=reviewer, actor=officer)
        assignment_declare(assignment=assignment, conflict=False, actor=reviewer)
        review_save(assignment=assignment, scores=SCORES, comments=COMMENTS, actor=reviewer, submit=True)
    access_reviews_release(application=application, actor=officer)
    application.refresh_from_db()
    return application


# --- the landing page ------------------------------------------------------------------------------------------------


def test_access_home_lists_modes_with_an_apply_button_per_mode_for_applicants(client, call, applicant):
    client.force_login(applicant)
    page = text(client.get("/access/"))
    assert call.identifier in page
    assert "at most 5,000" in page and "Start-up or SME" in page and "1, 2 or 3 months" in page
    assert "Cut-offs with peer review; 2 peer reviews, 7 days to reply" in page
    assert (
        f'href="/access/apply/{call.pk}/?mode=fast_lane">Apply<span class="visually-hidden"> for Fast Lane</span></a>'
        in page
    )


def test_access_home_offers_no_apply_button_to_the_public(client, call):
    page = text(client.get("/access/"))
    assert "Playground" in page and "/access/apply/" not in page and "Log in</a> to apply" in page


def test_access_home_lists_the_cut_offs_with_applications_for_officers(client, call, gpu, applicant, programme_officer):
    _machine, partition, _period = gpu
    application = submitted_application(call=call, partition=partition, applicant=applicant, mode="ai_for_science",
                                        user_type="academia", duration_months=6)  # fmt: skip
    empty = call.cut_offs.exclude(pk=application.proposal.cut_off_id).get()
    client.force_login(programme_officer)
    page = text(client.get("/access/"))
    assert f'href="/access/cut-offs/{application.proposal.cut_off_id}/ranking/"' in page
    assert f'href="/access/cut-offs/{empty.pk}/ranking/"' not in page


# --- the application form --------------------------------------------------------------------------------------------


def test_application_new_creates_a_draft_and_opens_its_page(client, call, gpu, applicant):
    _machine, partition, _period = gpu
    client.force_login(applicant)
    response = client.post(f"/access/apply/{call.pk}/", _form(partition))
    application = AccessApplication.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/access/applications/{application.pk}/"
    assert (application.gpu_hours, application.mode.code, application.start_month) == (
        Decimal("4000.00"), "playground", this_month()
    )  # fmt: skip


def test_application_new_with_a_partition_of_another_machine_is_400_naming_it(
    client, call, gpu, applicant, other_organisation
):
    _machine, partition, _period = gpu
    other, _p, _pe = make_gpu_machine(hosting_entity=other_organisation, name="Leonardo", country="IT")
    client.force_login(applicant)
    response = client.post(f"/access/apply/{call.pk}/", _form(partition, machine=other.pk))
    assert response.status_code == 400
    assert "LUMI-G is not a partition of the machine chosen: it belongs to LUMI." in text(response)
    assert AccessApplication.objects.count() == 0


def test_application_new_with_malformed_hours_is_400_in_words(client, call, gpu, applicant):
    _machine, partition, _period = gpu
    client.force_login(applicant)
    response = client.post(f"/access/apply/{call.pk}/", _form(partition, gpu_hours="4,0,0"))
    assert response.status_code == 400
    assert "Enter a number of GPU-hours, such as 4,000 or 4000.50." in text(response)


def test_application_new_is_refused_to_officers_with_the_declared_reason(client, call, programme_officer):
    client.force_login(programme_officer)
    response = client.get(f"/access/apply/{call.pk}/?mode=playground")
    assert response.status_code == 403
    assert escape(denial_message("calls.apply_access")) in text(response)


def test_application_new_preselects_the_mode_asked(client, call, gpu, applicant):
    client.force_login(applicant)
    page = text(client.get(f"/access/apply/{call.pk}/?mode=fast_lane"))
    assert '<option value="fast_lane" selected>Fast Lane</option>' in page


def test_application_edit_saves_the_draft(client, call, gpu, applicant):
    _machine, partition, _period = gpu
    application = draft_application(call=call, partition=partition, applicant=applicant)
    client.force_login(applicant)
    page = text(client.get(f"/access/applications/{application.pk}/edit/"))
    assert 'value="4,000"' in page and f'value="{this_month():%Y-%m}"' in page
    response = client.post(f"/access/applications/{application.pk}/edit/", _form(partition, gpu_hours="4500.5"))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.gpu_hours == Decimal("4500.50")


def test_application_edit_of_a_submitted_application_is_409_naming_its_state(client, call, gpu, applicant):
    _machine, partition, _period = gpu
    application = submitted_application(call=call, partition=partition, applicant=applicant)
    client.force_login(applicant)
    response = client.get(f"/access/applications/{application.pk}/edit/")
    assert response.status_code == 409
    assert f"Application {application.proposal} is submitted: only a draft can be changed." in text(response)


# --- the application page --------------------------------------------------------------------------------------------


def test_application_detail_lists_each_rule_with_its_result(client, call, gpu, applicant):
    _machine, partition, _period = gpu
    application = draft_application(call=call, partition=partition, applicant=applicant, duration_months=6)
    client.force_login(applicant)
    page = text(client.get(f"/access/applications/{application.pk}/"))
    assert "Playground access lasts 1, 2 or 3 months" in page and "asked 6 months" in page
    assert page.count('badge-bad">not met') == 1
    assert "Submit application" in page and "Edit the draft" in page
    assert ">draft<" not in page and "Draft</span>" in page


def test_application_detail_of_another_organisation_is_404(client, call, gpu, applicant, other_applicant):
    _machine, partition, _period = gpu
    application = draft_application(call=call, partition=partition, applicant=applicant)
    client.force_login(other_applicant)
    assert client.get(f"/access/applications/{application.pk}/").status_code == 404


def test_application_submit_with_a_wrong_duration_is_400_naming_the_rule(client, call, gpu, applicant):
    _machine, partition, _period = gpu
    application = draft_application(call=call, partition=partition, applicant=applicant, duration_months=6)
    client.force_login(applicant)
    response = client.post(f"/access/applications/{application.pk}/submit/")
    assert response.status_code == 400
    page = text(response)
    assert "The application cannot be submitted: 1 rule(s) not met." in page
    assert "Playground access lasts 1, 2 or 3 months: asked 6 months." in page


def test_application_submit_gives_the_reference(client, call, gpu, applicant):
    _machine, partition, _period = gpu
    application = draft_application(call=call, partition=partition, applicant=applicant)
    client.force_login(applicant)
    response = client.post(f"/access/applications/{application.pk}/submit/", follow=True)
    assert f"Submitted. Your reference is {call.identifier}-0001" in text(response)
    assert "Withdraw" in text(response)


def test_application_submit_by_another_organisation_is_404(client, call, gpu, applicant, other_applicant):
    _machine, partition, _period = gpu
    application = draft_application(call=call, partition=partition, applicant=applicant)
    client.force_login(other_applicant)
    assert client.post(f"/access/applications/{application.pk}/submit/").status_code == 404


def test_application_withdraw_moves_it_to_withdrawn(client, call, gpu, applicant):
    _machine, partition, _period = gpu
    application = submitted_application(call=call, partition=partition, applicant=applicant)
    client.force_login(applicant)
    response = client.post(f"/access/applications/{application.pk}/withdraw/", follow=True)
    assert f"Application {application.proposal.reference} withdrawn." in text(response)


def test_eligibility_form_records_the_officers_check(client, call, gpu, applicant, programme_officer):
    _machine, partition, _period = gpu
    application = submitted_application(call=call, partition=partition, applicant=applicant)
    client.force_login(programme_officer)
    assert "Record eligibility" in text(client.get(f"/access/applications/{application.pk}/"))
    response = client.post(f"/access/applications/{application.pk}/eligibility/", {"eligible": "true",
                           "reason": "Start-up established in Finland."}, follow=True)  # fmt: skip
    assert f"Eligibility of {application.proposal.reference} recorded: eligible." in text(response)


def test_eligibility_without_reason_is_400_with_the_rule(client, call, gpu, applicant, programme_officer):
    _machine, partition, _period = gpu
    application = submitted_application(call=call, partition=partition, applicant=applicant)
    client.force_login(programme_officer)
    response = client.post(f"/access/applications/{application.pk}/eligibility/", {"eligible": "true"})
    assert response.status_code == 400
    assert "Give the reason for the eligibility decision." in text(response)


def test_eligibility_by_the_applicant_is_403_with_the_declared_reason(client, call, gpu, applicant):
    _machine, partition, _period = gpu
    application = submitted_application(call=call, partition=partition, applicant=applicant)
    client.force_login(applicant)
    response = client.post(f"/access/applications/{application.pk}/eligibility/", {"eligible": "true", "reason": "x"})
    assert response.status_code == 403
    assert escape(denial_message("calls.record_access_eligibility")) in text(response)


def test_technical_assessment_form_records_the_hosts_view(client, call, gpu, applicant, programme_officer, host):
    _machine, partition, _period = gpu
    application = submitted_application(call=call, partition=partition, applicant=applicant)
    access_eligibility_record(application=application, eligible=True, reason="ok", actor=programme_officer)
    client.force_login(host)
    assert "Record the technical assessment" in text(client.get(f"/access/applications/{application.pk}/"))
    response = client.post(f"/access/applications/{application.pk}/technical/", {"feasible": "true",
                           "notes": "PyTorch with ROCm.", "recommended_gpu_hours": "3,500"}, follow=True)  # fmt: skip
    assert "Technical assessment of" in text(response)
    assert application.proposal.__class__.objects.get(pk=application.pk).status == "evaluation"


def test_technical_assessment_above_the_request_is_400_naming_both(
    client, call, gpu, applicant, programme_officer, host
):
    _machine, partition, _period = gpu
    application = submitted_application(call=call, partition=partition, applicant=applicant)
    access_eligibility_record(application=application, eligible=True, reason="ok", actor=programme_officer)
    client.force_login(host)
    response = client.post(f"/access/applications/{application.pk}/technical/",
                           {"feasible": "true", "notes": "ok", "recommended_gpu_hours": "5000"})  # fmt: skip
    assert response.status_code == 400
    assert (
        "The recommendation may reduce the request, not raise it: asked 4,000.00 GPU-hours, recommended 5,000.00."
        in text(response)
    )


def test_technical_assessment_by_an_officer_is_403_with_the_declared_reason(
    client, call, gpu, applicant, programme_officer
):
    _machine, partition, _period = gpu
    application = submitted_application(call=call, partition=partition, applicant=applicant)
    access_eligibility_record(application=application, eligible=True, reason="ok", actor=programme_officer)
    client.force_login(programme_officer)
    response = client.post(f"/access/applications/{application.pk}/technical/", {"feasible": "false", "notes": "x"})
    assert response.status_code == 403
    assert escape(denial_message("calls.assess_access")) in text(response)


def test_application_of_another_hosts_machine_is_404_for_an_operator(
    client, call, applicant, other_organisation, programme_officer, host
):
    _machine, partition, _period = make_gpu_machine(hosting_entity=other_organisation, name="Leonardo", country="IT")
    application = submitted_application(call=call, partition=partition, applicant=applicant)
    access_eligibility_record(application=application, eligible=True, reason="ok", actor=programme_officer)
    client.force_login(host)  # CSC's support team: Leonardo is CINECA's
    assert client.get(f"/access/applications/{application.pk}/").status_code == 404
    assert client.post(f"/access/applications/{application.pk}/technical/", {}).status_code == 404


def test_decide_awards_and_links_the_project(client, call, gpu, pools, applicant, programme_officer, host):
    _machine, partition, _period = gpu
    application = assessed_application(call=call, partition=partition, applicant=applicant, officer=programme_officer,
                                       host=host, recommended="3000")  # fmt: skip
    client.force_login(programme_officer)
    response = client.post(f"/access/applications/{application.pk}/decision/", {"outcome": "awarded",
                           "gpu_hours": "2,500"}, follow=True)  # fmt: skip
    page = text(response)
    assert f"Decision on {application.proposal.reference} recorded: awarded." in page
    application.refresh_from_db()
    assert application.awarded_gpu_hours == Decimal("2500.00")
    client.force_login(applicant)
    page = text(client.get(f"/access/applications/{application.pk}/"))
    assert f'href="/projects/{application.project_id}/"' in page and "2,500.00 GPU-hours" in page


def test_decide_over_the_pool_is_409_naming_the_pool_and_union_quota(
    client, call, gpu, applicant, programme_officer, host
):
    _machine, partition, period = gpu
    set_pool(partition=partition, period=period, mode="playground", hours=1000, officer=programme_officer)
    application = assessed_application(call=call, partition=partition, applicant=applicant, officer=programme_officer,
                                       host=host, recommended="3000")  # fmt: skip
    quota = PartitionQuota.objects.get(partition=partition, period=period)
    client.force_login(programme_officer)
    response = client.post(f"/access/applications/{application.pk}/decision/", {"outcome": "awarded"})
    assert response.status_code == 409
    page = escape(f"The Playground pool of {partition} in {period.name} would be exceeded by 2,000.00 GPU-hours")
    assert page in text(response)
    assert f"the Union quota has {quota.union_quota:,.2f} GPU-hours of {quota.union_quota:,.2f} GPU-hours" in text(
        response
    )


def test_decide_by_an_applicant_is_403_with_the_declared_reason(client, call, gpu, applicant, programme_officer, host):
    _machine, partition, _period = gpu
    application = assessed_application(call=call, partition=partition, applicant=applicant, officer=programme_officer,
                                       host=host, recommended="3000")  # fmt: skip
    client.force_login(applicant)
    response = client.post(f"/access/applications/{application.pk}/decision/", {"outcome": "awarded"})
    assert response.status_code == 403
    assert escape(denial_message("calls.decide_access")) in text(response)


def test_assign_reviewer_form_creates_the_assignment(client, call, gpu, applicant, programme_officer, host, freezer):
    _machine, partition, _period = gpu
    application = submitted_application(call=call, partition=partition, applicant=applicant, mode="ai_for_science",
                                        user_type="academia", duration_months=6)  # fmt: skip
    freezer(timezone.now() + timedelta(days=11))
    access_eligibility_record(application=application, eligible=True, reason="ok", actor=programme_officer)
    technical_assessment_record(application=application, feasible=True, notes="ok", actor=host)
    reviewer = _reviewers(1)[0]
    client.force_login(programme_officer)
    response = client.post(f"/access/applications/{application.pk}/reviewers/", {"evaluator": reviewer.pk},
                           follow=True)  # fmt: skip
    assert f"{reviewer.display_name} assigned to review {application.proposal}." in text(response)
    assert Assignment.objects.filter(proposal_id=application.pk, evaluator=reviewer).exists()


def test_released_reviews_show_scores_and_comments_without_reviewer_names(
    client, call, gpu, applicant, programme_officer, host, freezer
):
    _machine, partition, _period = gpu
    application = _released(call=call, partition=partition, applicant=applicant, officer=programme_officer,
                            host=host, freezer=freezer)  # fmt: skip
    client.force_login(applicant)
    page = text(client.get(f"/access/applications/{application.pk}/"))
    assert "Review 1" in page and "Review 2" in page and "Clear science case." in page and "4.5 / 5" in page
    reviewers = [a.evaluator for a in Assignment.objects.filter(proposal_id=application.pk).select_related("evaluator")]
    assert [r.display_name for r in reviewers if r.display_name in page or r.username in page] == []
    assert "Send the reply" in page


def test_reply_after_the_deadline_is_409_naming_it(client, call, gpu, applicant, programme_officer, host, freezer):
    _machine, partition, _period = gpu
    application = _released(call=call, partition=partition, applicant=applicant, officer=programme_officer,
                            host=host, freezer=freezer)  # fmt: skip
    freezer(application.reply_deadline + timedelta(minutes=1))
    client.force_login(applicant)
    response = client.post(f"/access/applications/{application.pk}/reply/", {"reply": "We disagree."})
    assert response.status_code == 409
    expected = f"The reply to the reviews of {application.proposal} was due by {local(application.reply_deadline)}."
    assert escape(expected) in text(response)


def test_reply_before_the_deadline_is_sent(client, call, gpu, applicant, programme_officer, host, freezer):
    _machine, partition, _period = gpu
    application = _released(call=call, partition=partition, applicant=applicant, officer=programme_officer,
                            host=host, freezer=freezer)  # fmt: skip
    client.force_login(applicant)
    response = client.post(f"/access/applications/{application.pk}/reply/", {"reply": "Thank you."}, follow=True)
    assert "Your reply is sent to the access committee." in text(response)
    assert "Thank you." in text(response)


def test_final_report_before_the_last_month_is_409_naming_it(client, call, gpu, pools, applicant, programme_officer,
                                                             host):  # fmt: skip
    _machine, partition, _period = gpu
    application = assessed_application(call=call, partition=partition, applicant=applicant, officer=programme_officer,
                                       host=host, recommended="3000")  # fmt: skip
    application = access_decide(application=application, outcome="awarded", actor=programme_officer)
    client.force_login(applicant)
    assert "Send the final report" not in text(client.get(f"/access/applications/{application.pk}/"))
    response = client.post(f"/access/applications/{application.pk}/final-report/", {"report": "Done."})
    assert response.status_code == 409
    opens = application.project.ends_on.replace(day=1)
    assert f"The final report of {application.project.code} is written from {opens:%d %B %Y}" in text(response)


# --- the lists -------------------------------------------------------------------------------------------------------


def test_application_list_shows_the_applicants_own_in_words(client, call, gpu, applicant, other_applicant):
    _machine, partition, _period = gpu
    submitted_application(call=call, partition=partition, applicant=applicant, acronym="MINE")
    draft_application(call=call, partition=partition, applicant=other_applicant, acronym="THEIRS")
    client.force_login(applicant)
    page = text(client.get("/access/applications/"))
    assert "MINE" in page and "THEIRS" not in page
    assert "Submitted</span>" in page and ">submitted<" not in page and "Playground" in page


def test_application_list_filters_by_mode_for_officers(client, call, gpu, applicant, programme_officer):
    _machine, partition, _period = gpu
    submitted_application(call=call, partition=partition, applicant=applicant, acronym="PLAY")
    submitted_application(call=call, partition=partition, applicant=applicant, acronym="FAST", mode="fast_lane")
    client.force_login(programme_officer)
    page = text(client.get("/access/applications/?mode=fast_lane"))
    assert "FAST" in page and "PLAY" not in page


def test_application_list_flags_an_overdue_decision(client, call, gpu, applicant, programme_officer, freezer):
    _machine, partition, _period = gpu
    submitted_application(call=call, partition=partition, applicant=applicant)
    freezer(timezone.now() + timedelta(days=14))  # Playground aims at 5 working days
    client.force_login(programme_officer)
    page = text(client.get("/access/applications/"))
    assert "of 5 working days" in page and "overdue</span>" in page


def test_application_list_todo_filter_gives_the_dashboards_work(client, call, gpu, applicant, programme_officer):
    _machine, partition, _period = gpu
    submitted_application(call=call, partition=partition, applicant=applicant, acronym="CHECKME")
    client.force_login(programme_officer)
    assert "CHECKME" in text(client.get("/access/applications/?todo=eligibility"))
    assert "CHECKME" not in text(client.get("/access/applications/?todo=technical"))


def test_application_list_is_refused_to_evaluators_with_the_declared_reason(client, evaluator):
    client.force_login(evaluator)
    response = client.get("/access/applications/")
    assert response.status_code == 403
    assert escape(denial_message("calls.apply_access")) in text(response)


@pytest.mark.parametrize("user", ["applicant", "programme_officer"])
def test_application_list_query_count_does_not_grow_with_rows(client, call, gpu, applicant, request, user):
    _machine, partition, _period = gpu
    reader = request.getfixturevalue(user)
    submitted_application(call=call, partition=partition, applicant=applicant, acronym="A0")
    one = queries_of_page(client, reader, "/access/applications/")
    for i in range(1, 5):
        submitted_application(call=call, partition=partition, applicant=applicant, acronym=f"A{i}")
    assert queries_of_page(client, reader, "/access/applications/") == one


def test_technical_queue_shows_only_the_operators_machines(
    client, call, gpu, applicant, programme_officer, host, other_organisation
):
    _machine, partition, _period = gpu
    _other, other_partition, _p = make_gpu_machine(hosting_entity=other_organisation, name="Leonardo", country="IT")
    for acronym, part in (("OURS", partition), ("ELSEWHERE", other_partition)):
        application = submitted_application(call=call, partition=part, applicant=applicant, acronym=acronym)
        access_eligibility_record(application=application, eligible=True, reason="ok", actor=programme_officer)
    client.force_login(host)
    page = text(client.get("/access/technical/"))
    assert "OURS" in page and "ELSEWHERE" not in page


def test_technical_queue_is_refused_to_applicants_with_the_declared_reason(client, applicant):
    client.force_login(applicant)
    response = client.get("/access/technical/")
    assert response.status_code == 403
    assert escape(denial_message("calls.view_technical_queue")) in text(response)


def test_technical_queue_query_count_does_not_grow_with_rows(client, call, gpu, applicant, programme_officer, host):
    _machine, partition, _period = gpu

    def eligible(acronym):
        application = submitted_application(call=call, partition=partition, applicant=applicant, acronym=acronym)
        access_eligibility_record(application=application, eligible=True, reason="ok", actor=programme_officer)

    eligible("Q0")
    one = queries_of_page(client, host, "/access/technical/")
    for i in range(1, 5):
        eligible(f"Q{i}")
    assert queries_of_page(client, host, "/access/technical/") == one


# --- the ranking -----------------------------------------------------------------------------------------------------


def test_ranking_lists_the_cut_offs_applications_and_awards_them(
    client, call, gpu, pools, applicant, programme_officer, host, freezer
):
    _machine, partition, _period = gpu
    application = _released(call=call, partition=partition, applicant=applicant, officer=programme_officer,
                            host=host, freezer=freezer)  # fmt: skip
    freezer(application.reply_deadline + timedelta(minutes=1))
    client.force_login(programme_officer)
    url = f"/access/cut-offs/{application.proposal.cut_off_id}/ranking/"
    page = text(client.get(url))
    assert application.proposal.reference in page and "12.50" in page and "3,000 / 100,000" in page
    assert "Award the ranking" in page and "no reply (due" in page
    response = client.post(f"{url}award/", follow=True)
    assert "1 application awarded." in text(response)
    assert "Award the ranking" not in text(response)


def test_ranking_is_refused_to_applicants_with_the_declared_reason(client, call, applicant):
    client.force_login(applicant)
    response = client.get(f"/access/cut-offs/{call.cut_offs.first().pk}/ranking/")
    assert response.status_code == 403
    assert escape(denial_message("calls.decide_access")) in text(response)


def test_ranking_query_count_does_not_grow_with_rows(client, call, gpu, applicant, programme_officer, host, freezer):
    _machine, partition, _period = gpu
    applications = [
        submitted_application(call=call, partition=partition, applicant=applicant, acronym=f"R{i}",
                              mode="ai_for_science", user_type="academia", duration_months=6)
        for i in range(5)
    ]  # fmt: skip
    freezer(timezone.now() + timedelta(days=11))
    for application in applications:
        access_eligibility_record(application=application, eligible=True, reason="ok", actor=programme_officer)
    url = f"/access/cut-offs/{applications[0].proposal.cut_off_id}/ranking/"
    technical_assessment_record(application=applications[0], feasible=True, notes="ok", actor=host)
    one = queries_of_page(client, programme_officer, url)
    for application in applications[1:]:
        technical_assessment_record(application=application, feasible=True, notes="ok", actor=host)
    assert queries_of_page(client, programme_officer, url) == one


# --- the pools -------------------------------------------------------------------------------------------------------


def test_pool_board_shows_each_pool_with_pending_requests(client, call, gpu, pools, applicant, programme_officer):
    machine, partition, _period = gpu
    submitted_application(call=call, partition=partition, applicant=applicant)
    client.force_login(programme_officer)
    page = text(client.get(f"/access/pools/{machine.pk}/"))
    assert "Playground" in page and "10,000" in page and '4,000 <span class="small">(1 application)' in page
    assert "Set the pool" in page


def test_pool_form_sets_a_modes_hours(client, gpu, programme_officer):
    machine, partition, period = gpu
    quota = PartitionQuota.objects.get(partition=partition, period=period)
    client.force_login(programme_officer)
    response = client.post(f"/access/pools/{machine.pk}/", {"quota": quota.pk, "access_mode": "fast_lane",
                                                             "hours": "20,000"})  # fmt: skip
    assert response.status_code == 302
    assert AccessPool.objects.get(quota=quota, access_mode="fast_lane").hours == Decimal("20000.00")


def test_pool_over_the_union_quota_is_409_naming_it(client, gpu, programme_officer):
    machine, partition, period = gpu
    quota = PartitionQuota.objects.get(partition=partition, period=period)
    client.force_login(programme_officer)
    asked = quota.union_quota + 1
    response = client.post(f"/access/pools/{machine.pk}/", {"quota": quota.pk, "access_mode": "fast_lane",
                                                             "hours": str(asked)})  # fmt: skip
    assert response.status_code == 409
    assert escape(f"would exceed its Union quota of {quota.union_quota:,.2f} GPU-hours by 1.00 GPU-hours") in text(
        response
    )


def test_pool_form_is_refused_to_operators_with_the_declared_reason(client, gpu, host):
    machine, partition, period = gpu
    quota = PartitionQuota.objects.get(partition=partition, period=period)
    client.force_login(host)
    assert "Set the pool" not in text(client.get(f"/access/pools/{machine.pk}/"))
    response = client.post(f"/access/pools/{machine.pk}/", {"quota": quota.pk, "access_mode": "playground",
                                                             "hours": "1"})  # fmt: skip
    assert response.status_code == 403
    assert escape(denial_message("calls.manage_access_pools")) in text(response)


def test_pool_board_of_another_hosts_machine_is_404_for_an_operator(client, host, other_organisation):
    other, _partition, _period = make_gpu_machine(hosting_entity=other_organisation, name="Leonardo", country="IT")
    client.force_login(host)
    assert client.get(f"/access/pools/{other.pk}/").status_code == 404
    assert "Leonardo" not in text(client.get("/access/pools/"))


def test_pools_are_refused_to_applicants_with_the_declared_reason(client, applicant):
    client.force_login(applicant)
    response = client.get("/access/pools/")
    assert response.status_code == 403
    assert escape(denial_message("calls.view_access_pools")) in text(response)


def test_pool_board_query_count_does_not_grow_with_pools(client, gpu, programme_officer):
    machine, partition, period = gpu
    set_pool(partition=partition, period=period, mode="playground", hours=1000, officer=programme_officer)
    url = f"/access/pools/{machine.pk}/"
    one = queries_of_page(client, programme_officer, url)
    for mode in ("fast_lane", "large_scale", "ai_for_science"):
        set_pool(partition=partition, period=period, mode=mode, hours=1000, officer=programme_officer)
    assert queries_of_page(client, programme_officer, url) == one


# --- the dashboards, the navigation and the reviewer's page ----------------------------------------------------------


def test_officer_dashboard_counts_the_access_work(client, call, gpu, applicant, programme_officer):
    _machine, partition, _period = gpu
    submitted_application(call=call, partition=partition, applicant=applicant)
    submitted_application(call=call, partition=partition, applicant=applicant, acronym="TWO")
    client.force_login(programme_officer)
    page = text(client.get("/dashboard/"))
    assert (
        'href="/access/applications/?todo=eligibility"><strong>2</strong> applications to check for eligibility' in page
    )


def test_applicant_dashboard_lists_its_access_applications(client, call, gpu, applicant):
    _machine, partition, _period = gpu
    application = draft_application(call=call, partition=partition, applicant=applicant, acronym="DASHY")
    client.force_login(applicant)
    page = text(client.get("/dashboard/"))
    assert f'href="/access/applications/{application.pk}/">DASHY</a>' in page


def test_operator_dashboard_counts_the_technical_queue(client, call, gpu, applicant, programme_officer, host):
    _machine, partition, _period = gpu
    application = submitted_application(call=call, partition=partition, applicant=applicant)
    access_eligibility_record(application=application, eligible=True, reason="ok", actor=programme_officer)
    client.force_login(host)
    assert "<strong>1</strong> technical assessment to record" in text(client.get("/dashboard/"))


def test_officer_dashboard_query_count_does_not_grow_with_access_work(client, call, gpu, applicant, programme_officer):
    _machine, partition, _period = gpu
    submitted_application(call=call, partition=partition, applicant=applicant)
    one = queries_of_page(client, programme_officer, "/dashboard/")
    for i in range(3):
        submitted_application(call=call, partition=partition, applicant=applicant, acronym=f"D{i}")
    assert queries_of_page(client, programme_officer, "/dashboard/") == one


def _main_menu(client) -> str:
    page = text(client.get("/dashboard/"))
    return page[page.index('<nav id="main-nav"') : page.index("</nav>", page.index('<nav id="main-nav"'))]


def test_navigation_shows_the_access_entries_per_role(client, applicant, programme_officer, hosting_operator):
    # The menu keeps one "Access" entry for everyone (the officer's menu stays one line); the access page links
    # each role's lists.
    client.force_login(applicant)
    menu = _main_menu(client)
    assert ">Access<" in menu and ">My access applications<" in menu and ">Access pools<" not in menu
    client.force_login(programme_officer)
    menu = _main_menu(client)
    assert ">Access<" in menu and ">Access applications<" not in menu and ">Access pools<" not in menu
    assert ">Technical assessments<" not in menu
    home = text(client.get("/access/"))
    assert ">All access applications<" in home and ">Access pools<" in home
    client.force_login(hosting_operator)
    menu = _main_menu(client)
    assert ">Technical assessments<" in menu and ">Access pools<" not in menu
    assert ">Access pools<" in text(client.get("/access/"))


def test_reviewers_assignment_page_shows_the_access_request_instead_of_a_budget(
    client, call, gpu, applicant, programme_officer, host, freezer
):
    _machine, partition, _period = gpu
    application = submitted_application(call=call, partition=partition, applicant=applicant, mode="ai_for_science",
                                        user_type="academia", duration_months=6)  # fmt: skip
    freezer(timezone.now() + timedelta(days=11))
    access_eligibility_record(application=application, eligible=True, reason="ok", actor=programme_officer)
    technical_assessment_record(application=application, feasible=True, notes="Scales to 64 GPUs.",
                                recommended_gpu_hours="3000", actor=host)  # fmt: skip
    reviewer = _reviewers(1)[0]
    assignment = assignment_create(proposal=application.proposal, evaluator=reviewer, actor=programme_officer)
    assignment_declare(assignment=assignment, conflict=False, actor=reviewer)
    client.force_login(reviewer)
    page = text(client.get(f"/evaluation/assignments/{assignment.pk}/"))
    assert "Requested EU contribution" not in page
    assert "AI for Science" in page and "LUMI, partition LUMI-G" in page and "4,000.00" in page
    assert "6 months from" in page and "recommended 3,000.00 GPU-hours" in page and "Scales to 64 GPUs." in page
    assert f'href="/access/applications/{application.pk}/"' in page
    assert client.get(f"/access/applications/{application.pk}/").status_code == 200


def test_access_call_page_points_to_the_access_modes_not_the_proposal_form(client, applicant):
    call = make_access_call()
    client.force_login(applicant)
    body = client.get(f"/calls/{call.identifier}/").content.decode()
    assert 'href="/access/">See the access modes and apply</a>' in body
    assert "Start a proposal" not in body


def test_proposal_page_of_an_access_application_redirects_to_its_access_page(client, applicant, organisation):
    call = make_access_call()
    _machine, partition, _period = make_gpu_machine(hosting_entity=organisation)
    application = draft_application(call=call, partition=partition, applicant=applicant)
    client.force_login(applicant)
    response = client.get(f"/proposals/{application.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/access/applications/{application.pk}/"
