"""HTML to PDF through WeasyPrint, the one place that loads it.

WeasyPrint needs Pango and HarfBuzz from the operating system. Without them the product still starts and
works; rendering a PDF fails with `PdfUnavailable`, whose message says what is missing, and the document
that asked for it is marked failed with that message (instead of a loader traceback).
"""

import segno
from django.conf import settings
from django.utils.safestring import mark_safe

from eurohpc.errors import DomainError

MISSING_LIBRARIES = (
    "PDFs cannot be rendered on this server: WeasyPrint's system libraries (Pango, HarfBuzz) are missing. "
    "An administrator installs them (make system-deps on Debian) and asks for the document again."
)


class PdfUnavailable(DomainError):
    status_code = 503
    default_code = "pdf_unavailable"


def weasyprint_html():
    """WeasyPrint's HTML class; PdfUnavailable when its libraries cannot be loaded."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: cffi could not open libpango / libgobject
        raise PdfUnavailable(MISSING_LIBRARIES) from exc
    return HTML


# Letters and reports are tagged PDF/UA-1: headings, paragraphs and tables are read out in order by a screen
# reader, in the language of the page's <html lang>, under the title of its <title>.
PDF_OPTIONS = {"pdf_variant": "pdf/ua-1"}


def html_to_pdf(html: str) -> bytes:
    return weasyprint_html()(string=html, base_url=str(settings.BASE_DIR)).write_pdf(**PDF_OPTIONS)


def render_failure_reason(exc: Exception) -> str:
    """What a failed rendering tells the officer: the missing libraries as they are, anything else by its class."""
    if isinstance(exc, PdfUnavailable):
        return exc.message
    return f"{exc.__class__.__name__}: {exc}"


def verify_address() -> str:
    """The absolute address of the verification page a letter or report prints (GRANTS_PUBLIC_BASE_URL)."""
    return f"{settings.GRANTS_PUBLIC_BASE_URL.rstrip('/')}/verify/"


def qr_svg(text: str) -> str:
    """A QR code of `text` as inline SVG (segno; no image file, no network)."""
    return mark_safe(segno.make(text, error="m").svg_inline(scale=2, border=0, title=text))  # segno escapes
