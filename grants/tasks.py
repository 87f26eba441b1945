"""Celery tasks of the grants app: thin, keyed by ids, idempotent."""

from celery import shared_task

from grants.services import RenderError, award_letter_fail, award_letter_render


@shared_task(name="grants.render_award_letter", bind=True, max_retries=3, acks_late=True)
def render_award_letter(self, *, letter_id: int) -> str:
    """Render one award letter version; a ready letter is left as it is.

    A failure is retried (with a worker: later, with back-off; run in-process: at once); after the last
    retry the letter is marked failed with the reason, and a new version can be requested.
    """
    attempt = self.request.retries
    while True:
        try:
            letter = award_letter_render(letter_id=letter_id)
        except RenderError as exc:
            if attempt >= self.max_retries:
                award_letter_fail(letter_id=letter_id, error=str(exc))
                return "failed"
            if not self.request.is_eager:
                raise self.retry(exc=exc, countdown=30 * 2**attempt) from exc
            attempt += 1
            continue
        return letter.status if letter is not None else "missing"
