from celery import shared_task

from eurohpc.identity.services.sessions import user_sessions_forget_ended
from eurohpc.services import audit_chain_verify, notification_send


@shared_task(name="eurohpc.send_notification", bind=True, max_retries=5, acks_late=True)
def send_notification(self, *, notification_id: int) -> bool:
    try:
        return notification_send(notification_id=notification_id)
    except OSError as exc:  # SMTP unreachable: try again later
        raise self.retry(exc=exc, countdown=60) from exc


@shared_task(name="eurohpc.verify_audit_chain")
def verify_audit_chain() -> dict:
    check = audit_chain_verify()
    return {"ok": check.ok, "checked": check.events, "first_bad_seq": check.first_bad_seq}


@shared_task(name="eurohpc.forget_ended_sessions")
def forget_ended_sessions() -> int:
    """Hourly: the profile pages' lists of signed-in sessions lose the sessions that ended on their own."""
    return user_sessions_forget_ended()
