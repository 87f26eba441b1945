"""Money leaves the product in cents: every money value of every export and API answer has exactly two decimals.

The ledger holds amounts whose sums a 15-digit float would print with a tail (0.10 + 0.20 …), so a backend that
hands aggregates back unscaled (SQLite) fails here.
"""

import json
import re
from decimal import Decimal

import pytest

from grants.services import decommitment_create, payment_record
from grants.xlsx import xlsx_read
from tests.conftest import api_for
from tests.grants.factories import make_signed
from tests.grants.test_pages import _csv

pytestmark = pytest.mark.django_db

CENTS = re.compile(r"-?\d+\.\d{2}")
NUMBER = re.compile(r"-?\d+(\.\d+)?")
MONEY_COLUMNS = {
    "amount", "signed_amount", "withheld", "net_transfer", "committed", "decommitted", "net_committed", "paid",
    "outstanding", "available", "eu_contribution", "national_contribution", "total_cost",
}  # fmt: skip
# Numbers in API answers that are not money.
NOT_MONEY = {"co_funding_rate", "id", "parent", "count", "period"}


@pytest.fixture
def ledger(tree, grant, finance_officer):
    make_signed(grant, tree[1], actor=finance_officer)
    for amount in ("56000000.10", "0.20", "0.30"):
        payment_record(grant=grant, kind="interim", amount=Decimal(amount), actor=finance_officer)
    decommitment_create(grant=grant, amount=Decimal("0.10"), actor=finance_officer)
    return grant


def _money_cells(rows: list[dict]) -> list[tuple[str, str]]:
    return [(k, v) for row in rows for k, v in row.items() if k in MONEY_COLUMNS and v not in ("", None)]


@pytest.mark.parametrize(
    "path", ["/finance/exports/ledger.csv", "/finance/exports/positions.csv", "/open-data/beneficiaries.csv"]
)
def test_csv_export_money_has_two_decimals(client, ledger, finance_officer, path):
    client.force_login(finance_officer)
    cells = _money_cells(_csv(client.get(path)))
    assert cells
    assert [cell for cell in cells if not CENTS.fullmatch(cell[1])] == []


@pytest.mark.parametrize("path", ["/finance/exports/ledger.xlsx", "/finance/exports/positions.xlsx"])
def test_xlsx_export_money_has_two_decimals(client, ledger, finance_officer, path):
    client.force_login(finance_officer)
    header, *rows = xlsx_read(client.get(path).content)
    cells = _money_cells([dict(zip(header, row, strict=False)) for row in rows])
    assert cells
    assert [cell for cell in cells if not CENTS.fullmatch(str(cell[1]))] == []


def test_positions_sum_of_cents_is_exact(client, ledger, finance_officer):
    client.force_login(finance_officer)
    rows = {r["envelope"]: r for r in _csv(client.get("/finance/exports/positions.csv"))}
    assert rows["AIF-2024"]["paid"] == "56000000.60"
    assert rows["AIF-2024"]["decommitted"] == "0.10"


def _numbers(data, key=None):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _numbers(v, k)
    elif isinstance(data, list):
        for item in data:
            yield from _numbers(item, key)
    elif isinstance(data, str) and key not in NOT_MONEY and NUMBER.fullmatch(data):
        yield key, data


def test_api_money_has_two_decimals(tree, ledger, finance_officer):
    client = api_for(finance_officer)
    paths = ["/api/v1/envelopes/", f"/api/v1/envelopes/{tree[1].pk}/position/", "/api/v1/grants/",
             f"/api/v1/grants/{ledger.pk}/", f"/api/v1/grants/{ledger.pk}/ledger/"]  # fmt: skip
    numbers = []
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        numbers += [(path, *pair) for pair in _numbers(json.loads(response.content))]
    assert len(numbers) > 30
    assert [n for n in numbers if not CENTS.fullmatch(n[2])] == []
    paid = {(path, key): value for path, key, value in numbers if key == "paid"}
    assert paid[(f"/api/v1/grants/{ledger.pk}/", "paid")] == "56000000.60"
