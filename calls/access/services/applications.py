"""Access modes, and the applicant's application from draft to eligibility: create, edit, submit, withdraw, the
programme office's eligibility check."""

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from calls.access.checks import access_checks, failures
from calls.access.models import AccessApplication, AccessMode
from calls.access.services._common import S, _hours, _locked_application, _status
from calls.models import Call, CutOff, Proposal
from calls.transitions import proposal_transition
from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.formatting import local
from eurohpc.models import Role, User
from eurohpc.services import audit_record, notification_queue
from hosting.formatting import qty
from hosting.models import Partition

MODES_FILE = Path(__file__).resolve().parent.parent / "data" / "access_modes.json"


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
