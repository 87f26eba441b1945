"""The hosting entity's technical assessment, the release of the reviews and the applicant's right to reply."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from calls.access.checks import request_checks
from calls.access.models import AccessApplication, TechnicalAssessment
from calls.access.services._common import S, _hours, _locked_application, _status
from calls.models import Review
from calls.transitions import proposal_transition
from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.formatting import local
from eurohpc.models import Role, User
from eurohpc.services import audit_record, notification_queue
from hosting.formatting import qty

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
    return Review.objects.filter(
        assignment__proposal_id=application.pk, assignment__closed_at__isnull=True, status=Review.Status.SUBMITTED
    ).count()


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
