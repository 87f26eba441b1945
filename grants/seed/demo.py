"""Demo data of the budget: the programme's envelopes, and the selected AI Factories as grants.

Envelopes come from eurohpc/data/programme.json (AIF-2024-2027 EUR 800M ⊃ AIF-2024 EUR 400M); a 2025
envelope is added and marked illustrative. Each selected proposal with an EU contribution becomes a grant
through the services, replayed at plausible dates after its selection: committed against AIF-2024 while it
fits (else the 2025 envelope), waves 1 and 2 signed and pre-financed, wave 1 with an interim payment, wave 3
committed and awaiting signature. Idempotent: what exists is left alone.
"""

import contextlib
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from calls.models import Call, Proposal
from eurohpc.models import User
from eurohpc.seed.demo import programme_data, replayed_at
from grants.models import AwardLetter, Envelope, Grant
from grants.selectors import envelope_available
from grants.services import (
    RenderError,
    award_letter_render,
    call_funding_set,
    commitment_create,
    envelope_create,
    grant_create_from_proposal,
    grant_sign,
    payment_record,
)

LUX = ZoneInfo("Europe/Luxembourg")
ILLUSTRATIVE_ENVELOPES = [
    {
        "code": "AIF-2025",
        "name": "AI supercomputers, EU contribution 2025 (illustrative)",
        "programme": "Digital Europe",
        "amount": "400000000.00",
        "parent": "AIF-2024-2027",
        "period": (2025, 2025),
    },
]
PROGRAMMES = {"Digital Europe": "digital_europe", "Horizon Europe": "horizon_europe"}
CEI_CALLS = ["EUROHPC-2024-CEI-AI-01", "EUROHPC-2024-CEI-AI-02"]


def _period(code: str) -> tuple[int, int]:
    years = [int(part) for part in code.split("-") if part.isdigit() and len(part) == 4]
    return (years[0], years[-1]) if years else (2024, 2027)


def seed_envelopes(*, actor: User | None, out) -> dict[str, Envelope]:
    existing = {e.code: e for e in Envelope.objects.all()}
    created = 0
    rows = [{**row, "period": _period(row["code"])} for row in programme_data()["envelopes"]] + ILLUSTRATIVE_ENVELOPES
    for row in rows:
        if row["code"] in existing:
            continue
        # Opened on 1 January of the first budget year, before the replayed commitments against it.
        with replayed_at(datetime(row["period"][0], 1, 1, tzinfo=LUX)):
            existing[row["code"]] = envelope_create(
                code=row["code"],
                name=row["name"],
                programme=PROGRAMMES[row["programme"]],
                period_start=row["period"][0],
                period_end=row["period"][1],
                amount=Decimal(row["amount"]),
                parent=existing.get(row["parent"]) if row.get("parent") else None,
                is_illustrative=row in ILLUSTRATIVE_ENVELOPES,
                actor=actor,
            )
        created += 1
    out(f"envelopes: {created} created, {len(existing) - created} already there")
    return existing


def _at(day: date, days: int, hour: int = 11) -> datetime:
    return datetime.combine(day + timedelta(days=days), time(hour, 0), tzinfo=LUX)


def _selected_on(proposal: Proposal, published: dict[str, str]) -> date:
    """The published selection date of an AI Factory, else the day the proposal was last changed."""
    if proposal.acronym in published:
        return date.fromisoformat(published[proposal.acronym])
    return timezone.localdate(proposal.updated_at)


def seed_grants(*, envelopes: dict[str, Envelope], actor: User | None, out) -> None:
    proposals = list(
        Proposal.objects.filter(status=Proposal.Status.SELECTED, grant__isnull=True)
        .select_related("call")
        .prefetch_related("budget_lines")
        .order_by("reference")
    )
    proposals = [p for p in proposals if sum(line.eu_contribution for line in p.budget_lines.all()) > 0]
    if not proposals:
        out(f"grants: none to create ({Grant.objects.count()} already there)")
        return
    published = {factory["name"]: factory["selected"] for factory in programme_data()["ai_factories"]}
    waves = {factory["name"]: factory["wave"] for factory in programme_data()["ai_factories"]}
    now = timezone.now()
    made = signed = 0
    for proposal in sorted(proposals, key=lambda p: (_selected_on(p, published), p.reference)):
        selected = _selected_on(proposal, published)
        steps = {"prepare": _at(selected, 30), "commit": _at(selected, 35), "sign": _at(selected, 80),
                 "prefinancing": _at(selected, 100), "interim": _at(selected, 300)}  # fmt: skip
        if steps["commit"] > now:
            continue  # selected too recently for the replay: left for the finance officer
        with replayed_at(steps["prepare"]):
            grant = grant_create_from_proposal(proposal=proposal, actor=actor)
        made += 1
        target = envelopes["AIF-2024"] if selected.year == 2024 else envelopes["AIF-2025"]
        with replayed_at(steps["commit"]):
            if envelope_available(target) < grant.eu_contribution:
                target = envelopes["AIF-2025"]
            if envelope_available(target) < grant.eu_contribution:
                out(f"  {grant.reference}: no envelope has room for {grant.eu_contribution}, left prepared")
                continue
            commitment_create(grant=grant, envelope=target, amount=grant.eu_contribution, actor=actor,
                              memo="Demo: budget commitment of the full EU contribution.")  # fmt: skip
        wave = waves.get(proposal.acronym)
        if steps["sign"] > now or wave not in (1, 2):
            continue  # the latest wave waits for its signature: work for the finance officer
        with replayed_at(steps["sign"]):
            grant_sign(grant=grant, actor=actor)
            # The letter is rendered the day of the signature, as the worker would have then; a failure is
            # recorded on the letter and the queued task tries again.
            pending = AwardLetter.objects.filter(grant=grant, status=AwardLetter.Status.PENDING)
            for letter in pending.order_by("grant_id", "-version"):
                with contextlib.suppress(RenderError):
                    award_letter_render(letter_id=letter.pk)
        signed += 1
        if steps["prefinancing"] <= now:
            with replayed_at(steps["prefinancing"]):
                payment_record(grant=grant, kind="prefinancing", actor=actor,
                               amount=(grant.eu_contribution * Decimal("0.40")).quantize(Decimal("0.01")))  # fmt: skip
        if steps["interim"] <= now and wave == 1:
            with replayed_at(steps["interim"]):
                payment_record(grant=grant, kind="interim", actor=actor,
                               amount=(grant.eu_contribution * Decimal("0.25")).quantize(Decimal("0.01")))  # fmt: skip
    out(f"grants: {made} created from selected proposals, {signed} signed (award letters rendered after commit)")


def seed_call_funding(*, envelopes: dict[str, Envelope], actor: User | None, out) -> None:
    linked = 0
    for call in Call.objects.filter(identifier__in=CEI_CALLS, funding__isnull=True).order_by("-opens_at", "identifier"):
        call_funding_set(call=call, envelope=envelopes["AIF-2024-2027"], actor=actor)
        linked += 1
    out(f"call funding: {linked} call(s) linked to AIF-2024-2027")


def seed(*, out) -> None:
    actor = User.objects.filter(username="finance").first()
    envelopes = seed_envelopes(actor=actor, out=out)
    seed_grants(envelopes=envelopes, actor=actor, out=out)
    seed_call_funding(envelopes=envelopes, actor=actor, out=out)
