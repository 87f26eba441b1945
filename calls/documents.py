"""Checks that an uploaded file is a real PDF, by its content: magic bytes and a parse."""

import hashlib
import logging

from django.conf import settings
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from eurohpc.errors import RuleViolation
from eurohpc.formatting import human_size

logging.getLogger("pypdf").setLevel(logging.ERROR)


def inspect_pdf(uploaded) -> tuple[str, int]:
    """Return (sha256, size) of a valid PDF; refuse anything else with the rule it breaks."""
    size = uploaded.size
    limit = settings.MAX_DOCUMENT_BYTES
    if size == 0:
        raise RuleViolation("The file is empty: upload a PDF document.", code="document_empty")
    if size > limit:
        raise RuleViolation(
            f"The file is {human_size(size)}; documents may be at most {human_size(limit)}.", code="document_too_large"
        )
    uploaded.seek(0)
    if uploaded.read(5) != b"%PDF-":
        raise RuleViolation(
            "Only PDF documents are accepted: the file's content is not a PDF, whatever its name.",
            code="document_not_pdf",
        )
    uploaded.seek(0)
    try:
        reader = PdfReader(uploaded, strict=False)
        if reader.is_encrypted:
            raise RuleViolation("Encrypted PDF documents are not accepted: upload it without a password.",
                                code="document_encrypted")  # fmt: skip
        pages = len(reader.pages)
    except RuleViolation:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, IndexError, AttributeError) as exc:
        raise RuleViolation(f"The PDF could not be read ({exc.__class__.__name__}): it is damaged or not a PDF.",
                            code="document_unreadable") from exc  # fmt: skip
    if pages < 1:
        raise RuleViolation("The PDF has no pages.", code="document_unreadable")
    digest = hashlib.sha256()
    uploaded.seek(0)
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest(), size
