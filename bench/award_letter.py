"""Award letter rendering against bare WeasyPrint on the same HTML, measured in the same run (goal: ratio <= 1.2).

Two measures, interleaved with the bare one: the render (the letter and its grant read from the database, the
template filled, WeasyPrint) and the whole service that a Celery worker runs (the render, then the SHA-256,
the file stored, the letter marked ready, the audit event and the notification queued, one commit).

Runs on a throw-away test database and a temporary storage folder. The grant it renders is a consistent one
(committed in full against an envelope before its signature, signed by a finance officer), and every letter it
creates is rendered: nothing is left pending. The tasks the service queues go to an in-memory broker, as they go
to Redis in production, instead of running inline (the notification email is a worker's job, not the render's).

    .venv/bin/python bench/award_letter.py
"""

import gc
import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eurohpc.settings")
# The Celery work the service queues (the notification email) goes to a broker, as in production, and is not run
# inside the measured render: an in-memory broker that no worker reads.
os.environ["CELERY_BROKER_URL"] = "memory://"

import django

django.setup()

from django.db import connection
from django.test.utils import override_settings, setup_test_environment

REPEAT = int(os.environ.get("BENCH_REPEAT", "7"))
LUX = ZoneInfo("Europe/Luxembourg")


def build_grant():
    from calls.models import Call, CutOff, Proposal
    from eurohpc.models import Organisation, Role, User, UserRole
    from grants.models import Envelope, Grant, GrantBudgetLine, LedgerEntry

    organisation = Organisation.objects.create(legal_name="CSC - IT Center for Science Ltd.", short_name="CSC",
                                               country="FI", kind="hosting_entity")  # fmt: skip
    user = User.objects.create(username="bench-applicant", organisation=organisation)
    finance = User.objects.create(username="bench-finance")
    UserRole.objects.create(user=finance, role=Role.FINANCE_OFFICER)
    envelope = Envelope.objects.create(code="AIF-2024-2027", name="AI Factories 2024-2027", programme="digital_europe",
                                       period_start=2024, period_end=2027, amount=Decimal("800000000.00"))  # fmt: skip
    start = datetime(2024, 9, 10, 10, tzinfo=LUX)
    call = Call.objects.create(identifier="EUROHPC-2024-CEI-AI-02", title="AI Factories", prong="new_host",
                               opens_at=start)  # fmt: skip
    cut_off = CutOff.objects.create(call=call, closes_at=start + timedelta(days=55))
    proposal = Proposal.objects.create(
        call=call, organisation=organisation, created_by=user, type="new_system", title="LUMI AI Factory",
        acronym="LUMI AIF", status="selected", reference="EUROHPC-2024-CEI-AI-02-0003", submitted_at=start,
        cut_off=cut_off, eligibility_decided_at=start, eligibility_reason="bench",
    )  # fmt: skip
    grant = Grant.objects.create(
        reference="GA-EUROHPC-2024-CEI-AI-02-0003", proposal=proposal, beneficiary=organisation,
        eu_contribution=Decimal("250000000.00"), national_contribution=Decimal("250000000.00"),
        total_cost=Decimal("500000000.00"), co_funding_rate=Decimal("0.5"), mutual_insurance_rate=Decimal("0.05"),
        envelope=envelope, start_date=date(2025, 1, 1), end_date=date(2028, 12, 31), status="signed",
        signed_at=start + timedelta(days=90), signed_by=finance, created_by=finance,
    )  # fmt: skip
    LedgerEntry.objects.create(kind="commitment", amount=grant.eu_contribution, grant=grant, envelope=envelope,
                               actor=finance, created_at=start + timedelta(days=80))  # fmt: skip
    for category, label, eu in (("acquisition", "Acquisition", "200000000.00"),
                                ("operations", "Operations", "40000000.00"),
                                ("activities", "AI Factory activities", "10000000.00")):  # fmt: skip
        GrantBudgetLine.objects.create(grant=grant, category=category, label=label, total_cost=Decimal(eu) * 2,
                                       eu_contribution=Decimal(eu), national_contribution=Decimal(eu))  # fmt: skip
    return grant


def main() -> None:
    from django.utils import timezone
    from weasyprint import HTML

    from eurohpc.pdf import PDF_OPTIONS
    from grants.models import AwardLetter
    from grants.pdf import award_letter_html, award_letter_pdf
    from grants.selectors import award_letter_for_render
    from grants.services import award_letter_render

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    storage = tempfile.TemporaryDirectory()
    storages = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                            "OPTIONS": {"location": storage.name}},
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # fmt: skip
    try:
        with override_settings(STORAGES=storages):
            grant = build_grant()
            letters = [
                AwardLetter.objects.create(grant=grant, version=v, requested_at=timezone.now())
                for v in range(1, REPEAT + 2)  # one for the warm-up, one per repeat
            ]
            html = award_letter_html(letters[0])
            from django.conf import settings

            base_url = str(settings.BASE_DIR)
            award_letter_render(letter_id=letters[-1].pk)  # warm-up: fonts, template cache
            HTML(string=html, base_url=base_url).write_pdf(**PDF_OPTIONS)
            bare, render, service = [], [], []
            for i in range(REPEAT):  # interleaved, so that machine noise hits all alike
                # The garbage one measure leaves is collected before the next starts, not inside it.
                gc.collect()
                t0 = time.perf_counter()
                HTML(string=html, base_url=base_url).write_pdf(**PDF_OPTIONS)
                bare.append(time.perf_counter() - t0)
                gc.collect()
                t0 = time.perf_counter()
                award_letter_pdf(award_letter_for_render(letter_id=letters[i].pk))
                render.append(time.perf_counter() - t0)
                gc.collect()
                t0 = time.perf_counter()
                award_letter_render(letter_id=letters[i].pk)
                service.append(time.perf_counter() - t0)
            size = AwardLetter.objects.get(pk=letters[0].pk).size
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        storage.cleanup()

    bare_ms, render_ms, service_ms = (statistics.median(t) * 1000 for t in (bare, render, service))
    print(f"database: {connection.vendor}; repeats: {REPEAT}; letter: {size:,} bytes")
    print(f"median bare WeasyPrint (same HTML)                   {bare_ms:8.1f} ms")
    print(f"median render (letter read, template, WeasyPrint)    {render_ms:8.1f} ms")
    print(f"median award_letter_render (render, store, audit)    {service_ms:8.1f} ms")
    print(f"ratio render / bare WeasyPrint: {render_ms / bare_ms:.2f} (goal <= 1.2)")
    print(f"ratio whole service / bare WeasyPrint: {service_ms / bare_ms:.2f}")


if __name__ == "__main__":
    main()
