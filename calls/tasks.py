from celery import shared_task

from calls.services import cut_offs_process_due


@shared_task(name="calls.process_cutoffs", acks_late=True)
def process_cutoffs() -> dict[str, int]:
    """Close the batch of every passed cut-off (celery beat runs it every five minutes). Idempotent."""
    return {str(k): v for k, v in cut_offs_process_due().items()}
