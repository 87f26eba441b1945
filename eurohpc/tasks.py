from celery import shared_task

from eurohpc.selectors import audit_chain_report
from eurohpc.services import notification_send


@shared_task(name="eurohpc.send_notification", bind=True, max_retries=5, acks_late=True)
def send_notification(self, *, notification_id: int) -> bool:
    try:
        return notification_send(notification_id=notification_id)
    except OSError as exc:  # SMTP unreachable: try again later
        raise self.retry(exc=exc, countdown=60) from exc


@shared_task(name="eurohpc.verify_audit_chain")
def verify_audit_chain() -> dict:
    report = audit_chain_report()
    return {"ok": report.ok, "checked": report.checked, "first_bad_seq": report.first_bad_seq}
