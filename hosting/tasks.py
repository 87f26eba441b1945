from celery import shared_task
from django.db import OperationalError

from hosting.services import usage_import_fail, usage_import_run

STOPPED = "The import stopped on an internal error and wrote nothing; upload the file again or tell the administrators."


@shared_task(name="hosting.run_usage_import", bind=True, max_retries=3, acks_late=True)
def run_usage_import(self, *, usage_import_id: int) -> dict | None:
    """Import a queued usage file; a second run of a finished import does nothing."""
    try:
        usage_import = usage_import_run(usage_import_id=usage_import_id)
    except OperationalError as exc:  # database unreachable or a lock timeout: try again later
        if self.request.retries >= self.max_retries:
            usage_import_fail(usage_import_id=usage_import_id, line=None, error=STOPPED)
            raise
        raise self.retry(exc=exc, countdown=30) from exc
    except Exception:
        usage_import_fail(usage_import_id=usage_import_id, line=None, error=STOPPED)
        raise
    if usage_import is None:
        return None
    return {"status": usage_import.status, "imported": usage_import.imported, "line": usage_import.error_line}
