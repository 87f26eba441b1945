from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, Q, Sum

from calls.models import (
    Assignment,
    BudgetLine,
    Call,
    Consensus,
    CutOff,
    Decision,
    FeasibilityAssessment,
    FeasibilityItem,
    Proposal,
    Review,
    ReviewScore,
)
from eurohpc.management.commands.seed_scale import Loader
from eurohpc.models import AuditEvent, Organisation, User
from eurohpc.selectors import audit_chain_report
from grants.models import Envelope, Grant, LedgerEntry
from grants.selectors import envelope_positions, grant_totals
from hosting.models import Allocation, Machine, PartitionQuota, UsageDaily, UsageRecord, UserProject
from tests.conftest import requires_postgresql

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(capsys):
    call_command("seed_scale", scale=0.001, access=0)  # the access rows are checked on their own below
    return capsys.readouterr().out


def test_seed_scale_writes_the_asked_counts(seeded):
    assert Call.objects.filter(identifier__startswith="SCALE-").count() == 3
    assert CutOff.objects.count() == 12
    assert Proposal.objects.count() == 10
    assert Review.objects.count() == 30
    assert Assignment.objects.count() == 30
    assert LedgerEntry.objects.count() == 200
    assert Machine.objects.count() == 1
    assert Allocation.objects.count() == 2
    assert UserProject.objects.count() == 2
    assert UsageRecord.objects.count() == 2000
    assert Organisation.objects.count() == 3
    # 3 applicants, 10 evaluators, an officer, 2 technical experts, a finance officer, an operator
    assert User.objects.count() == 18
    for table in ("calls_proposal", "calls_review", "grants_ledgerentry", "hosting_usagerecord"):
        assert table in seeded
    assert "Scale dataset built in" in seeded


def test_seed_scale_writes_no_audit_event_and_keeps_the_chain_valid(seeded):
    assert "No audit events are written" in seeded
    assert AuditEvent.objects.count() == 0
    assert audit_chain_report().ok


def test_seed_scale_rows_are_consistent(seeded):
    assert BudgetLine.objects.values("proposal").distinct().count() == 10
    for line in BudgetLine.objects.all():
        assert line.eu_contribution * 2 <= line.total_cost
    submitted = Review.objects.filter(status="submitted").count()
    assert ReviewScore.objects.count() == 3 * submitted
    decided = Proposal.objects.filter(status__in=["selected", "reserve", "rejected"])
    assert Decision.objects.count() == decided.count() >= 1
    assert Consensus.objects.filter(proposal__in=decided).count() == decided.count()
    assert not decided.filter(status__in=["selected", "reserve"], consensus__passed_thresholds=False).exists()
    assert Grant.objects.count() == Proposal.objects.filter(status="selected").count() >= 1
    # A decided new system or upgrade was selected (or not) with its passed technical assessment of seven items.
    hosting = decided.filter(type__in=["new_system", "upgrade"])
    assert FeasibilityAssessment.objects.filter(proposal__in=hosting, passed=True).count() == hosting.count()
    assert FeasibilityItem.objects.count() == 7 * FeasibilityAssessment.objects.count()
    daily = UsageDaily.objects.aggregate(amount=Sum("amount"), jobs=Sum("jobs"))
    jobs = UsageRecord.objects.aggregate(amount=Sum("charge"), jobs=Count("pk"))
    assert daily["jobs"] == jobs["jobs"] == 2000
    assert round(daily["amount"], 4) == round(jobs["amount"], 4)  # SQLite sums decimals as floats


def test_seed_scale_commitments_fit_every_envelope_and_payments_their_commitments(seeded):
    positions = envelope_positions()
    assert len(positions) == Envelope.objects.count() >= 2
    assert positions[0].depth == 0 and positions[0].net_committed > 0
    for position in positions:
        assert Decimal(0) <= position.net_committed <= position.amount, position.envelope.code
    for grant in Grant.objects.all():
        totals = grant_totals(grant=grant)
        assert totals.net_committed <= grant.eu_contribution, grant.reference
        assert Decimal(0) <= totals.paid <= totals.net_committed, grant.reference
        assert totals.prefinancing_interim <= grant.eu_contribution * Decimal("0.9"), grant.reference
        assert not grant.ledger.exclude(envelope_id=grant.envelope_id).exists()


def test_seed_scale_allocations_fit_the_union_quota(seeded):
    for quota in PartitionQuota.objects.all():
        same = Allocation.objects.filter(partition_id=quota.partition_id, period_id=quota.period_id)
        totals = same.aggregate(all=Sum("amount"), industry=Sum("amount", filter=Q(project__user_type="industry")))
        assert (totals["all"] or 0) <= quota.union_quota
        assert (totals["industry"] or 0) <= quota.union_quota * Decimal("0.2")


def test_seed_scale_twice_adds_nothing(seeded, capsys):
    call_command("seed_scale", scale=0.001, access=0)
    assert "Scale data already present (3 SCALE- calls, 10 proposals): nothing done." in capsys.readouterr().out
    assert Proposal.objects.count() == 10
    assert UsageRecord.objects.count() == 2000


def test_seed_scale_refuses_under_production_settings(settings):
    settings.DEMO_USERS_ALLOWED = False
    with pytest.raises(CommandError, match="seed_scale refuses to run under production settings"):
        call_command("seed_scale", scale=0.001)
    assert Proposal.objects.count() == 0


def test_seed_scale_refuses_usage_without_allocations():
    with pytest.raises(CommandError, match="--usage needs at least one of --allocations"):
        call_command("seed_scale", scale=0.001, allocations=0)


@requires_postgresql
def test_seed_scale_loader_refuses_a_dangling_reference():
    loader = Loader()
    if not loader.set_based_checks:
        pytest.skip("the set-based reference checks need a PostgreSQL superuser")
    with pytest.raises(RuntimeError, match="1 rows of grants_ledgerentry.grant_id point at no row"):
        with transaction.atomic():
            envelope = Envelope.objects.create(code="X", name="x", programme="digital_europe", period_start=2024,
                                               period_end=2024, amount=Decimal("1.00"))  # fmt: skip
            loader.copy(
                LedgerEntry,
                ["kind", "amount", "withheld", "grant_id", "envelope_id", "memo", "created_at"],
                [("commitment", Decimal("1.00"), Decimal("0"), 987654321, envelope.pk, "", envelope.created_at)],
            )


@pytest.fixture
def seeded_access(capsys):
    call_command("seed_scale", proposals=10, reviews=30, ledger=0, machines=2, allocations=4, usage=0, access=400)
    return capsys.readouterr().out


def test_seed_scale_access_applications_keep_the_rules(seeded_access):
    from calls.access.models import AccessApplication, TechnicalAssessment
    from calls.access.selectors import cut_off_ranking, pool_board
    from hosting.models import AccessPool

    assert "calls_accessapplication" in seeded_access
    call = Call.objects.get(identifier="SCALE-AIF-ACCESS")
    applications = AccessApplication.objects.filter(proposal__call=call).select_related("proposal", "mode")
    assert applications.count() == 400
    assert {"draft", "submitted", "screening", "eligible", "ineligible", "evaluation", "selected", "rejected",
            "withdrawn"} <= set(applications.values_list("proposal__status", flat=True))  # fmt: skip
    for a in applications:
        mode = a.mode
        assert (a.proposal.cut_off_id is not None) == (mode.is_reviewed and a.proposal.submitted_at is not None)
        assert a.user_type in mode.user_types and a.duration_months in mode.durations
        assert a.gpu_hours > mode.min_gpu_hours and (mode.max_gpu_hours is None or a.gpu_hours <= mode.max_gpu_hours)
        if a.proposal.status == "selected":
            technical = a.technical
            assert technical.feasible and a.awarded_gpu_hours <= technical.recommended_gpu_hours
            allocation = Allocation.objects.get(project=a.project)
            assert allocation.amount == a.awarded_gpu_hours
            assert allocation.slurm_account == a.project.code.lower()
            assert allocation.period.start <= a.start_month <= allocation.period.end
        if a.proposal.status == "evaluation" and mode.is_reviewed:
            assert Review.objects.filter(assignment__proposal=a.proposal).count() == mode.reviews_required
        if a.proposal.status in ("selected", "reserve") and mode.is_reviewed:
            reviews = Review.objects.filter(assignment__proposal=a.proposal, status="submitted")
            assert reviews.count() == mode.reviews_required and a.reply_deadline < a.decided_at
        if a.replied_at:
            assert a.reply and a.reply_deadline and a.replied_at <= a.reply_deadline
    assert not TechnicalAssessment.objects.filter(feasible=True, recommended_gpu_hours=None).exists()
    assert applications.filter(proposal__status="selected").count() >= 1
    # The pools of a quota fit its Union quota and hold what their mode was given.
    for quota in PartitionQuota.objects.filter(access_pools__isnull=False).distinct():
        assert AccessPool.objects.filter(quota=quota).aggregate(t=Sum("hours"))["t"] <= quota.union_quota
        for pool in AccessPool.objects.filter(quota=quota):
            given = Allocation.objects.filter(
                partition_id=quota.partition_id, period_id=quota.period_id, project__access_mode=pool.access_mode
            ).aggregate(t=Sum("amount"))["t"]
            assert (given or 0) <= pool.hours
    # The reads of the pages work on the generated rows.
    largest = max(CutOff.objects.filter(call=call), key=lambda c: c.proposals.count())
    assert cut_off_ranking(cut_off=largest)
    assert pool_board(machine=Machine.objects.first())
