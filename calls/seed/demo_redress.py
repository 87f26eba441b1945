"""Demo data of the evaluation review (redress) procedure.

A small activities call of the demo ("EUROHPC-DEMO-AIF-EVR") whose only cut-off passed forty days before seeding
and whose decisions were published twelve days later, so that its applicants' requests fall within the 30-day
window. Its six reserve-list or rejected proposals each carry one request, one in each state: submitted (its
admissibility overdue), not admissible, with the review committee (one member declared, one to declare),
confirmed, being re-evaluated by new experts (reviews coming in) and re-evaluated (the outcome changed from
rejected to the reserve list). Two programme officers who took no part in that evaluation sit on the committees.
Every step goes through the services with the clock moved back (`replayed_at`): nothing is dated after seeding.
Runs after `calls.seed.demo_evaluation`; idempotent (the call is created once).
"""

import contextlib
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from calls import services as call_services
from calls.evaluation import services
from calls.evaluation.selectors import conflict_reason
from calls.models import Assignment, Call, Proposal, RedressRequest, SummaryReport
from calls.seed.demo import _pdf
from eurohpc.models import Role, User
from eurohpc.seed.demo import DEMO_PASSWORD, replayed_at
from eurohpc.services import user_create
from hosting.models import Machine

LUX = ZoneInfo("Europe/Luxembourg")
CALL = "EUROHPC-DEMO-AIF-EVR"
CRITERIA = ("excellence", "impact", "implementation")

# The review committees' officers and the re-evaluation's extra experts: none took part in the call's evaluation.
COMMITTEE = [("officer2", "Nora", "Keller"), ("officer3", "Luca", "Moretti")]
NEW_EXPERTS = [("evaluator5", "Ingrid", "Berg"), ("evaluator6", "Paulo", "Santos")]
DEMO_LOGINS = [
    ("officer2", "Programme officer on the evaluation reviews' committees (took no part in their evaluation)"),
    ("officer3", "Programme officer on the evaluation reviews' committees (one declaration still to make)"),
]

# applicant, acronym, title, machine, consensus scores, the state its evaluation review reaches (None: selected)
PROPOSALS = [
    ("applicant", "LUMI-GEN", "LUMI generative AI services for public research", "LUMI", ("4.5", "4.5", "4.5"), None),
    ("applicant2", "LEO-HEALTH", "Leonardo AI services for health data", "Leonardo", ("4.5", "4", "4.5"), None),
    ("applicant", "LUMI-EDGE", "LUMI AI for edge and robotics start-ups", "LUMI", ("4", "4", "3.5"), "submitted"),
    ("applicant2", "LEO-LEX", "Leonardo AI for legal and public text", "Leonardo", ("3", "3", "2.5"), "inadmissible"),
    ("applicant2", "LEO-AGRI", "Leonardo AI services for agriculture", "Leonardo", ("3.5", "4", "3.5"), "in_review"),
    ("applicant", "LUMI-CLIM", "LUMI AI for climate services", "LUMI", ("2.5", "3", "3"), "confirmed"),
    ("applicant2", "LEO-MAT", "Leonardo AI for materials discovery", "Leonardo", ("3", "2.5", "3"), "re_evaluation"),
    ("applicant", "LUMI-LANG", "LUMI language models for small languages", "LUMI", ("3", "3", "2.5"), "re_evaluated"),
]
GROUNDS = {
    "submitted": "The consensus report says our user survey was not annexed; it is annex 4 of the proposal form, "
    "which the experts did not open.",
    "inadmissible": "We believe the experts under-estimated the impact of our legal text services, which deserve a "
    "higher score.",
    "in_review": "One expert's review refers to another call's criteria (the Antennas' regional focus), not to "
    "this call's Impact criterion.",
    "confirmed": "The consensus meeting was held without one of the three experts.",
    "re_evaluation": "One of the three experts works for a company that is a partner of our main competitor in "
    "this cut-off and did not declare it.",
    "re_evaluated": "The implementation score refers to a risk register that the experts say is missing; it is "
    "section 3.4 of our proposal form.",
}
COMMENT = "Assessed against the call's criteria."


def _day(base: datetime, days: float) -> datetime:
    return base + timedelta(days=days)


def _user(username: str, first: str, last: str, role: str, out) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = user_create(
            username=username, password=DEMO_PASSWORD, email=f"{username}@demo.aif-grants.example",
            first_name=first, last_name=last, roles=[role], actor=None,
        )  # fmt: skip
        out(f"evaluation reviews: demo user {username} created (password as the other demo users)")
    return user


def _scores(values) -> dict:
    return dict(zip(CRITERIA, values, strict=True))


def _comments(text: str = COMMENT) -> dict:
    return dict.fromkeys(CRITERIA, text)


def _evaluate(proposal: Proposal, experts: list[User], officer: User, *, at: datetime, deadline=None) -> list:
    """Assign three experts without a conflict and record their declarations; returns the assignments."""
    team = [e for e in experts if not conflict_reason(evaluator=e, proposal=proposal)][:3]
    with replayed_at(at):
        assignments = [
            services.assignment_create(proposal=proposal, evaluator=e, actor=officer, deadline=deadline) for e in team
        ]
    with replayed_at(_day(at, 1)):
        for a in assignments:
            services.assignment_declare(assignment=a, conflict=False, actor=a.evaluator)
    return assignments


def _review(assignments, scores, *, at: datetime, count: int | None = None) -> None:
    with replayed_at(at):
        for a in assignments[:count]:
            services.review_save(
                assignment=a, scores=_scores(scores), comments=_comments(), actor=a.evaluator, submit=True
            )


def _consensus(proposal: Proposal, officer: User, scores, *, at: datetime) -> None:
    with replayed_at(at):
        services.consensus_record(
            proposal=Proposal.objects.get(pk=proposal.pk), scores=_scores(scores),
            comments=_comments("Consensus: assessed against the call's criteria."), actor=officer,
        )  # fmt: skip


def _render_pending(cut_off_id: int) -> None:
    """The summary reports prepared the day they were asked for, as the worker would have then (before any
    re-evaluation takes a consensus out of force); a failure (e.g. no PDF libraries here) stays on the report."""
    for report in SummaryReport.objects.filter(proposal__cut_off_id=cut_off_id, status=SummaryReport.Status.PENDING):
        with contextlib.suppress(services.RenderError):
            services.summary_report_render(report_id=report.pk)


def seed(*, out) -> None:
    if Call.objects.filter(identifier=CALL).exists():
        out(f"evaluation reviews: demo call {CALL} already there")
        return
    users = {u.username: u for u in User.objects.filter(username__in=["applicant", "applicant2", "officer"])}
    experts = list(
        User.objects.filter(username__in=["evaluator1", "evaluator2", "evaluator3", "evaluator4"]).order_by("username")
    )
    if len(users) < 3 or len(experts) < 4:
        out("evaluation reviews: the demo users are missing (run eurohpc.seed.demo and calls.seed.demo_evaluation)")
        return
    officer = users["officer"]
    committee = [_user(u, f, last, Role.PROGRAMME_OFFICER, out) for u, f, last in COMMITTEE]
    new_experts = [_user(u, f, last, Role.EVALUATOR, out) for u, f, last in NEW_EXPERTS]
    cut_off_at = datetime.combine(timezone.localdate() - timedelta(days=40), time(17, 0), tzinfo=LUX)
    opened = _day(cut_off_at, -60)
    with replayed_at(opened):
        call = call_services.call_create(
            identifier=CALL,
            title="AI Factory activities (demo data: a published cut-off with evaluation reviews)",
            description="Demo call whose single cut-off was evaluated and published shortly before seeding; its "
            "applicants' requests for an evaluation review show every step of the procedure.",
            prong=Call.Prong.EXISTING_HOST, allowed_types=[Proposal.Type.ACTIVITIES], opens_at=opened,
            cut_offs=[cut_off_at], status=Call.Status.OPEN, indicative_budget=Decimal("5000000.00"), is_demo=True,
            actor=officer,
        )  # fmt: skip
    machines = {m.name: m for m in Machine.objects.all()}
    proposals = {}
    for offset, (username, acronym, title, machine, _scores, _state) in enumerate(PROPOSALS):
        user = users[username]
        with replayed_at(_day(cut_off_at, -10 + offset / 4)):
            proposal = call_services.proposal_create(
                call=call, organisation=user.organisation, type=Proposal.Type.ACTIVITIES, title=title,
                acronym=acronym, abstract=f"{title}. Demo proposal of {user.organisation.short_name}.",
                experimental_platform=False, machine=machines.get(machine), planned_machine_name="",
                planned_machine_country="",
                budget_lines=[{"category": "activities", "total_cost": "4000000.00", "eu_contribution": "2000000.00",
                               "national_contribution": "2000000.00"}],
                actor=user,
            )  # fmt: skip
            call_services.document_upload(
                proposal=proposal, kind="proposal_form", uploaded_file=_pdf(f"{acronym}-form.pdf"), actor=user
            )
            proposals[acronym] = call_services.proposal_submit(proposal=proposal, actor=user)
    with replayed_at(_day(cut_off_at, 5 / 1440)):
        call_services.cut_off_process(cut_off=call.cut_offs.get(), actor=None)
    with replayed_at(_day(cut_off_at, 1)):
        for acronym, proposal in proposals.items():
            proposals[acronym] = call_services.proposal_record_eligibility(
                proposal=Proposal.objects.get(pk=proposal.pk), eligible=True, reason="All eligibility conditions met.",
                actor=officer,
            )  # fmt: skip
    # The evaluation: experts assigned three days after the cut-off, reviews a week later, the consensus after.
    for _u, acronym, _t, _m, scores, _state in PROPOSALS:
        assignments = _evaluate(proposals[acronym], experts, officer, at=_day(cut_off_at, 3))
        _review(assignments, scores, at=_day(cut_off_at, 7))
        _consensus(proposals[acronym], officer, scores, at=_day(cut_off_at, 9))
    cut_off = call.cut_offs.get()
    published = _day(cut_off_at, 12)
    with replayed_at(published - timedelta(hours=2)):  # confirmed and published the same day
        services.decisions_confirm(cut_off=cut_off, actor=officer)
    with replayed_at(published):
        services.decisions_publish(cut_off=cut_off, actor=officer)
        _render_pending(cut_off.pk)
    _requests(proposals, users, officer, committee, new_experts, experts, published)
    counts = {s: RedressRequest.objects.filter(proposal__call=call, status=s).count() for s in RedressRequest.Status}
    out(
        f"evaluation reviews: demo call {CALL} published {timezone.localtime(published):%d %b %Y}; requests "
        + ", ".join(f"{label.lower()}: {counts[value]}" for value, label in RedressRequest.Status.choices)
    )


def _requests(proposals, users, officer, committee, new_experts, experts, published: datetime) -> None:
    """One request in each state of the procedure, every step after the one before it and before now."""
    requests = {}
    for offset, (username, acronym, _t, _m, _s, state) in enumerate(PROPOSALS):
        if state is None:
            continue
        with replayed_at(_day(published, 1 + offset)):
            requests[state] = services.redress_request_submit(
                proposal=Proposal.objects.get(pk=proposals[acronym].pk), grounds=GROUNDS[state], actor=users[username]
            )
    with replayed_at(_day(published, 9)):
        services.redress_admissibility_record(
            request=requests["inadmissible"], admissible=False, actor=officer,
            reason="It contests the experts' judgement of the impact, not the evaluation procedure.",
        )  # fmt: skip
        for state in ("in_review", "confirmed", "re_evaluation", "re_evaluated"):
            services.redress_admissibility_record(
                request=requests[state], admissible=True, reason="It concerns the evaluation procedure.", actor=officer
            )
    with replayed_at(_day(published, 10)):
        for state in ("in_review", "confirmed", "re_evaluation", "re_evaluated"):
            services.redress_committee_appoint(request=requests[state], members=committee, actor=officer)
    with replayed_at(_day(published, 11)):
        for state in ("in_review", "confirmed", "re_evaluation", "re_evaluated"):
            members = committee[:1] if state == "in_review" else committee  # officer3 still to declare on one
            for seat in requests[state].committee.filter(member__in=members).order_by("pk"):
                services.redress_committee_declare(seat=seat, conflict=False, reason="", actor=seat.member)
    with replayed_at(_day(published, 13)):
        services.redress_opinion_record(
            request=requests["confirmed"], opinion="confirm", actor=committee[0],
            reason="The minutes show all three experts at the consensus meeting, one of them by video link.",
        )  # fmt: skip
        services.redress_opinion_record(
            request=requests["re_evaluation"], opinion="re_evaluate", actor=committee[1],
            reason="The expert's link with a competing applicant was not declared: the evaluation is redone.",
        )  # fmt: skip
        services.redress_opinion_record(
            request=requests["re_evaluated"], opinion="re_evaluate", actor=committee[0],
            reason="The risk register in section 3.4 was overlooked: the proposal is evaluated again.",
        )  # fmt: skip
    fresh = [*experts, *new_experts]
    # The re-evaluated one: new experts, their reviews, the new consensus, the conclusion (reserve list now).
    lang = Proposal.objects.get(pk=requests["re_evaluated"].proposal_id)
    former = set(Assignment.objects.filter(proposal=lang).values_list("evaluator_id", flat=True))
    again = _evaluate(lang, [e for e in fresh if e.pk not in former], officer, at=_day(published, 14))
    _review(again, ("4", "3.5", "3.5"), at=_day(published, 18))
    _consensus(lang, officer, ("4", "3.5", "3.5"), at=_day(published, 20))
    with replayed_at(_day(published, 22)):
        services.redress_conclude(request=RedressRequest.objects.get(pk=requests["re_evaluated"].pk), actor=officer)
        _render_pending(lang.cut_off_id)
    # The one being re-evaluated: new experts assigned, one review in so far.
    mat = Proposal.objects.get(pk=requests["re_evaluation"].proposal_id)
    former = set(Assignment.objects.filter(proposal=mat).values_list("evaluator_id", flat=True))
    deadline = datetime.combine(timezone.localdate() + timedelta(days=7), time(17, 0), tzinfo=LUX)
    again = _evaluate(mat, [e for e in fresh if e.pk not in former], officer, at=_day(published, 20),
                      deadline=deadline)  # fmt: skip
    _review(again, ("3.5", "3", "3.5"), at=_day(published, 24), count=1)
