"""Access calls' selectors: a bounded number of queries whatever the rows, the ranking's order and its pool flags."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from calls.access.selectors import application_list, cut_off_ranking, pool_board, technical_queue, working_days_between
from calls.access.services import access_eligibility_record, access_reviews_release, technical_assessment_record
from calls.evaluation.services import assignment_create, assignment_declare, review_save
from calls.models import CutOff
from tests.calls.access_factories import (
    COMMENTS,
    SCORES,
    make_access_call,
    make_gpu_machine,
    make_host_operator,
    set_pool,
    submitted_application,
)
from tests.calls.evaluation_factories import make_evaluators
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

NOTES = "Runs on PyTorch with ROCm; scales to 64 GPUs."


@pytest.fixture
def world(programme_officer):
    host_org = OrganisationFactory(short_name="LUMI-HE", country="FI")
    call = make_access_call()
    machine, partition, period = make_gpu_machine(hosting_entity=host_org)
    for mode, hours in (("playground", 10000), ("large_scale", 130000)):
        set_pool(partition=partition, period=period, mode=mode, hours=hours, officer=programme_officer)
    return call, machine, partition, make_host_operator(host_org)


def eligible(world, applicant, officer, count: int, **fields):
    call, _machine, partition, _host = world
    applications = []
    for n in range(count):
        application = submitted_application(
            call=call, partition=partition, applicant=applicant, acronym=f"APP{n}", **fields
        )
        access_eligibility_record(application=application, eligible=True, reason="EU.", actor=officer)
        applications.append(application)
    return applications


@pytest.mark.parametrize("rows", [1, 4])
def test_application_list_query_count_is_constant(world, applicant, programme_officer, django_assert_num_queries, rows):
    eligible(world, applicant, programme_officer, rows)
    with django_assert_num_queries(1):
        listed = list(application_list(user=programme_officer, call=world[0]))
    assert [a.proposal.acronym for a in listed] == [f"APP{n}" for n in reversed(range(rows))]
    assert {(a.reviews_submitted, a.review_score_sum) for a in listed} == {(0, Decimal("0"))}


@pytest.mark.parametrize("rows", [1, 4])
def test_technical_queue_query_count_is_constant(world, applicant, programme_officer, django_assert_num_queries, rows):
    eligible(world, applicant, programme_officer, rows)
    host = world[3]
    with django_assert_num_queries(2):  # the operator's visibility, then the rows
        queue = list(technical_queue(user=host))
    assert [a.proposal.acronym for a in queue] == [f"APP{n}" for n in range(rows)]


def test_technical_queue_leaves_out_another_hosts_machines(world, applicant, programme_officer, other_organisation):
    eligible(world, applicant, programme_officer, 2)
    stranger = make_host_operator(other_organisation, username="cineca-support")
    assert list(technical_queue(user=stranger)) == []


@pytest.mark.parametrize("rows", [1, 4])
def test_pool_board_query_count_is_constant(world, applicant, programme_officer, django_assert_num_queries, rows):
    eligible(world, applicant, programme_officer, rows, gpu_hours=Decimal("1000"))
    with django_assert_num_queries(4):  # the periods, the quotas, the pools, the pending requests
        board = pool_board(machine=world[1])
    [block] = board
    figures = {row.pool.access_mode: (row.pool.hours, row.pending, row.pending_count) for row in block.pools}
    assert figures == {
        "playground": (Decimal("10000.00"), Decimal("1000") * rows, rows),
        "large_scale": (Decimal("130000.00"), Decimal("0"), 0),
    }
    assert block.unpooled == Decimal("786240.00") - Decimal("140000.00")


def reviewed_large_scale(world, applicant, officer, freezer, asked: dict[str, tuple[str, str]]):
    """Large Scale applications (acronym: GPU-hours, review score) reviewed by two experts and released."""
    call, _machine, partition, host = world
    start = freezer(CutOff.objects.filter(call=call).order_by("closes_at").first().closes_at - timedelta(hours=1))
    applications = []
    for minute, (acronym, (hours, _score)) in enumerate(asked.items()):
        freezer(start + timedelta(minutes=minute))
        applications.append(
            submitted_application(
                call=call,
                partition=partition,
                applicant=applicant,
                mode="large_scale",
                acronym=acronym,
                gpu_hours=Decimal(hours),
                duration_months=6,
            )
        )
    freezer(start + timedelta(hours=2))
    experts = make_evaluators(2)
    for application, (_hours, score) in zip(applications, asked.values(), strict=True):
        access_eligibility_record(application=application, eligible=True, reason="EU.", actor=officer)
        technical_assessment_record(application=application, feasible=True, notes=NOTES, actor=host)
        for expert in experts:
            assignment = assignment_create(proposal=application.proposal, evaluator=expert, actor=officer)
            assignment_declare(assignment=assignment, conflict=False, actor=expert)
            review_save(
                assignment=assignment, scores=dict.fromkeys(SCORES, score), comments=COMMENTS, actor=expert, submit=True
            )
        access_reviews_release(application=application, actor=officer)
    return CutOff.objects.filter(call=call).order_by("closes_at").first()


def test_cut_off_ranking_orders_by_score_and_flags_what_the_pool_holds(world, applicant, programme_officer, freezer):
    cut_off = reviewed_large_scale(
        world,
        applicant,
        programme_officer,
        freezer,
        {
            "LOW": ("55000", "3"),
            "HIGH": ("60000", "5"),
            "MID": ("70000", "4"),
        },
    )
    ranking = cut_off_ranking(cut_off=cut_off)
    assert [
        (r.rank, r.application.proposal.acronym, r.application.review_mean, r.recommended, r.cumulative, r.fits)
        for r in ranking
    ] == [
        (1, "HIGH", Decimal("15.00"), Decimal("60000.00"), Decimal("60000.00"), True),
        (2, "MID", Decimal("12.00"), Decimal("70000.00"), Decimal("130000.00"), True),
        (3, "LOW", Decimal("9.00"), Decimal("55000.00"), Decimal("185000.00"), False),
    ]
    assert {r.pool_hours for r in ranking} == {Decimal("130000.00")}


@pytest.mark.parametrize("rows", [1, 3])
def test_cut_off_ranking_query_count_is_constant(
    world, applicant, programme_officer, freezer, django_assert_num_queries, rows
):
    asked = {f"APP{n}": ("60000", "4") for n in range(rows)}
    cut_off = reviewed_large_scale(world, applicant, programme_officer, freezer, asked)
    with django_assert_num_queries(3):
        ranking = cut_off_ranking(cut_off=cut_off)
    assert len(ranking) == rows


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (date(2026, 12, 7), date(2026, 12, 7), 0),  # Monday to the same day
        (date(2026, 12, 7), date(2026, 12, 8), 1),  # Monday to Tuesday
        (date(2026, 12, 11), date(2026, 12, 14), 1),  # Friday to Monday: the weekend does not count
        (date(2026, 12, 12), date(2026, 12, 13), 0),  # Saturday to Sunday
        (date(2026, 12, 7), date(2026, 12, 14), 5),  # one week
        (date(2026, 12, 7), date(2026, 12, 23), 12),  # two weeks and two days
        (date(2026, 12, 14), date(2026, 12, 7), 0),  # backwards
    ],
)
def test_working_days_between_counts_weekdays_after_the_start(start, end, days):
    assert working_days_between(start, end) == days


def test_access_reviews_open_to_the_office_at_once_and_to_the_applicant_once_released(
    applicant, other_applicant, programme_officer, organisation
):
    from datetime import timedelta

    from django.utils import timezone

    from tests.calls.access_factories import draft_application, make_access_call, make_gpu_machine

    _machine, partition, _period = make_gpu_machine(hosting_entity=organisation)
    application = draft_application(call=make_access_call(), partition=partition, applicant=applicant)
    assert programme_officer.has_perm("calls.view_access_reviews", application)
    assert not applicant.has_perm("calls.view_access_reviews", application)
    application.reply_deadline = timezone.now() + timedelta(days=7)
    assert applicant.has_perm("calls.view_access_reviews", application)
    assert not other_applicant.has_perm("calls.view_access_reviews", application)


def test_access_final_report_open_to_the_pi_and_the_organisation_s_applicants_only(
    applicant, other_applicant, hosting_operator, organisation
):
    from tests.calls.access_factories import draft_application, make_access_call, make_gpu_machine

    _machine, partition, _period = make_gpu_machine(hosting_entity=organisation)
    application = draft_application(call=make_access_call(), partition=partition, applicant=applicant)
    assert applicant.has_perm("calls.report_access", application)
    assert not other_applicant.has_perm("calls.report_access", application)
    assert not hosting_operator.has_perm("calls.report_access", application)
