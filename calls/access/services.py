"""Writes of access calls: an access application's state changes only here (or, for its reviewers, through the
evaluation's own assignment and review services, which it reuses).

The way of an application (a `Proposal` of type "access", moved by `proposal_transition`):

    draft → submitted → (cut-off modes: screening at the cut-off) → eligible | ineligible
    eligible → evaluation  — continuous modes: when the host's technical assessment is recorded;
                             cut-off modes: when the first reviewer is assigned (after a feasible assessment)
    evaluation → selected (awarded) | reserve | rejected     — reserve → selected | rejected
    submitted → withdrawn  — by the applicant, until its cut-off (continuous modes: until screened)

Locks: the call, its cut-off, then the proposal (eurohpc/locking.py); an award then takes the machine chain
through hosting's `project_award` (allocation period → project → partition quota).
"""

import json
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from calls.access.checks import access_checks, failures, request_checks
from calls.access.models import AccessApplication, AccessMode, TechnicalAssessment
from calls.models import Call, CutOff, Proposal, Review
from calls.transitions import proposal_transition
from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.formatting import local
from eurohpc.models import Role, User
from eurohpc.services import audit_record, notification_queue
from hosting.formatting import qty
from hosting.models import Partition
from hosting.services import project_award

MODES_FILE = Path(__file__).resolve().parent / "data" / "access_modes.json"
ZERO = Decimal("0")
S = Proposal.Status


def default_modes() -> list[dict]:
    return json.loads(MODES_FILE.read_text())["modes"]


# --- access modes (data of each call) ----------------------------------------------------------------


@transaction.atomic
def access_modes_create(*, call: Call, modes: list[dict] | None = None, actor: User | None) -> list[AccessMode]:
    """Give an access call its modes (the programme's defaults unless others are given), once."""
    call = Call.objects.select_for_update().get(pk=call.pk)
    if call.prong != Call.Prong.ACCESS:
        raise RuleViolation(f"{call.identifier} is not an access call: it has no access modes.", code="not_access")
    if AccessMode.objects.filter(call=call).exists():
        raise StateConflict(f"{call.identifier} already has its access modes.", code="modes_exist")
    created = []
    for data in modes if modes is not None else default_modes():
        if data["code"] not in AccessMode.Code.values:
            raise RuleViolation(f"Unknown access mode {data['code']!r}.", code="access_mode")
        created.append(
            AccessMode.objects.create(
                call=call,
                code=data["code"],
                process=data["process"],
                min_gpu_hours=Decimal(str(data.get("min_gpu_hours") or "0")),
                max_gpu_hours=Decimal(str(data["max_gpu_hours"])) if data.get("max_gpu_hours") else None,
                durations=[int(d) for d in data["durations"]],
                user_types=list(data["user_types"]),
                reviews_required=int(data.get("reviews_required", 0)),
                reply_days=int(data.get("reply_days", 0)),
                decision_target_days=int(data.get("decision_target_days", 10)),
            )
        )
    audit_record(actor=actor, verb="access.set_modes", target=call, changes={"modes": [m.code for m in created]})
    return created


# --- the applicant's application -----------------------------------------------------------------------

DETAIL_FIELDS = (
    "team",
    "user_type",
    "terms",
    "ai_model",
    "gpu_hours",
    "duration_months",
    "start_month",
    "no_prohibited_practice",
    "personal_data",
    "data_protection",
    "ethics",
)
PROPOSAL_FIELDS = ("title", "acronym", "abstract")


def _hours(value, field: str = "gpu_hours") -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -2:
        raise RuleViolation(
            f"GPU-hours are a positive number with at most 2 decimals; got {value!r}.",
            code="gpu_hours",
            errors={field: ["Enter a positive number of GPU-hours, with at most 2 decimals."]},
        )
    if amount >= Decimal("1e10"):
        raise RuleViolation(
            f"{qty(amount)} GPU-hours is more than any machine has.",
            code="gpu_hours",
            errors={field: ["Enter at most 9,999,999,999.99 GPU-hours."]},
        )
    return amount


def _check_details(fields: dict) -> dict:
    """Parse and check the structural rules of the fields given (the programme's rules are checked at submit)."""
    clean = dict(fields)
    if "user_type" in clean and clean["user_type"] not in AccessApplication.UserType.values:
        raise RuleViolation(
            f"Unknown organisation type {clean['user_type']!r}; types are "
            f"{', '.join(AccessApplication.UserType.values)}.",
            code="user_type",
            errors={"user_type": ["Choose an organisation type."]},
        )
    if "terms" in clean and clean["terms"] not in AccessApplication.Terms.values:
        raise RuleViolation(
            "Choose open-science or commercial terms.", code="terms", errors={"terms": ["Choose the terms."]}
        )
    if "gpu_hours" in clean:
        clean["gpu_hours"] = _hours(clean["gpu_hours"])
    if "duration_months" in clean:
        months = clean["duration_months"]
        if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 12:
            raise RuleViolation(
                f"Access lasts 1 to 12 months; got {months!r}.",
                code="duration",
                errors={"duration_months": ["Enter a number of months from 1 to 12."]},
            )
    if "start_month" in clean:
        start = clean["start_month"]
        if not isinstance(start, date) or isinstance(start, datetime):
            raise RuleViolation("The start month is a date.", code="start_month")
        clean["start_month"] = start.replace(day=1)
    for name in PROPOSAL_FIELDS:
        if name in clean:
            clean[name] = str(clean[name]).strip()
    return clean


def _check_partition(*, call: Call, partition: Partition, machine_id: int | None) -> None:
    if machine_id is not None and partition.machine_id != machine_id:
        raise RuleViolation(
            f"{partition.name} is not a partition of the machine chosen: it belongs to {partition.machine.name}.",
            code="partition_machine",
            errors={"partition": ["Choose a partition of the machine."]},
        )


@transaction.atomic
def access_application_create(
    *,
    call: Call,
    mode: str,
    partition: Partition,
    machine_id: int | None = None,
    title: str,
    acronym: str,
    actor: User,
    **details,
) -> AccessApplication:
    """Draft an access application for `call` in one of its modes, the actor its principal investigator."""
    if Role.APPLICANT not in actor.roles or actor.organisation_id is None:
        raise NotPermitted("Only applicants of a registered organisation apply for access.", code="not_applicant")
    if call.prong != Call.Prong.ACCESS:
        raise RuleViolation(f"{call.identifier} is not an access call.", code="not_access")
    if call.status != Call.Status.OPEN or call.opens_at > timezone.now():
        raise StateConflict(f"{call.identifier} is not open for applications.", code="call_not_open")
    access_mode = AccessMode.objects.filter(call=call, code=mode).first()
    if access_mode is None:
        offered = ", ".join(AccessMode.Code(m).label for m in call.access_modes.values_list("code", flat=True))
        raise RuleViolation(
            f"{call.identifier} has no access mode {mode!r}; it offers {offered or 'none'}.",
            code="access_mode",
            errors={"mode": ["Choose an access mode of the call."]},
        )
    unknown = set(details) - set(DETAIL_FIELDS) - {"abstract"}
    if unknown:
        raise RuleViolation(f"Unknown fields: {', '.join(sorted(unknown))}.", code="not_editable")
    _check_partition(call=call, partition=partition, machine_id=machine_id)
    clean = _check_details({"title": title, "acronym": acronym, **details})
    if not clean["title"] or not clean["acronym"]:
        raise RuleViolation("An application needs a title and an acronym.", code="described")
    for required in ("user_type", "terms", "gpu_hours", "duration_months", "start_month"):
        if required not in clean:
            raise RuleViolation(f"Give the {required.replace('_', ' ')}.", code="incomplete",
                                errors={required: ["This field is required."]})  # fmt: skip
    proposal = Proposal.objects.create(
        call=call,
        organisation_id=actor.organisation_id,
        created_by=actor,
        type=Proposal.Type.ACCESS,
        title=clean.pop("title"),
        acronym=clean.pop("acronym"),
        abstract=clean.pop("abstract", ""),
        machine_id=partition.machine_id,
    )
    application = AccessApplication.objects.create(
        proposal=proposal, mode=access_mode, partition=partition, pi=actor, **clean
    )
    audit_record(
        actor=actor,
        verb="access.create",
        target=proposal,
        changes={
            "call": call.identifier,
            "mode": mode,
            "partition": str(partition),
            "gpu_hours": application.gpu_hours,
        },
    )
    return application


def _locked_application(application: AccessApplication | int) -> AccessApplication:
    pk = application if isinstance(application, int) else application.pk
    Proposal.objects.select_for_update(of=("self",)).filter(pk=pk).get()
    return (
        AccessApplication.objects.select_related(
            "proposal", "proposal__call", "proposal__organisation", "proposal__cut_off", "mode", "partition",
            "partition__machine", "pi",
        )
        .get(pk=pk)
    )  # fmt: skip


def _status(application: AccessApplication) -> str:
    return application.status_label.lower()


@transaction.atomic
def access_application_update(
    *, application: AccessApplication, actor: User, partition: Partition | None = None, mode: str | None = None,
    **fields
) -> AccessApplication:  # fmt: skip
    application = _locked_application(application)
    proposal = application.proposal
    if proposal.status != S.DRAFT:
        raise StateConflict(
            f"Application {proposal} is {_status(application)}: only a draft can be changed.", code="not_draft"
        )
    if application.pi_id != actor.pk and proposal.organisation_id != actor.organisation_id:
        raise NotPermitted("Only applicant staff of the application's organisation can change it.")
    unknown = set(fields) - set(DETAIL_FIELDS) - set(PROPOSAL_FIELDS) - {"machine_id"}
    if unknown:
        raise RuleViolation(f"These fields cannot be changed: {', '.join(sorted(unknown))}.", code="not_editable")
    machine_id = fields.pop("machine_id", None)
    clean = _check_details(fields)
    for name in ("title", "acronym"):
        if name in clean and not clean[name]:
            raise RuleViolation(f"The {name} cannot be empty.", code="described")
    changes = {}
    if mode is not None and mode != application.mode.code:
        access_mode = AccessMode.objects.filter(call_id=proposal.call_id, code=mode).first()
        if access_mode is None:
            raise RuleViolation(f"{proposal.call.identifier} has no access mode {mode!r}.", code="access_mode")
        application.mode = access_mode
        changes["mode"] = mode
    if partition is not None:
        _check_partition(call=proposal.call, partition=partition, machine_id=machine_id)
        if partition.pk != application.partition_id:
            application.partition = partition
            proposal.machine_id = partition.machine_id
            changes["partition"] = str(partition)
    for name, value in clean.items():
        target = proposal if name in PROPOSAL_FIELDS else application
        if getattr(target, name) != value:
            setattr(target, name, value)
            changes[name] = str(value)
    if changes:
        proposal.save()
        application.save()
        audit_record(actor=actor, verb="access.update", target=proposal, changes=changes)
    return application


def _receipt(application: AccessApplication) -> str:
    proposal = application.proposal
    cut_off = (
        f"Cut-off: {local(proposal.cut_off.closes_at)} (you may withdraw it until then)\n"
        if proposal.cut_off
        else "It is decided as it comes (first come, first served while the machine's pool lasts).\n"
    )
    return (
        f"Your access application {proposal.acronym} — {proposal.title} was submitted to "
        f"{proposal.call.identifier}.\n\n"
        f"Reference: {proposal.reference}\n"
        f"Access mode: {application.mode.get_code_display()}\n"
        f"Machine: {application.partition} — {qty(application.gpu_hours)} GPU-hours for "
        f"{application.duration_months} month(s) from {application.start_month:%B %Y}\n"
        f"Submitted: {local(proposal.submitted_at)}\n{cut_off}"
    )


@transaction.atomic
def access_application_submit(*, application: AccessApplication, actor: User) -> AccessApplication:
    """Submit: a cut-off mode's application goes to the call's next cut-off (late once the last has passed);
    a continuous mode's is decided as it comes. A second submit returns it unchanged."""
    call_id, mode_id = AccessApplication.objects.filter(pk=application.pk).values_list(
        "proposal__call_id", "mode_id"
    ).get()  # fmt: skip
    call = Call.objects.select_for_update().get(pk=call_id)
    mode = AccessMode.objects.get(pk=mode_id)
    now = timezone.now()
    cut_off = None
    if mode.is_reviewed:
        cut_off = (
            CutOff.objects.filter(call=call, closes_at__gt=now, processed_at__isnull=True)
            .order_by("closes_at")
            .select_for_update()
            .first()
        )
    application = _locked_application(application)
    proposal = application.proposal
    if proposal.status == S.SUBMITTED:
        return application  # a double click: one reference
    if proposal.status != S.DRAFT:
        raise StateConflict(
            f"Application {proposal} is {_status(application)}: only a draft can be submitted.", code="not_draft"
        )
    if not (proposal.organisation_id == actor.organisation_id and Role.APPLICANT in actor.roles):
        raise NotPermitted("Only applicant staff of the application's organisation can submit it.")
    if call.status != Call.Status.OPEN or call.opens_at > now:
        raise StateConflict(f"{call.identifier} is not open for applications.", code="call_not_open")
    if mode.is_reviewed and cut_off is None:
        last = call.cut_offs.order_by("-closes_at").values_list("closes_at", flat=True).first()
        when = f" on {local(last)}" if last else ""
        raise StateConflict(
            f"The last cut-off of {call.identifier} for {mode.get_code_display()} closed{when}: applications are "
            f"no longer accepted.",
            code="late",
        )
    problems = failures(access_checks(application, today=timezone.localdate(now)))
    if problems:
        raise RuleViolation(
            f"The application cannot be submitted: {len(problems)} rule(s) not met.",
            code="submission_rules",
            errors=problems,
        )
    Call.objects.filter(pk=call.pk).update(next_reference_number=F("next_reference_number") + 1)
    call.refresh_from_db(fields=["next_reference_number"])
    proposal_transition(
        proposal=proposal,
        to=S.SUBMITTED,
        reference=f"{call.identifier}-{call.next_reference_number - 1:04d}",
        submitted_at=now,
        submitted_by=actor,
        cut_off=cut_off,
    )
    audit_record(
        actor=actor,
        verb="access.submit",
        target=proposal,
        changes={"reference": proposal.reference, "cut_off": cut_off.closes_at if cut_off else None},
    )
    body = _receipt(application)
    for recipient in {actor, application.pi}:
        notification_queue(recipient=recipient, subject=f"Receipt: access application {proposal.reference}", body=body)
    return application


@transaction.atomic
def access_application_withdraw(*, application: AccessApplication, actor: User) -> AccessApplication:
    application = _locked_application(application)
    proposal = application.proposal
    if proposal.organisation_id != actor.organisation_id or Role.APPLICANT not in actor.roles:
        raise NotPermitted("Only applicant staff of the application's organisation can withdraw it.")
    if proposal.status != S.SUBMITTED:
        raise StateConflict(
            f"Application {proposal} is {_status(application)}: only a submitted application that is not yet "
            f"screened can be withdrawn.",
            code="not_submitted",
        )
    if proposal.cut_off and proposal.cut_off.closes_at <= timezone.now():
        raise StateConflict(
            f"The cut-off of {local(proposal.cut_off.closes_at)} has passed: the application can no longer be "
            f"withdrawn.",
            code="late",
        )
    proposal_transition(proposal=proposal, to=S.WITHDRAWN, withdrawn_at=timezone.now())
    audit_record(actor=actor, verb="access.withdraw", target=proposal, changes={"status": "withdrawn"})
    return application


# --- the programme office's eligibility check ------------------------------------------------------------


@transaction.atomic
def access_eligibility_record(
    *, application: AccessApplication, eligible: bool, reason: str, actor: User
) -> AccessApplication:
    """Record the officer's eligibility check (a continuous mode's at once, a cut-off mode's after its cut-off)."""
    if Role.PROGRAMME_OFFICER not in actor.roles:
        raise NotPermitted("Only programme officers record eligibility.")
    application = _locked_application(application)
    proposal = application.proposal
    reason = (reason or "").strip()
    if proposal.status not in (S.SUBMITTED, S.SCREENING, S.ELIGIBLE, S.INELIGIBLE):
        raise StateConflict(
            f"Application {proposal} is {_status(application)}: eligibility is recorded before the technical "
            f"assessment and the reviews.",
            code="not_screening",
        )
    if proposal.cut_off and proposal.cut_off.closes_at > timezone.now():
        raise StateConflict(
            f"Eligibility is recorded once the cut-off has passed; application {proposal} belongs to the cut-off "
            f"of {local(proposal.cut_off.closes_at)}.",
            code="cut_off_not_passed",
        )
    if proposal.status == S.ELIGIBLE and hasattr(application, "technical"):
        raise StateConflict(
            f"The technical assessment of {proposal} is recorded: its eligibility can no longer change.",
            code="assessed",
        )
    if not reason:
        raise RuleViolation(
            "Give the reason for the eligibility decision.",
            code="reason_required",
            errors={"reason": ["This field may not be blank."]},
        )
    before = proposal_transition(
        proposal=proposal,
        to=S.ELIGIBLE if eligible else S.INELIGIBLE,
        eligibility_reason=reason,
        eligibility_decided_at=timezone.now(),
        eligibility_decided_by=actor,
    )
    audit_record(
        actor=actor,
        verb="access.record_eligibility",
        target=proposal,
        changes={"from": before, "to": proposal.status, "reason": reason},
    )
    outcome = "eligible" if eligible else "not eligible"
    notification_queue(
        recipient=application.pi,
        subject=f"Eligibility: access application {proposal.reference}",
        body=f"Your access application {proposal.reference} ({proposal.acronym}) was found {outcome}.\n\n"
        f"Reason: {reason}\n",
    )
    return application


# --- the hosting entity's technical assessment -----------------------------------------------------------


@transaction.atomic
def technical_assessment_record(
    *,
    application: AccessApplication,
    feasible: bool,
    notes: str,
    recommended_gpu_hours=None,
    actor: User,
) -> TechnicalAssessment:
    """The support team of the machine's hosting entity says whether the project can run, and with how much
    (never more than asked, and within the mode's size). A continuous mode's application is then ready for the
    decision; a cut-off mode's for its reviewers."""
    application = _locked_application(application)
    proposal = application.proposal
    machine = application.partition.machine
    if not (Role.HOSTING_OPERATOR in actor.roles and actor.organisation_id == machine.hosting_entity_id):
        raise NotPermitted(
            f"Only the support team of {machine.name}'s hosting entity assesses its applications.",
            code="not_host",
        )
    if hasattr(application, "technical"):
        raise StateConflict(
            f"The technical assessment of {proposal} was recorded on {local(application.technical.assessed_at)}.",
            code="already_assessed",
        )
    if proposal.status != S.ELIGIBLE:
        raise StateConflict(
            f"Application {proposal} is {_status(application)}: the technical assessment follows the eligibility "
            f"check.",
            code="not_eligible",
        )
    notes = (notes or "").strip()
    if not notes:
        raise RuleViolation(
            "Give the notes of the technical assessment (software, scaling, data).",
            code="notes_required",
            errors={"notes": ["This field may not be blank."]},
        )
    recommended = None
    if feasible:
        recommended = (
            application.gpu_hours
            if recommended_gpu_hours in (None, "")
            else _hours(recommended_gpu_hours, "recommended_gpu_hours")
        )
        if recommended > application.gpu_hours:
            raise RuleViolation(
                f"The recommendation may reduce the request, not raise it: asked {qty(application.gpu_hours)} "
                f"GPU-hours, recommended {qty(recommended)}.",
                code="recommended_above_request",
                errors={"recommended_gpu_hours": [f"At most {qty(application.gpu_hours)} GPU-hours."]},
            )
        size = [c for c in request_checks(mode=application.mode, gpu_hours=recommended,
                                            duration_months=application.duration_months) if not c.ok]  # fmt: skip
        if size:
            raise RuleViolation(
                f"{size[0].rule}: recommended {qty(recommended)} GPU-hours.",
                code="recommended_outside_mode",
                errors={"recommended_gpu_hours": [size[0].rule + "."]},
            )
    elif recommended_gpu_hours not in (None, ""):
        raise RuleViolation(
            "An infeasible project gets no recommended GPU-hours.",
            code="recommended_infeasible",
            errors={"recommended_gpu_hours": ["Leave empty when the project is not feasible."]},
        )
    assessment = TechnicalAssessment.objects.create(
        application=application,
        feasible=feasible,
        notes=notes,
        recommended_gpu_hours=recommended,
        assessed_by=actor,
        assessed_at=timezone.now(),
    )
    if not application.mode.is_reviewed or not feasible:
        # continuous modes: ready for the decision; an infeasible project is not sent to reviewers, the committee
        # decides it (rejects it) at once
        proposal_transition(proposal=proposal, to=S.EVALUATION)
    audit_record(
        actor=actor,
        verb="access.assess",
        target=proposal,
        changes={"feasible": feasible, "recommended_gpu_hours": recommended, "notes": notes},
    )
    return assessment


# --- the right to reply ----------------------------------------------------------------------------------


def submitted_reviews(application: AccessApplication) -> int:
    return Review.objects.filter(assignment__proposal_id=application.pk, status=Review.Status.SUBMITTED).count()


@transaction.atomic
def access_reviews_release(*, application: AccessApplication, actor: User) -> AccessApplication:
    """Send the reviews (without their authors) to the applicant and open the reply window of the mode."""
    if Role.PROGRAMME_OFFICER not in actor.roles:
        raise NotPermitted("Only programme officers (the access committee) release the reviews.")
    application = _locked_application(application)
    proposal = application.proposal
    mode = application.mode
    if not mode.is_reviewed:
        raise StateConflict(f"{mode.get_code_display()} applications are not peer-reviewed.", code="not_reviewed")
    if proposal.status != S.EVALUATION:
        raise StateConflict(
            f"Application {proposal} is {_status(application)}: reviews are released during its evaluation.",
            code="not_in_evaluation",
        )
    if application.reply_deadline is not None:
        raise StateConflict(
            f"The reviews of {proposal} were released; the reply is due by {local(application.reply_deadline)}.",
            code="already_released",
        )
    count = submitted_reviews(application)
    if count < mode.reviews_required:
        raise StateConflict(
            f"{mode.get_code_display()} needs {mode.reviews_required} submitted reviews before the applicant "
            f"replies; {proposal} has {count}.",
            code="reviews_missing",
        )
    now = timezone.now()
    application.reply_deadline = now + timedelta(days=mode.reply_days)
    application.save(update_fields=["reply_deadline"])
    audit_record(
        actor=actor,
        verb="access.release_reviews",
        target=proposal,
        changes={"reviews": count, "reply_deadline": application.reply_deadline},
    )
    notification_queue(
        recipient=application.pi,
        subject=f"Reviews of access application {proposal.reference}: your reply",
        body=(
            f"The {count} reviews of your access application {proposal.reference} ({proposal.acronym}) are on its "
            f"page. You may reply to them until {local(application.reply_deadline)}; the access committee reads "
            f"the reply with the reviews.\n"
        ),
    )
    return application


@transaction.atomic
def access_reply_submit(*, application: AccessApplication, reply: str, actor: User) -> AccessApplication:
    application = _locked_application(application)
    proposal = application.proposal
    if proposal.organisation_id != actor.organisation_id or Role.APPLICANT not in actor.roles:
        raise NotPermitted("Only applicant staff of the application's organisation reply to its reviews.")
    if application.reply_deadline is None:
        raise StateConflict(f"The reviews of {proposal} are not released yet.", code="not_released")
    if application.replied_at is not None:
        raise StateConflict(
            f"The reply to the reviews of {proposal} was sent on {local(application.replied_at)}.",
            code="already_replied",
        )
    now = timezone.now()
    if now > application.reply_deadline or proposal.status != S.EVALUATION:
        raise StateConflict(
            f"The reply to the reviews of {proposal} was due by {local(application.reply_deadline)}.",
            code="late",
        )
    reply = (reply or "").strip()
    if not reply:
        raise RuleViolation(
            "Write the reply to the reviews.", code="reply_required", errors={"reply": ["This field may not be blank."]}
        )
    application.reply = reply
    application.replied_at = now
    application.save(update_fields=["reply", "replied_at"])
    audit_record(actor=actor, verb="access.reply", target=proposal, changes={"characters": len(reply)})
    return application


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
        if decision_refusal(application, now=now) or not application.technical.feasible:
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
