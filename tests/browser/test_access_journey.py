"""Journeys of the access calls: a start-up applies for Playground and gets its project and Slurm account; a Large
Scale application goes through its cut-off, the host's technical assessment, two peer reviews, the applicant's reply
and the committee's ranking. Every person has a browser of their own (their own cookies), and every page seen is
audited (no sideways scroll at 1366 and 390 px, axe-core)."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from calls.access.models import AccessApplication
from calls.services import cut_offs_process_due
from eurohpc.models import Organisation, Role, User
from hosting.models import UserProject
from tests.browser.conftest import AXE_LOG, SCREENSHOTS, TIMEOUT_MS, VIEWPORT, Browser
from tests.calls.access_factories import make_access_call, make_gpu_machine, make_host_operator, set_pool, this_month
from tests.conftest import clock_moved_back
from tests.factories import OrganisationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REVIEWERS = [("reviewer1", "Anna", "Berg"), ("reviewer2", "Jonas", "Keller")]
CRITERIA = {"Excellence": "4.5", "Impact": "4", "Implementation": "4"}


@pytest.fixture
def people(chromium, live_server, request):
    """`people("username")`: a browser of that person's own, logged in, accepting (and noting) every confirm().
    A failing test leaves a screenshot of each person's page in var/screenshots/."""
    AXE_LOG.parent.mkdir(parents=True, exist_ok=True)
    opened: list[tuple[str, object, Browser]] = []

    def open_for(username: str) -> Browser:
        context = chromium.new_context(viewport=VIEWPORT, locale="en-GB")
        context.set_default_timeout(TIMEOUT_MS)
        person = Browser(context.new_page(), live_server.url)
        person.accept_dialogs()
        opened.append((username, context, person))
        person.log_in(username)
        return person

    yield open_for
    report = getattr(request.node, "report_call", None)
    for username, context, person in opened:
        if report is not None and report.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{request.node.name}-{username}")
            person.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        context.close()


def _organisations():
    """CSC hosts LUMI; Tekoäly Labs, a Finnish start-up, applies."""
    csc = OrganisationFactory(short_name="CSC", legal_name="CSC - IT Center for Science Ltd.", country="FI")
    startup = OrganisationFactory(
        short_name="Tekoaly Labs", legal_name="Tekoäly Labs Oy", country="FI", kind=Organisation.Kind.COMPANY
    )
    UserFactory(username="founder", first_name="Aino", last_name="Virtanen", organisation=startup,
                roles=[Role.APPLICANT])  # fmt: skip
    officer = UserFactory(username="officer", first_name="Olga", last_name="Officer", roles=[Role.PROGRAMME_OFFICER])
    make_host_operator(csc, username="support")
    return csc, officer


@pytest.fixture
def playground(db):
    """An open access call; LUMI (CSC) with a GPU partition, a period from this month and a Playground pool of
    10,000 GPU-hours; the start-up's founder, a programme officer and CSC's support team."""
    csc, officer = _organisations()
    call = make_access_call()
    machine, partition, period = make_gpu_machine(hosting_entity=csc)
    set_pool(partition=partition, period=period, mode="playground", hours=10000, officer=officer)
    return {"call": call, "machine": machine, "partition": partition}


@pytest.fixture
def large_scale(db, monkeypatch):
    """As `playground` with a Large Scale pool of 200,000 GPU-hours and two reviewers; the call built half an hour
    in the past, its first cut-off ten minutes after that (so twenty minutes ago in real time)."""
    csc, officer = _organisations()
    for username, first, last in REVIEWERS:
        UserFactory(username=username, first_name=first, last_name=last, roles=[Role.EVALUATOR])
    with clock_moved_back(monkeypatch, minutes=30) as (then, _move):
        call = make_access_call(cut_offs=[then + timedelta(minutes=10), then + timedelta(days=25)])
        machine, partition, period = make_gpu_machine(hosting_entity=csc)
        set_pool(partition=partition, period=period, mode="large_scale", hours=200000, officer=officer)
    return {"call": call, "machine": machine, "partition": partition, "cut_off": call.cut_offs.order_by("closes_at")[0]}


# --- steps shared by the journeys ------------------------------------------------------------------------------


def success(person: Browser):
    return person.page.locator(".message-success")


def fact(page, term: str):
    """The value of a term of a facts list."""
    return page.locator("dl.facts dt", has_text=re.compile(f"^{re.escape(term)}$")).locator(
        "xpath=following-sibling::dd[1]"
    )


def click(person: Browser, locator) -> None:
    """Follow a link or press a button, then audit the page it leads to."""
    locator.click()
    person.page.wait_for_load_state("load")
    person.audit()


def apply(person: Browser, *, mode: str, acronym: str, title: str, hours: str, months: str) -> AccessApplication:
    """From the access page: the mode's Apply button, the form filled, the draft saved, its rules all met."""
    page = person.page
    click(person, page.get_by_role("navigation", name="Main").get_by_role("link", name="Access", exact=True))
    expect(page.get_by_role("heading", name="Access to AI Factory compute time", level=1)).to_be_visible()
    click(person, page.get_by_role("link", name=f"Apply for {mode}"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Apply for access")
    expect(page.get_by_role("combobox", name="Access mode")).to_have_value(re.compile(".+"))
    expect(page.get_by_role("combobox", name="Access mode").locator("option:checked")).to_have_text(mode)
    page.get_by_label("Acronym").fill(acronym)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Abstract").fill("Training an open model for European languages on public data.")
    page.get_by_label("AI model and data").fill("Open-weight decoder model; public web and legislation corpora.")
    page.get_by_label("Team").fill("Three ML engineers and a data steward")
    page.get_by_role("combobox", name="Organisation type").select_option(label="Start-up")
    page.get_by_label("Open science (results published)").check()
    page.get_by_role("combobox", name="Machine").select_option(label="LUMI (CSC)")
    page.get_by_role("combobox", name="Partition").select_option(label="LUMI — LUMI-G")
    page.get_by_label("GPU-hours requested").fill(hours)
    page.get_by_role("combobox", name="Duration").select_option(label=months)
    expect(page.get_by_label("Start month")).to_have_value(this_month().strftime("%Y-%m"))
    page.get_by_label("AI Act: the project uses no prohibited AI practice").check()
    person.audit()  # the form filled in
    click(person, page.get_by_role("button", name="Save draft"))
    expect(success(person)).to_have_text("Draft saved. Check the rules below, then submit.")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(rf"^{re.escape(acronym)}\s+Draft\s*$"))
    rules = page.locator("section.panel").filter(has=page.get_by_role("heading", name="Rules: ready to submit?"))
    expect(rules.locator("tbody tr").first).to_be_visible()
    expect(rules.locator(".badge-bad")).to_have_count(0)
    assert rules.locator(".badge-ok").count() == rules.locator("tbody tr").count()
    return AccessApplication.objects.select_related("proposal").get(proposal__acronym=acronym)


def rule(page, text: str):
    """The result of a rule in the application's rules table."""
    return page.locator("tbody tr").filter(has=page.get_by_role("cell", name=text, exact=True)).locator("td").nth(1)


def submit(person: Browser, application: AccessApplication) -> str:
    page = person.page
    click(person, page.get_by_role("button", name="Submit application"))
    application.proposal.refresh_from_db()
    reference = application.proposal.reference
    assert reference
    expect(success(person)).to_have_text(f"Submitted. Your reference is {reference}; a receipt is on its way.")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"\s+Submitted\s*$"))
    assert person.dialogs[-1].startswith(f"Submit {application.proposal.acronym}? ")
    return reference


def record_eligibility(officer: Browser, reference: str) -> None:
    page = officer.page
    section = page.locator("section.panel").filter(has=page.get_by_role("heading", name="Eligibility"))
    section.get_by_label("Eligible", exact=True).check()
    section.get_by_label("Reason").fill("A start-up established in Finland; the request fits the mode.")
    click(officer, section.get_by_role("button", name="Record eligibility"))
    expect(success(officer)).to_have_text(f"Eligibility of {reference} recorded: eligible.")


def assess(support: Browser, reference: str, *, recommended: str | None = None) -> None:
    """CSC's support team, from its queue: the application, then the technical assessment."""
    page = support.page
    click(support, page.get_by_role("navigation", name="Main").get_by_role("link", name="Technical assessments"))
    expect(page.get_by_role("heading", name="Technical assessments", level=1)).to_be_visible()
    click(support, page.get_by_role("link", name=reference))
    section = page.locator("section.panel").filter(has=page.get_by_role("heading", name="Technical assessment"))
    section.get_by_label("Feasible", exact=True).check()
    section.get_by_label("Notes").fill("Runs on PyTorch with ROCm; scales to 256 GPUs; data staged on LUMI-P.")
    if recommended is not None:
        section.get_by_label("Recommended GPU-hours").fill(recommended)
    click(support, section.get_by_role("button", name="Record the technical assessment"))
    expect(success(support)).to_have_text(f"Technical assessment of {reference} recorded.")


def pool_row(page, mode: str):
    """The figures of a pool on the access pool board: capacity, awarded, used, remaining, pending."""
    return (
        page.locator("table.quota-table tbody tr")
        .filter(has=page.get_by_role("rowheader", name=mode))
        .locator("td.num")
    )


def open_pools(officer: Browser, machine) -> None:
    page = officer.page
    click(officer, page.get_by_role("navigation", name="Main").get_by_role("link", name="Access", exact=True))
    click(officer, page.get_by_role("navigation", name="Access work").get_by_role("link", name="Access pools"))
    click(officer, page.get_by_role("link", name="LUMI", exact=True))
    assert page.url.endswith(f"/access/pools/{machine.pk}/")
    expect(page.get_by_role("heading", name="Access pools of LUMI", level=1)).to_be_visible()


def check_award(applicant: Browser, application: AccessApplication, *, hours: str, code: str) -> None:
    """The applicant's page shows the award, the project and its Slurm account; the project page the same."""
    page = applicant.page
    applicant.goto(f"/access/applications/{application.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"\s+Awarded\s*$"))
    decision = page.locator("section.panel").filter(has=page.get_by_role("heading", name="Decision"))
    expect(decision).to_contain_text("Awarded on ")
    expect(decision).to_contain_text(f": {hours} GPU-hours on ")
    expect(decision.locator("code")).to_have_text([code, code.lower()])
    expect(decision).to_contain_text(f"Project {code}, ")
    expect(decision).to_contain_text(f"; Slurm account {code.lower()}.")
    click(applicant, decision.get_by_role("link", name="Its usage and burn →"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)
    allocation = page.locator("table.table tbody tr").filter(has=page.get_by_role("link", name=code))
    expect(allocation.locator("td").nth(4)).to_have_text(code.lower())  # the Slurm account


# --- journey 1: Playground ---------------------------------------------------------------------------------------


def test_a_start_up_applies_for_playground_and_gets_its_account(people, playground):
    machine = playground["machine"]

    # The founder applies for Playground: 4,000 GPU-hours for 3 months; every rule of the mode is met.
    founder = people("founder")
    application = apply(founder, mode="Playground", acronym="FINLEX-SLM",
                        title="Small language model for Finnish legal texts", hours="4,000",
                        months="3 months")  # fmt: skip
    expect(fact(founder.page, "GPU-hours requested")).to_have_text("4,000.00")
    expect(rule(founder.page, "Playground is open to Start-up or SME")).to_have_text("met")
    expect(rule(founder.page, "Playground asks at most 5,000.00 GPU-hours")).to_have_text("met")
    expect(rule(founder.page, "Playground access lasts 1, 2 or 3 months")).to_have_text("met")
    reference = submit(founder, application)
    expect(founder.page.get_by_text("The programme office checks its eligibility.")).to_be_visible()

    # The officer finds it in the dashboard's work and records its eligibility.
    officer = people("officer")
    page = officer.page
    click(officer, page.get_by_role("link", name="1 application to check for eligibility"))
    click(officer, page.get_by_role("link", name=reference))
    expect(page.get_by_role("heading", level=1)).to_have_text("FINLEX-SLM Submitted")
    record_eligibility(officer, reference)
    expect(page.get_by_role("heading", level=1)).to_have_text("FINLEX-SLM Eligible")

    # The pool waits for the request: nothing awarded yet, 4,000 pending.
    open_pools(officer, machine)
    expect(pool_row(page, "Playground")).to_have_text(
        ["10,000", "0 (0.0%)", "0 (0.0%)", "10,000", "4,000 (1 application)"]
    )

    # CSC's support team assesses it from its queue, recommending the request as asked.
    support = people("support")
    assess(support, reference)
    expect(support.page.get_by_role("heading", level=1)).to_have_text("FINLEX-SLM Under assessment")

    # The officer awards it on the application page: the recommendation is the form's default.
    officer.goto(f"/access/applications/{application.pk}/")
    decision = page.locator("section.panel").filter(has=page.get_by_role("heading", name="Decision"))
    expect(decision.get_by_text("Recommended by the technical assessment: 4,000.00 GPU-hours.")).to_be_visible()
    expect(decision.get_by_label("GPU-hours awarded")).to_have_value("4,000")
    decision.get_by_label("Award", exact=True).check()
    click(officer, decision.get_by_role("button", name="Record the decision"))
    expect(success(officer)).to_have_text(f"Decision on {reference} recorded: awarded.")

    # The founder sees the award, the project (EHPC-AIF-<year>PG<month>-0001) and its Slurm account.
    project = UserProject.objects.get()
    assert re.fullmatch(r"EHPC-AIF-\d{4}PG\d{2}-0001", project.code)
    check_award(founder, application, hours="4,000.00", code=project.code)

    # The pool board shows the hours moved from pending to awarded.
    open_pools(officer, machine)
    expect(pool_row(page, "Playground")).to_have_text(
        ["10,000", "4,000 (40.0%)", "0 (0.0%)", "6,000", "0 (0 applications)"]
    )


# --- journey 2: Large Scale ---------------------------------------------------------------------------------------


def test_a_large_scale_application_is_reviewed_ranked_and_awarded(people, large_scale, monkeypatch):
    machine, cut_off = large_scale["machine"], large_scale["cut_off"]

    # Half an hour ago, ten minutes before the cut-off: the founder applies for 60,000 GPU-hours for 6 months.
    with clock_moved_back(monkeypatch, minutes=29):
        founder = people("founder")
        application = apply(founder, mode="Large Scale", acronym="EUROLLM-XL",
                            title="A 30B open language model for all EU languages", hours="60,000",
                            months="6 months")  # fmt: skip
        expect(rule(founder.page, "Large Scale access lasts 3, 6 or 12 months")).to_have_text("met")
        reference = submit(founder, application)
        expect(fact(founder.page, "Cut-off")).to_be_visible()
        expect(founder.page.get_by_role("button", name="Withdraw")).to_be_visible()

    # Now: the cut-off has passed and the scheduled task (calls.tasks, `manage.py process_cutoffs`) closes its batch.
    assert cut_offs_process_due() == {cut_off.pk: 1}

    # The officer finds it in the dashboard's work and records its eligibility.
    officer = people("officer")
    page = officer.page
    click(officer, page.get_by_role("link", name="1 application to check for eligibility"))
    click(officer, page.get_by_role("link", name=reference))
    expect(page.get_by_role("heading", level=1)).to_have_text("EUROLLM-XL Eligibility check")
    record_eligibility(officer, reference)

    # CSC's support team recommends fewer hours than asked.
    support = people("support")
    assess(support, reference, recommended="55,000")
    technical = support.page.locator("section.panel").filter(
        has=support.page.get_by_role("heading", name="Technical assessment")
    )
    expect(fact(technical, "Recommended")).to_have_text("55,000.00 GPU-hours")

    # The officer assigns two reviewers from the application page.
    officer.goto(f"/access/applications/{application.pk}/")
    reviewers = page.locator("section.panel").filter(has=page.get_by_role("heading", name="Reviewers"))
    for username, first, last in REVIEWERS:
        # (the options show the evaluators' user names, not their names: see calls/access/forms.py ReviewerForm)
        reviewers.get_by_label("Reviewer").select_option(value=str(User.objects.get(username=username).pk))
        click(officer, reviewers.get_by_role("button", name="Assign the reviewer"))
        expect(success(officer)).to_have_text(f"{first} {last} assigned to review {reference}.")
    expect(reviewers.locator("li")).to_have_count(2)

    # Each reviewer declares no conflict and submits a review on the evaluation pages.
    for username, _first, _last in REVIEWERS:
        reviewer = people(username)
        rpage = reviewer.page
        click(reviewer, rpage.get_by_role("navigation", name="Main").get_by_role("link", name="My evaluations"))
        row = rpage.locator("table.table tbody tr").filter(has_text=reference)
        click(reviewer, row.get_by_role("link", name=re.compile(re.escape(reference))))
        rpage.get_by_label("I have no conflict of interest with this proposal").check()
        click(reviewer, rpage.get_by_role("button", name="Record my declaration"))
        expect(rpage.locator(".message-success")).to_contain_text("Declaration recorded")
        expect(fact(rpage, "GPU-hours requested")).to_have_text("60,000.00")
        for name, score in CRITERIA.items():
            rpage.get_by_label(f"{name} score").fill(score)
            rpage.get_by_label(f"{name} comment").fill(f"{name}: a convincing plan for open European models.")
        click(reviewer, rpage.get_by_role("button", name="Submit review"))
        expect(rpage.locator(".message-success")).to_have_text("Review submitted: it is now locked.")

    # The officer releases the reviews to the founder.
    officer.goto(f"/access/applications/{application.pk}/")
    expect(reviewers).to_contain_text("2 of 2 required reviews submitted.")
    click(officer, reviewers.get_by_role("button", name="Release the reviews to the applicant"))
    expect(success(officer)).to_have_text(f"Reviews of {reference} sent to the applicant.")

    # The founder reads the reviews, with no reviewer's name, and replies.
    founder.goto(f"/access/applications/{application.pk}/")
    fpage = founder.page
    expect(fpage.get_by_role("heading", name="Review 1")).to_be_visible()
    expect(fpage.get_by_role("heading", name="Review 2")).to_be_visible()
    expect(fpage.get_by_text("Excellence: a convincing plan for open European models.").first).to_be_visible()
    content = fpage.content()
    for username, first, last in REVIEWERS:
        assert last not in content and username not in content, f"{first} {last} is named on the applicant's page"
    expect(fpage.get_by_text("Anna Berg")).to_have_count(0)
    fpage.get_by_label("Your reply to the reviews").fill("We accept the reduction to 55,000 GPU-hours.")
    click(founder, fpage.get_by_role("button", name="Send the reply"))
    expect(success(founder)).to_have_text("Your reply is sent to the access committee.")

    # Before the award the Large Scale pool holds the request as pending.
    open_pools(officer, machine)
    expect(pool_row(page, "Large Scale")).to_have_text(
        ["200,000", "0 (0.0%)", "0 (0.0%)", "200,000", "60,000 (1 application)"]
    )

    # The officer opens the cut-off's ranking from the access page and awards it.
    click(officer, page.get_by_role("navigation", name="Main").get_by_role("link", name="Access", exact=True))
    cut_offs = page.locator("section.panel").filter(
        has=page.get_by_role("heading", name="Cut-offs of the access calls")
    )
    click(officer, cut_offs.get_by_role("link", name="Ranking"))
    assert page.url.endswith(f"/access/cut-offs/{cut_off.pk}/ranking/")
    row = page.locator("table.table tbody tr").filter(has_text=reference)
    expect(row.locator("td").nth(0)).to_have_text("1")
    expect(row).to_contain_text("55,000 / 200,000")
    expect(row.locator("td").last).to_contain_text("replied ")
    click(officer, page.get_by_role("button", name="Award the ranking"))
    expect(success(officer)).to_have_text("1 application awarded.")
    expect(page.get_by_role("button", name="Award the ranking")).to_have_count(0)
    expect(row).to_contain_text("Awarded")

    # The founder sees the award: the recommended 55,000 GPU-hours, the project of the cut-off.
    project = UserProject.objects.get()
    assert re.fullmatch(r"EHPC-AIF-\d{4}LS01-0001", project.code)
    check_award(founder, application, hours="55,000.00", code=project.code)

    # The pool board shows the award.
    open_pools(officer, machine)
    expect(pool_row(page, "Large Scale")).to_have_text(
        ["200,000", "55,000 (27.5%)", "0 (0.0%)", "145,000", "0 (0 applications)"]
    )
