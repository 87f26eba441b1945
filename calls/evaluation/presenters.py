"""Reads shared by the evaluation's pages and API: the blind-aware list of reviews, the consensus with its
spread, the evaluation summary report as a download, the cells of the assignment board."""

from dataclasses import dataclass
from datetime import datetime
from html import escape

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils import dateformat, timezone
from django.utils.safestring import SafeString, mark_safe

from calls.evaluation import selectors
from calls.evaluation.scheme import number, scheme_of, tidy
from calls.evaluation.selectors.deadlines import overdue_step
from calls.models import Assignment, Proposal, Review, SummaryReport
from eurohpc.errors import StateConflict


def individual_reviews(*, user, proposal: Proposal) -> list[dict]:
    """The submitted reviews as the user may read them: named for officers, anonymous for evaluators."""
    officer = user.has_perm("calls.view_evaluation")
    rows = []
    for index, review in enumerate(selectors.submitted_reviews(proposal=proposal)):
        evaluator = review.assignment.evaluator
        if officer:
            label = evaluator.display_name
        else:
            label = "You" if evaluator.pk == user.pk else f"Evaluator {chr(ord('A') + index)}"
        rows.append(
            {
                "evaluator": label,
                "submitted_at": review.submitted_at,
                "scores": {s.criterion: number(s.score) for s in review.scores.all()},
                "comments": {s.criterion: s.comment for s in review.scores.all()},
            }
        )
    return rows


def consensus_data(*, proposal: Proposal) -> dict:
    """The consensus so far with the spread of the individual scores."""
    proposal = selectors.proposal_for_consensus(pk=proposal.pk, queryset=Proposal.objects.all())
    scheme = scheme_of(proposal.call)
    reviews = selectors.submitted_reviews(proposal=proposal)
    consensus = getattr(proposal, "consensus", None)
    spread = selectors.consensus_spread(proposal=proposal, scheme=scheme, reviews=reviews)
    return {
        "proposal_id": proposal.pk,
        "recorded": consensus is not None,
        "total": tidy(consensus.total) if consensus else None,
        "max_total": tidy(scheme.max_total),
        "passed_thresholds": consensus.passed_thresholds if consensus else None,
        "scores": {s.code: number(s.consensus) for s in spread if s.consensus is not None},
        "comments": {s.code: s.comment for s in spread if s.comment},
        "reviews_submitted": len(reviews),
        "min_evaluators": scheme.min_evaluators,
        "spread": spread,
    }


def summary_report_response(*, report: SummaryReport) -> FileResponse:
    response = FileResponse(
        report.file.open("rb"), as_attachment=True, filename=report.filename, content_type="application/pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def ready_summary_report(*, proposal: Proposal) -> SummaryReport:
    """The proposal's report when it is ready; 404 without one, 409 while pending or after a failure."""
    report = get_object_or_404(SummaryReport.objects.select_related("proposal"), proposal=proposal)
    if report.status == SummaryReport.Status.PENDING:
        raise StateConflict("The evaluation summary report is being prepared: try again in a few minutes.")
    if report.status == SummaryReport.Status.FAILED:
        raise StateConflict(
            "The evaluation summary report could not be prepared; the programme office renders it again."
        )
    return report


# --- assignment board ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class BoardCell:
    """What one cell of the board shows: a badge (`label`, `badge` class, `title`), an assign button (`pair`,
    "<proposal id>:<evaluator id>") or nothing (a dash)."""

    label: str = ""
    badge: str = ""
    title: str = ""
    pair: str = ""

    @property
    def html(self) -> str:
        """The cell's markup, every value escaped (plain `str.format` with `escape`: this runs for thousands of
        cells a page, where `format_html` would cost several times more)."""
        if self.pair:
            return ASSIGN_CELL.format(pair=escape(self.pair), title=escape(self.title))
        if self.badge:
            title = f' title="{escape(self.title)}"' if self.title else ""
            return BADGE_CELL.format(badge=escape(self.badge), title=title, label=escape(self.label))
        return EMPTY_CELL_HTML


ASSIGN_CELL = (
    '<td class="cell"><button type="submit" form="assign-cell" name="pair" value="{pair}" '
    'class="link-button assign" title="{title}">assign</button></td>'
)
BADGE_CELL = '<td class="cell"><span class="badge {badge}"{title}>{label}</span></td>'
EMPTY_CELL_HTML = '<td class="cell"><span class="muted">—</span></td>'
EMPTY_CELL = BoardCell()


@dataclass
class BoardPageRow:
    row: selectors.BoardRow
    cells: list[BoardCell]

    @property
    def cells_html(self) -> SafeString:
        """The row's cells as one piece of markup: a page has rows × evaluator columns cells, too many to go
        through the template language one by one."""
        return mark_safe("".join(cell.html for cell in self.cells))  # each cell escapes its values


def _day(value: datetime, days: dict) -> str:
    if value not in days:
        days[value] = dateformat.format(timezone.localtime(value), "d M Y")
    return days[value]


CLOSED_LABELS = {
    Assignment.CloseReason.REASSIGNED: "closed — reassigned",
    Assignment.CloseReason.RE_EVALUATION: "closed — re-evaluated",
}


def _assignment_cell(a: Assignment, days: dict, now: datetime) -> BoardCell:
    deadlines = f"declaration due {_day(a.declaration_deadline, days)}, review due {_day(a.deadline, days)}"
    if a.closed_at is not None:
        return BoardCell(
            label=CLOSED_LABELS.get(a.close_reason, "closed"),
            badge="badge-info",
            title=f"{a.get_close_reason_display()} on {_day(a.closed_at, days)}",
        )
    step = overdue_step(a, now)
    if a.declaration == Assignment.Declaration.PENDING:
        title = f"Assigned {_day(a.assigned_at, days)}; {deadlines}"
        if step:
            return BoardCell(label="overdue: declaration", badge="badge-bad", title=title)
        return BoardCell(label="declaration pending", badge="badge-warn", title=title)
    if a.declaration == Assignment.Declaration.CONFLICT:
        return BoardCell(label="recused", badge="badge-bad", title=a.declaration_reason)
    review = getattr(a, "review", None)
    if review is not None and review.status == Review.Status.SUBMITTED:
        return BoardCell(label="submitted", badge="badge-ok")
    if step:
        return BoardCell(label="overdue: review", badge="badge-bad", title=f"Review due {_day(a.deadline, days)}")
    return BoardCell(label="scoring", badge="badge-info", title=f"Review due {_day(a.deadline, days)}")


def board_rows(*, board: selectors.Board, can_manage: bool) -> list[BoardPageRow]:
    """The board's cells, decided once here: the state of each assignment, the detected conflicts, an assign
    button where the officer may assign, a dash elsewhere."""
    days: dict[datetime, str] = {}
    now = timezone.now()
    columns = [(person.pk, person.display_name) for person in board.evaluators]
    rows = []
    for row in board.rows:
        proposal = row.proposal
        assign = can_manage and row.assignable
        cells = []
        for evaluator_id, name in columns:
            a = row.assignments.get(evaluator_id)
            if a is not None:
                a.proposal = proposal  # the row's (its status is loaded): no query per cell
                cells.append(_assignment_cell(a, days, now))
            elif evaluator_id in row.conflicts:
                cells.append(BoardCell(label="conflict", badge="badge-bad", title=row.conflicts[evaluator_id]))
            elif assign:
                cells.append(
                    BoardCell(title=f"Assign {name} to {proposal.reference}", pair=f"{proposal.pk}:{evaluator_id}")
                )
            else:
                cells.append(EMPTY_CELL)
        rows.append(BoardPageRow(row=row, cells=cells))
    return rows
