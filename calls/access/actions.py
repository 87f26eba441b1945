"""Which actions on an access application are open to a user now: the application page renders its buttons from
here and the API lists them (`actions`), so no page offers what the service would refuse.

Each answer uses the permission the view checks and the state rule of the service (calls/access/services.py).
"""

from django.utils import timezone

from calls.access.models import AccessApplication
from calls.access.services import decision_refusal
from calls.models import Call, CutOff, Proposal

S = Proposal.Status

# In the order the page shows them.
ACCESS_ACTIONS = (
    "edit",
    "submit",
    "withdraw",
    "record_eligibility",
    "assess",
    "assign_reviewer",
    "release_reviews",
    "reply",
    "decide",
    "final_report",
)


def _takes_submissions(application: AccessApplication, now) -> bool:
    call = application.proposal.call
    if call.status != Call.Status.OPEN or call.opens_at > now:
        return False
    if not application.mode.is_reviewed:
        return True
    return CutOff.objects.filter(call_id=call.pk, closes_at__gt=now, processed_at__isnull=True).exists()


def application_actions(*, application: AccessApplication, user) -> list[str]:
    """The actions `user` may take on `application` now. Reads `reviews_submitted` when the selector annotated it."""
    now = timezone.now()
    proposal = application.proposal
    status, cut_off = proposal.status, proposal.cut_off
    technical = getattr(application, "technical", None) if _has_technical(application) else None
    mode = application.mode
    project = application.project if application.project_id else None

    def reviews() -> int:
        if hasattr(application, "reviews_submitted"):
            return application.reviews_submitted
        from calls.access.services import submitted_reviews

        return submitted_reviews(application)

    open_now = {
        "edit": lambda: status == S.DRAFT and user.has_perm("calls.change_access", application),
        "submit": lambda: (
            status == S.DRAFT
            and user.has_perm("calls.change_access", application)
            and _takes_submissions(application, now)
        ),
        "withdraw": lambda: (
            status == S.SUBMITTED
            and (cut_off is None or cut_off.closes_at > now)
            and user.has_perm("calls.change_access", application)
        ),
        "record_eligibility": lambda: (
            user.has_perm("calls.record_access_eligibility", application)
            and status in (S.SUBMITTED, S.SCREENING, S.ELIGIBLE, S.INELIGIBLE)
            and (cut_off is None or cut_off.closes_at <= now)
            and not (status == S.ELIGIBLE and technical is not None)
        ),
        "assess": lambda: (
            status == S.ELIGIBLE and technical is None and user.has_perm("calls.assess_access", application)
        ),
        "assign_reviewer": lambda: (
            mode.is_reviewed
            and status in (S.ELIGIBLE, S.EVALUATION)
            and technical is not None
            and technical.feasible
            and application.reply_deadline is None
            and user.has_perm("calls.decide_access", application)
        ),
        "release_reviews": lambda: (
            mode.is_reviewed
            and status == S.EVALUATION
            and application.reply_deadline is None
            and user.has_perm("calls.decide_access", application)
            and reviews() >= mode.reviews_required
        ),
        "reply": lambda: (
            status == S.EVALUATION
            and application.reply_deadline is not None
            and application.replied_at is None
            and now <= application.reply_deadline
            and user.has_perm("calls.reply_access", application)
        ),
        "decide": lambda: (
            user.has_perm("calls.decide_access", application) and decision_refusal(application, now=now) is None
        ),
        "final_report": lambda: (
            project is not None
            and application.final_report_at is None
            and timezone.localdate() >= project.ends_on.replace(day=1)
            and user.has_perm("calls.report_access", application)
        ),
    }
    return [name for name in ACCESS_ACTIONS if open_now[name]()]


def _has_technical(application: AccessApplication) -> bool:
    try:
        application.technical  # noqa: B018  (select_related or one query)
    except AccessApplication.technical.RelatedObjectDoesNotExist:
        return False
    return True
