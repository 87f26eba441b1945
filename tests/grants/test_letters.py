"""Award letters: rendered to PDF by a Celery task, stored with SHA-256 and a version, verifiable in public."""

import hashlib
import io
import sys
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils.html import escape
from pypdf import PdfReader

from eurohpc.pdf import MISSING_LIBRARIES
from grants.models import AwardLetter
from grants.services import RenderError, award_letter_render, award_letter_request
from grants.tasks import render_award_letter
from tests.grants.factories import make_signed

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(tree, grant, finance_officer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        make_signed(grant, tree[1], actor=finance_officer)
    return grant


LUX = ZoneInfo("Europe/Luxembourg")


def pdf_text(letter: AwardLetter) -> str:
    with letter.file.open("rb") as handle:
        data = handle.read()
    assert hashlib.sha256(data).hexdigest() == letter.sha256
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_award_letter_pdf_contains_reference_amount_and_parties(signed):
    letter = AwardLetter.objects.get(grant=signed)
    assert letter.status == AwardLetter.Status.READY
    assert letter.size > 1000
    text = " ".join(pdf_text(letter).split())
    assert signed.reference in text
    assert "EUR 140,000,000.00" in text
    assert signed.beneficiary.legal_name in text
    assert signed.proposal.call.identifier in text
    assert "Pre-financing" in text and "Final payment" in text
    assert "50%" in text  # co-funding


def test_award_letter_prints_the_absolute_verification_address_with_a_qr_code_and_the_redress(signed, settings):
    from grants.pdf import award_letter_html

    settings.GRANTS_PUBLIC_BASE_URL = "https://aif-grants.example.eu/"
    letter = AwardLetter.objects.get(grant=signed)
    html = award_letter_html(letter)
    assert "upload this PDF file at <strong>https://aif-grants.example.eu/verify/</strong>" in html
    assert '<svg width="' in html and "<title>https://aif-grants.example.eu/verify/</title><path" in html
    assert "before the General Court of the European Union within two months" in html
    assert html.count('font-family: "DejaVu Sans", sans-serif') == 3  # the body and both margin boxes


def assert_tagged_for_accessibility(data: bytes, title: str) -> None:
    """A tagged PDF (PDF/UA-1): a structure tree, marked content, the language and the title."""
    reader = PdfReader(io.BytesIO(data))
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "en"
    assert reader.metadata.title == title


def test_award_letter_pdf_is_tagged_for_accessibility(signed):
    letter = AwardLetter.objects.get(grant=signed)
    with letter.file.open("rb") as handle:
        assert_tagged_for_accessibility(handle.read(), f"Award letter {signed.reference}")


def test_regenerating_keeps_the_old_version(signed, finance_officer, django_capture_on_commit_callbacks):
    first = AwardLetter.objects.get(grant=signed)
    with django_capture_on_commit_callbacks(execute=True):
        award_letter_request(grant=signed, actor=finance_officer)
    letters = list(AwardLetter.objects.filter(grant=signed).order_by("version"))
    assert [(letter.version, letter.status) for letter in letters] == [(1, "ready"), (2, "ready")]
    assert letters[0].sha256 == first.sha256
    assert letters[0].file.storage.exists(letters[0].file.name)
    assert letters[1].sha256 != first.sha256
    assert "Letter version 2" in pdf_text(letters[1])


def test_render_is_idempotent(signed):
    letter = AwardLetter.objects.get(grant=signed)
    again = award_letter_render(letter_id=letter.pk)
    assert (again.sha256, again.file.name, again.attempts) == (letter.sha256, letter.file.name, letter.attempts)


def test_render_failure_is_retried_then_marked_failed(signed, finance_officer, monkeypatch):
    calls = []

    def broken(letter):
        calls.append(letter.pk)
        raise RenderError("OSError: no fonts")

    monkeypatch.setattr("grants.services.letters._render_letter_pdf", broken)
    letter = award_letter_request(grant=signed, actor=finance_officer)  # on_commit not run: call the task
    result = render_award_letter.apply(kwargs={"letter_id": letter.pk}).get()
    letter.refresh_from_db()
    assert result == "failed"
    assert len(calls) == render_award_letter.max_retries + 1
    assert (letter.status, letter.error) == ("failed", "OSError: no fonts")
    assert letter.attempts == render_award_letter.max_retries + 1


def test_retry_after_a_transient_failure_succeeds(signed, finance_officer, monkeypatch):
    from grants.services import letters

    real = letters._render_letter_pdf
    failures = iter([True])

    def flaky(letter):
        if next(failures, False):
            raise RenderError("OSError: temporarily unavailable")
        return real(letter)

    monkeypatch.setattr("grants.services.letters._render_letter_pdf", flaky)
    letter = award_letter_request(grant=signed, actor=finance_officer)
    assert render_award_letter.apply(kwargs={"letter_id": letter.pk}).get() == "ready"
    letter.refresh_from_db()
    assert (letter.status, letter.attempts) == ("ready", 2)


def test_letter_refused_before_the_budget_commitment(grant, finance_officer):
    from eurohpc.errors import StateConflict

    with pytest.raises(StateConflict) as refusal:
        award_letter_request(grant=grant, actor=finance_officer)
    assert refusal.value.message == (
        f"{grant.reference} is prepared: the award letter is issued once the budget is committed."
    )


def test_verify_page_for_a_known_hash(client, signed):
    letter = AwardLetter.objects.get(grant=signed)
    response = client.get(f"/verify/{letter.sha256}/")
    body = " ".join(response.content.decode().split())
    assert response.status_code == 200
    assert "Authentic." in body
    assert signed.beneficiary.legal_name in body
    assert signed.reference in body
    assert "(the latest)" in body
    # The date the letter itself bears, not the moment a worker rendered it.
    assert f"<dt>Issued on</dt><dd>{letter.requested_at.astimezone(LUX):%-d %B %Y}</dd>" in body


def test_verify_page_for_an_unknown_hash(client, db):
    response = client.get(f"/verify/{'0' * 64}/")
    assert response.status_code == 404
    assert "No award letter or Evaluation Summary Report with this fingerprint was issued" in response.content.decode()


def test_verify_page_marks_a_superseded_version(client, signed, finance_officer, django_capture_on_commit_callbacks):
    first = AwardLetter.objects.get(grant=signed)
    with django_capture_on_commit_callbacks(execute=True):
        award_letter_request(grant=signed, actor=finance_officer)
    body = client.get(f"/verify/{first.sha256}/").content.decode()
    assert "superseded: version 2 is the latest" in body


def test_verify_by_upload_computes_the_hash(client, signed):
    letter = AwardLetter.objects.get(grant=signed)
    with letter.file.open("rb") as handle:
        response = client.post("/verify/", {"file": handle})
    assert response.status_code == 302
    assert response["Location"] == f"/verify/{letter.sha256}/"


def test_pending_letter_is_not_verifiable(signed, finance_officer, client):
    letter = award_letter_request(grant=signed, actor=finance_officer)  # on_commit not run: stays pending
    assert letter.status == "pending"
    assert AwardLetter.objects.filter(grant=signed).count() == 2
    assert Decimal(signed.eu_contribution) == Decimal("140000000.00")


def test_letter_download_page_for_applicant_only(client, signed, applicant, other_applicant):
    letter = AwardLetter.objects.get(grant=signed)
    client.force_login(applicant)
    response = client.get(f"/grants/{signed.pk}/award-letters/1/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-SHA256"] == letter.sha256
    client.force_login(other_applicant)
    assert client.get(f"/grants/{signed.pk}/award-letters/1/").status_code == 404


def test_letter_without_weasyprint_libraries_fails_with_the_reason(
    client, signed, finance_officer, monkeypatch, django_capture_on_commit_callbacks
):
    # A missing Pango makes `import weasyprint` raise; None in sys.modules makes it raise here alike.
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    with django_capture_on_commit_callbacks(execute=True):
        letter = award_letter_request(grant=signed, actor=finance_officer)
    letter.refresh_from_db()
    assert (letter.status, letter.error) == ("failed", MISSING_LIBRARIES)
    client.force_login(finance_officer)
    page = client.get(f"/grants/{signed.pk}/")
    assert page.status_code == 200
    assert escape(MISSING_LIBRARIES) in page.content.decode()


def test_award_letter_is_addressed_to_the_named_representative_and_signed_by_name(signed, settings):
    from grants.pdf import award_letter_html

    settings.GRANTS_AUTHORISING_OFFICER_NAME = "Anders Dam Jensen"
    settings.GRANTS_AUTHORISING_OFFICER_FUNCTION = "Executive Director"
    beneficiary = signed.beneficiary
    html = award_letter_html(AwardLetter.objects.get(grant=signed))
    assert f"For the attention of {beneficiary.representative_name}, Director<br>" in html
    assert "1, rue de l&#x27;Exemple<br>L-1855 Luxembourg<br>Luxembourg<br>" in html
    assert f"<p>Dear {beneficiary.representative_name},</p>" in html
    assert "Anders Dam Jensen<br>Executive Director, authorising officer" in html
    assert f"{beneficiary.representative_name}<br>Director</div>" in html
    assert "Digital Europe programme, budget line <strong>AIF-2024</strong>" in html


def test_award_letter_pdf_names_address_and_signatories(signed):
    text = " ".join(pdf_text(AwardLetter.objects.get(grant=signed)).split())
    assert f"Dear {signed.beneficiary.representative_name}," in text
    assert "L-1855 Luxembourg" in text
    assert "authorising officer" in text
