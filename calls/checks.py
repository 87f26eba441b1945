"""The programme's rules for a proposal, evaluated without side effects.

The same list refuses a submission (each failure named) and is shown to the programme officer on the
eligibility screen. Rules: Reg. 2021/1173 as amended by 2024/1732 (Art. 9, 12a, 15) and the call's data.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from calls.models import BudgetLine, Document, Proposal
from eurohpc.countries import country_name, is_eu_member_state, is_participating_state
from eurohpc.formatting import eur, percent

# Budget categories each proposal type may use.
CATEGORIES_BY_TYPE = {
    Proposal.Type.NEW_SYSTEM: {"acquisition", "operations", "activities", "experimental_platform"},
    Proposal.Type.UPGRADE: {"acquisition", "operations", "activities", "experimental_platform"},
    Proposal.Type.ACTIVITIES: {"activities", "experimental_platform"},
}


@dataclass(frozen=True)
class Check:
    code: str
    rule: str
    ok: bool
    detail: str


def _years_between(earlier: date, later: date) -> Decimal:
    return Decimal((later - earlier).days) / Decimal("365.25")


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def budget_checks(proposal: Proposal, lines: list[BudgetLine]) -> list[Check]:
    call = proposal.call
    checks = []
    if not lines:
        return [Check("budget_present", "The budget has at least one line", False, "No budget line has been entered.")]
    allowed = CATEGORIES_BY_TYPE[proposal.type]
    for line in lines:
        label = line.get_category_display()
        if line.category not in allowed:
            checks.append(
                Check(
                    "budget_category",
                    f"{label} costs fit the proposal type",
                    False,
                    f"{label} costs are not eligible for this proposal type ({proposal.get_type_display()}).",
                )
            )
        if line.category == BudgetLine.Category.EXPERIMENTAL_PLATFORM and not proposal.experimental_platform:
            checks.append(
                Check(
                    "budget_category",
                    "Experimental platform costs need the platform",
                    False,
                    "Experimental platform costs are entered but the proposal includes no experimental platform.",
                )
            )
        rate = call.funding_rate(line.category)
        cap = (line.total_cost * rate).quantize(Decimal("0.01"))
        ok = line.eu_contribution <= cap
        checks.append(
            Check(
                f"cofunding_{line.category}",
                f"EU contribution to {label.lower()} ≤ {percent(rate)} of its cost",
                ok,
                f"{eur(line.eu_contribution)} requested of {eur(line.total_cost)}; the EU may contribute at most "
                f"{eur(cap)} ({percent(rate)})." + ("" if ok else f" Exceeded by {eur(line.eu_contribution - cap)}."),
            )
        )
    total_eu = sum((line.eu_contribution for line in lines), Decimal("0.00"))
    if call.max_eu_contribution is not None:
        ok = total_eu <= call.max_eu_contribution
        checks.append(
            Check(
                "max_eu_contribution",
                f"EU contribution ≤ {eur(call.max_eu_contribution)} per proposal",
                ok,
                f"{eur(total_eu)} requested in total."
                + ("" if ok else f" Exceeded by {eur(total_eu - call.max_eu_contribution)}."),
            )
        )
    return checks


def location_check(proposal: Proposal) -> Check:
    call = proposal.call
    if proposal.type == Proposal.Type.NEW_SYSTEM:
        country = proposal.planned_machine_country
    else:
        country = proposal.machine.country if proposal.machine else ""
    if not country:
        return Check(
            "machine_country",
            "The machine's country is known",
            False,
            "Choose the machine concerned (or, for a new system, the country where it will be sited).",
        )
    if call.admits_non_eu_participating_states:
        ok = is_participating_state(country)
        return Check(
            "machine_country",
            "The machine sits in a EuroHPC Participating State",
            ok,
            f"{country_name(country)} is {'' if ok else 'not '}a Participating State of the EuroHPC JU.",
        )
    ok = is_eu_member_state(country)
    return Check(
        "machine_country",
        "The machine sits in an EU Member State (Article 9 of Regulation (EU) 2021/1173)",
        ok,
        f"{country_name(country)} is {'' if ok else 'not '}an EU Member State.",
    )


def machine_checks(proposal: Proposal, *, at: datetime) -> list[Check]:
    machine = proposal.machine
    if proposal.type == Proposal.Type.NEW_SYSTEM:
        ok = bool(proposal.planned_machine_name.strip())
        return [
            Check(
                "planned_machine",
                "The new system is named",
                ok,
                "Named " + proposal.planned_machine_name if ok else "Give the planned machine a working name.",
            )
        ]
    if machine is None:
        return [Check("machine", "The machine concerned is chosen", False, "Choose the EuroHPC machine concerned.")]
    hosted = machine.is_eurohpc and machine.hosting_entity_id == proposal.organisation_id
    checks = [
        Check(
            "machine_hosted",
            "The applicant hosts the EuroHPC machine concerned",
            hosted,
            f"{machine.name} is {'' if machine.is_eurohpc else 'not '}a EuroHPC machine hosted by "
            f"{machine.hosting_entity.short_name}.",
        )
    ]
    if proposal.type == Proposal.Type.ACTIVITIES:
        checks.append(
            Check(
                "machine_ai_capable",
                "The host's machine can train large-scale AI models",
                machine.ai_capable,
                f"{machine.name} is {'' if machine.ai_capable else 'not '}AI-capable.",
            )
        )
    if proposal.type == Proposal.Type.UPGRADE:
        day = timezone.localdate(at)
        if machine.selected_on is None:
            checks.append(
                Check(
                    "upgrade_window",
                    "Upgrade asked 1–3 years after the machine's selection (Article 12a of Regulation (EU) 2021/1173)",
                    False,
                    f"{machine.name} has no recorded selection date.",
                )
            )
        else:
            earliest, latest = add_years(machine.selected_on, 1), add_years(machine.selected_on, 3)
            ok = earliest <= day <= latest
            checks.append(
                Check(
                    "upgrade_window",
                    "Upgrade asked 1–3 years after the machine's selection (Article 12a of Regulation (EU) 2021/1173)",
                    ok,
                    f"{machine.name} was selected on {machine.selected_on:%d %b %Y}; an upgrade may be asked from "
                    f"{earliest:%d %b %Y} to {latest:%d %b %Y}, and this is {day:%d %b %Y}.",
                )
            )
        ok = machine.ai_upgrade_selected_on is None
        checks.append(
            Check(
                "upgrade_once",
                "A machine is upgraded once",
                ok,
                f"{machine.name} "
                + (
                    "has not been upgraded before."
                    if ok
                    else f"already had an AI upgrade selected on {machine.ai_upgrade_selected_on:%d %b %Y}."
                ),
            )
        )
    return checks


def document_checks(proposal: Proposal, documents: list[Document], has_members: bool) -> list[Check]:
    kinds = {doc.kind for doc in documents}
    required = [(Document.Kind.PROPOSAL_FORM, "every proposal")]
    if proposal.type == Proposal.Type.UPGRADE:
        required.append(
            (Document.Kind.MS_COMMITMENT_LETTER, "an upgrade (the Member State's commitment to the non-EU share)")
        )
    if has_members:
        required.append((Document.Kind.CONSORTIUM_AGREEMENT, "a proposal with consortium members"))
    return [
        Check(
            f"document_{kind}",
            f"{kind.label} attached",
            kind in kinds,
            f"{kind.label} {'attached' if kind in kinds else 'missing'}: required for {why}.",
        )
        for kind, why in required
    ]


def proposal_checks(proposal: Proposal, *, at: datetime | None = None) -> list[Check]:
    """Every rule, passed or not. Uses prefetched lines, members and documents when present."""
    at = at or proposal.submitted_at or timezone.now()
    lines = list(proposal.budget_lines.all())
    documents = list(proposal.documents.all())
    has_members = bool(list(proposal.consortium_members.all()))
    described = bool(proposal.title.strip() and proposal.acronym.strip() and proposal.abstract.strip())
    checks = [
        Check(
            "type_allowed",
            "The call accepts this proposal type",
            proposal.type in proposal.call.allowed_types,
            f"{proposal.call.identifier} accepts: "
            + "; ".join(Proposal.Type(t).label for t in proposal.call.allowed_types)
            + ".",
        ),
        Check(
            "described",
            "Title, acronym and abstract are given",
            described,
            "Given." if described else "Give the proposal a title, an acronym and an abstract.",
        ),
    ]
    checks += machine_checks(proposal, at=at)
    checks.append(location_check(proposal))
    checks += budget_checks(proposal, lines)
    checks += document_checks(proposal, documents, has_members)
    return checks


def failures(checks: list[Check]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for check in checks:
        if not check.ok:
            found.setdefault(check.code, []).append(f"{check.rule}: {check.detail}")
    return found
