"""The hosting API: contract shapes, refusals (status and message), and constant query counts."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from hosting.models import Allocation, AllocationPeriod, UsageImport, UsageRecord
from tests.conftest import api_for
from tests.hosting.factories import (
    AllocationFactory,
    HostingAgreementFactory,
    MachineFactory,
    PartitionFactory,
    UserProjectFactory,
    sacct_file,
    sacct_line,
)

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).parent / "data" / "sacct-lumi.txt"


# --- machines, partitions, periods, quota ---------------------------------------------------------------------


def test_machines_list_contract(programme_officer, lumi, lumi_g, lumi_c):
    response = api_for(programme_officer).get("/api/v1/machines/")
    assert response.status_code == 200
    [machine] = response.json()["results"]
    assert (machine["id"], machine["name"], machine["country"], machine["union_access_share"]) == (
        lumi.pk,
        "LUMI",
        "FI",
        "0.5000",
    )
    assert [(p["name"], p["accounting_unit"], p["slurm_partitions"]) for p in machine["partitions"]] == [
        ("LUMI-C", "node_hours", ["standard", "small"]),
        ("LUMI-G", "gpu_hours", ["standard-g", "small-g"]),
    ]


@pytest.mark.parametrize("rows", [1, 4])
def test_machines_list_query_count_is_constant(programme_officer, django_assert_num_queries, rows):
    for n in range(rows):
        machine = MachineFactory(name=f"M{n}")
        HostingAgreementFactory(machine=machine)
        PartitionFactory(machine=machine, name="G")
    client = api_for(programme_officer)
    # roles, count, machines with their Union share, partitions
    with django_assert_num_queries(4):
        response = client.get("/api/v1/machines/")
    assert response.json()["count"] == rows


def test_machines_list_refused_for_applicant(applicant):
    response = api_for(applicant).get("/api/v1/machines/")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only officers and hosting operators see machines.",
        "code": "permission_denied",
        "errors": {},
    }


def test_machine_of_another_organisation_is_404_for_operator(hosting_operator, other_machine):
    for url in ("", "partitions/", "periods/", "quota/", "usage-imports/"):
        assert api_for(hosting_operator).get(f"/api/v1/machines/{other_machine.pk}/{url}").status_code == 404


def test_quota_contract(hosting_operator, lumi, period, lumi_g):
    AllocationFactory(partition=lumi_g, period=period, slurm_account="project_465000001", amount=Decimal("10000"))
    api_for(hosting_operator).post(
        f"/api/v1/machines/{lumi.pk}/usage-imports/",
        {"file": SimpleUploadedFile("s.txt", sacct_file(sacct_line("1001")))},
    )
    response = api_for(hosting_operator).get(f"/api/v1/machines/{lumi.pk}/quota/?period={period.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["period"] == {
        "id": period.pk,
        "machine": lumi.pk,
        "name": "2026-H2",
        "start": "2026-07-01",
        "end": "2026-12-31",
        "union_access_share": "0.5000",
    }
    gpu = next(p for p in body["partitions"] if p["partition_name"] == "LUMI-G")
    assert {k: gpu[k] for k in ("capacity", "union_quota", "allocated", "used", "remaining", "unit")} == {
        "capacity": "317952.00",
        "union_quota": "158976.00",
        "allocated": "10000.00",
        "used": "16.0000",
        "remaining": "148976.00",
        "unit": "gpu_hours",
    }


def test_quota_without_current_period_is_404_with_reason(programme_officer, lumi, lumi_g):
    from datetime import date

    from tests.hosting.factories import AllocationPeriodFactory

    AllocationPeriodFactory(machine=lumi, name="2040-H1", start=date(2040, 1, 1), end=date(2040, 6, 30))
    response = api_for(programme_officer).get(f"/api/v1/machines/{lumi.pk}/quota/")
    assert response.status_code == 404
    assert response.json()["detail"] == "LUMI has no allocation period containing today: give ?period=."


def test_quota_refuses_period_that_is_not_a_number(programme_officer, lumi):
    response = api_for(programme_officer).get(f"/api/v1/machines/{lumi.pk}/quota/?period=h2")
    assert response.status_code == 400
    assert response.json()["errors"] == {"period": ["A valid integer is required."]}


def test_period_created_by_officer(programme_officer, lumi, lumi_g):
    response = api_for(programme_officer).post(
        f"/api/v1/machines/{lumi.pk}/periods/",
        {"name": "2027-H1", "start": "2027-01-01", "end": "2027-06-30"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["union_access_share"] == "0.5000"
    assert AllocationPeriod.objects.get(name="2027-H1").quotas.count() == 1


def test_period_ending_in_9999_is_400_naming_the_years(programme_officer, lumi):
    response = api_for(programme_officer).post(
        f"/api/v1/machines/{lumi.pk}/periods/",
        {"name": "forever", "start": "0001-01-01", "end": "9999-12-31"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "start": ["Must be between the years 2000 and 2100."],
        "end": ["Must be between the years 2000 and 2100."],
    }
    assert not AllocationPeriod.objects.filter(name="forever").exists()


def test_period_refused_for_operator(hosting_operator, lumi):
    response = api_for(hosting_operator).post(
        f"/api/v1/machines/{lumi.pk}/periods/",
        {"name": "2027-H1", "start": "2027-01-01", "end": "2027-06-30"},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "Only programme officers open allocation periods."


def test_period_overlap_refused_with_409(programme_officer, lumi, period):
    response = api_for(programme_officer).post(
        f"/api/v1/machines/{lumi.pk}/periods/", {"name": "x", "start": "2026-12-01", "end": "2027-05-31"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "Allocation periods of a machine do not overlap: 2026-12-01 to 2027-05-31 overlaps 2026-H2 "
        "(2026-07-01 to 2026-12-31)."
    )


@pytest.mark.parametrize("rows", [1, 3])
def test_periods_list_query_count_is_constant(programme_officer, django_assert_num_queries, lumi, rows):
    from datetime import date

    from tests.hosting.factories import AllocationPeriodFactory

    for n in range(rows):
        AllocationPeriodFactory(machine=lumi, name=f"P{n}", start=date(2026 + n, 7, 1), end=date(2026 + n, 12, 31))
    client = api_for(programme_officer)
    # roles, machine, count, periods with agreement
    with django_assert_num_queries(4):
        response = client.get(f"/api/v1/machines/{lumi.pk}/periods/")
    assert response.json()["count"] == rows


# --- projects ------------------------------------------------------------------------------------------------------


def test_project_created_by_officer(programme_officer, applicant, organisation):
    response = api_for(programme_officer).post(
        "/api/v1/projects/",
        {
            "title": "Speech models",
            "pi": "applicant",
            "organisation": "CSC",
            "user_type": "sme",
            "access_mode": "fast_lane",
            "starts_on": "2026-07-01",
            "duration_months": 3,
        },
        format="json",
    )
    assert response.status_code == 201
    assert {k: response.json()[k] for k in ("code", "title", "user_type", "access_mode", "organisation")} == {
        "code": "EHPC-AIF-2026FL01-0001",
        "title": "Speech models",
        "user_type": "sme",
        "access_mode": "fast_lane",
        "organisation": "CSC",
    }


def test_project_refused_by_playground_rule_with_400(programme_officer, applicant, organisation):
    response = api_for(programme_officer).post(
        "/api/v1/projects/",
        {
            "title": "Speech models",
            "pi": "applicant",
            "organisation": "CSC",
            "user_type": "public_sector",
            "access_mode": "playground",
            "starts_on": "2026-07-01",
            "duration_months": 2,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Playground access is only for startups and SMEs; this project's user type is public sector."
    )


def test_project_create_refused_for_finance_officer(finance_officer):
    response = api_for(finance_officer).post("/api/v1/projects/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only programme officers record user projects."


def test_projects_list_shows_a_pi_only_own_projects(applicant):
    own = UserProjectFactory(pi=applicant)
    UserProjectFactory()
    response = api_for(applicant).get("/api/v1/projects/")
    assert [p["code"] for p in response.json()["results"]] == [own.code]


def test_projects_list_refused_without_role_or_project(evaluator):
    response = api_for(evaluator).get("/api/v1/projects/")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only officers, hosting operators and PIs see projects."


@pytest.mark.parametrize("rows", [1, 5])
def test_projects_list_query_count_is_constant(programme_officer, django_assert_num_queries, rows):
    UserProjectFactory.create_batch(rows)
    client = api_for(programme_officer)
    # roles, count, projects with PI and organisation
    with django_assert_num_queries(3):
        response = client.get("/api/v1/projects/")
    assert response.json()["count"] == rows


# --- allocations ---------------------------------------------------------------------------------------------------


def test_allocation_created_by_officer(programme_officer, period, lumi_g):
    project = UserProjectFactory()
    response = api_for(programme_officer).post(
        "/api/v1/allocations/",
        {
            "project": project.pk,
            "partition": lumi_g.pk,
            "period": period.pk,
            "amount": "12500.00",
            "slurm_account": "project_465000042",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert {
        k: body[k]
        for k in (
            "project_code",
            "partition_name",
            "period_name",
            "amount",
            "unit",
            "used",
            "remaining",
            "exhausted",
            "runs_out_on",
        )
    } == {
        "project_code": project.code,
        "partition_name": "LUMI-G",
        "period_name": "2026-H2",
        "amount": "12500.00",
        "unit": "gpu_hours",
        "used": "0.0000",
        "remaining": "12500.0000",
        "exhausted": False,
        "runs_out_on": None,
    }


def test_allocation_over_quota_refused_with_409_naming_quota_and_excess(programme_officer, period, lumi_g):
    AllocationFactory(partition=lumi_g, period=period, amount=Decimal("158000"))
    response = api_for(programme_officer).post(
        "/api/v1/allocations/",
        {
            "project": UserProjectFactory().pk,
            "partition": lumi_g.pk,
            "period": period.pk,
            "amount": "1000",
            "slurm_account": "project_465000043",
        },
        format="json",
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": "The Union quota of LUMI LUMI-G in 2026-H2 would be exceeded by 24.00 GPU-hours: quota "
        "158,976.00 GPU-hours, allocated 158,000.00 GPU-hours, remaining 976.00 GPU-hours, asked 1,000.00 "
        "GPU-hours.",
        "code": "quota_exceeded",
        "errors": {},
    }
    assert Allocation.objects.count() == 1


def test_allocation_create_refused_for_operator(hosting_operator):
    response = api_for(hosting_operator).post("/api/v1/allocations/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only programme officers allocate access time."


def test_allocations_list_filters_and_limits_operator_to_own_machines(hosting_operator, period, lumi_g, other_machine):
    ours = AllocationFactory(partition=lumi_g, period=period, slurm_account="ours")
    AllocationFactory(partition=other_machine.partitions.get(), period=other_machine.periods.get(), slurm_account="x")
    response = api_for(hosting_operator).get(f"/api/v1/allocations/?period={period.pk}")
    assert [a["id"] for a in response.json()["results"]] == [ours.pk]


@pytest.mark.parametrize("rows", [1, 5])
def test_allocations_list_query_count_is_constant(programme_officer, django_assert_num_queries, period, lumi_g, rows):
    for n in range(rows):
        AllocationFactory(partition=lumi_g, period=period, slurm_account=f"a{n}")
    client = api_for(programme_officer)
    # roles, count, allocations with usage
    with django_assert_num_queries(3):
        response = client.get("/api/v1/allocations/")
    assert response.json()["count"] == rows


# --- usage imports -------------------------------------------------------------------------------------------------


def test_usage_import_returns_201_with_counts(hosting_operator, lumi, period, lumi_g):
    AllocationFactory(partition=lumi_g, period=period, slurm_account="project_465000001")
    response = api_for(hosting_operator).post(
        f"/api/v1/machines/{lumi.pk}/usage-imports/",
        {"file": SimpleUploadedFile("sacct-lumi.txt", FIXTURE.read_bytes())},
    )
    assert response.status_code == 201
    body = response.json()
    assert {
        k: body[k]
        for k in (
            "status",
            "lines",
            "imported",
            "already_imported",
            "skipped",
            "unmapped",
            "charged",
            "outside_periods",
            "line",
            "error",
        )
    } == {
        "status": "done",
        "lines": 14,
        "imported": 3,
        "already_imported": 0,
        "skipped": 7,
        "unmapped": 4,
        "charged": "1537.5000",
        "outside_periods": 1,
        "line": None,
        "error": "",
    }
    assert body["unknown_accounts"] == [
        {"account": "project_465000002", "partition": "LUMI-C", "jobs": 1, "charge": "24.0000"},
        {"account": "project_465000777", "partition": "LUMI-G", "jobs": 1, "charge": "32.0000"},
    ]
    again = api_for(hosting_operator).post(
        f"/api/v1/machines/{lumi.pk}/usage-imports/",
        {"file": SimpleUploadedFile("sacct-lumi.txt", FIXTURE.read_bytes())},
    )
    assert (again.json()["imported"], again.json()["already_imported"]) == (0, 3)
    assert body["orphan_steps"] == {"count": 0, "lines": []}


def test_usage_import_reports_steps_without_their_job(hosting_operator, lumi, period, lumi_g):
    AllocationFactory(partition=lumi_g, period=period, slurm_account="project_465000001")
    data = sacct_file(sacct_line("1001"), sacct_line("1001.0"), sacct_line("998.batch", raw="998.batch"))
    response = api_for(hosting_operator).post(
        f"/api/v1/machines/{lumi.pk}/usage-imports/", {"file": SimpleUploadedFile("s.txt", data)}
    )
    assert response.status_code == 201
    assert (response.json()["imported"], response.json()["skipped"]) == (1, 2)
    assert response.json()["orphan_steps"] == {"count": 1, "lines": [{"line": 4, "job_id_raw": "998"}]}


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("tres", "gres/gpu=NaN", "AllocTRES has a GPU count that is not a whole number: 'gres/gpu=NaN'."),
        ("tres", "gres/gpu=-8", "AllocTRES has a GPU count that is not a whole number: 'gres/gpu=-8'."),
        ("elapsed", "Infinity", "ElapsedRaw is not a whole number: 'Infinity'."),
        ("nodes", "99999999999", "NNodes is larger than 2,147,483,647: '99999999999'."),
    ],
)
def test_usage_import_refuses_counts_that_are_not_real(hosting_operator, lumi, period, lumi_g, field, value, error):
    AllocationFactory(partition=lumi_g, period=period, slurm_account="project_465000001")
    data = sacct_file(sacct_line("1001", **{field: value}))
    response = api_for(hosting_operator).post(
        f"/api/v1/machines/{lumi.pk}/usage-imports/", {"file": SimpleUploadedFile("s.txt", data)}
    )
    assert response.status_code == 400
    assert (response.json()["line"], response.json()["error"]) == (2, error)
    assert not UsageRecord.objects.exists() and not UsageImport.objects.exists()


def test_usage_import_malformed_file_is_400_with_line_and_error(hosting_operator, lumi, period):
    data = sacct_file(sacct_line("1001"), sacct_line("1002"), sacct_line("1003", tres="gres/gpu=x"))
    response = api_for(hosting_operator).post(
        f"/api/v1/machines/{lumi.pk}/usage-imports/", {"file": SimpleUploadedFile("s.txt", data)}
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Line 4: AllocTRES has a GPU count that is not a whole number: 'gres/gpu=x'.",
        "code": "malformed_usage_file",
        "errors": {},
        "line": 4,
        "error": "AllocTRES has a GPU count that is not a whole number: 'gres/gpu=x'.",
    }
    assert not UsageRecord.objects.exists() and not UsageImport.objects.exists()


def test_usage_import_without_file_is_400(hosting_operator, lumi):
    response = api_for(hosting_operator).post(f"/api/v1/machines/{lumi.pk}/usage-imports/", {})
    assert response.status_code == 400
    assert response.json()["errors"] == {"file": ["No file was submitted."]}


def test_usage_import_refused_for_officer(programme_officer, lumi):
    response = api_for(programme_officer).post(
        f"/api/v1/machines/{lumi.pk}/usage-imports/", {"file": SimpleUploadedFile("s.txt", b"x")}
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "Only the hosting operators of a machine upload its Slurm usage."


def test_usage_import_to_another_organisations_machine_is_404(hosting_operator, other_machine):
    response = api_for(hosting_operator).post(
        f"/api/v1/machines/{other_machine.pk}/usage-imports/", {"file": SimpleUploadedFile("s.txt", b"x")}
    )
    assert response.status_code == 404


def test_large_usage_import_is_accepted_then_done(
    hosting_operator, lumi, period, lumi_g, monkeypatch, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    monkeypatch.setattr("hosting.services.usage.SYNC_IMPORT_MAX_BYTES", 100)
    AllocationFactory(partition=lumi_g, period=period, slurm_account="project_465000001")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_for(hosting_operator).post(
            f"/api/v1/machines/{lumi.pk}/usage-imports/", {"file": SimpleUploadedFile("big.txt", FIXTURE.read_bytes())}
        )
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    for callback in callbacks:
        callback()
    detail = api_for(hosting_operator).get(f"/api/v1/machines/{lumi.pk}/usage-imports/{response.json()['id']}/")
    assert (detail.json()["status"], detail.json()["imported"]) == ("done", 3)


@pytest.mark.parametrize("rows", [1, 3])
def test_usage_imports_list_query_count_is_constant(hosting_operator, django_assert_num_queries, lumi, lumi_g, rows):
    import io

    from hosting.services import usage_import_create

    for n in range(rows):
        usage_import_create(
            machine=lumi,
            stream=io.BytesIO(sacct_file(sacct_line(str(n)))),
            file_name="s.txt",
            source="api",
            actor=hosting_operator,
        )
    client = api_for(hosting_operator)
    # roles, machine, count, imports with uploader
    with django_assert_num_queries(4):
        response = client.get(f"/api/v1/machines/{lumi.pk}/usage-imports/")
    assert response.json()["count"] == rows


def test_schema_of_hosting_endpoints_is_valid_without_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=None).get_schema(request=None, public=True)
    validate_schema(schema)
    assert "/api/v1/machines/{id}/quota/" in schema["paths"]
    assert "/api/v1/machines/{id}/usage-imports/" in schema["paths"]
    hosting_warnings = [w for w in GENERATOR_STATS._warn_cache if "hosting" in str(w).lower()]
    assert hosting_warnings == []


def test_project_create_refuses_nul_character_in_organisation(programme_officer, applicant, organisation):
    payload = {
        "title": "x",
        "pi": "applicant",
        "organisation": "CS\x00C",
        "user_type": "sme",
        "access_mode": "fast_lane",
        "starts_on": "2026-07-01",
        "duration_months": 3,
    }
    response = api_for(programme_officer).post("/api/v1/projects/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"organisation": ["Null characters are not allowed."]}
