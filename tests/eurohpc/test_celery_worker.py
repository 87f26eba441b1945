"""A real Celery worker, consuming from the configured broker (Redis in CI), runs a task end to end."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.db import transaction

from eurohpc.celery import app as celery_app
from eurohpc.models import Notification
from eurohpc.services import notification_queue
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(not settings.CELERY_BROKER_URL, reason="needs CELERY_BROKER_URL (Redis)"),
]


@pytest.mark.django_db(transaction=True)
def test_notification_sent_by_real_worker():
    celery_app.conf.task_always_eager = False
    user = UserFactory(email="aino@example.org")
    with start_worker(celery_app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=30):
        with transaction.atomic():
            notification = notification_queue(recipient=user, subject="Receipt", body="Proposal received.")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            notification.refresh_from_db()
            if notification.sent_at is not None:
                break
            time.sleep(0.1)
    assert Notification.objects.get(pk=notification.pk).sent_at is not None
    assert [m.subject for m in mail.outbox] == ["Receipt"]
    assert mail.outbox[0].to == ["aino@example.org"]


@pytest.mark.django_db
def test_notification_send_twice_sends_once(django_capture_on_commit_callbacks):
    from eurohpc.services import notification_send

    user = UserFactory(email="aino@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        notification = notification_queue(recipient=user, subject="Receipt", body="x")
    assert notification_send(notification_id=notification.pk) is False
    assert len(mail.outbox) == 1
