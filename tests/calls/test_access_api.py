"""The access calls API: the way of a Playground and a Large Scale application, each refusal in the API's error
shape (status, code, the service's message), who sees what, and the query counts of the lists."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from calls.access.models import AccessApplication
from calls.evaluation.services import assignment_create, assignment_declare, review_save
from eurohpc.countries import country_name
from eurohpc.formatting import local
from eurohpc.models import Role
from hosting.formatting import hours
from hosting.models import PartitionQuota
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
from tests.conftest import api_for
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/access"
PLAYGROUND_CODE = re.compile(r"^EHPC-AIF-\d{4}PG\d{2}-\d{4}$")
LARGE_SCALE_CODE = re.compile(r"^EHPC-AIF-\d{4}LS\d{2}-\d{4}$")
NOT_FOUND = {"detail": "Not found.", "code": "not_found", "errors": {}}


@dataclass
class World:
    call: object
    machine: object
    partition: object
    period: object
    host: object


@pytest.fixture
def world(organisation, programme_officer) -> World:
    """An open access call, CSC's GPU machine with a period from this month, its Playground and Large Scale pools."""
    call = make_access_call()
    machine, partition, period = make_gpu_machine(hosting_entity=organisation)
    set_pool(partition=partition, period=period, mode="playground", hours=10000, officer=programme_officer)
    set_pool(partition=partition, period=period, mode="large_scale", hours=500000, officer=programme_officer)
    return World(call, machine, partition, period, make_host_operator(organisation))


def payload(world: World, **overrides) -> dict:
    return {
        "call": world.call.pk,
        "mode": "playground",
        "machine": world.machine.pk,
        "partition": world.partition.pk,
        "title": "Small language model for Finnish legal texts",
        "acronym": "FINLEX-SLM",
        "abstract": "Fine-tuning an open 7B model on public Finnish legislation.",
        "ai_model": "Open-weight 7B decoder model; public legislation corpus (no personal data).",
        "team": "Two ML engineers",
        "user_type": "startup",
        "terms": "open_science",
        "gpu_hours": "4000.00",
        "duration_months": 3,
        "start_month": this_month().isoformat(),
        "no_prohibited_practice": True,
        **overrides,
    }


def post(user, url: str, body: dict | None = None):
    return api_for(user).post(url, body or {}, format="json")


def url(application, action: str = "") -> str:
    return f"{API}/applications/{application.pk}/" + (f"{action}/" if action else "")


def assessed(world, applicant, officer, **kwargs) -> AccessApplication:
    return assessed_application(
        call=world.call, partition=world.partition, applicant=applicant, officer=officer, host=world.host, **kwargs
    )


# --- calls ---------------------------------------------------------------------------------------------------


def test_access_calls_list_the_open_calls_with_their_modes(api, world):
    body = api.get(f"{API}/calls/").json()
    assert body["count"] == 1
    call = body["results"][0]
    assert call["identifier"] == "EUROHPC-2026-AIF-ACCESS"
    assert len(call["cut_offs"]) == 2
    playground = call["modes"][0]
    assert playground == {
        "id": playground["id"],
        "code": "playground",
        "label": "Playground",
        "process": "continuous",
        "min_gpu_hours": "0.00",
        "max_gpu_hours": "5000.00",
        "durations": [1, 2, 3],
        "user_types": ["startup", "sme"],
        "reviews_required": 0,
        "reply_days": 0,
        "decision_target_days": 5,
    }
    large_scale = call["modes"][2]
    figures = [large_scale[k] for k in ("code", "process", "min_gpu_hours", "max_gpu_hours", "reviews_required")]
    assert figures == ["large_scale", "cut_off", "50000.00", None, 2]


# --- the way of an application ---------------------------------------------------------------------------------


def test_playground_application_is_awarded_through_the_api(world, applicant, programme_officer):
    created = post(applicant, f"{API}/applications/", payload(world))
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["status"], body["status_label"], body["actions"]) == ("draft", "Draft", ["edit", "submit"])
    assert all(check["ok"] for check in body["access_checks"])
    application = AccessApplication.objects.get(pk=body["id"])

    submitted = post(applicant, url(application, "submit"))
    assert submitted.status_code == 200, submitted.json()
    assert (submitted.json()["status"], submitted.json()["reference"]) == ("submitted", "EUROHPC-2026-AIF-ACCESS-0001")

    eligible = post(programme_officer, url(application, "eligibility"), {"eligible": True, "reason": "EU start-up."})
    assert (eligible.status_code, eligible.json()["status"]) == (200, "eligible")

    assessment = {"feasible": True, "notes": "Runs on PyTorch.", "recommended_gpu_hours": "3000"}
    assessed_body = post(world.host, url(application, "technical-assessment"), assessment).json()
    assert (assessed_body["status"], assessed_body["status_label"]) == ("evaluation", "Under assessment")
    assert assessed_body["technical_assessment"]["recommended_gpu_hours"] == "3000.00"

    decided = post(programme_officer, url(application, "decision"), {"outcome": "awarded"})
    assert decided.status_code == 200, decided.json()
    body = decided.json()
    assert (body["status"], body["status_label"]) == ("selected", "Awarded")
    assert PLAYGROUND_CODE.match(body["project_code"]), body["project_code"]
    assert body["slurm_account"] == body["project_code"].lower()
    assert body["decision"]["outcome"] == "awarded"
    assert body["decision"]["awarded_gpu_hours"] == "3000.00"


def test_large_scale_application_is_reviewed_replied_and_awarded(world, applicant, programme_officer, freezer):
    start = timezone.now()
    created = post(
        applicant, f"{API}/applications/", payload(world, mode="large_scale", gpu_hours="60000", duration_months=6)
    )
    application = AccessApplication.objects.get(pk=created.json()["id"])
    submitted = post(applicant, url(application, "submit")).json()
    first_cut_off = world.call.cut_offs.order_by("closes_at").first().closes_at
    assert datetime.fromisoformat(submitted["cut_off"]) == first_cut_off

    freezer(start + timedelta(days=11))  # the first cut-off has passed
    post(programme_officer, url(application, "eligibility"), {"eligible": True, "reason": "EU SME."})
    assessment = {"feasible": True, "notes": "Scales to 256 GPUs.", "recommended_gpu_hours": "55000"}
    body = post(world.host, url(application, "technical-assessment"), assessment).json()
    assert body["status"] == "eligible"
    assert api_for(programme_officer).get(url(application)).json()["actions"] == ["assign_reviewer"]

    for reviewer in make_evaluators(2):
        assignment = assignment_create(proposal=application.proposal, evaluator=reviewer, actor=programme_officer)
        assignment_declare(assignment=assignment, conflict=False, actor=reviewer)
        review_save(assignment=assignment, scores=SCORES, comments=COMMENTS, actor=reviewer, submit=True)

    released = post(programme_officer, url(application, "release-reviews"))
    assert released.status_code == 200, released.json()
    reviews = api_for(applicant).get(url(application)).json()["reviews"]
    assert [r["number"] for r in reviews] == [1, 2]
    assert set(reviews[0]) == {"number", "scores", "comments"}
    assert reviews[0]["scores"] == {"excellence": "4.5", "impact": "4", "implementation": "4"}
    assert reviews[0]["comments"] == COMMENTS

    replied = post(applicant, url(application, "reply"), {"reply": "We will publish the weights."})
    assert (replied.status_code, replied.json()["reply"]) == (200, "We will publish the weights.")

    decided = post(programme_officer, url(application, "decision"), {"outcome": "awarded", "gpu_hours": "50000.01"})
    assert decided.status_code == 200, decided.json()
    body = decided.json()
    assert body["status"] == "selected"
    assert LARGE_SCALE_CODE.match(body["project_code"]), body["project_code"]
    assert body["slurm_account"] == body["project_code"].lower()
    assert body["decision"]["awarded_gpu_hours"] == "50000.01"


def test_draft_patch_changes_the_request(world, applicant):
    application = draft_application(call=world.call, partition=world.partition, applicant=applicant)
    response = api_for(applicant).patch(url(application), {"gpu_hours": "2500", "duration_months": 2}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["gpu_hours"], response.json()["duration_months"]) == ("2500.00", 2)


def test_cut_off_award_awards_the_ranking_within_the_pool(world, applicant, programme_officer, freezer):
    start = timezone.now()
    application = large_scale_submitted(world, applicant)
    freezer(start + timedelta(days=11))
    application = assessed_after_cut_off(application, programme_officer, world.host, recommended="60000")
    reviewed(application, officer=programme_officer, reviewers=make_evaluators(2))
    freezer(start + timedelta(days=19))  # the reply window of 7 days has closed
    response = post(programme_officer, f"{API}/cut-offs/{application.proposal.cut_off_id}/award/")
    assert response.status_code == 200, response.json()
    assert response.json() == {"awarded": [application.proposal.reference], "reserve": [], "skipped": []}


def large_scale_submitted(world, applicant, acronym: str = "FINLEX-LLM") -> AccessApplication:
    return submitted_application(
        call=world.call,
        partition=world.partition,
        applicant=applicant,
        mode="large_scale",
        gpu_hours=Decimal("60000"),
        duration_months=6,
        acronym=acronym,
    )


def assessed_after_cut_off(application, officer, host, *, recommended) -> AccessApplication:
    from calls.access.services import access_eligibility_record, technical_assessment_record

    access_eligibility_record(application=application, eligible=True, reason="EU SME.", actor=officer)
    technical_assessment_record(
        application=application, feasible=True, notes="Scales.", recommended_gpu_hours=recommended, actor=host
    )
    return AccessApplication.objects.get(pk=application.pk)


# --- refusals ------------------------------------------------------------------------------------------------


def test_submit_over_the_mode_cap_is_400_naming_the_cap(world, applicant):
    application = draft_application(
        call=world.call, partition=world.partition, applicant=applicant, gpu_hours=Decimal("6000")
    )
    response = post(applicant, url(application, "submit"))
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The application cannot be submitted: 1 rule(s) not met.",
        "code": "submission_rules",
        "errors": {"gpu_hours_cap": ["Playground asks at most 5,000.00 GPU-hours: asked 6,000.00 GPU-hours."]},
    }


def test_submit_with_a_duration_the_mode_does_not_offer_is_400(world, applicant):
    application = draft_application(call=world.call, partition=world.partition, applicant=applicant, duration_months=6)
    response = post(applicant, url(application, "submit"))
    assert (response.status_code, response.json()["code"]) == (400, "submission_rules")
    assert response.json()["errors"] == {"duration": ["Playground access lasts 1, 2 or 3 months: asked 6 months."]}


def test_submit_from_an_ineligible_country_is_400(world):
    american = OrganisationFactory(short_name="ACME-AI", legal_name="ACME AI Inc.", country="US")
    applicant = UserFactory(username="acme", organisation=american, roles=[Role.APPLICANT])
    application = draft_application(call=world.call, partition=world.partition, applicant=applicant)
    response = post(applicant, url(application, "submit"))
    assert (response.status_code, response.json()["code"]) == (400, "submission_rules")
    assert response.json()["errors"] == {
        "country": [
            "The organisation is established in an EU Member State or a Participating State: ACME-AI is established "
            f"in {country_name('US')}."
        ]
    }


def test_create_with_a_partition_of_another_machine_is_400(world, applicant, other_organisation):
    _machine, leonardo_gpu, _period = make_gpu_machine(hosting_entity=other_organisation, name="LEONARDO")
    response = post(applicant, f"{API}/applications/", payload(world, partition=leonardo_gpu.pk))
    assert response.status_code == 400
    assert response.json() == {
        "detail": "LEONARDO-G is not a partition of the machine chosen: it belongs to LEONARDO.",
        "code": "partition_machine",
        "errors": {"partition": ["Choose a partition of the machine."]},
    }
    assert not AccessApplication.objects.exists()


def test_submit_after_the_last_cut_off_is_409_late(world, applicant, freezer):
    application = draft_application(
        call=world.call,
        partition=world.partition,
        applicant=applicant,
        mode="large_scale",
        gpu_hours=Decimal("60000"),
        duration_months=6,
    )
    last = world.call.cut_offs.order_by("-closes_at").first().closes_at
    freezer(last + timedelta(minutes=1))
    response = post(applicant, url(application, "submit"))
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"The last cut-off of EUROHPC-2026-AIF-ACCESS for Large Scale closed on {local(last)}: "
        "applications are no longer accepted.",
        "code": "late",
        "errors": {},
    }


def test_award_beyond_the_pool_is_409_naming_pool_and_union_quota(world, applicant, programme_officer):
    set_pool(partition=world.partition, period=world.period, mode="playground", hours=1000, officer=programme_officer)
    application = assessed(world, applicant, programme_officer, recommended="3000")
    response = post(programme_officer, url(application, "decision"), {"outcome": "awarded"})
    assert response.status_code == 409
    quota = PartitionQuota.objects.get(partition=world.partition, period=world.period)
    union = hours(quota.union_quota, "gpu_hours")
    assert response.json() == {
        "detail": "The Playground pool of LUMI LUMI-G in access would be exceeded by 2,000.00 GPU-hours: pool "
        "1,000.00 GPU-hours, awarded 0.00 GPU-hours, remaining 1,000.00 GPU-hours, asked 3,000.00 GPU-hours; the "
        f"Union quota has {union} of {union} remaining.",
        "code": "pool_exhausted",
        "errors": {},
    }
    application.refresh_from_db()
    assert (application.proposal.status, application.project_id) == ("evaluation", None)


def test_award_above_the_recommendation_is_400(world, applicant, programme_officer):
    application = assessed(world, applicant, programme_officer, recommended="3000")
    response = post(programme_officer, url(application, "decision"), {"outcome": "awarded", "gpu_hours": "3500"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "An award gives at most the 3,000.00 GPU-hours the technical assessment recommends; asked 3,500.00.",
        "code": "award_above_recommendation",
        "errors": {"gpu_hours": ["At most 3,000.00 GPU-hours."]},
    }


def test_reply_after_the_deadline_is_409_naming_it(world, applicant, programme_officer, freezer):
    start = timezone.now()
    application = large_scale_submitted(world, applicant)
    freezer(start + timedelta(days=11))
    application = assessed_after_cut_off(application, programme_officer, world.host, recommended="60000")
    application = reviewed(application, officer=programme_officer, reviewers=make_evaluators(2))
    freezer(application.reply_deadline + timedelta(minutes=1))
    response = post(applicant, url(application, "reply"), {"reply": "Too late?"})
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"The reply to the reviews of {application.proposal.reference} was due by "
        f"{local(application.reply_deadline)}.",
        "code": "late",
        "errors": {},
    }


# --- who sees what, who may act --------------------------------------------------------------------------------


def test_application_of_another_host_is_404_for_a_hosting_operator(world, applicant, other_organisation):
    application = submitted_application(call=world.call, partition=world.partition, applicant=applicant)
    operator = make_host_operator(other_organisation, username="support-cineca")
    response = api_for(operator).get(url(application))
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert api_for(operator).get(f"{API}/applications/").json()["count"] == 0


def test_application_is_visible_to_its_machines_host_once_submitted(world, applicant):
    application = draft_application(call=world.call, partition=world.partition, applicant=applicant)
    assert api_for(world.host).get(url(application)).status_code == 404
    post(applicant, url(application, "submit"))
    assert api_for(world.host).get(url(application)).json()["status"] == "submitted"


def test_application_of_another_organisation_is_404_for_an_applicant(world, applicant, other_applicant):
    application = draft_application(call=world.call, partition=world.partition, applicant=applicant)
    response = post(other_applicant, url(application, "submit"))
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert api_for(other_applicant).get(f"{API}/applications/").json()["count"] == 0


def test_eligibility_by_an_applicant_is_403_with_the_reason(world, applicant):
    application = submitted_application(call=world.call, partition=world.partition, applicant=applicant)
    response = post(applicant, url(application, "eligibility"), {"eligible": True, "reason": "Mine."})
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only programme officers record eligibility.",
        "code": "permission_denied",
        "errors": {},
    }


def test_decision_by_the_host_is_403_with_the_reason(world, applicant, programme_officer):
    application = assessed(world, applicant, programme_officer, recommended="3000")
    response = post(world.host, url(application, "decision"), {"outcome": "awarded"})
    assert response.status_code == 403
    assert response.json()["detail"] == "Only programme officers (the access committee) decide access applications."


def test_pool_set_by_a_hosting_operator_is_403_with_the_reason(world):
    quota = PartitionQuota.objects.get(partition=world.partition, period=world.period)
    response = api_for(world.host).put(
        f"{API}/pools/", {"quota": quota.pk, "access_mode": "fast_lane", "hours": "100"}, format="json"
    )
    assert (response.status_code, response.json()["detail"]) == (403, "Only programme officers set the access pools.")


def test_pool_set_by_an_officer_sets_the_mode_s_hours(world, programme_officer):
    quota = PartitionQuota.objects.get(partition=world.partition, period=world.period)
    response = api_for(programme_officer).put(
        f"{API}/pools/", {"quota": quota.pk, "access_mode": "fast_lane", "hours": "2500.50"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["access_mode"], response.json()["hours"]) == ("fast_lane", "2500.50")


def test_pools_without_a_machine_is_400_naming_the_parameter(world, programme_officer):
    response = api_for(programme_officer).get(f"{API}/pools/")
    assert response.status_code == 400
    assert response.json()["errors"] == {"machine": ["Give the machine: ?machine=<id>."]}


def test_technical_queue_by_an_applicant_is_403_with_the_reason(world, applicant):
    response = api_for(applicant).get(f"{API}/technical-queue/")
    assert response.status_code == 403
    assert response.json()["detail"] == ("Only hosting entities' support teams and programme officers see this queue.")


def test_application_list_refuses_an_unknown_status_filter(world, programme_officer):
    response = api_for(programme_officer).get(f"{API}/applications/?status=won")
    assert (response.status_code, response.json()["errors"]) == (400, {"status": ["Unknown status 'won'."]})


# --- query counts ----------------------------------------------------------------------------------------------


def _applicants(count: int, organisation) -> list:
    return [
        UserFactory(username=f"founder{i}", organisation=organisation, roles=[Role.APPLICANT]) for i in range(count)
    ]


@pytest.mark.parametrize("rows", [1, 4])
def test_application_list_query_count_is_constant(world, applicant, programme_officer, django_assert_num_queries, rows):
    for i in range(rows):
        submitted_application(call=world.call, partition=world.partition, applicant=applicant, acronym=f"SLM{i}")
    client = api_for(programme_officer)
    # the officer's roles; count; the page (applications with their proposal, call, organisation, cut-off, mode,
    # partition, machine, PI, technical assessment, project and review figures)
    with django_assert_num_queries(3):
        response = client.get(f"{API}/applications/")
    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [1, 4])
def test_technical_queue_query_count_is_constant(world, applicant, programme_officer, django_assert_num_queries, rows):
    for i in range(rows):
        application = submitted_application(
            call=world.call, partition=world.partition, applicant=applicant, acronym=f"SLM{i}"
        )
        post(programme_officer, url(application, "eligibility"), {"eligible": True, "reason": "EU start-up."})
    client = api_for(world.host)
    with django_assert_num_queries(3):
        response = client.get(f"{API}/technical-queue/")
    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [1, 3])
def test_ranking_query_count_is_constant(world, applicant, programme_officer, freezer, django_assert_num_queries, rows):
    start = timezone.now()
    applications = [large_scale_submitted(world, applicant, acronym=f"LLM{i}") for i in range(rows)]
    freezer(start + timedelta(days=11))
    for application in applications:
        assessed_after_cut_off(application, programme_officer, world.host, recommended="60000")
    cut_off = applications[0].proposal.cut_off_id
    client = api_for(programme_officer)
    # the officer's roles; the applications with their figures; the quotas; the pools
    with django_assert_num_queries(4):
        response = client.get(f"{API}/cut-offs/{cut_off}/ranking/")
    body = response.json()
    assert body["count"] == rows
    assert [row["rank"] for row in body["results"]] == list(range(1, rows + 1))
    assert body["results"][0]["fits"] is True


@pytest.mark.parametrize("modes", [["fast_lane"], ["fast_lane", "ai_for_science"]])
def test_pools_query_count_is_constant(world, programme_officer, django_assert_num_queries, modes):
    for mode in modes:
        set_pool(partition=world.partition, period=world.period, mode=mode, hours=1000, officer=programme_officer)
    client = api_for(programme_officer)
    # the officer's roles; the machine (and its partitions); the periods; the quotas; the pools; the pending asks
    with django_assert_num_queries(7):
        response = client.get(f"{API}/pools/?machine={world.machine.pk}")
    assert response.status_code == 200, response.json()
    assert [pool["access_mode"] for pool in response.json()[0]["pools"]] == ["playground", "large_scale", *modes]
