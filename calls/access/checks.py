"""The rules an access application is held to, evaluated without side effects.

The same list refuses a submission (each failure named), is shown to the applicant before submitting and to the
programme officer on the eligibility screen. Rules: Reg. 2021/1173 as amended by 2024/1732 (Art. 16(2a), 17, 18)
and the access mode's data (caps, durations, who may apply).
"""

from datetime import date
from decimal import Decimal

from calls.access.models import AccessApplication, AccessMode, TechnicalAssessment
from calls.checks import Check
from calls.models import Proposal
from eurohpc.countries import country_name, is_participating_state
from hosting.formatting import qty


def _join(values) -> str:
    values = [str(v) for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def months_text(durations) -> str:
    return f"{_join(sorted(int(d) for d in durations))} month{'s' if list(durations) != [1] else ''}"


def user_types_text(codes) -> str:
    return _join([AccessApplication.UserType(c).label for c in codes if c in AccessApplication.UserType.values])


def request_checks(*, mode: AccessMode, gpu_hours: Decimal, duration_months: int) -> list[Check]:
    """The size and duration rules of the mode, shared by the application and the award."""
    checks = []
    label = mode.get_code_display()
    if mode.max_gpu_hours is not None:
        checks.append(
            Check(
                "gpu_hours_cap",
                f"{label} asks at most {qty(mode.max_gpu_hours)} GPU-hours",
                gpu_hours <= mode.max_gpu_hours,
                f"asked {qty(gpu_hours)} GPU-hours",
            )
        )
    if mode.min_gpu_hours:
        checks.append(
            Check(
                "gpu_hours_minimum",
                f"{label} asks more than {qty(mode.min_gpu_hours)} GPU-hours",
                gpu_hours > mode.min_gpu_hours,
                f"asked {qty(gpu_hours)} GPU-hours",
            )
        )
    checks.append(
        Check(
            "duration",
            f"{label} access lasts {months_text(mode.durations)}",
            duration_months in [int(d) for d in mode.durations],
            f"asked {duration_months} month{'s' if duration_months != 1 else ''}",
        )
    )
    return checks


def access_checks(application: AccessApplication, *, today: date) -> list[Check]:
    """Every rule the application must meet to be submitted, with its result."""
    proposal: Proposal = application.proposal
    mode = application.mode
    organisation = proposal.organisation
    partition = application.partition
    machine = partition.machine
    checks = [
        Check(
            "described",
            "Title, abstract and the AI model and data are described",
            bool(proposal.title.strip() and proposal.abstract.strip() and application.ai_model.strip()),
            "all three are given" if proposal.abstract.strip() and application.ai_model.strip() else "missing",
        ),
        Check(
            "country",
            "The organisation is established in an EU Member State or a Participating State",
            is_participating_state(organisation.country),
            f"{organisation} is established in {country_name(organisation.country)}",
        ),
        Check(
            "user_type",
            f"{mode.get_code_display()} is open to {user_types_text(mode.user_types)}",
            application.user_type in mode.user_types,
            f"the applicant declares: {application.get_user_type_display()}",
        ),
        *request_checks(mode=mode, gpu_hours=application.gpu_hours, duration_months=application.duration_months),
        Check(
            "partition",
            "The partition is a GPU partition of an operational machine",
            partition.accounting_unit == "gpu_hours" and machine.status == "operational",
            f"{partition} ({partition.get_accounting_unit_display()}, {machine.get_status_display().lower()})",
        ),
        Check(
            "start_month",
            "Access starts on the first day of this month or a later one",
            application.start_month.day == 1 and application.start_month >= today.replace(day=1),
            f"starts {application.start_month:%B %Y}",
        ),
        Check(
            "ai_act",
            "AI Act: the project uses no prohibited AI practice (Art. 5 of Regulation (EU) 2024/1689)",
            application.no_prohibited_practice,
            "declared" if application.no_prohibited_practice else "not declared",
        ),
        Check(
            "data_protection",
            "Personal data: the data-protection measures are described",
            not application.personal_data or bool(application.data_protection.strip()),
            "no personal data"
            if not application.personal_data
            else "described"
            if application.data_protection.strip()
            else "missing",
        ),
    ]
    return checks


def failures(checks: list[Check]) -> dict[str, list[str]]:
    return {c.code: [f"{c.rule}: {c.detail}."] for c in checks if not c.ok}


def access_evaluation_refusal(proposal: Proposal, step: str) -> str | None:
    """Why the hosting calls' evaluation step `step` ("assign", "consensus", "decision") does not apply to an
    access application, or None. Access applications are peer-reviewed only in a cut-off mode and after a feasible
    technical assessment; the access committee decides them (calls.access.services.access_decide)."""
    if proposal.type != Proposal.Type.ACCESS:
        return None
    if step != "assign":
        return f"Access application {proposal} is decided by the access committee, without a consensus report."
    application = AccessApplication.objects.select_related("mode").filter(pk=proposal.pk).first()
    if application is None or not application.mode.is_reviewed:
        mode = application.mode.get_code_display() if application else "This mode"
        return f"{mode} applications are not peer-reviewed: the technical assessment and the committee decide them."
    technical = TechnicalAssessment.objects.filter(application_id=proposal.pk).first()
    if technical is None:
        return f"Reviewers are assigned to {proposal} once its technical assessment is recorded."
    if not technical.feasible:
        return f"The technical assessment found {proposal} not feasible: it is not sent to reviewers."
    if application.reply_deadline is not None:
        return (
            f"The reviews of {proposal} were released to the applicant: reviewers are assigned only until the reviews "
            f"are released."
        )
    return None
