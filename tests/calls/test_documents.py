import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from calls.services import document_delete, document_upload
from eurohpc.errors import RuleViolation
from tests.calls.factories import make_call, make_draft, pdf_bytes
from tests.conftest import api_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(applicant):
    return make_draft(call=make_call(), applicant=applicant, documents=False)


def upload(draft, applicant, content: bytes, name: str = "form.pdf"):
    return document_upload(
        proposal=draft, kind="proposal_form", uploaded_file=SimpleUploadedFile(name, content), actor=applicant
    )


def test_document_upload_stores_hash_and_size(draft, applicant):
    import hashlib

    content = pdf_bytes(pages=2)
    document = upload(draft, applicant, content)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size == len(content)
    assert document.file.read() == content


def test_document_upload_refuses_text_renamed_pdf(draft, applicant):
    with pytest.raises(
        RuleViolation, match="Only PDF documents are accepted: the file's content is not a PDF, whatever its name."
    ):
        upload(draft, applicant, b"Hello, I am a text file\n" * 10, "letter.pdf")


def test_document_upload_refuses_empty_file(draft, applicant):
    with pytest.raises(RuleViolation, match="The file is empty: upload a PDF document."):
        upload(draft, applicant, b"")


def test_document_upload_refuses_oversize(draft, applicant, settings):
    settings.MAX_DOCUMENT_BYTES = 1024 * 1024
    content = pdf_bytes() + b"%" + b"0" * (1024 * 1024)
    with pytest.raises(RuleViolation, match=r"The file is 1.0 MB; documents may be at most 1.0 MB."):
        upload(draft, applicant, content)


def test_document_upload_refuses_damaged_pdf(draft, applicant):
    with pytest.raises(RuleViolation, match="The PDF could not be read"):
        upload(draft, applicant, b"%PDF-1.7\n this is not really a pdf \n%%EOF")


def test_document_upload_refused_over_25_mb_through_api(draft, applicant):
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.7\n" + b"0" * (25 * 1024 * 1024), content_type="application/pdf")
    response = api_for(applicant).post(
        f"/api/v1/proposals/{draft.pk}/documents/", {"kind": "proposal_form", "file": big}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "The file is 25.0 MB; documents may be at most 25.0 MB."
    assert draft.documents.count() == 0


def test_document_upload_refuses_unknown_kind(draft, applicant):
    with pytest.raises(RuleViolation, match="Unknown document kind 'cv'"):
        document_upload(
            proposal=draft, kind="cv", uploaded_file=SimpleUploadedFile("a.pdf", pdf_bytes()), actor=applicant
        )


def test_document_delete_removes_file_after_commit(draft, applicant, django_capture_on_commit_callbacks):
    document = upload(draft, applicant, pdf_bytes())
    storage, name = document.file.storage, document.file.name
    with django_capture_on_commit_callbacks(execute=True):
        document_delete(document=document, actor=applicant)
    assert not storage.exists(name)


def test_document_download_served_to_own_organisation_only(draft, applicant, other_applicant):
    document = upload(draft, applicant, pdf_bytes())
    url = f"/api/v1/proposals/{draft.pk}/documents/{document.pk}/"
    own = api_for(applicant).get(url)
    assert own.status_code == 200
    assert own["Content-Type"] == "application/pdf"
    assert b"".join(own.streaming_content).startswith(b"%PDF-")
    assert api_for(other_applicant).get(url).status_code == 404


def test_document_page_download_refused_to_anonymous(client, draft, applicant):
    document = upload(draft, applicant, pdf_bytes())
    response = client.get(f"/proposals/{draft.pk}/documents/{document.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_document_files_are_not_under_a_public_url(draft, applicant, settings):
    document = upload(draft, applicant, pdf_bytes())
    assert str(settings.PRIVATE_STORAGE_ROOT) in document.file.path
    assert not document.file.name.startswith(("static", "media"))
