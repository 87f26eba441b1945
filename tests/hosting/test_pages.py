"""The hosting pages: who sees what (403 for a role, 404 for another organisation's machine), refusals with their
status and message, and constant query counts."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from eurohpc.models import Role
from hosting.models import (
    Allocation,
    AllocationPeriod,
    HostingAgreement,
    Machine,
    UsageImport,
    UsageRecord,
    UserProject,
)
from hosting.services import usage_import_create
from tests.factories import UserFactory
from tests.hosting.factories import (
    AllocationFactory,
    AllocationPeriodFactory,
    HostingAgreementFactory,
    MachineFactory,
    PartitionFactory,
    UserProjectFactory,
    sacct_file,
    sacct_line,
)

pytestmark = pytest.mark.django_db

FIXTURE = "tests/hosting/data/sacct-lumi.txt"


def allocations_with_usage(lumi, period, partition, rows: int) -> list[Allocation]:
    made = []
    for n in range(rows):
        allocation = AllocationFactory(
            partition=partition, period=period, slurm_account=f"acct_{n}", amount=Decimal("1000")
        )
        made.append(allocation)
    data = sacct_file(
        *[
            sacct_line(str(7000 + n * 10 + d), account=f"acct_{n}", end=f"2026-09-0{d + 1}T12:00:00")
            for n in range(rows)
            for d in range(3)
        ]
    )
    usage_import_create(machine=lumi, stream=io.BytesIO(data), file_name="s.txt", source="command", actor=None)
    return made


@pytest.fixture
def client_officer(client, programme_officer):
    client.force_login(programme_officer)
    return client


@pytest.fixture
def client_operator(client, hosting_operator):
    client.force_login(hosting_operator)
    return client


# --- who sees what ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/machines/", "/allocations/", "/projects/"])
def test_lists_refused_for_applicant(client, applicant, url):
    client.force_login(applicant)
    response = client.get(url)
    assert response.status_code == 403
    assert "Only officers and hosting operators see" in response.content.decode()


def test_machine_page_of_another_organisation_is_404_for_operator(client_operator, other_machine):
    assert client_operator.get(f"/machines/{other_machine.pk}/").status_code == 404


def test_machine_list_shows_operator_only_own_machines(client_operator, lumi, other_machine):
    page = client_operator.get("/machines/").content.decode()
    assert f'href="/machines/{lumi.pk}/"' in page
    assert f'href="/machines/{other_machine.pk}/"' not in page


def test_navigation_entries_follow_roles(client, hosting_operator, programme_officer, applicant):
    client.force_login(hosting_operator)
    page = client.get("/dashboard/").content.decode()
    assert all(f'href="{url}"' in page for url in ("/machines/", "/quota/", "/allocations/", "/projects/"))
    client.force_login(programme_officer)
    page = client.get("/dashboard/").content.decode()
    assert 'href="/quota/"' not in page and 'href="/machines/"' in page
    client.force_login(applicant)
    page = client.get("/dashboard/").content.decode()
    assert 'href="/machines/"' not in page and 'href="/allocations/"' not in page


# --- machine page and quota ------------------------------------------------------------------------------------


def test_machine_page_shows_quota_allocated_and_used(client_officer, lumi, period, lumi_g):
    allocations_with_usage(lumi, period, lumi_g, 1)
    page = client_officer.get(f"/machines/{lumi.pk}/").content.decode()
    assert "158,976" in page  # Union quota of LUMI-G
    assert "317,952" in page  # capacity
    assert '<rect class="q-used" x="0" y="3" width="0.0" height="6">' in page  # 48 of 158,976 rounds to 0.0%
    assert "Union access share</dt><dd><strong>50%</strong>" in page


def test_machine_page_shows_the_period_asked_for(client_officer, lumi, period, lumi_g):
    later = AllocationPeriodFactory(machine=lumi, name="2027-H1", start=date(2027, 1, 1), end=date(2027, 6, 30))
    AllocationFactory(partition=lumi_g, period=period, slurm_account="in_first", amount=Decimal("1000"))
    AllocationFactory(partition=lumi_g, period=later, slurm_account="in_later", amount=Decimal("2000"),
                      project=UserProjectFactory(starts_on=date(2027, 1, 1)))  # fmt: skip
    for shown, hidden in ((period, later), (later, period)):
        page = client_officer.get(f"/machines/{lumi.pk}/?period={shown.pk}").content.decode()
        assert f'<a href="?period={shown.pk}" aria-current="true">' in page
        assert f"Quota, allocations and use of {shown.name}" in page
        assert f"Quota, allocations and use of {hidden.name}" not in page
    assert "<code>in_later</code>" in page and "<code>in_first</code>" not in page


@pytest.mark.parametrize("rows", [1, 5])
def test_machine_page_query_count_is_constant(client_officer, django_assert_num_queries, lumi, period, lumi_g, rows):
    allocations_with_usage(lumi, period, lumi_g, rows)
    # session, user, roles, machine, periods, quota positions, allocations with usage, agreements, partitions,
    # the grants offered by the agreement form, and the navigation's two permission lookups
    with django_assert_num_queries(12):
        response = client_officer.get(f"/machines/{lumi.pk}/")
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [1, 4])
def test_machine_list_query_count_is_constant(client_officer, django_assert_num_queries, rows):
    for n in range(rows):
        machine = MachineFactory(name=f"M{n}")
        HostingAgreementFactory(machine=machine)
        PartitionFactory(machine=machine, name="G")
        PartitionFactory(machine=machine, name="C", kind="cpu", gpus_per_node=0)
    # session, user, roles, machines with their Union share, partitions, two navigation permission lookups
    with django_assert_num_queries(7):
        response = client_officer.get("/machines/")
    assert response.status_code == 200


def test_period_opened_from_machine_page(client_officer, lumi, lumi_g):
    response = client_officer.post(
        f"/machines/{lumi.pk}/periods/", {"name": "2027-H1", "start": "2027-01-01", "end": "2027-06-30"}
    )
    period = AllocationPeriod.objects.get(name="2027-H1")
    assert response.status_code == 302
    assert response["Location"] == f"/machines/{lumi.pk}/?period={period.pk}"


def test_period_refusal_keeps_409_and_message(client_officer, period, lumi):
    response = client_officer.post(
        f"/machines/{lumi.pk}/periods/", {"name": "2026-Q4", "start": "2026-10-01", "end": "2026-12-31"}
    )
    assert response.status_code == 409
    assert (
        "Allocation periods of a machine do not overlap: 2026-10-01 to 2026-12-31 overlaps 2026-H2 "
        "(2026-07-01 to 2026-12-31)."
    ) in response.content.decode()


def test_period_form_refuses_a_year_outside_2000_to_2100(client_officer, lumi):
    response = client_officer.post(
        f"/machines/{lumi.pk}/periods/", {"name": "x", "start": "2027-01-01", "end": "9999-12-31"}
    )
    assert response.status_code == 400
    assert "Must be between the years 2000 and 2100." in response.content.decode()
    assert not AllocationPeriod.objects.filter(name="x").exists()


def test_period_refused_for_operator(client_operator, lumi):
    response = client_operator.post(
        f"/machines/{lumi.pk}/periods/", {"name": "2027-H1", "start": "2027-01-01", "end": "2027-06-30"}
    )
    assert response.status_code == 403
    assert "Only programme officers open allocation periods." in response.content.decode()


def test_agreement_recorded_from_machine_page(client_officer, organisation):
    machine = MachineFactory(
        name="Vega", hosting_entity=organisation, machine_class="mid_range", eu_share_of_tco=Decimal("0.4")
    )
    response = client_officer.post(f"/machines/{machine.pk}/agreements/", {"signed_on": "2021-03-01"})
    assert response.status_code == 302
    assert HostingAgreement.objects.get(machine=machine).union_access_share == Decimal("0.35")


# --- usage upload ----------------------------------------------------------------------------------------------


def upload(client, machine, data: bytes, name: str = "sacct.txt"):
    return client.post(f"/machines/{machine.pk}/usage/", {"file": SimpleUploadedFile(name, data)})


def test_usage_upload_imports_and_shows_summary(client_operator, lumi, period, lumi_g):
    AllocationFactory(partition=lumi_g, period=period, slurm_account="project_465000001")
    with open(FIXTURE, "rb") as fh:
        response = upload(client_operator, lumi, fh.read())
    usage_import = UsageImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/machines/{lumi.pk}/usage/{usage_import.pk}/"
    page = client_operator.get(response["Location"]).content.decode()
    assert "<strong>3</strong>, charging 1,537.50 in all" in page
    assert "<code>project_465000777</code>" in page
    assert "<code>project_465000002</code>" in page  # LUMI-C has no allocation for it here


def test_usage_upload_lists_steps_without_their_job(client_operator, lumi, period, lumi_g):
    AllocationFactory(partition=lumi_g, period=period, slurm_account="project_465000001")
    data = sacct_file(sacct_line("1001"), sacct_line("998.0", raw="998.0"), sacct_line("998.1", raw="998.1"))
    response = upload(client_operator, lumi, data)
    page = client_operator.get(response["Location"]).content.decode()
    assert "<h3>Job steps without their job</h3>" in page
    assert "2 job step lines belong to no job line of the file" in page
    assert "<li>line 3: job <code>998</code></li><li>line 4: job <code>998</code></li>" in page
    assert "The first" not in page


def test_usage_upload_of_a_machine_without_partitions_offers_no_form_and_is_refused(client_operator, lumi):
    page = client_operator.get(f"/machines/{lumi.pk}/usage/").content.decode()
    message = "LUMI has no partitions yet: its Slurm usage has nothing to be charged to. Add them first."
    assert message in page and 'enctype="multipart/form-data"' not in page
    assert "Upload Slurm usage" not in client_operator.get(f"/machines/{lumi.pk}/").content.decode()
    response = upload(client_operator, lumi, sacct_file(sacct_line("1001")))
    assert response.status_code == 409
    assert message in response.content.decode()
    assert not UsageImport.objects.exists()


def test_usage_upload_refuses_malformed_file_with_400_and_line(client_operator, lumi, period):
    response = upload(client_operator, lumi, sacct_file(sacct_line("1001"), sacct_line("1002", elapsed="x")))
    assert response.status_code == 400
    assert "Line 3 refused: ElapsedRaw is not a whole number: &#x27;x&#x27;. Nothing was imported" in (
        response.content.decode()
    )
    assert not UsageRecord.objects.exists() and not UsageImport.objects.exists()


def test_usage_upload_of_another_organisations_machine_is_404(client_operator, other_machine):
    assert client_operator.get(f"/machines/{other_machine.pk}/usage/").status_code == 404
    assert upload(client_operator, other_machine, sacct_file(sacct_line("1"))).status_code == 404


@pytest.mark.parametrize("role", [Role.PROGRAMME_OFFICER, Role.APPLICANT])
def test_usage_upload_refused_for_other_roles(client, lumi, organisation, role):
    client.force_login(UserFactory(organisation=organisation, roles=[role]))
    response = client.get(f"/machines/{lumi.pk}/usage/")
    assert response.status_code == 403
    assert "Only the hosting operators of a machine upload its Slurm usage." in response.content.decode()


@pytest.mark.parametrize("rows", [1, 3])
def test_usage_upload_page_query_count_is_constant(
    client_operator, django_assert_num_queries, lumi, lumi_g, period, rows
):
    for n in range(rows):
        usage_import_create(
            machine=lumi,
            stream=io.BytesIO(sacct_file(sacct_line(str(n)))),
            file_name=f"{n}.txt",
            source="command",
            actor=None,
        )
    # session, user, roles, machine, whether it has partitions, imports with uploader, two navigation permission
    # lookups, the header's organisation
    with django_assert_num_queries(9):
        response = client_operator.get(f"/machines/{lumi.pk}/usage/")
    assert response.status_code == 200


# --- allocations and projects ------------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 5])
def test_allocation_list_query_count_is_constant(client_officer, django_assert_num_queries, lumi, period, lumi_g, rows):
    allocations_with_usage(lumi, period, lumi_g, rows)
    # session, user, roles, machines of the filter, count, page of allocations with usage, two navigation
    # permission lookups
    with django_assert_num_queries(8):
        response = client_officer.get("/allocations/")
    assert response.status_code == 200
    assert response.content.decode().count("<meter ") == rows


def test_allocation_list_shows_operator_only_own_machines(client_operator, lumi, period, lumi_g, other_machine):
    AllocationFactory(partition=lumi_g, period=period, slurm_account="ours")
    AllocationFactory(
        partition=other_machine.partitions.get(), period=other_machine.periods.get(), slurm_account="theirs"
    )
    page = client_operator.get("/allocations/").content.decode()
    assert "<code>ours</code>" in page and "<code>theirs</code>" not in page


def test_allocation_created_from_form(client_officer, period, lumi_g):
    project = UserProjectFactory()
    response = client_officer.post(
        "/allocations/new/",
        {
            "project": project.pk,
            "partition": lumi_g.pk,
            "period": period.pk,
            "amount": "2500.00",
            "slurm_account": "project_465000010",
        },
    )
    assert response.status_code == 302
    assert Allocation.objects.get().amount == Decimal("2500.00")


def test_allocation_form_refusal_keeps_409_and_names_quota(client_officer, period, lumi_g):
    project = UserProjectFactory()
    response = client_officer.post(
        "/allocations/new/",
        {
            "project": project.pk,
            "partition": lumi_g.pk,
            "period": period.pk,
            "amount": "200000.00",
            "slurm_account": "big",
        },
    )
    assert response.status_code == 409
    assert (
        "The Union quota of LUMI LUMI-G in 2026-H2 would be exceeded by 41,024.00 GPU-hours: quota "
        "158,976.00 GPU-hours, allocated 0.00 GPU-hours, remaining 158,976.00 GPU-hours, asked 200,000.00 "
        "GPU-hours."
    ) in response.content.decode()
    assert not Allocation.objects.exists()


def test_allocation_form_refused_for_operator(client_operator):
    response = client_operator.get("/allocations/new/")
    assert response.status_code == 403
    assert "Only programme officers allocate access time." in response.content.decode()


def test_project_created_from_form(client_officer, applicant, organisation):
    response = client_officer.post(
        "/projects/new/",
        {
            "title": "Speech models",
            "pi": applicant.pk,
            "organisation": organisation.pk,
            "user_type": "startup",
            "access_mode": "playground",
            "starts_on": "2026-07-01",
            "duration_months": "2",
            "cut_off": "1",
        },
    )
    project = UserProject.objects.get()
    assert (response.status_code, response["Location"]) == (302, f"/projects/{project.pk}/")
    assert project.code == "EHPC-AIF-2026PG01-0001"


def test_project_form_refusal_keeps_400_and_message(client_officer, applicant, organisation):
    response = client_officer.post(
        "/projects/new/",
        {
            "title": "Speech models",
            "pi": applicant.pk,
            "organisation": organisation.pk,
            "user_type": "academia",
            "access_mode": "playground",
            "starts_on": "2026-07-01",
            "duration_months": "2",
            "cut_off": "1",
        },
    )
    assert response.status_code == 400
    assert "Playground access is only for startups and SMEs; this project&#x27;s user type is academia." in (
        response.content.decode()
    )


@pytest.mark.parametrize("rows", [1, 5])
def test_project_list_query_count_is_constant(client_officer, django_assert_num_queries, rows):
    UserProjectFactory.create_batch(rows)
    # session, user, roles, count, page of projects with PI and organisation, two navigation permission lookups
    with django_assert_num_queries(7):
        response = client_officer.get("/projects/")
    assert response.status_code == 200


def test_project_page_is_404_for_someone_else(client, applicant):
    project = UserProjectFactory()
    client.force_login(applicant)
    assert client.get(f"/projects/{project.pk}/").status_code == 404


def test_project_page_shown_to_its_pi(client, applicant):
    project = UserProjectFactory(pi=applicant)
    client.force_login(applicant)
    assert project.code in client.get(f"/projects/{project.pk}/").content.decode()


# --- operator quota and dashboards --------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 4])
def test_operator_quota_query_count_is_constant(client_operator, django_assert_num_queries, lumi, period, lumi_g, rows):
    allocations_with_usage(lumi, period, lumi_g, rows)
    # session, user, roles, machines, current periods, quota positions, allocations with usage, alerts, two
    # navigation permission lookups, the header's organisation
    with django_assert_num_queries(11):
        response = client_operator.get("/quota/")
    assert response.status_code == 200


def test_operator_dashboard_shows_quota_of_own_machine(client_operator, lumi, period, lumi_g, other_machine):
    page = client_operator.get("/dashboard/").content.decode()
    assert "LUMI" in page and "158,976" in page
    assert "Leonardo" not in page


@pytest.mark.parametrize("rows", [1, 4])
def test_dashboard_query_count_is_constant_for_operator(
    client_operator, django_assert_num_queries, lumi, period, lumi_g, rows
):
    allocations_with_usage(lumi, period, lumi_g, rows)
    # session, user, roles, machines, current periods, quota positions, alerts, two navigation permission
    # lookups, the header's organisation, the access applications waiting for the technical assessment
    with django_assert_num_queries(11):
        response = client_operator.get("/dashboard/")
    assert response.status_code == 200


def test_officer_dashboard_context_lists_alerts_and_allocations_at_risk(client_officer, lumi, period, lumi_g):
    from hosting.dashboard import programme_officer_context

    allocations_with_usage(lumi, period, lumi_g, 1)
    request = client_officer.get("/dashboard/").wsgi_request
    context = programme_officer_context(request)
    assert set(context) == {"hosting_allocations_at_risk", "hosting_alerts"}


def allocations_of_amounts(lumi, period, partition, amounts: list[str]) -> list[Allocation]:
    """One allocation per amount, each charged 16 GPU-hours on 1, 2 and 3 September 2026."""
    made = [
        AllocationFactory(partition=partition, period=period, slurm_account=f"acct_{n}", amount=Decimal(amount))
        for n, amount in enumerate(amounts)
    ]
    data = sacct_file(*[
        sacct_line(str(7000 + n * 10 + d), account=f"acct_{n}", end=f"2026-09-0{d + 1}T12:00:00")
        for n in range(len(amounts))
        for d in range(3)
    ])  # fmt: skip
    usage_import_create(machine=lumi, stream=io.BytesIO(data), file_name="s.txt", source="command", actor=None)
    return made


def test_allocations_at_risk_agree_with_allocation_list_forecast(lumi, period, lumi_g, programme_officer):
    from hosting.selectors import allocation_list, allocations_at_risk

    # Used 48 of 60 at 48/14 a day: runs out on 9 September; 48 of 1,000: after the period; 48 of 40: used up.
    at_risk, _later, _used_up = allocations_of_amounts(lumi, period, lumi_g, ["60", "1000", "40"])
    AllocationFactory(partition=lumi_g, period=period, slurm_account="idle", amount=Decimal("10"))
    on = date(2026, 9, 5)
    expected = [
        a
        for a in allocation_list(user=programme_officer, as_of=on, current_on=on)
        if a.runs_out_before_period_end and not a.forecast.exhausted
    ]
    found = allocations_at_risk(user=programme_officer, on=on)
    assert [a.pk for a in found] == [a.pk for a in expected] == [at_risk.pk]
    assert (found[0].used, found[0].recent, found[0].forecast) == (
        expected[0].used,
        expected[0].recent,
        expected[0].forecast,
    )
    assert found[0].forecast.runs_out_on == date(2026, 9, 9)


def test_forecast_past_the_period_end_reads_lasts_the_period(lumi, period, lumi_g, programme_officer):
    from django.template.loader import render_to_string

    from hosting.selectors import allocation_list

    at_risk, later, _used_up = allocations_of_amounts(lumi, period, lumi_g, ["60", "1000", "40"])
    rows = allocation_list(user=programme_officer, as_of=date(2026, 9, 5), current_on=date(2026, 9, 5))
    html = render_to_string("hosting/_allocation_table.html", {"allocations": [a for a in rows if a.pk == later.pk]})
    assert '<span class="badge badge-ok">lasts the period</span>' in html
    assert next(a for a in rows if a.pk == later.pk).forecast.runs_out_on > period.end  # never shown as a date
    html = render_to_string("hosting/_allocation_table.html", {"allocations": [a for a in rows if a.pk == at_risk.pk]})
    assert '<span class="badge badge-warn">09 Sep 2026</span>' in html


@pytest.mark.parametrize("rows", [1, 4])
def test_allocations_at_risk_query_count_is_constant(
    lumi, period, lumi_g, programme_officer, django_assert_num_queries, rows
):
    from hosting.selectors import allocations_at_risk

    allocations_of_amounts(lumi, period, lumi_g, ["60"] * rows)
    # the officer's roles, the daily aggregates summed per allocation, their amounts and period ends, the
    # allocations at risk
    with django_assert_num_queries(4):
        found = allocations_at_risk(user=programme_officer, on=date(2026, 9, 5))
    assert len(found) == rows


# --- machines and partitions recorded by the programme office ----------------------------------------------------


def test_machine_recorded_from_form(client_officer, organisation):
    response = client_officer.post("/machines/new/", {
        "name": "Vega", "hosting_entity": organisation.pk, "site": "Maribor", "country": "SI",
        "machine_class": "mid_range", "status": "operational", "eu_share_of_tco": "0.35",
        "slurm_cluster": "vega", "time_zone": "Europe/Ljubljana",
    })  # fmt: skip
    machine = Machine.objects.get(name="Vega")
    assert (response.status_code, response["Location"]) == (302, f"/machines/{machine.pk}/")
    assert (machine.slurm_cluster, machine.time_zone) == ("vega", "Europe/Ljubljana")


def test_machine_form_refuses_unknown_time_zone(client_officer, organisation):
    response = client_officer.post("/machines/new/", {
        "name": "Vega", "hosting_entity": organisation.pk, "country": "SI", "machine_class": "mid_range",
        "status": "operational", "time_zone": "Europe/Maribor",
    })  # fmt: skip
    assert response.status_code == 400
    assert "Unknown time zone &#x27;Europe/Maribor&#x27;: use an IANA name such as Europe/Helsinki." in (
        response.content.decode()
    )


def test_machine_form_refused_for_operator(client_operator):
    response = client_operator.get("/machines/new/")
    assert response.status_code == 403
    assert "Only programme officers record machines." in response.content.decode()


def test_partition_added_from_machine_page_gets_quota(client_officer, period, lumi):
    response = client_officer.post(f"/machines/{lumi.pk}/partitions/", {
        "name": "LUMI-D", "kind": "gpu", "nodes": "8", "gpus_per_node": "8", "cores_per_node": "0",
        "accounting_unit": "", "availability_factor": "0.900", "slurm_partitions": "largemem-g",
    })  # fmt: skip
    assert response.status_code == 302
    partition = lumi.partitions.get(name="LUMI-D")
    assert partition.slurm_names == ["largemem-g"]
    assert partition.quotas.get(period=period).union_quota == Decimal("127180.80")  # 8 x 8 x 4,416 x 0.9 x 0.5


def test_partition_refused_when_slurm_partition_already_feeds_another(client_officer, lumi, lumi_g):
    response = client_officer.post(f"/machines/{lumi.pk}/partitions/", {
        "name": "LUMI-D", "kind": "gpu", "nodes": "8", "gpus_per_node": "8", "cores_per_node": "0",
        "accounting_unit": "", "availability_factor": "0.900", "slurm_partitions": "small-g",
    })  # fmt: skip
    assert response.status_code == 409
    assert ("The Slurm partition &#x27;small-g&#x27; is already charged to LUMI LUMI-G: a Slurm partition feeds "
            "one partition only.") in response.content.decode()  # fmt: skip


@pytest.mark.parametrize(
    ("used_percent", "drawn"),
    [(None, "0"), (Decimal("0"), "0.0"), (Decimal("0.3"), "2.0"), (Decimal("2"), "2.0"), (Decimal("42.26"), "42.3"),
     (Decimal("140"), "100.0")],
)  # fmt: skip
def test_use_bars_show_a_small_use_as_a_sliver(used_percent, drawn):
    from hosting.templatetags.hosting_tags import bar

    assert bar(used_percent) == drawn
