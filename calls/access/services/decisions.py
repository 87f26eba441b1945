"""The access committee's decision (one application, or a cut-off's ranking in a batch) and the final report."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from calls.access.checks import request_checks
from calls.access.models import AccessApplication
from calls.access.services._common import S, _hours, _locked_application, _status
from calls.models import CutOff
from calls.transitions import proposal_transition
from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.formatting import local
from eurohpc.models import Role, User
from eurohpc.services import audit_record, notification_queue
from hosting.formatting import qty
from hosting.services import project_award

# --- the access committee's decision ----------------------------------------------------------------------

AWARDED, RESERVE, REJECTED = "awarded", "reserve", "rejected"
OUTCOMES = {AWARDED: S.SELECTED, RESERVE: S.RESERVE, REJECTED: S.REJECTED}


def decision_refusal(application: AccessApplication, *, now: datetime) -> str | None:
    """Why the committee cannot decide the application now, or None (the pages show the decision form then)."""
    proposal = application.proposal
    mode = application.mode
    if proposal.status not in (S.EVALUATION, S.RESERVE):
        return f"Application {proposal} is {_status(application)}: the committee decides applications under evaluation."
    technical = getattr(application, "technical", None)
    if technical is None:
        return f"Application {proposal} has no technical assessment yet."
    if mode.is_reviewed and proposal.status == S.EVALUATION and technical.feasible:
        if application.reply_deadline is None:
            return f"The reviews of {proposal} are not released to the applicant yet."
        if application.replied_at is None and now <= application.reply_deadline:
            return (
                f"The applicant may reply to the reviews of {proposal} until {local(application.reply_deadline)}: "
                f"the committee decides after the reply or the deadline."
            )
    return None


def batch_awardable(application: AccessApplication, *, now: datetime) -> bool:
    """`access_ranking_award` awards this ranked application now: under evaluation, feasible, and decidable (the
    ranking page offers the batch only when one is)."""
    technical = getattr(application, "technical", None)
    return (
        application.proposal.status == S.EVALUATION
        and technical is not None
        and technical.feasible
        and decision_refusal(application, now=now) is None
    )


def project_cut_off_number(application: AccessApplication, when: datetime) -> int:
    """The <cut-off> of the project's code: the cut-off's number in its year (cut-off modes), the month of the
    award (continuous modes)."""
    cut_off = application.proposal.cut_off
    if cut_off is None:
        return timezone.localtime(when).month
    year = timezone.localtime(cut_off.closes_at).year
    return CutOff.objects.filter(
        call_id=cut_off.call_id,
        closes_at__year=year,
        closes_at__lte=cut_off.closes_at,
    ).count()


@transaction.atomic
def access_decide(
    *, application: AccessApplication, outcome: str, reason: str = "", gpu_hours=None, actor: User
) -> AccessApplication:
    """Award (with GPU-hours up to the technical recommendation), put on the reserve list, or reject. An award
    creates the project and its allocation from the mode's pool under the quota's lock, all or nothing."""
    if Role.PROGRAMME_OFFICER not in actor.roles:
        raise NotPermitted("Only programme officers (the access committee) decide access applications.")
    if outcome not in OUTCOMES:
        raise RuleViolation(
            f"Unknown outcome {outcome!r}; outcomes are awarded, reserve and rejected.",
            code="outcome",
            errors={"outcome": ["Choose awarded, reserve or rejected."]},
        )
    application = _locked_application(application)
    proposal = application.proposal
    now = timezone.now()
    refusal = decision_refusal(application, now=now)
    if refusal:
        raise StateConflict(refusal, code="not_decidable")
    reason = (reason or "").strip()
    technical = application.technical
    if outcome == RESERVE and not application.mode.is_reviewed:
        raise RuleViolation(
            f"{application.mode.get_code_display()} is first come, first served: it keeps no reserve list.",
            code="no_reserve",
        )
    if outcome == RESERVE and not technical.feasible:
        raise StateConflict(
            f"The technical assessment found {proposal} not feasible on {application.partition}: it cannot be put "
            f"on the reserve list.",
            code="not_feasible",
        )
    if outcome == RESERVE and proposal.status == S.RESERVE:
        raise StateConflict(f"Application {proposal} is already on the reserve list.", code="already_reserve")
    if outcome != AWARDED and not reason:
        raise RuleViolation(
            "Give the reason for the decision.",
            code="reason_required",
            errors={"reason": ["This field may not be blank."]},
        )
    project = None
    amount = None
    if outcome == AWARDED:
        if not technical.feasible:
            raise StateConflict(
                f"The technical assessment found {proposal} not feasible on {application.partition}: it cannot be "
                f"awarded.",
                code="not_feasible",
            )
        amount = technical.recommended_gpu_hours if gpu_hours in (None, "") else _hours(gpu_hours)
        if amount > technical.recommended_gpu_hours:
            raise RuleViolation(
                f"An award gives at most the {qty(technical.recommended_gpu_hours)} GPU-hours the technical "
                f"assessment recommends; asked {qty(amount)}.",
                code="award_above_recommendation",
                errors={"gpu_hours": [f"At most {qty(technical.recommended_gpu_hours)} GPU-hours."]},
            )
        size = [c for c in request_checks(mode=application.mode, gpu_hours=amount,
                                            duration_months=application.duration_months) if not c.ok]  # fmt: skip
        if size:
            raise RuleViolation(
                f"{size[0].rule}: the award would give {qty(amount)} GPU-hours.",
                code="award_outside_mode",
                errors={"gpu_hours": [size[0].rule + "."]},
            )
        allocation = project_award(
            title=proposal.title,
            pi=application.pi,
            organisation=proposal.organisation,
            user_type=application.user_type,
            access_mode=application.mode.code,
            commercial=application.commercial,
            partition=application.partition,
            starts_on=application.start_month,
            duration_months=application.duration_months,
            amount=amount,
            cut_off=project_cut_off_number(application, now),
            actor=actor,
        )
        project = allocation.project
    before = proposal_transition(proposal=proposal, to=OUTCOMES[outcome])
    application.awarded_gpu_hours = amount
    application.decision_reason = reason
    application.decided_at = now
    application.decided_by = actor
    application.project = project
    application.save(update_fields=["awarded_gpu_hours", "decision_reason", "decided_at", "decided_by", "project"])
    audit_record(
        actor=actor,
        verb="access.decide",
        target=proposal,
        changes={
            "from": before,
            "outcome": outcome,
            "gpu_hours": amount,
            "project": project.code if project else None,
            "reason": reason,
        },
    )
    if project is not None:
        body = (
            f"Your access application {proposal.reference} ({proposal.acronym}) is awarded "
            f"{qty(amount)} GPU-hours on {application.partition}.\n\n"
            f"Project: {project.code}\nSlurm account: {allocation.slurm_account}\n"
            f"Access: {project.starts_on:%d %B %Y} to {project.ends_on:%d %B %Y}\n"
        )
    else:
        words = {RESERVE: "is on the reserve list", REJECTED: "is not awarded"}[outcome]
        body = f"Your access application {proposal.reference} ({proposal.acronym}) {words}.\n\nReason: {reason}\n"
    notification_queue(recipient=application.pi, subject=f"Decision: access application {proposal.reference}",
                       body=body)  # fmt: skip
    return application


@transaction.atomic
def access_ranking_award(*, cut_off: CutOff, actor: User) -> dict[str, list[str]]:
    """The committee's batch: award each decidable application of the cut-off, in ranking order, its recommended
    GPU-hours while its pool lasts; an application its pool cannot hold goes to the reserve list, naming why."""
    from calls.access.selectors import cut_off_ranking
    from eurohpc.errors import LimitExceeded

    if Role.PROGRAMME_OFFICER not in actor.roles:
        raise NotPermitted("Only programme officers (the access committee) decide access applications.")
    # two batches of one cut-off follow one another (cut-off → proposal, eurohpc/locking.py)
    cut_off = CutOff.objects.select_for_update().get(pk=cut_off.pk)
    now = timezone.now()
    result: dict[str, list[str]] = {AWARDED: [], RESERVE: [], "skipped": []}
    for row in cut_off_ranking(cut_off=cut_off):
        application = row.application
        if application.proposal.status != S.EVALUATION:
            continue
        if not batch_awardable(application, now=now):
            result["skipped"].append(application.proposal.reference)
            continue
        try:
            with transaction.atomic():
                access_decide(application=application, outcome=AWARDED, actor=actor)
            result[AWARDED].append(application.proposal.reference)
        except LimitExceeded as exc:
            access_decide(application=application, outcome=RESERVE, reason=exc.message, actor=actor)
            result[RESERVE].append(application.proposal.reference)
        except StateConflict:  # decided meanwhile by one officer, or no period covers its start: left as it is
            result["skipped"].append(application.proposal.reference)
    return result


# --- the end of the project -----------------------------------------------------------------------------


@transaction.atomic
def access_final_report_submit(*, application: AccessApplication, report: str, actor: User) -> AccessApplication:
    """The principal investigator's short final report, from the last month of access on, once."""
    application = _locked_application(application)
    proposal = application.proposal
    if application.pi_id != actor.pk and not (
        proposal.organisation_id == actor.organisation_id and Role.APPLICANT in actor.roles
    ):
        raise NotPermitted("Only the principal investigator or the organisation's applicants report on the project.")
    project = application.project
    if project is None:
        raise StateConflict(f"Application {proposal} has no awarded project to report on.", code="not_awarded")
    if application.final_report_at is not None:
        raise StateConflict(
            f"The final report of {project.code} was sent on {local(application.final_report_at)}.",
            code="already_reported",
        )
    opens = project.ends_on.replace(day=1)
    if timezone.localdate() < opens:
        raise StateConflict(
            f"The final report of {project.code} is written from {opens:%d %B %Y}, the last month of its access.",
            code="too_early",
        )
    report = (report or "").strip()
    if not report:
        raise RuleViolation(
            "Write the final report.", code="report_required", errors={"report": ["This field may not be blank."]}
        )
    application.final_report = report
    application.final_report_at = timezone.now()
    application.save(update_fields=["final_report", "final_report_at"])
    audit_record(actor=actor, verb="access.final_report", target=proposal, changes={"project": project.code})
    return application
