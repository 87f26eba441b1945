"""The demo's access call: applications in every state, pools on the machines' GPU partitions, awarded projects
with allocations and Slurm usage, and nothing dated after the seeding moment."""

from decimal import Decimal

import pytest
from django.db import models
from django.db.models import Sum
from django.utils import timezone

from calls.access.models import AccessApplication, AccessMode, TechnicalAssessment
from calls.models import Assignment, Call, CutOff, Proposal, Review
from calls.seed import demo_access
from eurohpc.models import Role, User
from eurohpc.seed import demo as core_demo
from eurohpc.selectors import audit_chain_report
from hosting.models import AccessPool, Allocation, Partition, UsageDaily, UsageRecord
from hosting.seed import demo as hosting_demo

pytestmark = pytest.mark.django_db

CALL = "EUROHPC-DEMO-AIF-ACCESS-2026"


@pytest.fixture
def seeded():
    """The seeders the access demo stands on (users, machines, periods), then the access demo; the moment after."""
    lines: list[str] = []
    core_demo.seed(out=lines.append)
    hosting_demo.seed(out=lines.append)
    demo_access.seed(out=lines.append)
    return lines, timezone.now()


def _by_acronym() -> dict[str, AccessApplication]:
    rows = AccessApplication.objects.select_related("proposal", "mode", "partition__machine", "project", "pi")
    return {a.proposal.acronym: a for a in rows}


def test_access_demo_call_is_open_with_the_programme_modes_and_cut_offs_twice_a_month(seeded):
    call = Call.objects.get(identifier=CALL)
    assert (call.is_demo, call.status, call.prong) == (True, "open", "access")
    assert set(AccessMode.objects.filter(call=call).values_list("code", flat=True)) == set(AccessMode.Code.values)
    now = timezone.now()
    cut_offs = CutOff.objects.filter(call=call)
    passed = cut_offs.filter(closes_at__lte=now)
    assert passed.count() >= 6 and not passed.filter(processed_at__isnull=True).exists()
    assert cut_offs.filter(closes_at__gt=now, processed_at__isnull=True).count() >= 20
    days = {timezone.localtime(c.closes_at).day for c in cut_offs}
    assert 15 in days and days - {15} <= {28, 29, 30, 31}


def test_access_demo_has_applications_in_every_state(seeded):
    statuses = set(Proposal.objects.filter(call__identifier=CALL).values_list("status", flat=True))
    assert statuses == {"draft", "submitted", "screening", "eligible", "ineligible", "evaluation", "selected",
                        "reserve", "rejected", "withdrawn"}  # fmt: skip
    apps = _by_acronym()
    # Eligible and waiting for CSC's technical assessment of LUMI: the demo operator's queue.
    from calls.access.selectors import technical_queue

    queue = list(technical_queue(user=User.objects.get(username="operator")))
    assert {a.proposal.acronym for a in queue} == {"NORDIC-CLIM", "ASTER-NAV"}
    # Under review: evaluator1's review submitted, evaluator2's a draft.
    reviews = Review.objects.filter(assignment__proposal__acronym="BALTIC-MT")
    assert dict(reviews.values_list("assignment__evaluator__username", "status")) == {
        "evaluator1": "submitted", "evaluator2": "draft"}  # fmt: skip
    # Reviews released, the reply window open; replied, waiting for the committee.
    assert apps["AGRI-VISION"].reply_deadline > timezone.now() and apps["AGRI-VISION"].replied_at is None
    assert apps["FIN-HEALTH"].replied_at is not None and apps["FIN-HEALTH"].proposal.status == "evaluation"
    assert apps["SEISMO-AI"].technical.feasible and apps["SEISMO-AI"].proposal.status == "eligible"
    assert apps["EDU-LLM"].proposal.status == "evaluation" and apps["EDU-LLM"].mode.code == "fast_lane"
    assert apps["PORT-TWIN"].proposal.status == "reserve" and apps["PORT-TWIN"].decision_reason
    assert apps["ASTER-RL"].technical.feasible is False and apps["ASTER-RL"].proposal.status == "rejected"
    assert {a.pi.username for a in apps.values()} == {"applicant", "applicant2", "startup"}
    startup = User.objects.get(username="startup")
    assert Role.APPLICANT in startup.roles
    assert (startup.organisation.kind, startup.organisation.country) == ("company", "FR")
    assert TechnicalAssessment.objects.filter(assessed_by__username="operator").exists()


def test_access_demo_pools_cover_the_gpu_partitions_now_and_next(seeded):
    today = timezone.localdate()
    pooled = AccessPool.objects.filter(quota__partition__accounting_unit=Partition.Unit.GPU_HOURS)
    machines = set(pooled.values_list("quota__partition__machine__name", flat=True))
    assert {"LUMI", "Leonardo", "MareNostrum 5", "JUPITER", "MeluXina"} <= machines
    lumi = pooled.filter(quota__partition__machine__name="LUMI")
    assert lumi.filter(quota__period__start__lte=today, quota__period__end__gte=today).count() == 4
    assert lumi.filter(quota__period__start__gt=today).count() == 4  # the next period, for the coming months
    for quota_id in set(pooled.values_list("quota_id", flat=True)):
        pools = pooled.filter(quota_id=quota_id)
        assert pools.aggregate(t=Sum("hours"))["t"] <= pools.first().quota.union_quota


def test_access_demo_awards_have_projects_allocations_and_usage(seeded):
    awarded = AccessApplication.objects.filter(proposal__call__identifier=CALL, proposal__status="selected")
    assert set(awarded.values_list("mode__code", flat=True)) == set(AccessMode.Code.values)
    for application in awarded.select_related("project", "proposal"):
        allocation = Allocation.objects.get(project=application.project)
        assert allocation.slurm_account == application.project.code.lower()
        assert allocation.amount == application.awarded_gpu_hours
        used = UsageDaily.objects.filter(allocation=allocation).aggregate(t=Sum("amount"))["t"] or Decimal(0)
        assert 0 < used < allocation.amount, application.proposal.acronym
        assert UsageRecord.objects.filter(allocation=allocation, account=allocation.slurm_account).exists()


def test_access_demo_dates_nothing_after_the_seeding_moment(seeded):
    _lines, moment = seeded
    planned = {("start_month",), ("reply_deadline",)}  # what an application asks for or is given to do
    future = []
    for model in (AccessApplication, TechnicalAssessment, Proposal, Assignment, Review, Allocation, AccessPool):
        for f in model._meta.concrete_fields:
            if (f.name,) in planned or (model is Assignment and f.name == "deadline"):
                continue
            if isinstance(f, models.DateTimeField):
                limit = moment
            elif isinstance(f, models.DateField):
                limit = timezone.localdate(moment)
            else:
                continue
            if model.objects.filter(**{f"{f.name}__gt": limit}).exists():
                future.append(f"{model.__name__}.{f.name}")
    assert future == []
    assert audit_chain_report().ok


def test_access_demo_twice_adds_nothing(seeded):
    counts = (AccessApplication.objects.count(), UsageRecord.objects.count(), AccessPool.objects.count(),
              User.objects.count())  # fmt: skip
    lines: list[str] = []
    demo_access.seed(out=lines.append)
    assert (AccessApplication.objects.count(), UsageRecord.objects.count(), AccessPool.objects.count(),
            User.objects.count()) == counts  # fmt: skip
    assert f"access call {CALL}: already there" in lines
