"""Journey 5: a hosting operator uploads a Slurm accounting file and sees the machine's quota take the usage."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from eurohpc.models import Role
from tests.factories import OrganisationFactory, UserFactory
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

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lumi(db):
    """LUMI hosted by CSC with a GPU partition, a period around today and one project's allocation on it."""
    csc = OrganisationFactory(short_name="CSC", legal_name="CSC - IT Center for Science Ltd.", country="FI")
    UserFactory(
        username="operator", first_name="Otto", last_name="Operator", organisation=csc, roles=[Role.HOSTING_OPERATOR]
    )
    machine = MachineFactory(name="LUMI", hosting_entity=csc, slurm_cluster="lumi")
    HostingAgreementFactory(machine=machine)
    gpu = PartitionFactory(
        machine=machine, name="LUMI-G", kind="gpu", nodes=20, gpus_per_node=4, slurm_partitions="standard-g"
    )
    today = timezone.localdate()
    period = AllocationPeriodFactory(
        machine=machine, name="current", start=today - timedelta(days=60), end=today + timedelta(days=120)
    )
    project = UserProjectFactory(starts_on=period.start)
    AllocationFactory(
        project=project, partition=gpu, period=period, slurm_account="project_465000001", amount="1000.00"
    )
    return machine


def used_cell(page):
    row = page.locator("table.quota-table tbody tr").filter(
        has=page.get_by_role("rowheader", name=re.compile("LUMI-G"))
    )
    return row.locator("td").nth(3)


def test_operator_uploads_sacct_and_sees_the_quota_update(browser, lumi):
    page = browser.page
    yesterday = timezone.localdate() - timedelta(days=1)
    data = sacct_file(
        # 8 GPUs for 2 hours: 16 GPU-hours on the allocation of project_465000001.
        sacct_line("7001", start=f"{yesterday}T10:00:00", end=f"{yesterday}T12:00:00", elapsed=7200),
        sacct_line(
            "7001.batch",
            raw="7001.batch",
            partition="",
            start=f"{yesterday}T10:00:00",
            end=f"{yesterday}T12:00:00",
            elapsed=7200,
        ),
    )

    browser.log_in("operator")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Quota").click()
    browser.audit()
    expect(page.get_by_role("heading", name="Quota of CSC's machines", level=1)).to_be_visible()
    expect(used_cell(page)).to_have_text(re.compile(r"^0\s*\(0(\.0+)?%\)$"))

    page.get_by_role("link", name="Upload Slurm usage").click()
    browser.audit()
    expect(page.get_by_role("heading", name="Upload Slurm usage for LUMI", level=1)).to_be_visible()
    page.get_by_label("Slurm accounting file").set_input_files(
        {"name": "sacct-lumi.txt", "mimeType": "text/plain", "buffer": data}
    )
    page.get_by_role("button", name="Import").click()
    browser.audit()
    expect(page.locator(".messages")).to_contain_text("sacct-lumi.txt")
    expect(page).to_have_url(re.compile(rf"/machines/{lumi.pk}/usage/\d+/$"))

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Quota").click()
    browser.audit()
    expect(used_cell(page)).to_have_text(re.compile(r"^16\s*\("))
