"""Demo data of calls and proposals.

The real CEI calls (closed on 31 Dec 2025) and the Antennas call are kept with their cut-offs, and the
selected AI Factories are recorded as their history. An open follow-on call, clearly labelled as demo data,
gets cut-offs computed from the day of seeding: its first cut-off has just passed (a batch in screening and
eligibility) and the next ones lie ahead, so a new user can walk the applicant's journey at once. The demo
journeys run through the real services, replayed at the times they would have happened.
"""

import io
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pypdf import PdfWriter

from calls import services
from calls.checks import add_years
from calls.models import Call, Proposal
from eurohpc.models import User
from eurohpc.seed.demo import organisation_by_alias, programme_data, replayed_at
from hosting.models import Machine

LUX = ZoneInfo("Europe/Luxembourg")
DEMO_CALL = "EUROHPC-DEMO-AIF-2026"


def _at(day: str, hour: int = 17) -> datetime:
    return datetime.combine(datetime.fromisoformat(day).date(), time(hour, 0), tzinfo=LUX)


def _pdf(name: str) -> SimpleUploadedFile:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": name})
    buffer = io.BytesIO()
    writer.write(buffer)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/pdf")


def _split(eu: str | None = None, total: str | None = None, national: str | None = None) -> list[dict]:
    """A single line where the public figures give the EU share or the total (co-funded 50/50)."""
    if eu:
        eu_d = Decimal(eu)
        return [
            {"category": "acquisition", "total_cost": eu_d * 2, "eu_contribution": eu_d, "national_contribution": eu_d}
        ]
    if total:
        half = (Decimal(total) / 2).quantize(Decimal("0.01"))
        return [
            {
                "category": "acquisition",
                "total_cost": Decimal(total),
                "eu_contribution": half,
                "national_contribution": Decimal(total) - half,
            }
        ]
    if national:
        n = Decimal(national)
        return [{"category": "acquisition", "total_cost": n * 2, "eu_contribution": n, "national_contribution": n}]
    return []


# What the demo records for an AI Factory whose budget the JU did not publish: small enough that every
# selection still fits the EUR 800M envelope beside the published figures.
ILLUSTRATIVE_EU_CONTRIBUTION = Decimal("1500000.00")


def _illustrative_budget(kind: str) -> list[dict]:
    category = "activities" if kind == Proposal.Type.ACTIVITIES else "acquisition"
    eu = ILLUSTRATIVE_EU_CONTRIBUTION
    return [{"category": category, "total_cost": eu * 2, "eu_contribution": eu, "national_contribution": eu}]


def _history_documents(name: str, kind: str) -> list[tuple[str, SimpleUploadedFile]]:
    """The documents a proposal of its type had to carry: the proposal form, and for an upgrade the Member
    State's commitment letter (the demo's stand-ins for the files of the submission)."""
    documents = [("proposal_form", _pdf(f"{name}-proposal-form.pdf"))]
    if kind == Proposal.Type.UPGRADE:
        documents.append(("ms_commitment_letter", _pdf(f"{name}-ms-commitment-letter.pdf")))
    return documents


def seed_history(*, out) -> None:
    data = programme_data()
    officer = User.objects.get(username="officer")
    cei_cut_offs = [
        _at("2024-11-04"),
        _at("2025-02-01"),
        _at("2025-05-02"),
        _at("2025-08-01"),
        _at("2025-11-03"),
        _at("2025-12-31"),
    ]
    for row in data["calls"]:
        if Call.objects.filter(identifier=row["identifier"]).exists():
            continue
        antenna = row["prong"] == "antenna"
        opens_at = _at(row["opens"], 10)
        # Published two weeks before it opened; each cut-off processed minutes after it closed.
        with replayed_at(opens_at - timedelta(days=14)):
            call = _historic_call_create(row, opens_at, antenna, cei_cut_offs, officer)
        for cut_off in call.cut_offs.order_by("closes_at"):
            with replayed_at(cut_off.closes_at + timedelta(minutes=5)):
                services.cut_off_process(cut_off=cut_off, actor=officer)
    out("historic calls: CEI-AI-01, CEI-AI-02 and the Antennas call, closed")
    _record_selections(data, officer, out)


def _historic_call_create(row: dict, opens_at: datetime, antenna: bool, cei_cut_offs: list, officer: User) -> Call:
    return services.call_create(
        identifier=row["identifier"],
        title=row["title"],
        prong=row["prong"],
        opens_at=opens_at,
        cut_offs=[datetime.fromisoformat(row["closes"])] if antenna else cei_cut_offs,
        status=Call.Status.OPEN,
        admits_non_eu_participating_states=antenna,
        max_eu_contribution=Decimal(row["max_grant"]) if row.get("max_grant") else None,
        indicative_budget=Decimal(row["indicative_budget"]) if row.get("indicative_budget") else None,
        allowed_types=[Proposal.Type.ACTIVITIES] if antenna else None,
        actor=officer,
    )


def _record_selections(data: dict, officer: User, out) -> None:
    hosts = organisation_by_alias()
    machines = {m.name: m for m in Machine.objects.all()}
    recorded = 0
    for factory in data["ai_factories"]:
        if Proposal.objects.filter(acronym=factory["name"], status=Proposal.Status.SELECTED).exists():
            continue
        kind = factory.get("kind", "new_system")
        call = Call.objects.get(
            identifier="EUROHPC-2024-CEI-AI-01" if kind == "activities" else "EUROHPC-2024-CEI-AI-02"
        )
        selected = _at(factory["selected"], 12)
        cut_off = call.cut_offs.filter(closes_at__lt=selected).order_by("-closes_at").first()
        machine = machines.get(factory.get("machine", "")) if kind != "new_system" else None
        organisation = hosts[factory["host"]]
        lines = _split(factory.get("eu_contribution"), factory.get("total_cost"), factory.get("national_contribution"))
        reason = f"Selected by the JU on {selected:%d %B %Y} (wave {factory['wave']})."
        if not lines:
            lines = _illustrative_budget(kind)
            reason += " The JU published no budget for it: the demo's figures are illustrative."
        # Recorded as on the day of the selection: its audit event carries that date.
        with replayed_at(selected):
            services.proposal_record_history(
                call=call,
                cut_off=cut_off,
                organisation=organisation,
                created_by=officer,
                type=kind,
                title=f"{factory['name']} AI Factory",
                acronym=factory["name"],
                status=Proposal.Status.SELECTED,
                submitted_at=cut_off.closes_at - timedelta(days=2),
                decided_at=selected,
                reason=reason,
                machine=machine,
                planned_machine_name=factory.get("machine", factory["name"]) if kind == "new_system" else "",
                planned_machine_country=factory["country"] if kind == "new_system" else "",
                budget_lines=lines,
                documents=_history_documents(factory["name"], kind),
                actor=officer,
            )
        recorded += 1
    out(f"selected AI Factories recorded as history: {recorded}")


BUDGETS = {
    Proposal.Type.NEW_SYSTEM: [
        ("acquisition", "240000000.00", "120000000.00"),
        ("operations", "80000000.00", "40000000.00"),
        ("activities", "30000000.00", "15000000.00"),
    ],
    Proposal.Type.UPGRADE: [
        ("acquisition", "60000000.00", "30000000.00"),
        ("activities", "20000000.00", "10000000.00"),
    ],
    Proposal.Type.ACTIVITIES: [
        ("activities", "40000000.00", "20000000.00"),
        ("experimental_platform", "8000000.00", "4000000.00"),
    ],
}

# username, acronym, title, type, machine, planned country, outcome at screening (None: not screened)
PAST_BATCH = [
    ("applicant", "LUMI-AIF+", "LUMI AI Factory services for start-ups and SMEs", "activities", "LUMI", "", True),
    (
        "applicant",
        "NORDAI",
        "A Nordic AI-optimised supercomputer for foundation models",
        "new_system",
        None,
        "FI",
        True,
    ),
    ("applicant", "LUMI-AI-UP", "AI upgrade of LUMI-AI with an inference partition", "upgrade", "LUMI-AI", "", True),
    (
        "applicant2",
        "IT4LIA-UP",
        "IT4LIA AI upgrade for large language model training",
        "upgrade",
        "IT4LIA AI supercomputer",
        "",
        True,
    ),
    ("applicant2", "LEO-AIF", "Leonardo AI Factory for public administrations", "activities", "Leonardo", "", True),
    ("applicant2", "MEDAI", "Mediterranean AI supercomputer", "new_system", None, "IT", False),
]


def _draft(user: User, call: Call, acronym: str, title: str, type: str, machine: str | None, country: str) -> Proposal:
    machines = {m.name: m for m in Machine.objects.all()}
    lines = [
        {"category": c, "total_cost": t, "eu_contribution": e, "national_contribution": str(Decimal(t) - Decimal(e))}
        for c, t, e in BUDGETS[type]
    ]
    proposal = services.proposal_create(
        call=call,
        organisation=user.organisation,
        type=type,
        title=title,
        acronym=acronym,
        abstract=f"{title}. Demo proposal of {user.organisation.short_name}.",
        experimental_platform=type == Proposal.Type.ACTIVITIES,
        machine=machines.get(machine) if machine else None,
        planned_machine_name=f"{acronym} system" if type == Proposal.Type.NEW_SYSTEM else "",
        planned_machine_country=country,
        budget_lines=lines,
        actor=user,
    )
    services.document_upload(
        proposal=proposal, kind="proposal_form", uploaded_file=_pdf(f"{acronym}-form.pdf"), actor=user
    )
    if type == Proposal.Type.UPGRADE:
        services.document_upload(
            proposal=proposal, kind="ms_commitment_letter", uploaded_file=_pdf(f"{acronym}-ms-letter.pdf"), actor=user
        )
    return proposal


def _upgrade_possible(machine_name: str, moment: datetime) -> bool:
    """The demo keeps working in later years: an upgrade is only replayed inside its 1-3 year window."""
    machine = Machine.objects.filter(name=machine_name).first()
    if machine is None or machine.selected_on is None:
        return False
    day = timezone.localdate(moment)
    return add_years(machine.selected_on, 1) <= day <= add_years(machine.selected_on, 3)


def seed_demo_call(*, out) -> None:
    if Call.objects.filter(identifier=DEMO_CALL).exists():
        out(f"demo call {DEMO_CALL}: already there")
        return
    users = {u.username: u for u in User.objects.filter(username__in=["applicant", "applicant2", "officer"])}
    officer = users["officer"]
    today = timezone.localdate()
    first = datetime.combine(today - timedelta(days=7), time(17, 0), tzinfo=LUX)
    ahead = [datetime.combine(today + timedelta(days=d), time(17, 0), tzinfo=LUX) for d in (30, 121, 212)]
    opened = first - timedelta(days=60)
    with replayed_at(opened):
        call = services.call_create(
            identifier=DEMO_CALL,
            title="AI Factories follow-on call (demo data: cut-offs computed at seeding)",
            description="Demo call for trying the product: its cut-offs are computed from the day the demo was seeded.",
            prong=Call.Prong.NEW_HOST,
            allowed_types=list(Proposal.Type.values),
            opens_at=opened,
            cut_offs=[first, *ahead],
            status=Call.Status.OPEN,
            indicative_budget=Decimal("300000000.00"),
            is_demo=True,
            actor=officer,
        )
    # A batch submitted before the first cut-off, now past: screened by the programme officer.
    batch = [row for row in PAST_BATCH if row[3] != Proposal.Type.UPGRADE or _upgrade_possible(row[4], first)]
    for offset, (username, acronym, title, type, machine, country, _eligible) in enumerate(batch):
        with replayed_at(first - timedelta(days=10 - offset, hours=3)):
            proposal = _draft(users[username], call, acronym, title, type, machine, country)
            services.proposal_submit(proposal=proposal, actor=users[username])
    with replayed_at(first + timedelta(minutes=5)):
        services.cut_off_process(cut_off=call.cut_offs.get(closes_at=first), actor=None)
    with replayed_at(first + timedelta(days=2)):
        for _username, acronym, *_rest, eligible in batch:
            proposal = Proposal.objects.get(call=call, acronym=acronym)
            reason = (
                "All eligibility conditions met."
                if eligible
                else "The Member State commitment to the non-EU share of the total cost of ownership is not signed."
            )
            services.proposal_record_eligibility(proposal=proposal, eligible=eligible, reason=reason, actor=officer)
    # The applicant's journey today: a draft, a submitted proposal, and a withdrawn one.
    applicant, applicant2 = users["applicant"], users["applicant2"]
    _draft(applicant, call, "AIF-EDU", "LUMI AI Factory training academy", "activities", "LUMI", "")
    submitted = _draft(
        applicant, call, "GREEN-AI", "Energy-efficient AI supercomputer in Kajaani", "new_system", None, "FI"
    )
    services.proposal_submit(proposal=submitted, actor=applicant)
    withdrawn = _draft(applicant2, call, "HPC4AI", "Leonardo AI services for industry", "activities", "Leonardo", "")
    services.proposal_submit(proposal=withdrawn, actor=applicant2)
    services.proposal_withdraw(proposal=withdrawn, actor=applicant2)
    out(f"demo call {DEMO_CALL}: open, next cut-off {ahead[0]:%d %b %Y}; proposals in every state")


def seed(*, out) -> None:
    seed_history(out=out)
    seed_demo_call(out=out)
