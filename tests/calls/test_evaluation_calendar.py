"""The evaluation calendar counts days in Europe/Luxembourg: a deadline keeps the cut-off's wall-clock time across
the change to summer time."""

from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from calls.evaluation.calendar import assignment_deadlines, consensus_due, days_after, redress_deadline
from calls.models import Call

LUX = ZoneInfo("Europe/Luxembourg")


def test_days_after_keeps_the_wall_clock_time_across_summer_time():
    cut_off = datetime(2027, 3, 20, 17, 0, tzinfo=LUX)  # CET; summer time starts on 28 March 2027
    deadline = days_after(cut_off, 21)
    assert deadline.astimezone(LUX).strftime("%Y-%m-%d %H:%M %Z") == "2027-04-10 17:00 CEST"
    assert (deadline.astimezone(UTC) - cut_off.astimezone(UTC)).total_seconds() == 21 * 86400 - 3600


def test_calendar_deadlines_of_a_cut_off_before_summer_time():
    call = Call(evaluation_calendar={})
    cut_off = SimpleNamespace(closes_at=datetime(2027, 3, 20, 17, 0, tzinfo=LUX))
    now = datetime(2027, 3, 20, 18, 0, tzinfo=LUX)
    declaration, review = assignment_deadlines(call=call, cut_off=cut_off, now=now)
    as_read = [d.astimezone(LUX).strftime("%d %b %Y %H:%M %Z") for d in (declaration, review)]
    assert as_read == ["23 Mar 2027 18:00 CET", "10 Apr 2027 17:00 CEST"]
    assert consensus_due(call=call, cut_off=cut_off).astimezone(LUX).strftime("%d %b %H:%M %Z") == "24 Apr 17:00 CEST"
    notified = datetime(2027, 3, 10, 12, 0, tzinfo=LUX)
    assert redress_deadline(call=call, notified_at=notified).astimezone(LUX).strftime("%d %b %H:%M %Z") == (
        "09 Apr 12:00 CEST"
    )
