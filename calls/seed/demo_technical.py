"""Demo data of the technical assessment of hosting proposals.

Every historic new-system and upgrade selection carries the technical assessment that preceded it: the demo
technical expert declared no conflict and passed every item, dated between the experts' assignment and the
decision (recorded before the publication, so that the evaluation summary reports show it). On the open demo
call's passed cut-off, one hosting proposal has its assessment passed, one waits for the expert's declaration
past its deadline (overdue, its reminders sent) and one for the office to assign an expert. Runs before and
after `calls.seed.demo_evaluation`'s steps (see its `seed`); idempotent.
"""

from datetime import datetime, time, timedelta

from django.utils import timezone

from calls.evaluation import services
from calls.evaluation.feasibility import feasibility_items
from calls.models import TECHNICAL_TYPES, CutOff, FeasibilityAssessment, Proposal
from eurohpc.models import User
from eurohpc.seed.demo import replayed_at

TECHNICAL_EXPERT = "techexpert"

COMMENTS = {
    "site_power": "Grid connection and on-site substation sized for the machine at full load, with N+1 redundancy; "
    "the delivery date fits the installation plan.",
    "site_cooling": "Direct liquid cooling for the accelerated nodes at warm-water temperatures; the heat is reused "
    "in the district heating network.",
    "site_floor_space": "The machine room is built and certified for the floor load of the planned racks.",
    "procurement": "Open procedure with competitive dialogue; the milestones from the call for tender to acceptance "
    "are realistic and the procurement team has done it before.",
    "tco": "Acquisition and operating costs over five years are complete; the split between the Union and the "
    "hosting state matches the hosting agreement's terms.",
    "energy_efficiency": "Expected performance per watt in the top of the current Green500 list; a PUE of 1.1 or "
    "better on renewable electricity.",
    "access_policy": "The Union's share of the access time is offered through the AI Factory access modes; the "
    "rest is allocated by the hosting state's national calls.",
}
SUMMARY = "The site, the procurement plan, the cost split, the energy efficiency and the access policy are sound."


def _answers() -> tuple[dict, dict]:
    codes = [i.code for i in feasibility_items()]
    return dict.fromkeys(codes, "pass"), {c: COMMENTS.get(c, "Meets the programme's requirements.") for c in codes}


def _at_hour(moment: datetime, hour: int) -> datetime:
    """The same day in Luxembourg, at a working hour."""
    return timezone.make_aware(datetime.combine(timezone.localtime(moment).date(), time(hour)))


def seed_history(*, out, officer: User, expert: User) -> None:
    """The technical assessments of the historic hosting selections, before their evaluation and publication
    are recorded (calls.seed.demo_evaluation.seed_history dates those the same way)."""
    recorded = 0
    items, comments = _answers()
    proposals = (
        Proposal.objects.filter(
            call__identifier__in=("EUROHPC-2024-CEI-AI-01", "EUROHPC-2024-CEI-AI-02"),
            type__in=TECHNICAL_TYPES,
            status__in=["selected", "reserve", "rejected"],
            feasibility_assessments=None,
        )
        .select_related("cut_off", "call", "organisation")
        .order_by("cut_off__closes_at", "reference")
    )
    by_cut_off: dict[int, list[Proposal]] = {}
    for proposal in proposals:
        by_cut_off.setdefault(proposal.cut_off_id, []).append(proposal)
    for cut_off in CutOff.objects.filter(pk__in=by_cut_off).order_by("closes_at"):
        batch = by_cut_off[cut_off.pk]
        assigned_at = cut_off.closes_at + timedelta(days=3)
        everyone = Proposal.objects.filter(cut_off=cut_off, status__in=["selected", "reserve", "rejected"])
        decided_at = max((p.eligibility_decided_at for p in everyone if p.eligibility_decided_at), default=None)
        if decided_at is None or decided_at <= assigned_at:
            decided_at = assigned_at + timedelta(days=28)
        submitted_at = _at_hour(assigned_at + (decided_at - assigned_at) / 2, 16)
        with replayed_at(submitted_at):
            for proposal in batch:
                services.feasibility_record_history(
                    proposal=proposal, expert=expert, items=items, comments=comments, summary=SUMMARY,
                    assigned_at=assigned_at, submitted_at=submitted_at, actor=officer,
                )  # fmt: skip
                recorded += 1
    out(f"technical assessment history: {recorded} hosting selections with their passed assessment")


def seed_demo_call(*, out, officer: User, expert: User, call_identifier: str) -> None:
    """The open demo call's passed cut-off: NORDAI assessed and passed, IT4LIA-UP waiting for the expert's
    declaration past its deadline (overdue, reminded), the other hosting proposals waiting for the office to assign
    an expert."""
    cut_off = (
        CutOff.objects.filter(call__identifier=call_identifier, processed_at__isnull=False)
        .order_by("closes_at")
        .first()
    )
    if cut_off is None:
        return
    if FeasibilityAssessment.objects.filter(proposal__cut_off=cut_off).exists():
        out("technical assessment: demo cut-off already assessed")
        return
    hosting = {
        p.acronym: p
        for p in Proposal.objects.filter(
            cut_off=cut_off, type__in=TECHNICAL_TYPES, status__in=[Proposal.Status.ELIGIBLE, Proposal.Status.EVALUATION]
        )
    }
    start = cut_off.closes_at + timedelta(days=2, hours=2)
    # IT4LIA-UP was asked for within three days (the cut-off passed a week before seeding): it is overdue, its
    # expert reminded before and at the deadline, for the office to chase or reassign.
    rush = start + timedelta(days=3)
    assigned = {}
    with replayed_at(start):
        for acronym, deadline in (("NORDAI", None), ("IT4LIA-UP", rush)):
            if acronym in hosting:
                assigned[acronym] = services.feasibility_assign(
                    proposal=hosting[acronym], expert=expert, actor=officer, deadline=deadline
                )
    if "NORDAI" in assigned:
        with replayed_at(start + timedelta(days=1)):
            services.feasibility_declare(assessment=assigned["NORDAI"], conflict=False, actor=expert)
        items, comments = _answers()
        with replayed_at(start + timedelta(days=3)):
            services.feasibility_save(
                assessment=assigned["NORDAI"], items=items, comments=comments, summary=SUMMARY, actor=expert,
                submit=True,
            )  # fmt: skip
    reminded = 0
    if "IT4LIA-UP" in assigned:
        for moment in (rush - timedelta(days=1), rush + timedelta(hours=1)):
            with replayed_at(moment):
                reminded += services.feasibility_reminders_send()
    out(
        f"technical assessment: demo cut-off — {len(assigned)} hosting proposals assigned, NORDAI passed, "
        f"IT4LIA-UP overdue ({reminded} reminders sent)"
    )
