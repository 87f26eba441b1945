"""Calls rows of the scale dataset (`manage.py seed_scale`): 3 calls, 12 cut-offs, proposals with budget lines,
and their evaluation: assignments, individual reviews with scores, consensus reports, decisions, publications.

Bulk rows, no audit events. Each call has four cut-offs: two decided and published (proposals selected, on the
reserve list or rejected), one under evaluation (reviews partly submitted, some consensus reports), one still
open (drafts and submissions). A few proposals of every past cut-off were withdrawn or found ineligible. The
states keep the model's constraints and the product's rules: EU contribution = 50% of each budget line, a
decided proposal has a consensus built from its submitted reviews, selected and reserve proposals passed the
thresholds, and ranks follow the call's tie-break (total, then excellence, then impact, then submission time).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from calls.evaluation.feasibility import feasibility_items
from calls.evaluation.scheme import scheme_from_data
from calls.models import (
    Assignment,
    BudgetLine,
    Call,
    Consensus,
    ConsensusScore,
    CutOff,
    Decision,
    DecisionPublication,
    FeasibilityAssessment,
    FeasibilityItem,
    Proposal,
    Review,
    ReviewScore,
)
from calls.models.calls import default_evaluation_scheme, default_funding_rates

PREFIX = "SCALE"
CRITERIA = ("excellence", "impact", "implementation")
# Days from now of each call's four cut-offs, and what has happened to each batch.
CUT_OFFS = ((-300, "decided"), (-210, "decided"), (-60, "evaluation"), (30, "open"))
CALLS = (
    {"identifier": f"{PREFIX}-AIF-01", "prong": Call.Prong.EXISTING_HOST, "allowed_types": ["activities"],
     "title": "Scale dataset: AI Factory activities at existing hosting entities"},
    {"identifier": f"{PREFIX}-AIF-02", "prong": Call.Prong.NEW_HOST, "allowed_types": ["new_system", "upgrade"],
     "title": "Scale dataset: new or upgraded AI-optimised supercomputers"},
    {"identifier": f"{PREFIX}-AIFA-01", "prong": Call.Prong.ANTENNA, "allowed_types": ["new_system"],
     "title": "Scale dataset: AI Factory Antennas", "max_eu_contribution": Decimal("5000000.00"),
     "admits_non_eu_participating_states": True},
)  # fmt: skip
SELECTED_SHARE = Decimal("0.6")  # of the proposals that passed the thresholds in a decided cut-off
HALF = Decimal("0.5")


@dataclass(eq=False)
class Plan:
    """One proposal as it will be written."""

    id: int
    call: int
    stage: str
    cut_off: CutOff
    organisation_id: int
    created_by: int
    type: str
    machine_id: int | None
    status: str = Proposal.Status.DRAFT
    reference: str | None = None
    created_at: datetime | None = None
    submitted_at: datetime | None = None
    lines: list[tuple[str, int]] = field(default_factory=list)  # (category, total cost in cents)
    quality: dict[str, Decimal] = field(default_factory=dict)
    reviews: list[dict] = field(default_factory=list)
    consensus: dict[str, Decimal] | None = None
    rank: int | None = None
    experimental: bool = False

    @property
    def eu_cents(self) -> int:
        return sum(total // 2 for _, total in self.lines)


@dataclass
class Selected:
    """A selected proposal, for the grants of the dataset."""

    proposal_id: int
    call_id: int
    organisation_id: int
    reference: str
    decided_at: datetime
    lines: list[tuple[str, int]]


def _half_points(value: float) -> Decimal:
    return min(Decimal(5), max(Decimal(0), (Decimal(str(value)) * 2).to_integral_value() / 2))


def _passes(scores: dict[str, Decimal]) -> bool:
    return all(v >= 3 for v in scores.values()) and sum(scores.values()) >= 10


def _budget(rng, call_index: int, type_: str, experimental: bool) -> list[tuple[str, int]]:
    million = 100_000_000  # cents
    if call_index == 2:  # antennas: at most EUR 5M of EU contribution
        return [
            ("acquisition", rng.randint(20, 60) * million // 10),
            ("operations", rng.randint(10, 30) * million // 10),
        ]
    if type_ == "new_system":
        lines = [("acquisition", rng.randint(40, 240) * million), ("operations", rng.randint(10, 60) * million)]
        if rng.random() < 0.5:
            lines.append(("activities", rng.randint(4, 16) * million))
    elif type_ == "upgrade":
        lines = [("acquisition", rng.randint(20, 120) * million), ("operations", rng.randint(5, 30) * million)]
    else:
        lines = [("activities", rng.randint(4, 20) * million)]
    if experimental:
        lines.append(("experimental_platform", rng.randint(2, 8) * million))
    return [(category, total + rng.randrange(100) * 2) for category, total in lines]  # even cents: halves exactly


def build(*, load, rng, now: datetime, proposals: int, reviews: int, people, machines, need_selected: bool):
    """Write the calls' rows; return the selected proposals (for the grants)."""
    opens_at = now - timedelta(days=400)
    calls = load.bulk(
        Call,
        [
            Call(status=Call.Status.OPEN, opens_at=opens_at, description="Generated by manage.py seed_scale.",
                 funding_rates=default_funding_rates(), evaluation_scheme=default_evaluation_scheme(), **spec)
            for spec in CALLS
        ],
    )  # fmt: skip
    cut_offs = load.bulk(
        CutOff,
        [
            CutOff(call=call, closes_at=now + timedelta(days=days),
                   processed_at=now + timedelta(days=days, minutes=5) if days < 0 else None)
            for call in calls
            for days, _stage in CUT_OFFS
        ],
    )  # fmt: skip
    plans = _plan_proposals(rng=rng, now=now, n=proposals, calls=calls, cut_offs=cut_offs, people=people,
                            machines=machines)  # fmt: skip
    _plan_reviews(rng=rng, plans=plans, reviews=reviews, n_evaluators=len(people.evaluators))
    selected = _decide(plans=plans, need_selected=need_selected)
    _write(load=load, rng=rng, now=now, plans=plans, calls=calls, cut_offs=cut_offs, people=people)
    return [
        Selected(proposal_id=p.id, call_id=p.cut_off.call_id, organisation_id=p.organisation_id,
                 reference=p.reference, decided_at=p.cut_off.closes_at + timedelta(days=50), lines=p.lines)
        for p in selected
    ]  # fmt: skip


def _plan_proposals(*, rng, now, n, calls, cut_offs, people, machines) -> list[Plan]:
    organisations = people.organisations
    host_of = {m.pk: m.hosting_entity_id for m in machines}
    plans, first_seen = [], set()
    for i in range(n):
        slot = i % 12
        call_index, k = divmod(slot, 4)
        stage = CUT_OFFS[k][1]
        cut_off = cut_offs[slot]
        machine = machines[(i // 12) % len(machines)]
        if call_index == 0:
            type_, organisation_id, machine_id = "activities", host_of[machine.pk], machine.pk
        elif call_index == 1 and i % 3 == 0:
            type_, organisation_id, machine_id = "upgrade", host_of[machine.pk], machine.pk
        else:
            type_, organisation_id, machine_id = "new_system", organisations[i % len(organisations)].pk, None
        plan = Plan(id=i, call=call_index, stage=stage, cut_off=cut_off, organisation_id=organisation_id,
                    created_by=people.applicants[organisation_id].pk, type=type_, machine_id=machine_id)  # fmt: skip
        draw = rng.random()
        closes = cut_off.closes_at
        if stage == "open":
            if draw < 0.3:
                plan.status = Proposal.Status.DRAFT
                plan.created_at = now - timedelta(minutes=rng.randint(10, 60 * 24 * 60))
            else:
                plan.status = Proposal.Status.WITHDRAWN if draw < 0.35 else Proposal.Status.SUBMITTED
                plan.submitted_at = now - timedelta(minutes=rng.randint(5, 60 * 24 * 60))
        else:
            plan.submitted_at = closes - timedelta(minutes=rng.randint(60, 60 * 24 * 85))
            if slot not in first_seen:  # every past cut-off has at least one evaluated proposal
                plan.status = Proposal.Status.EVALUATION
            elif draw < 0.05:
                plan.status = Proposal.Status.WITHDRAWN
            elif draw < 0.15:
                plan.status = Proposal.Status.INELIGIBLE
            else:
                plan.status = Proposal.Status.EVALUATION
            first_seen.add(slot)
        if plan.submitted_at is not None:
            plan.created_at = plan.submitted_at - timedelta(minutes=rng.randint(60, 60 * 24 * 30))
        plan.experimental = type_ != "upgrade" and call_index != 2 and rng.random() < 0.2
        plan.lines = _budget(rng, call_index, type_, experimental=plan.experimental)
        # The proposal's merit: the first evaluated proposal of the dataset passes, so that one is selected.
        low = 4.5 if i == 0 else 1.5
        plan.quality = {c: Decimal(str(round(rng.uniform(low, 5.0), 2))) for c in CRITERIA}
        plans.append(plan)
    # References in submission order, per call.
    per_call: dict[int, int] = {}
    width = max(4, len(str(n)))
    for plan in sorted(plans, key=lambda p: (p.submitted_at is None, p.submitted_at or now, p.id)):
        if plan.submitted_at is not None:
            per_call[plan.call] = per_call.get(plan.call, 0) + 1
            plan.reference = f"{CALLS[plan.call]['identifier']}-{per_call[plan.call]:0{width}d}"
    return plans


def _plan_reviews(*, rng, plans: list[Plan], reviews: int, n_evaluators: int) -> None:
    """Spread `reviews` over the evaluated proposals, decided cut-offs first; each has at least one review."""
    evaluated = [p for p in plans if p.status == Proposal.Status.EVALUATION]
    evaluated.sort(key=lambda p: (p.stage != "decided", p.id))
    if reviews < len(evaluated):
        # Too few reviews for every evaluated proposal: the ones left without any were found ineligible.
        for plan in evaluated[reviews:]:
            plan.status = Proposal.Status.INELIGIBLE
        evaluated = evaluated[:reviews]
    if not evaluated:
        return
    base, extra = divmod(reviews, len(evaluated))
    if base + (1 if extra else 0) > n_evaluators:
        raise ValueError(
            f"{reviews:,} reviews over {len(evaluated):,} evaluated proposals need {base + 1} evaluators per "
            f"proposal, more than the {n_evaluators} evaluators: raise --proposals or lower --reviews."
        )
    for index, plan in enumerate(evaluated):
        count = base + (1 if index < extra else 0)
        for evaluator in rng.sample(range(n_evaluators), count):
            submitted = plan.stage == "decided" or rng.random() < 0.75
            scores = {c: _half_points(float(plan.quality[c]) + rng.uniform(-0.75, 0.75)) for c in CRITERIA}
            plan.reviews.append({"evaluator": evaluator, "submitted": submitted, "scores": scores})
        submitted = [r for r in plan.reviews if r["submitted"]]
        if submitted and (plan.stage == "decided" or (len(submitted) == len(plan.reviews) and rng.random() < 0.6)):
            plan.consensus = {
                c: _half_points(sum(float(r["scores"][c]) for r in submitted) / len(submitted)) for c in CRITERIA
            }


def _decide(*, plans: list[Plan], need_selected: bool) -> list[Plan]:
    """Rank each decided cut-off and record the outcomes; return the selected proposals."""
    by_cut_off: dict[int, list[Plan]] = {}
    for plan in plans:
        if plan.stage == "decided" and plan.status == Proposal.Status.EVALUATION:
            by_cut_off.setdefault(plan.cut_off.pk, []).append(plan)
    selected = []
    for batch in by_cut_off.values():
        passed = [p for p in batch if _passes(p.consensus)]
        passed.sort(key=lambda p: (-sum(p.consensus.values()), -p.consensus["excellence"], -p.consensus["impact"],
                                   p.submitted_at))  # fmt: skip
        funded = max(1, int(len(passed) * SELECTED_SHARE)) if passed else 0
        for rank, plan in enumerate(passed, start=1):
            plan.rank = rank
            plan.status = Proposal.Status.SELECTED if rank <= funded else Proposal.Status.RESERVE
        for plan in batch:
            if plan.rank is None:
                plan.status = Proposal.Status.REJECTED
        selected.extend(passed[:funded])
    if need_selected and not selected:
        raise ValueError("No proposal was selected, so there is no grant for the ledger: raise --proposals.")
    return selected


def _write(*, load, rng, now, plans: list[Plan], calls: list[Call], cut_offs: list[CutOff], people) -> None:
    evaluators = people.evaluators
    officer = people.officer.pk
    # The keys were positions while planning; the real ones are reserved now.
    keys = load.ids(Proposal, len(plans))
    for plan, key in zip(plans, keys, strict=True):
        plan.id = key
    scheme = scheme_from_data(calls[0].evaluation_scheme)
    scheme_data = scheme.as_data()
    maximum = {c.code: c.max for c in scheme.criteria}

    def proposal_rows():
        for p in plans:
            closes = p.cut_off.closes_at
            decided = None
            reason = ""
            if p.status == Proposal.Status.INELIGIBLE:
                decided, reason = closes + timedelta(days=3), "Scale dataset: a required document is missing."
            elif p.status not in (Proposal.Status.DRAFT, Proposal.Status.SUBMITTED, Proposal.Status.WITHDRAWN):
                decided, reason = closes + timedelta(days=2), "Meets every eligibility rule."
            withdrawn = (min(p.submitted_at + timedelta(days=2), now) if p.status == Proposal.Status.WITHDRAWN
                         else None)  # fmt: skip
            submitted = p.submitted_at is not None
            updated = max(t for t in (p.created_at, p.submitted_at, withdrawn, decided) if t is not None)
            if p.stage == "decided" and p.status in (Proposal.Status.SELECTED, Proposal.Status.RESERVE,
                                                     Proposal.Status.REJECTED):  # fmt: skip
                updated = closes + timedelta(days=50)
            new_system = p.type == "new_system"
            yield (
                p.id, p.cut_off.call_id, p.organisation_id, p.created_by, p.type, p.experimental,
                f"Scale proposal {p.id}: {'new AI system' if new_system else p.type}", f"SC{p.id}"[:32],
                "Generated by manage.py seed_scale.", p.machine_id,
                f"Scale AI system {p.id}" if new_system else "", "LU" if new_system else "", p.status,
                p.reference, p.submitted_at, p.created_by if submitted else None,
                p.cut_off.pk if submitted else None, withdrawn, reason, decided, officer if decided else None,
                p.created_at, updated,
            )  # fmt: skip

    load.copy(Proposal, ["id", "call_id", "organisation_id", "created_by_id", "type", "experimental_platform",
                         "title", "acronym", "abstract", "machine_id", "planned_machine_name",
                         "planned_machine_country", "status", "reference", "submitted_at", "submitted_by_id",
                         "cut_off_id", "withdrawn_at", "eligibility_reason", "eligibility_decided_at",
                         "eligibility_decided_by_id", "created_at", "updated_at"], proposal_rows())  # fmt: skip

    def cents(value: int) -> Decimal:
        return Decimal(value).scaleb(-2)

    load.copy(
        BudgetLine,
        ["proposal_id", "category", "total_cost", "eu_contribution", "national_contribution"],
        ((p.id, category, cents(total), cents(total // 2), cents(total - total // 2))
         for p in plans for category, total in p.lines),
    )  # fmt: skip

    # Calls: references issued so far and a budget that covers the selections with room to spare.
    for index, call in enumerate(calls):
        issued = sum(1 for p in plans if p.call == index and p.reference)
        selected = sum(p.eu_cents for p in plans if p.call == index and p.status == Proposal.Status.SELECTED)
        budget = max(10_000_000, -(-(selected * 5) // (4 * 100 * 1_000_000)) * 1_000_000)  # 125%, whole millions
        with load.timed(Call._meta.db_table):
            Call.objects.filter(pk=call.pk).update(next_reference_number=issued + 1, indicative_budget=Decimal(budget))

    reviewed = [p for p in plans if p.reviews]
    n_reviews = sum(len(p.reviews) for p in reviewed)
    assignment_ids = iter(load.ids(Assignment, n_reviews))
    review_ids = iter(load.ids(Review, n_reviews))
    assignments, review_rows, score_rows = [], [], []
    for p in reviewed:
        closes = p.cut_off.closes_at
        assigned = closes + timedelta(days=5)
        deadline = closes + timedelta(days=35) if p.stage == "decided" else now + timedelta(days=10)
        for r in p.reviews:
            a_id, r_id = next(assignment_ids), next(review_ids)
            assignments.append((a_id, p.id, evaluators[r["evaluator"]].pk, officer, assigned, deadline, True,
                                Assignment.Declaration.NO_CONFLICT, "", assigned + timedelta(hours=20)))  # fmt: skip
            span = max(1, int(((min(deadline, now) - assigned).total_seconds() // 3600) - 24))
            written = assigned + timedelta(hours=24 + rng.randrange(span))
            texts = {c: f"Scale review of {c}: strengths and weaknesses as expected." for c in CRITERIA}
            if r["submitted"]:
                draft = {"scores": {c: format(v.normalize(), "f") for c, v in r["scores"].items()}, "comments": texts}
                review_rows.append((r_id, a_id, Review.Status.SUBMITTED, draft, written, written, written))
                score_rows.extend((r_id, c, v, maximum[c], texts[c]) for c, v in r["scores"].items())
            else:
                draft = {"scores": {"excellence": format(r["scores"]["excellence"].normalize(), "f")},
                         "comments": {"excellence": texts["excellence"]}}  # fmt: skip
                review_rows.append((r_id, a_id, Review.Status.DRAFT, draft, written, written, None))
    columns = ["id", "proposal_id", "evaluator_id", "assigned_by_id", "assigned_at", "deadline", "auto_assigned",
               "declaration", "declaration_reason", "declared_at", "declaration_deadline", "close_reason"]  # fmt: skip
    # The declaration was due three days after the assignment (the calendar's default), never after the review.
    assignments = [(*row, min(row[4] + timedelta(days=3), row[5]), "") for row in assignments]
    load.copy(Assignment, columns, assignments)
    load.copy(Review, ["id", "assignment_id", "status", "draft", "created_at", "updated_at", "submitted_at"],
              review_rows)  # fmt: skip
    load.copy(ReviewScore, ["review_id", "criterion", "score", "max_score", "comment"], score_rows)

    with_consensus = [p for p in plans if p.consensus is not None]
    consensus_ids = load.ids(Consensus, len(with_consensus))
    consensus_rows, consensus_scores, decisions = [], [], []
    for p, c_id in zip(with_consensus, consensus_ids, strict=True):
        closes = p.cut_off.closes_at
        recorded = closes + timedelta(days=40) if p.stage == "decided" else now - timedelta(days=1)
        total = scheme.total(p.consensus)
        passed = scheme.passes(p.consensus)
        submitted = sum(1 for r in p.reviews if r["submitted"])
        consensus_rows.append((c_id, p.id, scheme_data, total, passed, submitted, officer, recorded, recorded))
        consensus_scores.extend(
            (c_id, c, v, maximum[c], f"Consensus on {c}: the panel agreed on this score.")
            for c, v in p.consensus.items()
        )
        if p.status in (Proposal.Status.SELECTED, Proposal.Status.RESERVE, Proposal.Status.REJECTED):
            decisions.append((p.id, p.status, Decision.Kind.DECISION, p.rank, total, passed,
                              Decimal(p.eu_cents).scaleb(-2), "", officer, closes + timedelta(days=50)))  # fmt: skip
    load.copy(Consensus, ["id", "proposal_id", "scheme", "total", "passed_thresholds", "reviews_count",
                          "recorded_by_id", "recorded_at", "updated_at"], consensus_rows)  # fmt: skip
    load.copy(ConsensusScore, ["consensus_id", "criterion", "score", "max_score", "comment"], consensus_scores)
    load.copy(Decision, ["proposal_id", "outcome", "kind", "rank", "total", "passed_thresholds", "eu_contribution",
                         "reason", "decided_by_id", "decided_at"], decisions)  # fmt: skip
    _write_technical(load=load, plans=plans, people=people)
    published = {p.cut_off.pk: p.cut_off for p in plans if p.stage == "decided" and p.consensus is not None}
    load.bulk(
        DecisionPublication,
        [DecisionPublication(cut_off=c, published_by_id=officer, published_at=c.closes_at + timedelta(days=55))
         for c in published.values()],
    )  # fmt: skip


def _write_technical(*, load, plans: list[Plan], people) -> None:
    """The passed technical assessment of every decided new system and upgrade (a selection needs one), submitted
    between the experts' reviews and the consensus; seven items each."""
    experts = getattr(people, "technical_experts", [])
    decided = [
        p
        for p in plans
        if p.stage == "decided"
        and p.type in ("new_system", "upgrade")
        and p.status in (Proposal.Status.SELECTED, Proposal.Status.RESERVE, Proposal.Status.REJECTED)
    ]
    if not experts or not decided:
        return
    officer = people.officer.pk
    codes = [i.code for i in feasibility_items()]
    comment = "Scale assessment: meets the programme's requirements."
    draft = {"items": dict.fromkeys(codes, "pass"), "comments": dict.fromkeys(codes, comment)}
    ids = load.ids(FeasibilityAssessment, len(decided))
    rows, items = [], []
    for index, (p, a_id) in enumerate(zip(decided, ids, strict=True)):
        closes = p.cut_off.closes_at
        assigned, submitted = closes + timedelta(days=5), closes + timedelta(days=30)
        rows.append((a_id, p.id, experts[index % len(experts)].pk, officer, assigned, closes + timedelta(days=35),
                     "no_conflict", "", assigned + timedelta(hours=20), "submitted", draft, True,
                     "Scale assessment: feasible as planned.", submitted))  # fmt: skip
        items.extend((a_id, code, True, comment) for code in codes)
    load.copy(FeasibilityAssessment, ["id", "proposal_id", "expert_id", "assigned_by_id", "assigned_at", "deadline",
                                      "declaration", "declaration_reason", "declared_at", "status", "draft", "passed",
                                      "summary", "submitted_at"], rows)  # fmt: skip
    load.copy(FeasibilityItem, ["assessment_id", "item", "passed", "comment"], items)
