"""The evaluation calendar of a call (`Call.evaluation_calendar`): the deadlines of an assignment, the
consensus and an evaluation review, counted from the cut-off (or from notification, for a review)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from calls.models import Call, CutOff
from calls.models.calls import DEFAULT_EVALUATION_CALENDAR


@dataclass(frozen=True)
class Calendar:
    declaration_days: int
    review_days: int
    consensus_days: int
    reminder_days_before: int
    replacement_days: int
    redress_days: int

    @property
    def reminder_lead(self) -> timedelta:
        return timedelta(days=self.reminder_days_before)


def days_after(moment: datetime, days: int) -> datetime:
    """`days` calendar days after `moment` at the same wall-clock time in Europe/Luxembourg: a cut-off at 17:00 CET
    gives a deadline at 17:00 CEST across the change to summer time, not at 18:00."""
    return timezone.localtime(moment) + timedelta(days=days)


def calendar_of(call: Call) -> Calendar:
    """The call's calendar; a day count the call's data leaves out takes the programme's default."""
    data = {**DEFAULT_EVALUATION_CALENDAR, **(call.evaluation_calendar or {})}
    return Calendar(**{name: int(data[name]) for name in DEFAULT_EVALUATION_CALENDAR})


def assignment_deadlines(
    *, call: Call, cut_off: CutOff | None, now: datetime, review_deadline: datetime | None = None
) -> tuple[datetime, datetime]:
    """(declaration deadline, review deadline) of an assignment made `now`.

    The review is due `review_days` after the cut-off, but an expert assigned late (a replacement, a
    reassignment, a re-evaluation) gets at least `replacement_days` from now. The declaration is due
    `declaration_days` after the cut-off or the assignment, whichever is later, and never after the review.
    An officer's explicit review deadline replaces the calendar's.
    """
    calendar = calendar_of(call)
    start = cut_off.closes_at if cut_off is not None else now
    if review_deadline is None:
        review_deadline = max(days_after(start, calendar.review_days), days_after(now, calendar.replacement_days))
    declaration = min(days_after(max(start, now), calendar.declaration_days), review_deadline)
    return declaration, review_deadline


def consensus_due(*, call: Call, cut_off: CutOff) -> datetime:
    return days_after(cut_off.closes_at, calendar_of(call).consensus_days)


def redress_deadline(*, call: Call, notified_at: datetime) -> datetime:
    """The last moment an evaluation review may be requested for an outcome notified at `notified_at`."""
    return days_after(notified_at, calendar_of(call).redress_days)
