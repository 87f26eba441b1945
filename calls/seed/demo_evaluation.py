"""Demo data of the evaluation.

The historic cut-offs of the CEI calls carry complete evaluations matching the real selections: three experts
declared no conflict, reviewed and agreed a consensus; the decisions were published and the evaluation summary
reports prepared, all dated as on the day of the decision. The open demo call's first cut-off (passed a week
before seeding) is mid-evaluation, every step of it in the past: experts assigned, some declarations and reviews
in, a recusal to replace, one consensus recorded, one waiting — so every role finds work on its dashboard. Runs
after `calls.seed.demo`; idempotent.
"""

import contextlib
import hashlib
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from calls.evaluation import services
from calls.evaluation.selectors import conflict_reason
from calls.models import Assignment, Call, Consensus, CutOff, Proposal, Review, SummaryReport
from calls.seed import demo_technical
from eurohpc.models import Role, User
from eurohpc.seed.demo import replayed_at
from eurohpc.services import user_create

HISTORIC_CALLS = ("EUROHPC-2024-CEI-AI-01", "EUROHPC-2024-CEI-AI-02")
DEMO_CALL = "EUROHPC-DEMO-AIF-2026"
CRITERIA = ("excellence", "impact", "implementation")
# An extra independent expert, so that a proposal whose applicant employs one of the three demo experts still
# gets three reviews.
RESERVE_EXPERT = ("evaluator4", "Tomas", "Horvath")

COMMENTS = {
    "excellence": "Clear objectives and a credible AI-optimised architecture; the service portfolio answers the "
    "needs of start-ups, SMEs and researchers.",
    "impact": "Strong expected uptake across the hosting state and its partners; the outreach and training plan "
    "is concrete, with measurable targets.",
    "implementation": "A capable consortium with procurement experience; the risk register and the governance "
    "are adequate, the timeline is tight but feasible.",
}


def _score(seed: str, low: int, high: int) -> str:
    """A deterministic half-point score in [low/2, high/2] drawn from `seed`."""
    value = low + int(hashlib.sha256(seed.encode()).hexdigest(), 16) % (high - low + 1)
    return str(Decimal(value) / 2)


def _comments(prefix: str = "") -> dict:
    return {code: f"{prefix}{text}" for code, text in COMMENTS.items()}


def _experts(out) -> list[User]:
    experts = list(User.objects.filter(username__in=["evaluator1", "evaluator2", "evaluator3"]).order_by("username"))
    reserve = User.objects.filter(username=RESERVE_EXPERT[0]).first()
    if reserve is None:
        from eurohpc.seed.demo import DEMO_PASSWORD

        username, first, last = RESERVE_EXPERT
        reserve = user_create(
            username=username, password=DEMO_PASSWORD, email=f"{username}@demo.aif-grants.example", first_name=first,
            last_name=last, roles=[Role.EVALUATOR], actor=None,
        )  # fmt: skip
        out(f"evaluation: demo expert {username} created (password as the other demo users)")
    return [*experts, reserve]


def seed_history(*, out, officer: User, experts: list[User]) -> None:
    """Evaluations of the selected AI Factories, cut-off by cut-off, and their publication."""
    recorded = 0
    cut_offs = CutOff.objects.filter(call__identifier__in=HISTORIC_CALLS).select_related("call").order_by("closes_at")
    for cut_off in cut_offs:
        proposals = list(
            Proposal.objects.filter(cut_off=cut_off, status__in=["selected", "reserve", "rejected"], consensus=None)
            .select_related("organisation", "call")
            .order_by("reference")
        )
        if not proposals:
            continue
        plans = []
        for proposal in proposals:
            team = [e for e in experts if not conflict_reason(evaluator=e, proposal=proposal)][:3]
            consensus = {code: _score(f"{proposal.acronym}/{code}", 7, 10) for code in CRITERIA}
            reviews = []
            for expert in team:
                shift = Decimal(_score(f"{expert}/{proposal}", -1, 1))
                scores = {
                    code: str(min(Decimal(5), max(Decimal(3), Decimal(value) + shift)))
                    for code, value in consensus.items()
                }
                reviews.append((expert, scores, _comments()))
            plans.append((proposal, reviews, consensus))
        # Rank by weighted total (equal weights here), then excellence, impact, earlier submission.
        plans.sort(
            key=lambda plan: (
                -sum(Decimal(v) for v in plan[2].values()),
                -Decimal(plan[2]["excellence"]),
                -Decimal(plan[2]["impact"]),
                plan[0].submitted_at,
            )
        )
        decided_at = max(p.eligibility_decided_at for p in proposals)
        assigned_at = cut_off.closes_at + timedelta(days=3)
        if decided_at <= assigned_at:
            decided_at = assigned_at + timedelta(days=28)
        # Recorded as on the day of the decision: its audit events and reports carry that date.
        with replayed_at(decided_at):
            for rank, (proposal, reviews, consensus) in enumerate(plans, start=1):
                services.evaluation_record_history(
                    proposal=proposal, reviews=reviews, consensus_scores=consensus,
                    consensus_comments=_comments("Consensus: "), rank=rank, assigned_at=assigned_at,
                    decided_at=decided_at, actor=officer,
                )  # fmt: skip
                recorded += 1
            services.publication_record_history(cut_off=cut_off, published_at=decided_at, actor=officer)
            # The reports are prepared the day of the publication, as the worker would have then.
            # A failure (e.g. no PDF libraries here) is recorded on the report; the queued task tries again.
            pending = SummaryReport.objects.filter(proposal__cut_off=cut_off, status=SummaryReport.Status.PENDING)
            for report in pending:
                with contextlib.suppress(services.RenderError):
                    services.summary_report_render(report_id=report.pk)
    out(f"evaluation history: {recorded} evaluated and published selections recorded")


def _review(assignment: Assignment, scores: tuple[str, str, str], *, submit: bool) -> None:
    services.review_save(
        assignment=assignment,
        scores=dict(zip(CRITERIA, scores, strict=True)),
        comments=_comments() if submit else {"excellence": COMMENTS["excellence"]},
        actor=assignment.evaluator,
        submit=submit,
    )


def seed_demo_call(*, out, officer: User, experts: list[User]) -> None:
    """The open demo call's passed cut-off, mid-evaluation."""

    call = Call.objects.filter(identifier=DEMO_CALL).first()
    if call is None:
        out("evaluation: no demo call to evaluate (run calls.seed.demo first)")
        return
    cut_off = call.cut_offs.filter(processed_at__isnull=False).order_by("closes_at").first()
    if cut_off is None:
        out("evaluation: the demo call has no passed cut-off yet")
        return
    if Assignment.objects.filter(proposal__cut_off=cut_off).exists():
        out("evaluation: demo cut-off already in evaluation")
        return
    eligible = {p.acronym: p for p in Proposal.objects.filter(cut_off=cut_off, status=Proposal.Status.ELIGIBLE)}
    if not eligible:
        out("evaluation: no eligible proposal in the demo cut-off")
        return
    e1, e2, e3 = experts[:3]
    # The cut-off passed a week before seeding: assigned two days later, declared the day after, reviews in two
    # days later, a consensus the day before seeding. Every step lies in the past.
    start = cut_off.closes_at + timedelta(days=2)
    with replayed_at(start):
        for proposal in sorted(eligible.values(), key=lambda p: p.reference):
            for expert in (e1, e2, e3):
                if not conflict_reason(evaluator=expert, proposal=proposal):
                    services.assignment_create(
                        proposal=proposal, evaluator=expert, actor=officer, deadline=start + timedelta(days=24)
                    )
    mine = {
        (a.proposal.acronym, a.evaluator_id): a
        for a in Assignment.objects.filter(proposal__cut_off=cut_off)
        .select_related("proposal", "evaluator")
        .order_by("deadline", "id")
    }

    def assignment(acronym: str, expert: User) -> Assignment | None:
        return mine.get((acronym, expert.pk))

    with replayed_at(start + timedelta(days=1)):
        for a in mine.values():
            if a.evaluator_id == e1.pk or (a.evaluator_id == e2.pk and a.proposal.acronym != "LEO-AIF"):
                services.assignment_declare(assignment=a, conflict=False, actor=a.evaluator)
        recused = assignment("LEO-AIF", e3)
        if recused is not None:
            services.assignment_declare(
                assignment=recused, conflict=True, actor=e3,
                reason="I co-authored two papers with the Leonardo AI team in the last three years.",
            )  # fmt: skip
        for acronym in ("NORDAI", "LUMI-AIF+"):
            a = assignment(acronym, e3)
            if a is not None:
                services.assignment_declare(assignment=a, conflict=False, actor=e3)
    with replayed_at(start + timedelta(days=3)):
        plan = {
            "NORDAI": [(e1, ("4.5", "4", "4")), (e2, ("2", "4", "3.5")), (e3, ("4.5", "3.5", "4"))],
            "LUMI-AIF+": [(e1, ("4", "4.5", "4")), (e2, ("4", "4", "3.5")), (e3, ("4.5", "4.5", "4"))],
            "IT4LIA-UP": [(e1, ("3.5", "3", "3"))],
        }
        for acronym, reviews in plan.items():
            for expert, scores in reviews:
                a = assignment(acronym, expert)
                if a is not None:
                    a.refresh_from_db()
                    if a.declaration == Assignment.Declaration.NO_CONFLICT:
                        _review(a, scores, submit=True)
        draft = assignment("IT4LIA-UP", e2)
        if draft is not None:
            draft.refresh_from_db()
            if draft.declaration == Assignment.Declaration.NO_CONFLICT:
                _review(draft, ("3.5", "3.5", "3"), submit=False)
    lumi = eligible.get("LUMI-AIF+")
    if lumi is not None and Review.objects.filter(assignment__proposal=lumi, status="submitted").count() >= 3:
        with replayed_at(start + timedelta(days=4)):
            services.consensus_record(
                proposal=lumi, scores={"excellence": "4", "impact": "4.5", "implementation": "4"},
                comments=_comments("Consensus: "), actor=officer,
            )  # fmt: skip
    consensus = Consensus.objects.filter(proposal__cut_off=cut_off).count()
    out(
        f"evaluation: demo cut-off of {timezone.localtime(cut_off.closes_at):%d %b %Y} in evaluation — "
        f"{len(mine)} assignments, one recusal to replace, {consensus} consensus recorded"
    )


def seed(*, out) -> None:
    officer = User.objects.filter(username="officer").first()
    if officer is None:
        out("evaluation: no programme officer (run eurohpc.seed.demo first)")
        return
    experts = _experts(out)
    technical = User.objects.filter(username=demo_technical.TECHNICAL_EXPERT).first()
    if technical is not None:  # before the publications: the summary reports show the technical assessment
        demo_technical.seed_history(out=out, officer=officer, expert=technical)
    seed_history(out=out, officer=officer, experts=experts)
    seed_demo_call(out=out, officer=officer, experts=experts)
    if technical is not None:
        demo_technical.seed_demo_call(out=out, officer=officer, expert=technical, call_identifier=DEMO_CALL)
