"""Award letters: a new version requested once the budget is committed, rendered to PDF by a task, or failed."""

import hashlib

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from eurohpc.errors import StateConflict
from eurohpc.models import User
from eurohpc.pdf import render_failure_reason
from eurohpc.services import audit_record, notification_queue
from grants.models import AwardLetter, Grant
from grants.selectors import award_letter_for_render
from grants.services._common import lock_grant, status_label

LETTER_STATUSES = (Grant.Status.BUDGET_COMMITTED, Grant.Status.SIGNED, Grant.Status.ACTIVE, Grant.Status.CLOSED)


class RenderError(Exception):
    """The award letter could not be rendered; the task retries."""


@transaction.atomic
def award_letter_request(*, grant: Grant, actor: User | None) -> AwardLetter:
    """Queue a new version of the award letter; older versions stay as they are."""
    from grants.tasks import render_award_letter

    grant = lock_grant(grant)
    if grant.status not in LETTER_STATUSES:
        raise StateConflict(
            f"{grant.reference} is {status_label(grant)}: the award letter is issued once the budget is committed.",
            code="letter_not_issuable",
        )
    beneficiary = grant.beneficiary
    if beneficiary.letter_missing:
        raise StateConflict(
            f"The award letter is addressed to {beneficiary.short_name}'s registered address and names its legal "
            f"representative; the organisation register holds no {' and no '.join(beneficiary.letter_missing)} "
            f"for {beneficiary.short_name} yet. An administrator records them first.",
            code="beneficiary_signatory_missing",
        )
    latest = AwardLetter.objects.filter(grant=grant).aggregate(v=Max("version"))["v"] or 0
    letter = AwardLetter.objects.create(
        grant=grant, version=latest + 1, requested_by=actor, requested_at=timezone.now()
    )
    audit_record(actor=actor, verb="award_letter.request", target=grant, changes={"version": letter.version})
    transaction.on_commit(lambda: render_award_letter.delay(letter_id=letter.pk))
    return letter


def _render_letter_pdf(letter: AwardLetter) -> bytes:
    from grants.pdf import award_letter_pdf

    try:
        return award_letter_pdf(letter)
    except Exception as exc:  # WeasyPrint, fonts, templates: any failure is retried by the task
        raise RenderError(render_failure_reason(exc)) from exc


def award_letter_render(*, letter_id: int) -> AwardLetter | None:
    """Render a pending letter to PDF and store it with its SHA-256. Idempotent: a ready letter is kept."""
    letter = award_letter_for_render(letter_id=letter_id)
    if letter is None or letter.status == AwardLetter.Status.READY:
        return letter
    AwardLetter.objects.filter(pk=letter_id).update(attempts=letter.attempts + 1)
    pdf = _render_letter_pdf(letter)  # outside the transaction: rendering takes a while
    digest = hashlib.sha256(pdf).hexdigest()
    with transaction.atomic():
        locked = AwardLetter.objects.select_for_update().get(pk=letter_id)
        if locked.status == AwardLetter.Status.READY:  # another worker finished first
            return locked
        locked.file.save(f"v{locked.version}-{digest[:16]}.pdf", ContentFile(pdf), save=False)
        locked.sha256 = digest
        locked.size = len(pdf)
        locked.status = AwardLetter.Status.READY
        locked.error = ""
        locked.rendered_at = timezone.now()
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError as exc:  # the same bytes twice: cannot happen with distinct versions
            raise RenderError(f"duplicate SHA-256 {digest}") from exc
        audit_record(actor=None, verb="award_letter.ready", target=letter.grant,
                     changes={"version": locked.version, "sha256": digest, "size": len(pdf)})  # fmt: skip
        notification_queue(
            recipient=letter.grant.proposal.created_by,
            subject=f"Award letter {letter.grant.reference} (version {locked.version})",
            body=(
                f"The award letter of grant {letter.grant.reference} is ready on the grant's page.\n"
                f"SHA-256: {digest}\nAnyone can check it at /verify/{digest}/\n"
            ),
        )
    return locked


@transaction.atomic
def award_letter_fail(*, letter_id: int, error: str) -> AwardLetter | None:
    """Mark a letter failed after its last retry, with the reason; a new version can be requested."""
    letter = AwardLetter.objects.select_for_update().select_related("grant").filter(pk=letter_id).first()
    if letter is None or letter.status != AwardLetter.Status.PENDING:
        return letter
    letter.status = AwardLetter.Status.FAILED
    letter.error = error[:2000]
    letter.save(update_fields=["status", "error"])
    audit_record(actor=None, verb="award_letter.fail", target=letter.grant,
                 changes={"version": letter.version, "error": letter.error})  # fmt: skip
    return letter
