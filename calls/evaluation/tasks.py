"""Background work of the evaluation: rendering the Evaluation Summary Reports, reminding experts (evaluators and
technical experts) of their deadlines."""

from celery import shared_task

from calls.evaluation.services import (
    RenderError,
    evaluation_reminders_send,
    feasibility_reminders_send,
    summary_report_render,
)


@shared_task(name="calls.render_summary_report", bind=True, max_retries=3, acks_late=True)
def render_summary_report(self, *, report_id: int) -> bool:
    """Idempotent: a report already rendered for its decision is left as it is. After the last retry the
    report stays marked as failed and the programme officer can queue it again."""
    try:
        return summary_report_render(report_id=report_id)
    except RenderError as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=60) from exc
        return False


@shared_task(name="calls.send_evaluation_reminders", acks_late=True)
def send_evaluation_reminders() -> int:
    """Hourly (celery beat). Idempotent: each reminder of an assignment or of a technical assessment is sent once,
    however often this runs or however many workers run it at the same time."""
    return evaluation_reminders_send() + feasibility_reminders_send()
