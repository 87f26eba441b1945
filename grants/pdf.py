"""The award letter as HTML (a template in templates/grants/) and as PDF (WeasyPrint)."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from eurohpc.pdf import html_to_pdf, qr_svg, verify_address
from grants.schedule import payment_schedule


def award_letter_context(letter) -> dict:
    grant = letter.grant
    proposal = grant.proposal
    address = verify_address()
    return {
        "letter": letter,
        "grant": grant,
        "beneficiary": grant.beneficiary,
        "authorising_officer": {
            "name": settings.GRANTS_AUTHORISING_OFFICER_NAME,
            "function": settings.GRANTS_AUTHORISING_OFFICER_FUNCTION,
        },
        "proposal": proposal,
        "call": proposal.call,
        "cut_off": proposal.cut_off,
        "budget_lines": list(grant.budget_lines.order_by("id")),
        "schedule": payment_schedule(grant),
        "issued_on": timezone.localdate(letter.requested_at),
        "verify_address": address,
        "verify_qr": qr_svg(address),
    }


def award_letter_html(letter) -> str:
    return render_to_string("grants/award_letter.html", award_letter_context(letter))


def award_letter_pdf(letter) -> bytes:
    """The letter rendered: its grant's figures into the template, the HTML into PDF."""
    return html_to_pdf(award_letter_html(letter))
