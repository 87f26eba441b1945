"""Access pools: a quota's Union hours split per access mode, and the awards taken from them."""

from datetime import date
from decimal import Decimal

import pytest

from eurohpc.errors import LimitExceeded, RuleViolation, StateConflict
from eurohpc.models import AuditEvent
from hosting.models import AccessPool, Allocation, PartitionQuota, UserProject
from hosting.selectors import pool_positions
from hosting.services import access_pool_set, project_award

pytestmark = pytest.mark.django_db

LABEL = "LUMI LUMI-G in 2026-H2"  # Union quota 158,976.00 GPU-hours


@pytest.fixture
def quota(period, lumi_g):
    return PartitionQuota.objects.get(period=period, partition=lumi_g)


def award(quota, pi, *, amount: str, mode: str = "playground", user_type: str = "startup", months: int = 3):
    return project_award(
        title="Award",
        pi=pi,
        organisation=pi.organisation,
        user_type=user_type,
        access_mode=mode,
        commercial=False,
        partition=quota.partition,
        starts_on=date(2026, 7, 1),
        duration_months=months,
        amount=Decimal(amount),
        cut_off=7,
        actor=None,
    )


def refused(exc_info, kind, code: str, message: str) -> None:
    assert type(exc_info.value) is kind
    assert exc_info.value.code == code
    assert exc_info.value.message == message


def test_access_pool_set_creates_then_changes_a_pool(quota, programme_officer):
    pool = access_pool_set(quota=quota, access_mode="playground", hours=Decimal("10000"), actor=programme_officer)
    assert (pool.access_mode, pool.hours) == ("playground", Decimal("10000"))
    pool = access_pool_set(quota=quota, access_mode="playground", hours="12000.50", actor=programme_officer)
    assert AccessPool.objects.get().hours == Decimal("12000.50")
    event = AuditEvent.objects.filter(verb="pool.set").order_by("-seq").first()
    assert (event.changes["hours"], event.changes["before"], event.changes["quota"]) == ("12000.50", "10000.00", LABEL)


def test_access_pool_set_refuses_pools_over_the_union_quota(quota, programme_officer):
    access_pool_set(quota=quota, access_mode="fast_lane", hours=Decimal("150000"), actor=programme_officer)
    with pytest.raises(LimitExceeded) as exc:
        access_pool_set(quota=quota, access_mode="playground", hours=Decimal("10000"), actor=programme_officer)
    refused(
        exc,
        LimitExceeded,
        "pools_over_quota",
        f"The access pools of {LABEL} would exceed its Union quota of 158,976.00 GPU-hours by 1,024.00 "
        f"GPU-hours: the other pools hold 150,000.00 GPU-hours, asked 10,000.00 GPU-hours for Playground.",
    )
    assert exc.value.errors == {"hours": ["At most 8,976.00 GPU-hours are left for this pool."]}
    assert list(AccessPool.objects.values_list("access_mode", flat=True)) == ["fast_lane"]


def test_access_pool_set_takes_the_whole_union_quota(quota, programme_officer):
    access_pool_set(quota=quota, access_mode="fast_lane", hours=Decimal("150000"), actor=programme_officer)
    pool = access_pool_set(quota=quota, access_mode="playground", hours=Decimal("8976"), actor=programme_officer)
    assert pool.hours == Decimal("8976")


def test_access_pool_set_refuses_to_shrink_below_what_was_awarded(quota, programme_officer, applicant):
    access_pool_set(quota=quota, access_mode="playground", hours=Decimal("10000"), actor=programme_officer)
    award(quota, applicant, amount="3000")
    with pytest.raises(StateConflict) as exc:
        access_pool_set(quota=quota, access_mode="playground", hours=Decimal("2999.99"), actor=programme_officer)
    refused(
        exc,
        StateConflict,
        "pool_below_awarded",
        f"The Playground pool of {LABEL} has already awarded 3,000.00 GPU-hours: it cannot shrink to 2,999.99 "
        f"GPU-hours.",
    )
    assert AccessPool.objects.get().hours == Decimal("10000.00")
    assert access_pool_set(quota=quota, access_mode="playground", hours=Decimal("3000"), actor=programme_officer)


def test_access_pool_set_refuses_an_unknown_mode(quota, programme_officer):
    with pytest.raises(RuleViolation) as exc:
        access_pool_set(quota=quota, access_mode="regular", hours=Decimal("10"), actor=programme_officer)
    refused(
        exc,
        RuleViolation,
        "access_mode",
        "Unknown access mode 'regular'; access modes are playground, fast_lane, large_scale, ai_for_science.",
    )


@pytest.mark.parametrize(
    ("hours", "shown"), [(Decimal("-1"), "-1"), (Decimal("1.005"), "1.005"), ("lots", "lots"), ("NaN", "NaN")]
)
def test_access_pool_set_refuses_hours_that_are_not_a_pool(quota, programme_officer, hours, shown):
    with pytest.raises(RuleViolation) as exc:
        access_pool_set(quota=quota, access_mode="playground", hours=hours, actor=programme_officer)
    refused(
        exc,
        RuleViolation,
        "pool_hours",
        f"A pool is a number of hours, 0 or more, with at most 2 decimals; got {shown}.",
    )
    assert AccessPool.objects.count() == 0


def test_pool_positions_give_hours_awarded_remaining_and_percentages(quota, programme_officer, applicant):
    access_pool_set(quota=quota, access_mode="playground", hours=Decimal("10000"), actor=programme_officer)
    access_pool_set(quota=quota, access_mode="large_scale", hours=Decimal("100000"), actor=programme_officer)
    award(quota, applicant, amount="2500")
    award(quota, applicant, amount="1250.50")
    award(quota, applicant, amount="60000", mode="large_scale", user_type="academia", months=6)
    rows = {
        row.access_mode: (row.hours, row.awarded, row.remaining, row.awarded_percent, row.used, row.used_percent)
        for row in pool_positions(quotas=[quota])
    }
    assert rows == {
        "playground": (
            Decimal("10000.00"),
            Decimal("3750.50"),
            Decimal("6249.50"),
            Decimal("37.5"),
            Decimal("0"),
            Decimal("0"),
        ),
        "large_scale": (
            Decimal("100000.00"),
            Decimal("60000.00"),
            Decimal("40000.00"),
            Decimal("60.0"),
            Decimal("0"),
            Decimal("0"),
        ),
    }


def test_project_award_refuses_a_mode_without_a_pool(quota, programme_officer, applicant):
    access_pool_set(quota=quota, access_mode="playground", hours=Decimal("10000"), actor=programme_officer)
    with pytest.raises(LimitExceeded) as exc:
        award(quota, applicant, amount="2000", mode="fast_lane")
    refused(
        exc,
        LimitExceeded,
        "pool_missing",
        f"{LABEL} has no Fast Lane pool: its Union quota is split into the pools Playground.",
    )
    assert (UserProject.objects.count(), Allocation.objects.count()) == (0, 0)


def test_project_award_writes_its_audit_events_after_its_rows(quota, programme_officer, applicant):
    access_pool_set(quota=quota, access_mode="playground", hours=Decimal("10000"), actor=programme_officer)
    allocation = award(quota, applicant, amount="2000")
    assert allocation.project.code == "EHPC-AIF-2026PG07-0001"
    assert allocation.slurm_account == "ehpc-aif-2026pg07-0001"
    events = list(AuditEvent.objects.order_by("-seq").values_list("verb", "target_repr")[:2])
    assert [verb for verb, _ in reversed(events)] == ["project.create", "allocation.create"]
