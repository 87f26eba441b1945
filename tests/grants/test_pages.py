"""Finance dashboard, grant list and page, action forms, exports."""

import csv
import io
import re
from decimal import Decimal

import pytest

from grants.models import Grant
from grants.services import commitment_create, payment_record
from grants.xlsx import xlsx_read
from tests.grants.factories import make_envelope, make_grant, make_signed

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return " ".join(response.content.decode().split())


def assert_csp_safe(html: str) -> None:
    assert " style=" not in html
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None


def test_finance_dashboard_shows_positions_and_charts(client, tree, grant, finance_officer):
    make_signed(grant, tree[1], actor=finance_officer)
    payment_record(grant=grant, kind="prefinancing", amount=Decimal("56000000.00"), actor=finance_officer)
    client.force_login(finance_officer)
    response = client.get("/finance/")
    body = text(response)
    assert response.status_code == 200
    assert "AIF-2024-2027" in body and "EUR 800,000,000.00" in body
    assert "EUR 140,000,000.00" in body  # committed
    assert "EUR 56,000,000.00" in body  # paid
    assert "EUR 260,000,000.00" in body  # available in AIF-2024
    assert body.count("<svg") == 2 and "<polyline" in body
    assert_csp_safe(response.content.decode())


def test_finance_dashboard_shows_the_envelope_tree_and_bar_figures(client, tree, finance_officer):
    from grants.charts import envelope_bars
    from grants.selectors import envelope_positions

    client.force_login(finance_officer)
    body = client.get("/finance/").content.decode()
    assert (
        '<th scope="row" class="grants-envelope grants-depth-1">'
        '<span class="grants-branch" aria-hidden="true">└ </span>AIF-2024' in body
    )
    # the table is headed in EUR; its cells hold the figures alone, so eight columns fit a 1366 px screen
    assert "Amounts in EUR.</caption>" in body and '<td class="num">800,000,000.00</td>' in body
    bars = envelope_bars(envelope_positions())
    assert [b.value for b in bars["bars"]] == [
        "EUR 0.00 of EUR 800.0M committed",
        "EUR 0.00 of EUR 400.0M committed",
    ]
    # the longest figure fits in the chart: its right margin holds 34 characters at 11 px (6.5 px each)
    assert all(b.value_x + len(b.value) * 6.5 <= bars["width"] for b in bars["bars"])


def test_finance_dashboard_as_of(client, tree, grant, finance_officer):
    commitment_create(grant=grant, envelope=tree[1], amount=Decimal("5.00"), actor=finance_officer)
    client.force_login(finance_officer)
    body = text(client.get("/finance/?as_of=2000-01-01"))
    assert "Position at the end of 1 January 2000" in body
    assert "EUR 5.00" not in body


def test_finance_dashboard_as_of_outside_the_plausible_years_is_400_with_the_rule(client, tree, finance_officer):
    client.force_login(finance_officer)
    response = client.get("/finance/?as_of=9999-12-31")
    assert response.status_code == 400
    assert "Must be between the years 2000 and 2100." in response.content.decode()
    assert 'value="9999-12-31"' in response.content.decode()  # the typed date stays in the field


@pytest.mark.parametrize("export", ["positions.csv", "ledger.xlsx"])
def test_export_as_of_outside_the_plausible_years_is_400(client, tree, finance_officer, export):
    client.force_login(finance_officer)
    response = client.get(f"/finance/exports/{export}?as_of=0001-01-01")
    assert response.status_code == 400
    assert response.content.decode() == "Position as of: Must be between the years 2000 and 2100."


def test_finance_dashboard_refused_to_applicant(client, applicant):
    client.force_login(applicant)
    response = client.get("/finance/")
    assert response.status_code == 403
    assert "Only officers and administrators can read the budget." in response.content.decode()


@pytest.mark.parametrize("rows", [1, 4])
def test_finance_dashboard_query_count_is_constant(client, tree, finance_officer, django_assert_num_queries, rows):
    for i in range(rows):
        make_envelope(code=f"AIF-X{i}", amount="10.00", parent=tree[0], years=(2025, 2025))
    client.force_login(finance_officer)
    # session, user, roles, 2 permission look-ups of the navigation (Django's model backend), envelopes, one
    # ledger aggregate by envelope and month (positions and chart), calls, call funding, the new envelope's parents
    with django_assert_num_queries(10):
        assert client.get("/finance/").status_code == 200


def test_dashboard_panel_for_finance_officer(client, tree, grant, finance_officer):
    client.force_login(finance_officer)
    body = text(client.get("/dashboard/"))
    assert "1 grant awaiting the budget commitment" in body
    assert "AIF-2024" in body


@pytest.mark.parametrize("rows", [1, 4])
def test_grant_list_query_count_is_constant(
    client, rows, applicant, programme_officer, finance_officer, freezer, tree, django_assert_num_queries
):
    for i in range(rows):
        grant = make_grant(applicant=applicant, officer=programme_officer, freezer=freezer, acronym=f"AIF{i}")
        commitment_create(grant=grant, envelope=tree[1], amount=Decimal("10.00"), actor=finance_officer)
    client.force_login(finance_officer)
    # session, user, roles, 2 permission look-ups of the navigation, calls and envelopes for the filters, count,
    # page of grants, one ledger aggregate of the page's grants
    with django_assert_num_queries(10):
        response = client.get("/grants/")
    assert response.status_code == 200
    assert text(response).count("EUR 10.00") == rows


def test_grant_list_totals_agree_with_grant_totals(client, tree, grant, finance_officer, freezer):
    from grants.selectors import grant_totals
    from grants.services import decommitment_create, grant_sign, ledger_entry_reverse

    entry = commitment_create(grant=grant, envelope=tree[1], amount=Decimal("100.00"), actor=finance_officer)
    commitment_create(grant=grant, envelope=tree[1], amount=Decimal("7.00"), actor=finance_officer)
    ledger_entry_reverse(entry=entry, reason="typo", actor=finance_officer)
    commitment_create(grant=grant, envelope=tree[1], amount=Decimal("50.00"), actor=finance_officer)
    grant_sign(grant=grant, actor=finance_officer)
    payment_record(grant=grant, kind="prefinancing", amount=Decimal("20.00"), actor=finance_officer)
    decommitment_create(grant=grant, amount=Decimal("5.00"), actor=finance_officer)
    totals = grant_totals(grant=grant)
    assert (totals.net_committed, totals.paid) == (Decimal("52.00"), Decimal("20.00"))
    client.force_login(finance_officer)
    row = re.search(rf"{grant.reference}.*?</tr>", text(client.get("/grants/")), re.S).group(0)
    assert "EUR 52.00" in row and "EUR 20.00" in row


def test_grant_list_filters(client, applicant, programme_officer, finance_officer, freezer, tree):
    first = make_grant(applicant=applicant, officer=programme_officer, freezer=freezer, acronym="ALPHA")
    make_grant(applicant=applicant, officer=programme_officer, freezer=freezer, acronym="BETA")
    commitment_create(grant=first, envelope=tree[1], amount=Decimal("1.00"), actor=finance_officer)
    client.force_login(finance_officer)
    body = text(client.get("/grants/?status=budget_committed"))
    assert first.reference in body and "BETA" not in body
    body = text(client.get("/grants/?q=beta"))
    assert "BETA" in body and first.reference not in body
    assert "No grant matches." in text(client.get("/grants/?country=IT"))


def test_applicant_sees_own_grant_and_not_others(client, grant, applicant, other_applicant):
    client.force_login(applicant)
    assert client.get(f"/grants/{grant.pk}/").status_code == 200
    assert grant.reference in text(client.get("/grants/"))
    client.force_login(other_applicant)
    assert client.get(f"/grants/{grant.pk}/").status_code == 404
    assert grant.reference not in text(client.get("/grants/"))


def test_visible_to_agrees_with_view_grant(grant, applicant, other_applicant, finance_officer, evaluator):
    for user in (applicant, other_applicant, finance_officer, evaluator):
        assert Grant.objects.visible_to(user).filter(pk=grant.pk).exists() == user.has_perm("grants.view_grant", grant)


def test_grant_page_shows_ledger_schedule_and_forms(client, tree, grant, finance_officer):
    make_signed(grant, tree[1], actor=finance_officer)
    client.force_login(finance_officer)
    response = client.get(f"/grants/{grant.pk}/")
    body = text(response)
    assert response.status_code == 200
    assert "Budget commitment" in body and "EUR 140,000,000.00" in body
    assert "Pre-financing" in body and "EUR 56,000,000.00" in body  # 40% planned
    assert "EUR 2,800,000.00" in body  # withheld for mutual insurance
    assert f'action="/grants/{grant.pk}/pay/"' in body
    assert_csp_safe(response.content.decode())


def test_commit_form_refusal_keeps_status_and_message(client, grant, finance_officer):
    envelope = make_envelope(code="AIF-2024", amount="138750000.00")
    client.force_login(finance_officer)
    response = client.post(f"/grants/{grant.pk}/commit/", {"envelope": envelope.pk, "amount": "140000000.00"})
    assert response.status_code == 409
    assert "AIF-2024 would be exceeded by EUR 1,250,000.00" in response.content.decode()


def test_commit_form_records_and_redirects(client, tree, grant, finance_officer):
    client.force_login(finance_officer)
    response = client.post(f"/grants/{grant.pk}/commit/", {"envelope": tree[1].pk, "amount": "1000.00"})
    assert response.status_code == 302
    assert "EUR 1,000.00 committed against AIF-2024." in text(client.get(response["Location"]))


def test_sign_form_refused_before_commitment(client, grant, finance_officer):
    client.force_login(finance_officer)
    response = client.post(f"/grants/{grant.pk}/sign/")
    assert response.status_code == 409
    assert "the grant is signed only after the budget commitment." in response.content.decode()


def test_pay_form_invalid_amount(client, tree, grant, finance_officer):
    make_signed(grant, tree[1], actor=finance_officer)
    client.force_login(finance_officer)
    response = client.post(f"/grants/{grant.pk}/pay/", {"kind": "interim", "amount": "-3"})
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 0.01." in response.content.decode()


def test_actions_refused_to_programme_officer(client, tree, grant, programme_officer):
    client.force_login(programme_officer)
    response = client.post(f"/grants/{grant.pk}/commit/", {"envelope": tree[1].pk, "amount": "1.00"})
    assert response.status_code == 403
    assert "Only finance officers make budget commitments." in response.content.decode()


def test_reverse_form(client, tree, grant, finance_officer):
    entry = commitment_create(grant=grant, envelope=tree[1], amount=Decimal("10.00"), actor=finance_officer)
    client.force_login(finance_officer)
    response = client.post(f"/grants/{grant.pk}/ledger/{entry.pk}/reverse/", {f"reverse{entry.pk}-reason": "typo"})
    assert response.status_code == 302
    assert f"Entry #{entry.pk} reversed." in text(client.get(response["Location"]))


def test_grant_create_page_lists_selected_proposals(client, applicant, programme_officer, finance_officer, freezer):
    from tests.grants.factories import make_selected

    proposal = make_selected(applicant=applicant, officer=programme_officer, freezer=freezer)
    client.force_login(finance_officer)
    assert "EUR 140,000,000.00" in text(client.get("/grants/new/"))
    response = client.post("/grants/new/", {"proposal": proposal.pk})
    assert response.status_code == 302
    grant = Grant.objects.get(proposal=proposal)
    assert response["Location"] == f"/grants/{grant.pk}/"
    again = client.post("/grants/new/", {"proposal": proposal.pk})
    assert again.status_code == 409
    assert f"already became grant {grant.reference}" in again.content.decode()


# --- exports ----------------------------------------------------------------------------------------


@pytest.fixture
def paid(tree, grant, finance_officer):
    make_signed(grant, tree[1], actor=finance_officer)
    payment_record(grant=grant, kind="prefinancing", amount=Decimal("56000000.00"), actor=finance_officer)
    payment_record(grant=grant, kind="interim", amount=Decimal("0.10"), actor=finance_officer)
    return grant


def _csv(response) -> list[dict]:
    content = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(content)))


def test_ledger_csv_export_totals(client, paid, finance_officer):
    client.force_login(finance_officer)
    response = client.get("/finance/exports/ledger.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = _csv(response)
    assert [r["kind"] for r in rows] == ["commitment", "prefinancing", "interim"]
    paid_total = sum(Decimal(r["signed_amount"]) for r in rows if r["kind"] in ("prefinancing", "interim"))
    assert paid_total == Decimal("56000000.10")
    assert rows[1]["withheld"] == "2800000.00" and rows[1]["net_transfer"] == "53200000.00"


def test_ledger_xlsx_export_totals(client, paid, finance_officer):
    client.force_login(finance_officer)
    response = client.get("/finance/exports/ledger.xlsx")
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    table = xlsx_read(response.content)
    header, rows = table[0], table[1:]
    amount = header.index("signed_amount")
    assert sum(Decimal(r[amount]) for r in rows) == Decimal("196000000.10")


def test_positions_exports(client, paid, finance_officer):
    client.force_login(finance_officer)
    rows = {r["envelope"]: r for r in _csv(client.get("/finance/exports/positions.csv"))}
    assert rows["AIF-2024"]["net_committed"] == "140000000.00"
    assert rows["AIF-2024"]["paid"] == "56000000.10"
    assert rows["AIF-2024-2027"]["available"] == "660000000.00"
    table = xlsx_read(client.get("/finance/exports/positions.xlsx?as_of=2000-01-01").content)
    assert table[0][0] == "envelope"
    header, aif_2024 = table[0], {r[0]: r for r in table[1:]}["AIF-2024"]
    # Before the envelope was opened: no amount in force, nothing committed.
    assert (aif_2024[header.index("amount")], aif_2024[header.index("available")]) == ("0.00", "0.00")


def test_exports_refused_to_applicant(client, applicant):
    client.force_login(applicant)
    response = client.get("/finance/exports/ledger.csv")
    assert response.status_code == 403
    assert "Only officers and administrators export the budget." in response.content.decode()


def test_open_data_beneficiaries_is_public(client, paid):
    rows = _csv(client.get("/open-data/beneficiaries.csv"))
    assert len(rows) == 1
    assert rows[0]["beneficiary"] == "CSC"
    assert rows[0]["country"] == "FI"
    assert rows[0]["amount"] == "140000000.00"
    assert rows[0]["programme"] == "Digital Europe"
    assert xlsx_read(client.get("/open-data/beneficiaries.xlsx").content)[1][0] == "CSC"


def test_ledger_csv_quotes_formula_like_text(client, tree, grant, finance_officer):
    commitment_create(grant=grant, envelope=tree[1], amount=Decimal("1.00"), actor=finance_officer,
                      memo="=HYPERLINK(\"http://x\")")  # fmt: skip
    client.force_login(finance_officer)
    rows = _csv(client.get("/finance/exports/ledger.csv"))
    assert rows[0]["memo"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["signed_amount"] == "1.00"
