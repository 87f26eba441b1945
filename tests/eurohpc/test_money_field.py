"""Amounts in euros: typed and shown with thousands separators, parsed to the exact Decimal."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from calls.models import Call
from eurohpc.money_fields import MoneyField, MoneyInput
from grants.models import Envelope
from tests.calls.factories import make_call, make_draft

ONE_AND_A_HALF_MILLION = [
    {"category": "activities", "total_cost": "3000000.00", "eu_contribution": "1500000.00",
     "national_contribution": "1500000.00"},
]  # fmt: skip


def text(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("1,500,000.00", "1500000.00"),
        ("1500000", "1500000"),
        ("1 500 000.5", "1500000.5"),
        ("1\u2009500\u2009000.00", "1500000.00"),  # thin spaces
        ("1\u202f500\u202f000", "1500000"),  # narrow no-break spaces
        ("1\u00a0500", "1500"),  # no-break space
        ("  12,345.67 ", "12345.67"),
        ("999", "999"),
        ("0.07", "0.07"),
        (".5", "0.5"),
        ("1000.00", "1000.00"),
        ("999,999,999,999.99", "999999999999.99"),
    ],
)
def test_money_field_reads_the_exact_decimal(typed, amount):
    value = MoneyField(min_value=Decimal("0.01")).clean(typed)
    assert (type(value), str(value)) == (Decimal, amount)


@pytest.mark.parametrize(
    "typed",
    [
        "1,5,0",
        "12.345",  # twelve thousand where the point groups thousands: refused, not guessed
        "1.2.3",
        "abc",
        "1,500 000",  # two kinds of grouping mark
        "1,50,000",
        "1,0000",
        "01,500",
        ",500",
        "1,500,",
        "1.500,00",
        "1e3",
        "NaN",
        "EUR 1,500.00",
        ".",
    ],
)
def test_money_field_refuses_a_malformed_amount_naming_the_expected_form(typed):
    with pytest.raises(ValidationError) as refused:
        MoneyField(min_value=Decimal("0.01")).clean(typed)
    assert refused.value.messages == ["Enter an amount in euros, such as 1,500,000.00."]


@pytest.mark.parametrize(
    ("typed", "minimum", "message"),
    [
        ("-3", Decimal("0.01"), "Ensure this value is greater than or equal to 0.01."),
        ("-1,500.00", 0, "Ensure this value is greater than or equal to 0."),
        ("1,000,000,000,000.00", 0, "Ensure that there are no more than 14 digits in total."),
    ],
)
def test_money_field_keeps_the_limits_of_the_field(typed, minimum, message):
    with pytest.raises(ValidationError) as refused:
        MoneyField(min_value=minimum).clean(typed)
    assert refused.value.messages == [message]


def test_money_field_left_empty_is_none_when_optional():
    assert MoneyField(required=False).clean("") is None


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1500000.00"), "1,500,000.00"),
        (Decimal("1500000"), "1,500,000.00"),
        (Decimal("0"), "0.00"),
        (Decimal("999.5"), "999.50"),
        (1500000, "1,500,000.00"),
        ("1500000.5", "1,500,000.50"),  # typed, redisplayed beside another field's error
        ("1,5,0", "1,5,0"),  # what cannot be read stays as typed, beside its error
    ],
)
def test_money_input_shows_the_amount_grouped_with_two_decimals(value, shown):
    html = MoneyInput().render("amount", value)
    assert html == f'<input type="text" name="amount" value="{shown}" inputmode="decimal" autocomplete="off">'


def test_money_input_without_a_value_has_no_value_attribute():
    assert (
        MoneyInput().render("amount", None)
        == '<input type="text" name="amount" inputmode="decimal" autocomplete="off">'
    )


@pytest.mark.django_db
def test_budget_page_shows_amounts_grouped(client, applicant):
    draft = make_draft(call=make_call(), applicant=applicant, budget=ONE_AND_A_HALF_MILLION, documents=False)
    client.force_login(applicant)
    page = text(client.get(f"/proposals/{draft.pk}/budget/"))
    assert (
        '<input type="text" name="activities-eu_contribution" value="1,500,000.00" inputmode="decimal" '
        'autocomplete="off" data-category="activities" data-part="eu_contribution" '
        'id="id_activities-eu_contribution">' in page
    )
    assert 'value="3,000,000.00"' in page
    assert 'value="1500000.00"' not in page


@pytest.mark.django_db
def test_budget_page_saves_grouped_amounts_as_exact_decimals(client, applicant):
    proposal = make_draft(call=make_call(), applicant=applicant, budget=[], documents=False)
    client.force_login(applicant)
    response = client.post(
        f"/proposals/{proposal.pk}/budget/",
        {
            "activities-total_cost": "3,000,000.00",
            "activities-eu_contribution": "1,500,000.00",
            "activities-national_contribution": "1 500 000",
        },
    )
    assert response.status_code == 302
    line = proposal.budget_lines.get()
    assert (line.category, line.total_cost, line.eu_contribution, line.national_contribution) == (
        "activities",
        Decimal("3000000.00"),
        Decimal("1500000.00"),
        Decimal("1500000.00"),
    )


@pytest.mark.django_db
def test_budget_page_refuses_malformed_grouping_and_keeps_the_typed_value(client, applicant):
    proposal = make_draft(call=make_call(), applicant=applicant, budget=ONE_AND_A_HALF_MILLION, documents=False)
    client.force_login(applicant)
    response = client.post(
        f"/proposals/{proposal.pk}/budget/",
        {
            "activities-total_cost": "3,000,000.00",
            "activities-eu_contribution": "1,5,0",
            "activities-national_contribution": "1500000",
        },
    )
    assert response.status_code == 400
    page = text(response)
    assert "Enter an amount in euros, such as 1,500,000.00." in page
    assert 'name="activities-eu_contribution" value="1,5,0"' in page
    assert 'name="activities-national_contribution" value="1,500,000.00"' in page
    assert proposal.budget_lines.get().eu_contribution == Decimal("1500000.00")


@pytest.mark.django_db
def test_call_form_reads_grouped_budgets(client, programme_officer):
    client.force_login(programme_officer)
    response = client.post(
        "/officer/calls/new/",
        {
            "identifier": "EUROHPC-2027-X",
            "title": "X",
            "prong": "new_host",
            "opens_at": "2027-01-10T10:00",
            "cut_offs": "2027-03-01 17:00",
            "indicative_budget": "100,000,000.00",
            "max_eu_contribution": "12 500 000.5",
        },
    )
    assert response.status_code == 302
    call = Call.objects.get(identifier="EUROHPC-2027-X")
    assert (call.indicative_budget, call.max_eu_contribution) == (Decimal("100000000.00"), Decimal("12500000.50"))


@pytest.mark.django_db
def test_envelope_form_reads_a_grouped_amount(client, finance_officer):
    client.force_login(finance_officer)
    response = client.post(
        "/finance/envelopes/new/",
        {
            "code": "AIF-2028",
            "name": "AI Factories 2028",
            "programme": "digital_europe",
            "period_start": "2028",
            "period_end": "2028",
            "amount": "1,500,000.00",
        },
    )
    assert response.status_code == 302
    assert Envelope.objects.get(code="AIF-2028").amount == Decimal("1500000.00")


@pytest.mark.django_db
def test_envelope_form_refuses_a_malformed_amount(client, finance_officer):
    client.force_login(finance_officer)
    response = client.post(
        "/finance/envelopes/new/",
        {
            "code": "AIF-2028",
            "name": "AI Factories 2028",
            "programme": "digital_europe",
            "period_start": "2028",
            "period_end": "2028",
            "amount": "1.500.000",
        },
    )
    assert response.status_code == 400
    assert "Enter an amount in euros, such as 1,500,000.00." in text(response)
    assert not Envelope.objects.filter(code="AIF-2028").exists()
