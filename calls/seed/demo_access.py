"""Demo data of access calls.

An open access call, clearly labelled as demo data (`EUROHPC-DEMO-AIF-ACCESS-2026`), with the programme's four
access modes and cut-offs twice a month (the 15th and the last day, 17:00 Luxembourg time) computed from the day
of seeding: the ones of the last months have passed and were processed, the next ones lie ahead. The GPU
partitions of the operational machines get access pools in the current and the next allocation period. The
applications walk every state of their way: drafts, submitted, in the eligibility check, ineligible, eligible and
waiting for the host's technical assessment (on CSC's LUMI: the `operator`'s queue), under review by the demo
evaluators, reviews released and waiting for the reply, replied and waiting for the committee, awarded (with their
projects, allocations and Slurm usage), on the reserve list, not awarded, withdrawn.

Every step runs through the services, replayed at the moment it would have happened (all of them before the
seeding moment, in the order of their moments; a cut-off is processed five minutes after it closes, as the
scheduler does). Runs after `calls.seed.demo_evaluation`; idempotent.
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from calls import services as call_services
from calls.access.models import AccessApplication
from calls.access.services import (
    access_application_create,
    access_application_submit,
    access_application_withdraw,
    access_decide,
    access_eligibility_record,
    access_modes_create,
    access_reply_submit,
    access_reviews_release,
    technical_assessment_record,
)
from calls.evaluation.services import assignment_create, assignment_declare, review_save
from calls.models import Assignment, Call, CutOff
from eurohpc.models import Organisation, Role, User
from eurohpc.seed.demo import DEMO_PASSWORD, replayed_at
from eurohpc.services import organisation_create, user_create
from hosting.models import AccessPool, Allocation, AllocationPeriod, Machine, Partition, PartitionQuota
from hosting.seed.demo import allocation_usage_seed
from hosting.services import access_pool_set

LUX = ZoneInfo("Europe/Luxembourg")
ACCESS_CALL = "EUROHPC-DEMO-AIF-ACCESS-2026"
CRITERIA = ("excellence", "impact", "implementation")
COMMENTS = {
    "excellence": "A clear AI objective and a credible training plan; the model and data choices are justified.",
    "impact": "Open weights and a public benchmark; concrete uptake by European users is described.",
    "implementation": "The team has run jobs at this scale; the GPU-hours follow from a measured scaling test.",
}

# The start-up of the demo (applies for Playground), and the support teams of the hosts besides CSC's `operator`.
STARTUP = ("Aster Robotics", "Aster Robotics SAS", "FR", "startup", "Camille", "Durand")
HOST_SUPPORT = {
    # machine: (username, first, last, hosting entity short name)
    "Leonardo": ("support-cineca", "Marco", "Ferri", "CINECA"),
    "MareNostrum 5": ("support-bsc", "Laia", "Serra", "BSC"),
    "JUPITER": ("support-fzj", "Jonas", "Keller", "FZJ"),
    "MeluXina": ("support-luxprovide", "Léa", "Muller", "LuxProvide"),
}
# The logins seed_demo lists after the core demo users.
DEMO_LOGINS = [
    ("startup", "Applicant (Aster Robotics, start-up)"),
    *((username, f"Hosting operator ({host}: {machine} support team)")
      for machine, (username, _f, _l, host) in HOST_SUPPORT.items()),
]  # fmt: skip
# Share of a GPU quota's Union hours set aside for each access mode (on top of what the mode already holds).
POOL_SHARES = {"playground": Decimal("0.02"), "fast_lane": Decimal("0.08"), "large_scale": Decimal("0.20"),
               "ai_for_science": Decimal("0.10")}  # fmt: skip


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_month(day: date, months: int = 1) -> date:
    index = day.month - 1 + months
    return date(day.year + index // 12, index % 12 + 1, 1)


def _at(day: date, hour: int = 17) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=LUX)


def cut_off_moments(*, opened: datetime, months_ahead: int = 12) -> list[datetime]:
    """The 15th and the last day of each month at 17:00 Luxembourg time, from the call's opening on."""
    moments = []
    month = _month_start(timezone.localtime(opened, LUX).date())
    for _ in range(months_ahead + 8):
        last = calendar.monthrange(month.year, month.month)[1]
        for day in (15, last):
            moment = _at(month.replace(day=day))
            if moment > opened:
                moments.append(moment)
        month = _add_month(month)
    return moments


# --- who applies and who assesses --------------------------------------------------------------------------


def _people(out) -> dict[str, User]:
    names = ["applicant", "applicant2", "officer", "operator", "evaluator1", "evaluator2"]
    users = {u.username: u for u in User.objects.filter(username__in=names)}
    short, legal, country, _user_type, first, last = STARTUP
    organisation = Organisation.objects.filter(short_name=short).first()
    if organisation is None:
        organisation = organisation_create(legal_name=legal, short_name=short, country=country,
                                           kind=Organisation.Kind.COMPANY, actor=None)  # fmt: skip
    made = []
    startup = User.objects.filter(username="startup").first()
    if startup is None:
        startup = user_create(username="startup", password=DEMO_PASSWORD, email="startup@demo.aif-grants.example",
                              first_name=first, last_name=last, organisation=organisation, roles=[Role.APPLICANT],
                              actor=None)  # fmt: skip
        made.append("startup")
    users["startup"] = startup
    hosts = {o.short_name: o for o in Organisation.objects.filter(short_name__in=[h[3] for h in HOST_SUPPORT.values()])}
    for machine, (username, first, last, host) in HOST_SUPPORT.items():
        user = User.objects.filter(username=username).first()
        if user is None and host in hosts:
            user = user_create(username=username, password=DEMO_PASSWORD, email=f"{username}@demo.aif-grants.example",
                               first_name=first, last_name=last, organisation=hosts[host],
                               roles=[Role.HOSTING_OPERATOR], actor=None)  # fmt: skip
            made.append(username)
        if user is not None:
            users[machine] = user
    users["LUMI"] = users["operator"]
    if made:
        out(f"access: demo users {', '.join(made)} created (password as the other demo users)")
    return users


# --- pools ---------------------------------------------------------------------------------------------------


def _gpu_quotas(today: date) -> list[PartitionQuota]:
    """The GPU quotas of the operational machines in the current and the next allocation periods."""
    periods = AllocationPeriod.objects.filter(machine__status=Machine.Status.OPERATIONAL, end__gte=today)
    return list(
        PartitionQuota.objects.filter(period__in=periods, partition__accounting_unit=Partition.Unit.GPU_HOURS)
        .select_related("partition", "partition__machine", "period")
        .order_by("partition__machine__name", "period__start", "partition__name")
    )


def seed_pools(*, officer: User, opened: datetime, today: date, out) -> None:
    made = 0
    for quota in _gpu_quotas(today):
        existing = set(AccessPool.objects.filter(quota=quota).values_list("access_mode", flat=True))
        if existing:
            continue
        held = {
            mode: sum(
                Allocation.objects.filter(
                    partition=quota.partition, period=quota.period, project__access_mode=mode
                ).values_list("amount", flat=True),
                Decimal(0),
            )
            for mode in POOL_SHARES
        }
        hours = {mode: held[mode] + (quota.union_quota * share).quantize(Decimal("1")) for mode, share in
                 POOL_SHARES.items()}  # fmt: skip
        if sum(hours.values()) > quota.union_quota:
            continue  # a quota already given out: left without pools
        # Set by the programme office when the access call opened (the period's quota is fixed by its agreement).
        with replayed_at(min(opened, timezone.now())):
            for mode, amount in hours.items():
                access_pool_set(quota=quota, access_mode=mode, hours=amount, actor=officer)
        made += 1
    out(f"access pools: {made} GPU quotas split into the four access modes")


# --- the applications --------------------------------------------------------------------------------------


@dataclass
class Plan:
    """One application and the steps of its way (each step a moment and what happens then)."""

    key: str
    who: str
    mode: str
    machine: str
    acronym: str
    title: str
    gpu_hours: str
    months: int
    user_type: str
    start: date
    terms: str = "open_science"
    steps: list[tuple[datetime, str, dict]] = field(default_factory=list)

    def then(self, moment: datetime, step: str, **kwargs) -> "Plan":
        self.steps.append((moment, step, kwargs))
        return self


def _between(start: datetime, end: datetime, fraction: float) -> datetime:
    return start + (end - start) * fraction


def _plans(*, now: datetime, today: date, cut_offs: list[datetime], first_period_start: date) -> list[Plan]:
    passed = [c for c in cut_offs if c <= now - timedelta(minutes=10)]
    screen = passed[-1]  # the last cut-off: its batch is in the eligibility check
    review = next(c for c in reversed(passed) if c <= now - timedelta(days=21))  # mid-review
    award = next(c for c in reversed(passed) if c <= now - timedelta(days=50))  # decided
    # Awarded access started in a month with usage behind it, inside the current period.
    started = max(first_period_start, _month_start(today - timedelta(days=45)))
    ahead = _add_month(_month_start(today))
    day = timedelta(days=1)
    early = min(_at(started + day, 9), now - 4 * day)  # a continuous award: submitted as the month began
    plans = []

    def plan(*args, **kwargs) -> Plan:
        plans.append(Plan(*args, **kwargs))
        return plans[-1]

    # Drafts.
    plan("draft-ls", "applicant", "large_scale", "LUMI", "FINNLLM-2", "Finnish and Sami open language model, second "
         "generation", "600000", 12, "academia", ahead).then(now - 3 * day, "create")  # fmt: skip
    plan("draft-pg", "startup", "playground", "MeluXina", "ASTER-VLA", "Vision-language-action model for warehouse "
         "robots", "3500", 3, "startup", ahead).then(now - 2 * day, "create")  # fmt: skip
    plan("draft-fl", "applicant2", "fast_lane", "Leonardo", "ITA-ASR", "Italian speech recognition for public "
         "services", "30000", 3, "public_sector", ahead).then(now - day, "create")  # fmt: skip
    # Submitted: to the next cut-off (Large Scale) and waiting for the eligibility check (Fast Lane, continuous).
    plan("submitted-ls", "applicant2", "large_scale", "Leonardo", "LEX-IT", "Legal-domain foundation model for "
         "Italian courts", "350000", 6, "public_sector", ahead).then(now - 2 * day, "create").then(
        now - 2 * day + timedelta(hours=2), "submit")  # fmt: skip
    plan("submitted-fl", "startup", "fast_lane", "JUPITER", "ASTER-SIM", "Synthetic-data simulator for robot "
         "grasping", "40000", 2, "startup", ahead).then(now - 30 * timedelta(hours=1), "create").then(
        now - 26 * timedelta(hours=1), "submit")  # fmt: skip
    plan("withdrawn", "applicant", "large_scale", "LUMI", "ARCTIC-EO", "Earth-observation foundation model for the "
         "Arctic", "180000", 6, "academia", ahead).then(now - 6 * day, "create").then(
        now - 5 * day, "submit").then(now - 2 * day, "withdraw", reason="")  # fmt: skip
    # The last cut-off's batch: in the eligibility check; one found eligible waits for CSC's technical assessment.
    plan("screening", "applicant2", "ai_for_science", "Leonardo", "MED-IMG", "Foundation model for Mediterranean "
         "medical imaging", "90000", 6, "academia", ahead).then(screen - 4 * day, "create").then(
        screen - 3 * day, "submit")  # fmt: skip
    plan("eligible-ls", "applicant", "large_scale", "LUMI", "NORDIC-CLIM", "Nordic climate downscaling with "
         "diffusion models", "220000", 6, "academia", ahead).then(screen - 5 * day, "create").then(
        screen - 4 * day, "submit").then(_between(screen, now, 0.5), "eligible")  # fmt: skip
    plan("eligible-fl", "startup", "fast_lane", "LUMI", "ASTER-NAV", "Navigation policies for mobile robots",
         "25000", 3, "startup", ahead).then(now - 3 * day, "create").then(now - 3 * day + timedelta(hours=1),
        "submit").then(now - 2 * day, "eligible")  # fmt: skip
    plan("ineligible", "startup", "large_scale", "MareNostrum 5", "ASTER-XL", "Large robot foundation model",
         "120000", 6, "startup", ahead).then(screen - 6 * day, "create").then(screen - 5 * day, "submit").then(
        _between(screen, now, 0.4), "ineligible",
        reason="The company register shows Aster Robotics as part of a group of more than 250 staff: it does not "
        "qualify as a start-up; it may apply again as industry under commercial terms.")  # fmt: skip
    # Continuous modes: assessed and waiting for the committee; infeasible and not awarded.
    plan("to-decide-fl", "applicant2", "fast_lane", "MeluXina", "EDU-LLM", "Tutor model for Italian schools",
         "20000", 3, "public_sector", ahead).then(now - 6 * day, "create").then(now - 6 * day + timedelta(hours=1),
        "submit").then(now - 5 * day, "eligible").then(now - 4 * day, "assess", recommended="18000")  # fmt: skip
    plan(
        "infeasible-fl",
        "startup",
        "fast_lane",
        "MeluXina",
        "ASTER-RL",
        "Reinforcement learning for robot arms on custom accelerators",
        "15000",
        2,
        "startup",
        ahead,
    ).then(now - 12 * day, "create").then(now - 12 * day + timedelta(hours=1), "submit").then(
        now - 11 * day, "eligible"
    ).then(now - 10 * day, "assess", feasible=False).then(
        now - 9 * day,
        "decide",
        outcome="rejected",
        reason="The technical assessment found the project needs a custom FPGA toolchain MeluXina does not run.",
    )
    # The mid-review cut-off: assessed, under review, reviews released, replied.
    base = review
    plan("afs-assessed", "applicant2", "ai_for_science", "JUPITER", "SEISMO-AI", "Earthquake early warning with "
         "graph networks", "80000", 6, "academia", ahead).then(base - 4 * day, "create").then(
        base - 3 * day, "submit").then(base + day, "eligible").then(base + 3 * day, "assess")  # fmt: skip
    plan("under-review", "applicant", "large_scale", "LUMI", "BALTIC-MT", "Machine translation for the Baltic "
         "languages", "300000", 6, "academia", ahead).then(base - 5 * day, "create").then(
        base - 4 * day, "submit").then(base + day, "eligible").then(base + 3 * day, "assess",
        recommended="260000").then(base + 4 * day, "assign").then(base + 5 * day, "declare").then(
        base + 9 * day, "review", submit=("evaluator1",), draft=("evaluator2",))  # fmt: skip
    plan("awaiting-reply", "applicant2", "large_scale", "Leonardo", "AGRI-VISION", "Crop disease detection from "
         "drone imagery", "150000", 6, "academia", ahead).then(base - 6 * day, "create").then(
        base - 5 * day, "submit").then(base + day, "eligible").then(base + 3 * day, "assess").then(
        base + 4 * day, "assign").then(base + 5 * day, "declare").then(base + 9 * day, "review").then(
        now - 2 * day, "release")  # fmt: skip
    plan("replied", "applicant", "large_scale", "LUMI", "FIN-HEALTH", "Clinical language model on synthetic Finnish "
         "health records", "200000", 6, "academia", ahead).then(base - 7 * day, "create").then(
        base - 6 * day, "submit").then(base + day, "eligible").then(base + 3 * day, "assess",
        recommended="180000").then(base + 4 * day, "assign").then(base + 5 * day, "declare").then(
        base + 9 * day, "review").then(now - 6 * day, "release").then(now - 3 * day, "reply")  # fmt: skip
    # The decided cut-off: awarded, reserve list, not awarded.
    base = award
    decided = base + 20 * day
    for key, who, machine, acronym, title, hours, outcome, scores in (
        ("awarded-ls", "applicant", "LUMI", "EURO-LLM-FI", "Open Finnish-English foundation model", "250000",
         "awarded", ("4.5", "4.5", "4")),
        ("reserve-ls", "applicant2", "Leonardo", "PORT-TWIN", "Digital twin of the port of Genoa", "120000",
         "reserve", ("4", "3.5", "3.5")),
        ("rejected-ls", "startup", "MareNostrum 5", "ASTER-WORLD", "World model for household robots", "100000",
         "rejected", ("3", "2.5", "3")),
    ):  # fmt: skip
        months = 6
        plan(key, who, "large_scale", machine, acronym, title, hours, months, "academia" if who != "startup" else
             "startup", started).then(base - 8 * day, "create").then(base - 6 * day, "submit").then(
            base + day, "eligible").then(base + 3 * day, "assess").then(base + 4 * day, "assign").then(
            base + 5 * day, "declare").then(base + 9 * day, "review", scores=scores).then(
            base + 10 * day, "release").then(decided, "decide", outcome=outcome)  # fmt: skip
    plan("awarded-afs", "applicant2", "ai_for_science", "JUPITER", "CLIMA-EMU", "Kilometre-scale climate emulator",
         "120000", 6, "academia", started).then(base - 7 * day, "create").then(base - 5 * day, "submit").then(
        base + day, "eligible").then(base + 3 * day, "assess").then(base + 4 * day, "assign").then(
        base + 5 * day, "declare").then(base + 9 * day, "review").then(base + 10 * day, "release").then(
        base + 13 * day, "reply").then(decided, "decide", outcome="awarded", gpu_hours="100000")  # fmt: skip
    # Continuous awards: Playground and Fast Lane, decided within days of their submission.
    plan("awarded-pg", "startup", "playground", "LUMI", "ASTER-PG", "Grasp-quality predictor for robot hands",
         "4000", 3, "startup", started).then(early - 2 * timedelta(hours=1), "create").then(early, "submit").then(
        early + day, "eligible").then(early + 2 * day, "assess").then(early + 3 * day, "decide",
        outcome="awarded")  # fmt: skip
    plan("awarded-fl", "applicant2", "fast_lane", "Leonardo", "IT-GOV-QA", "Question answering over Italian "
         "legislation", "45000", 3, "public_sector", started).then(early - 3 * timedelta(hours=1), "create").then(
        early + timedelta(hours=1), "submit").then(early + day, "eligible").then(early + 2 * day, "assess",
        recommended="40000").then(early + 3 * day, "decide", outcome="awarded")  # fmt: skip
    return plans


REASONS = {
    "reserve": "Ranked below the awarded applications of the cut-off: the Large Scale pool of Leonardo's Booster is "
    "committed for the period. Kept on the reserve list should hours come back.",
    "rejected": "The reviewers found the scaling plan unproven and the impact below the threshold of the mode.",
}


def _deadline(moment: datetime) -> datetime:
    return _at(timezone.localtime(moment, LUX).date() + timedelta(days=14))


class Runner:
    def __init__(self, *, call: Call, users: dict[str, User], partitions: dict[str, Partition]):
        self.call = call
        self.users = users
        self.partitions = partitions
        self.apps: dict[str, AccessApplication] = {}
        self.officer = users["officer"]
        self.experts = [users["evaluator1"], users["evaluator2"]]

    def app(self, key: str) -> AccessApplication:
        return AccessApplication.objects.select_related("proposal", "partition__machine").get(pk=self.apps[key].pk)

    def run(self, plan: Plan, step: str, kwargs: dict) -> None:
        getattr(self, f"step_{step}")(plan, **kwargs)

    def step_create(self, plan: Plan) -> None:
        applicant = self.users[plan.who]
        self.apps[plan.key] = access_application_create(
            call=self.call, mode=plan.mode, partition=self.partitions[plan.machine], title=plan.title,
            acronym=plan.acronym, actor=applicant,
            abstract=f"{plan.title}. Demo access application of {applicant.organisation.short_name}.",
            ai_model="Open-weight transformer models trained on public and licensed data; no personal data.",
            team=f"{applicant.display_name} (principal investigator) and three engineers",
            user_type=plan.user_type, terms=plan.terms, gpu_hours=Decimal(plan.gpu_hours),
            duration_months=plan.months, start_month=plan.start, no_prohibited_practice=True,
        )  # fmt: skip

    def step_submit(self, plan: Plan) -> None:
        access_application_submit(application=self.app(plan.key), actor=self.users[plan.who])

    def step_withdraw(self, plan: Plan, reason: str) -> None:
        access_application_withdraw(application=self.app(plan.key), actor=self.users[plan.who])

    def step_eligible(self, plan: Plan) -> None:
        access_eligibility_record(
            application=self.app(plan.key),
            eligible=True,
            actor=self.officer,
            reason="Established in the EU; the mode is open to the declared organisation type.",
        )

    def step_ineligible(self, plan: Plan, reason: str) -> None:
        access_eligibility_record(application=self.app(plan.key), eligible=False, reason=reason, actor=self.officer)

    def step_assess(self, plan: Plan, recommended: str | None = None, feasible: bool = True) -> None:
        technical_assessment_record(
            application=self.app(plan.key), feasible=feasible, actor=self.users[plan.machine],
            recommended_gpu_hours=recommended if feasible else None,
            notes="Runs on the partition's PyTorch stack; the scaling test reached 64 GPUs at 85% efficiency."
            if feasible else "Needs a custom FPGA toolchain the machine does not provide.",
        )  # fmt: skip

    def step_assign(self, plan: Plan) -> None:
        application = self.app(plan.key)
        for expert in self.experts:
            assignment_create(proposal=application.proposal, evaluator=expert, actor=self.officer,
                              deadline=_deadline(timezone.now()))  # fmt: skip

    def _assignments(self, plan: Plan) -> dict[str, Assignment]:
        return {a.evaluator.username: a for a in Assignment.objects.filter(proposal_id=self.apps[plan.key].pk)
                .select_related("evaluator").order_by("id")}  # fmt: skip

    def step_declare(self, plan: Plan) -> None:
        for assignment in self._assignments(plan).values():
            assignment_declare(assignment=assignment, conflict=False, actor=assignment.evaluator)

    def step_review(self, plan: Plan, scores=("4.5", "4", "4"), submit=("evaluator1", "evaluator2"), draft=()):
        for username, assignment in self._assignments(plan).items():
            if username not in submit and username not in draft:
                continue
            shift = Decimal("0.5") if username == "evaluator2" else Decimal(0)
            values = {c: str(max(Decimal(0), Decimal(s) - shift)) for c, s in zip(CRITERIA, scores, strict=True)}
            if username in draft:
                values = {"excellence": values["excellence"]}
            review_save(
                assignment=assignment,
                scores=values,
                actor=assignment.evaluator,
                submit=username in submit,
                comments=COMMENTS if username in submit else {"excellence": COMMENTS["excellence"]},
            )

    def step_release(self, plan: Plan) -> None:
        access_reviews_release(application=self.app(plan.key), actor=self.officer)

    def step_reply(self, plan: Plan) -> None:
        access_reply_submit(application=self.app(plan.key), actor=self.users[plan.who], reply=(
            "We thank the reviewers. The scaling test is attached to the technical annex; the evaluation set will be "
            "published with the model."))  # fmt: skip

    def step_decide(self, plan: Plan, outcome: str, reason: str = "", gpu_hours: str | None = None) -> None:
        access_decide(application=self.app(plan.key), outcome=outcome, actor=self.officer,
                      reason=reason or REASONS.get(outcome, ""), gpu_hours=gpu_hours)  # fmt: skip


def _process_due(call: Call, moment: datetime) -> None:
    """Process the call's cut-offs that closed at least five minutes before `moment`, each five minutes after it
    closed, as the scheduler does."""
    due = CutOff.objects.filter(call=call, processed_at__isnull=True, closes_at__lte=moment - timedelta(minutes=5))
    for cut_off in due.order_by("closes_at"):
        with replayed_at(cut_off.closes_at + timedelta(minutes=5)):
            call_services.cut_off_process(cut_off=cut_off, actor=None)


def seed_call(*, users: dict[str, User], now: datetime, today: date, out) -> Call | None:
    call = Call.objects.filter(identifier=ACCESS_CALL).first()
    if call is not None:
        out(f"access call {ACCESS_CALL}: already there")
        return call
    officer = users["officer"]
    opened = _at(today - timedelta(days=150), 10)
    cut_offs = cut_off_moments(opened=opened)
    with replayed_at(opened - timedelta(days=14)):
        call = call_services.call_create(
            identifier=ACCESS_CALL,
            title="AI Factories access: Playground, Fast Lane, Large Scale and AI for Science (demo data)",
            description="Demo access call: its cut-offs (the 15th and the last day of each month) are computed from "
            "the day the demo was seeded.",
            prong=Call.Prong.ACCESS,
            opens_at=opened,
            cut_offs=cut_offs,
            status=Call.Status.OPEN,
            is_demo=True,
            actor=officer,
        )
        if not call.access_modes.exists():  # an access call gets the programme's modes as it is created
            access_modes_create(call=call, actor=officer)
    seed_pools(officer=officer, opened=opened, today=today, out=out)
    partitions = {}
    for machine in {"LUMI", "Leonardo", "MareNostrum 5", "JUPITER", "MeluXina"}:
        partition = Partition.objects.filter(machine__name=machine, accounting_unit=Partition.Unit.GPU_HOURS).first()
        if partition is not None:
            partitions[machine] = partition
    periods = AllocationPeriod.objects.filter(machine__name="LUMI", start__lte=today, end__gte=today)
    first_period_start = max(p.start for p in periods) if periods else _month_start(today)
    plans = [p for p in _plans(now=now, today=today, cut_offs=cut_offs, first_period_start=first_period_start)
             if p.machine in partitions and (p.machine == "LUMI" or p.machine in users)]  # fmt: skip
    runner = Runner(call=call, users=users, partitions=partitions)
    steps = sorted(
        ((moment, order, plan, step, kwargs) for plan in plans for order, (moment, step, kwargs) in
         enumerate(plan.steps)),
        key=lambda s: (s[0], s[1]),
    )  # fmt: skip
    for moment, _order, plan, step, kwargs in steps:
        _process_due(call, moment)
        with replayed_at(moment):
            runner.run(plan, step, kwargs)
    _process_due(call, now)
    out(f"access call {ACCESS_CALL}: open, {len(cut_offs)} cut-offs twice a month; {len(plans)} applications")
    return call


def seed_usage(*, call: Call, today: date, out) -> None:
    allocations = list(
        Allocation.objects.filter(project__access_application__proposal__call=call)
        .select_related("project", "project__pi", "partition", "partition__machine", "period")
        .order_by("id")
    )
    jobs = allocation_usage_seed(allocations=allocations, today=today)
    out(f"access usage: {jobs} jobs of {len(allocations)} awarded projects imported")


def seed(*, out) -> None:
    if not User.objects.filter(username="officer").exists():
        out("access: no programme officer (run eurohpc.seed.demo first)")
        return
    now = timezone.now()
    today = timezone.localdate()
    users = _people(out)
    call = seed_call(users=users, now=now, today=today, out=out)
    if call is not None:
        seed_usage(call=call, today=today, out=out)
