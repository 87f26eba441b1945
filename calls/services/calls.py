"""Writes of calls and cut-offs."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from calls.models import Call, CutOff, Proposal
from calls.models.calls import default_evaluation_scheme
from calls.transitions import proposals_transition
from eurohpc.errors import RuleViolation, StateConflict
from eurohpc.formatting import local
from eurohpc.models import User
from eurohpc.services import audit_record

DEFAULT_TYPES_BY_PRONG = {
    Call.Prong.EXISTING_HOST: [Proposal.Type.ACTIVITIES],
    Call.Prong.NEW_HOST: [Proposal.Type.NEW_SYSTEM, Proposal.Type.UPGRADE],
    Call.Prong.ANTENNA: [Proposal.Type.ACTIVITIES],
    Call.Prong.ACCESS: [Proposal.Type.ACCESS],
}


def _aware(value: datetime, name: str) -> datetime:
    if timezone.is_naive(value):
        raise RuleViolation(f"{name} must carry a time zone.", code="naive_datetime")
    return value


# --- calls and cut-offs ---------------------------------------------------------------------------


@transaction.atomic
def call_create(
    *,
    identifier: str,
    title: str,
    prong: str,
    opens_at: datetime,
    cut_offs: list[datetime],
    status: str = Call.Status.DRAFT,
    allowed_types: list[str] | None = None,
    description: str = "",
    admits_non_eu_participating_states: bool = False,
    max_eu_contribution: Decimal | None = None,
    indicative_budget: Decimal | None = None,
    evaluation_scheme: dict | None = None,
    is_demo: bool = False,
    actor: User | None,
) -> Call:
    identifier = identifier.strip()
    if not identifier or not title.strip():
        raise RuleViolation("A call needs an identifier and a title.", code="call_incomplete")
    if prong not in Call.Prong.values:
        raise RuleViolation(f"Unknown prong {prong!r}; prongs are {', '.join(Call.Prong.values)}.", code="prong")
    if status not in (Call.Status.DRAFT, Call.Status.OPEN):
        raise RuleViolation("A new call is either a draft or open.", code="call_status")
    _aware(opens_at, "opens_at")
    closes = sorted({_aware(c, "closes_at") for c in cut_offs})
    if len(closes) != len(cut_offs):
        raise RuleViolation("The same cut-off is listed twice.", code="cut_off_duplicate")
    if closes and closes[0] <= opens_at:
        raise RuleViolation(f"Every cut-off must fall after the call opens ({local(opens_at)}).", code="cut_off_order")
    if status == Call.Status.OPEN and not closes:
        raise RuleViolation("An open call needs at least one cut-off.", code="cut_off_missing")
    types = list(allowed_types) if allowed_types else [str(t) for t in DEFAULT_TYPES_BY_PRONG[prong]]
    unknown = [t for t in types if t not in Proposal.Type.values]
    if unknown:
        raise RuleViolation(f"Unknown proposal type(s): {', '.join(unknown)}.", code="proposal_type")
    if Call.objects.filter(identifier=identifier).exists():
        raise StateConflict(f"A call with the identifier {identifier} already exists.", code="call_exists")
    call = Call.objects.create(
        identifier=identifier,
        title=title.strip(),
        prong=prong,
        opens_at=opens_at,
        status=status,
        allowed_types=types,
        description=description,
        admits_non_eu_participating_states=admits_non_eu_participating_states,
        max_eu_contribution=max_eu_contribution,
        indicative_budget=indicative_budget,
        evaluation_scheme=evaluation_scheme or default_evaluation_scheme(),
        is_demo=is_demo,
    )
    CutOff.objects.bulk_create([CutOff(call=call, closes_at=c) for c in closes])
    if prong == Call.Prong.ACCESS:
        from calls.access.services import access_modes_create  # the access modes are data of each access call

        access_modes_create(call=call, actor=actor)
    audit_record(
        actor=actor,
        verb="call.create",
        target=call,
        changes={"status": status, "opens_at": opens_at, "cut_offs": closes, "types": types},
    )
    return call


@transaction.atomic
def call_open(*, call: Call, actor: User | None) -> Call:
    call = Call.objects.select_for_update().get(pk=call.pk)
    if call.status != Call.Status.DRAFT:
        raise StateConflict(
            f"Only a draft call can be opened; {call.identifier} is {call.get_status_display().lower()}."
        )
    if not call.cut_offs.filter(closes_at__gt=timezone.now()).exists():
        raise StateConflict(f"{call.identifier} has no cut-off in the future: add one before opening it.")
    call.status = Call.Status.OPEN
    call.save(update_fields=["status"])
    audit_record(actor=actor, verb="call.open", target=call, changes={"status": "open"})
    return call


@transaction.atomic
def cut_off_add(*, call: Call, closes_at: datetime, actor: User | None) -> CutOff:
    call = Call.objects.select_for_update().get(pk=call.pk)
    _aware(closes_at, "closes_at")
    if call.status == Call.Status.CLOSED:
        raise StateConflict(f"{call.identifier} is closed: no cut-off can be added.")
    if closes_at <= timezone.now():
        raise RuleViolation(
            f"A new cut-off must lie in the future; {local(closes_at)} has passed.", code="cut_off_past"
        )
    if closes_at <= call.opens_at:
        raise RuleViolation(f"A cut-off must fall after the call opens ({local(call.opens_at)}).", code="cut_off_order")
    if call.cut_offs.filter(closes_at=closes_at).exists():
        raise StateConflict(f"{call.identifier} already has a cut-off at {local(closes_at)}.", code="cut_off_exists")
    cut_off = CutOff.objects.create(call=call, closes_at=closes_at)
    audit_record(actor=actor, verb="call.add_cut_off", target=call, changes={"closes_at": closes_at})
    return cut_off


@transaction.atomic
def cut_off_process(*, cut_off: CutOff, actor: User | None = None) -> int:
    """Close the batch of a passed cut-off: its submitted proposals move to eligibility screening.

    Idempotent: a processed cut-off is left as it is. Returns how many proposals moved.
    """
    # In the product's lock order (eurohpc/locking.py): the call, the cut-off, then its proposals.
    call = Call.objects.select_for_update().get(pk=cut_off.call_id)
    cut_off = CutOff.objects.select_for_update(of=("self",)).select_related("call").get(pk=cut_off.pk)
    now = timezone.now()
    if cut_off.processed_at is not None:
        return 0
    if cut_off.closes_at > now:
        raise StateConflict(f"The cut-off of {local(cut_off.closes_at)} has not passed yet.")
    moved = proposals_transition(
        proposals=Proposal.objects.filter(cut_off=cut_off),
        current=Proposal.Status.SUBMITTED,
        to=Proposal.Status.SCREENING,
        updated_at=now,
    )
    cut_off.processed_at = now
    cut_off.save(update_fields=["processed_at"])
    closed = call.status == Call.Status.OPEN and not call.cut_offs.filter(closes_at__gt=now).exists()
    if closed:
        call.status = Call.Status.CLOSED
        call.save(update_fields=["status"])
    audit_record(
        actor=actor,
        verb="cut_off.process",
        target=call,
        changes={"cut_off": cut_off.closes_at, "to_screening": moved, "call_closed": closed},
    )
    return moved


def cut_offs_process_due(*, actor: User | None = None) -> dict[int, int]:
    """Process every cut-off that has passed and is not processed yet, each in its own transaction."""
    due = CutOff.objects.filter(processed_at__isnull=True, closes_at__lte=timezone.now()).order_by("closes_at")
    return {cut_off.pk: cut_off_process(cut_off=cut_off, actor=actor) for cut_off in due}
