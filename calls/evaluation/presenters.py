"""Reads shared by the evaluation's pages and API: the blind-aware list of reviews, the consensus with its
spread, the evaluation summary report as a download."""

from django.http import FileResponse
from django.shortcuts import get_object_or_404

from calls.evaluation import selectors
from calls.evaluation.scheme import number, scheme_of, tidy
from calls.models import Proposal, SummaryReport
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
