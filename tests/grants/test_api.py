"""The budget API contract: shapes, money as decimal strings, refusals with status and message."""

from decimal import Decimal

import pytest

from grants.models import AwardLetter, Grant
from grants.services import commitment_create, grant_create_from_proposal
from tests.conftest import api_for
from tests.grants.factories import make_grant, make_selected, make_signed

pytestmark = pytest.mark.django_db


def test_envelopes_list_contract(tree, grant, finance_officer):
    commitment_create(grant=grant, envelope=tree[1], amount=Decimal("1250000.50"), actor=finance_officer)
    response = api_for(finance_officer).get("/api/v1/envelopes/")
    assert response.status_code == 200
    rows = {row["code"]: row for row in response.json()["results"]}
    assert rows["AIF-2024"]["amount"] == "400000000.00"
    assert rows["AIF-2024"]["committed"] == "1250000.50"
    assert rows["AIF-2024"]["paid"] == "0.00"
    assert rows["AIF-2024"]["available"] == "398749999.50"
    assert rows["AIF-2024-2027"]["available"] == "798749999.50"
    assert set(rows["AIF-2024"]) >= {"id", "code", "amount", "committed", "paid", "available"}


def test_envelope_position_as_of(tree, grant, finance_officer):
    commitment_create(grant=grant, envelope=tree[1], amount=Decimal("10.00"), actor=finance_officer)
    client = api_for(finance_officer)
    before = client.get(f"/api/v1/envelopes/{tree[1].pk}/position/?as_of=2000-01-01")
    now = client.get(f"/api/v1/envelopes/{tree[1].pk}/position/")
    assert (before.status_code, before.json()["committed"], before.json()["as_of"]) == (200, "0.00", "2000-01-01")
    assert now.json()["net_committed"] == "10.00"


def test_envelope_position_bad_date_refused(tree, finance_officer):
    response = api_for(finance_officer).get(f"/api/v1/envelopes/{tree[1].pk}/position/?as_of=yesterday")
    assert response.status_code == 400
    assert response.json()["detail"] == "Invalid input."
    assert "as_of" in response.json()["errors"]


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", "2101-01-01", "1999-12-31"])
def test_envelope_position_as_of_outside_the_plausible_years_is_400(tree, finance_officer, as_of):
    response = api_for(finance_officer).get(f"/api/v1/envelopes/{tree[1].pk}/position/?as_of={as_of}")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "code": "invalid",
        "errors": {"as_of": ["Must be between the years 2000 and 2100."]},
    }


def test_grant_create_with_implausible_end_date_is_400(finance_officer):
    response = api_for(finance_officer).post("/api/v1/grants/", {"proposal": 1, "end_date": "9999-12-31"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"end_date": ["Must be between the years 2000 and 2100."]}


def test_envelopes_refused_to_applicant(applicant):
    response = api_for(applicant).get("/api/v1/envelopes/")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only officers and administrators can read the budget."


def test_envelope_create_api(tree, finance_officer):
    response = api_for(finance_officer).post(
        "/api/v1/envelopes/",
        {"code": "AIF-2025", "name": "AI Factories 2025", "programme": "digital_europe", "period_start": 2025,
         "period_end": 2025, "amount": "300000000.00", "parent": tree[0].pk},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201
    assert (response.json()["code"], response.json()["available"]) == ("AIF-2025", "300000000.00")


def test_grant_create_api(applicant, programme_officer, finance_officer, freezer):
    proposal = make_selected(applicant=applicant, officer=programme_officer, freezer=freezer)
    response = api_for(finance_officer).post("/api/v1/grants/", {"proposal": proposal.pk}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["reference"] == f"GA-{proposal.reference}"
    assert body["eu_contribution"] == "140000000.00"
    assert body["status"] == "prepared"
    assert isinstance(body["id"], int)


def test_grant_create_api_refused_to_programme_officer(applicant, programme_officer, freezer):
    proposal = make_selected(applicant=applicant, officer=programme_officer, freezer=freezer)
    response = api_for(programme_officer).post("/api/v1/grants/", {"proposal": proposal.pk}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only finance officers prepare grants."


def test_grant_create_api_refuses_twice(grant, finance_officer):
    response = api_for(finance_officer).post("/api/v1/grants/", {"proposal": grant.proposal_id}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == f"Proposal {grant.proposal.reference} already became grant {grant.reference}."


def test_commitment_api_409_names_envelope_and_excess(grant, finance_officer):
    from tests.grants.factories import make_envelope

    envelope = make_envelope(code="AIF-2024", amount="138750000.00")
    response = api_for(finance_officer).post(
        f"/api/v1/grants/{grant.pk}/commitments/", {"envelope": envelope.pk, "amount": "140000000.00"}, format="json"
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": "AIF-2024 would be exceeded by EUR 1,250,000.00",
        "code": "envelope_exceeded",
        "errors": {},
    }


def test_commitment_sign_payment_decommitment_flow(tree, grant, finance_officer):
    client = api_for(finance_officer)
    created = client.post(
        f"/api/v1/grants/{grant.pk}/commitments/", {"envelope": tree[1].pk, "amount": "140000000.00"}, format="json"
    )
    assert created.status_code == 201
    assert (created.json()["kind"], created.json()["amount"]) == ("commitment", "140000000.00")
    signed = client.post(f"/api/v1/grants/{grant.pk}/sign/")
    assert (signed.status_code, signed.json()["status"]) == (200, "signed")
    paid = client.post(f"/api/v1/grants/{grant.pk}/payments/", {"kind": "prefinancing", "amount": "56000000.00"},
                       format="json")  # fmt: skip
    assert (paid.status_code, paid.json()["withheld"]) == (201, "2800000.00")
    over = client.post(f"/api/v1/grants/{grant.pk}/payments/", {"kind": "interim", "amount": "70000000.01"},
                       format="json")  # fmt: skip
    assert over.status_code == 409
    assert over.json()["detail"] == (
        f"Pre-financing and interim payments on {grant.reference} would exceed 90% of the grant "
        f"(EUR 126,000,000.00) by EUR 0.01"
    )
    decommitted = client.post(f"/api/v1/grants/{grant.pk}/decommitments/", {"amount": "4000000.00"}, format="json")
    assert (decommitted.status_code, decommitted.json()["kind"]) == (201, "decommitment")
    too_much = client.post(f"/api/v1/grants/{grant.pk}/decommitments/", {"amount": "80000000.01"}, format="json")
    assert too_much.status_code == 409
    assert too_much.json()["detail"] == (
        f"{grant.reference} has EUR 80,000,000.00 committed and unpaid: a decommitment of EUR 80,000,000.01 "
        f"exceeds it by EUR 0.01"
    )
    ledger = client.get(f"/api/v1/grants/{grant.pk}/ledger/").json()["results"]
    assert [(e["kind"], e["signed_amount"]) for e in ledger] == [
        ("commitment", "140000000.00"),
        ("prefinancing", "56000000.00"),
        ("decommitment", "4000000.00"),
    ]


def test_sign_api_refused_before_commitment(grant, finance_officer):
    response = api_for(finance_officer).post(f"/api/v1/grants/{grant.pk}/sign/")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"{grant.reference} has no budget commitment yet: the grant is signed only after the budget commitment."
    )


def test_payment_api_refuses_unknown_kind_and_negative_amount(tree, grant, finance_officer):
    client = api_for(finance_officer)
    response = client.post(f"/api/v1/grants/{grant.pk}/payments/", {"kind": "bonus", "amount": "-1"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["kind"] == ['"bonus" is not a valid choice.']
    assert response.json()["errors"]["amount"] == ["Ensure this value is greater than or equal to 0.01."]


def test_payment_api_refused_to_applicant(tree, grant, applicant):
    response = api_for(applicant).post(f"/api/v1/grants/{grant.pk}/payments/", {"kind": "interim", "amount": "1.00"},
                                       format="json")  # fmt: skip
    assert response.status_code == 403
    assert response.json()["detail"] == "Only finance officers record payments."


def test_applicant_sees_own_grants_only(grant, other_applicant, applicant):
    assert api_for(applicant).get(f"/api/v1/grants/{grant.pk}/").status_code == 200
    assert api_for(other_applicant).get(f"/api/v1/grants/{grant.pk}/").status_code == 404
    assert api_for(other_applicant).get("/api/v1/grants/").json()["count"] == 0
    assert api_for(applicant).get("/api/v1/grants/").json()["count"] == 1


def test_award_letter_api_202_then_pdf(tree, grant, finance_officer, applicant, django_capture_on_commit_callbacks):
    client = api_for(finance_officer)
    assert client.get(f"/api/v1/grants/{grant.pk}/award-letter/").json()["detail"] == (
        f"No award letter has been issued for {grant.reference} yet."
    )
    make_signed(grant, tree[1], actor=finance_officer)  # on_commit not run: the letter stays pending
    pending = client.get(f"/api/v1/grants/{grant.pk}/award-letter/")
    assert (pending.status_code, pending.json()["status"], pending.json()["version"]) == (202, "pending", 1)
    from grants.tasks import render_award_letter

    render_award_letter.apply(kwargs={"letter_id": AwardLetter.objects.get(grant=grant).pk})
    ready = api_for(applicant).get(f"/api/v1/grants/{grant.pk}/award-letter/")
    assert ready.status_code == 200
    assert ready["Content-Type"] == "application/pdf"
    assert b"".join(ready.streaming_content).startswith(b"%PDF-")
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"/api/v1/grants/{grant.pk}/award-letter/")
    assert (again.status_code, again.json()["version"]) == (202, 2)
    assert AwardLetter.objects.filter(grant=grant, status="ready").count() == 2


def test_award_letter_api_404_for_another_organisation(tree, grant, finance_officer, other_applicant):
    make_signed(grant, tree[1], actor=finance_officer)
    assert api_for(other_applicant).get(f"/api/v1/grants/{grant.pk}/award-letter/").status_code == 404


@pytest.mark.parametrize("rows", [1, 4])
def test_grant_list_api_query_count_is_constant(
    rows, applicant, programme_officer, finance_officer, freezer, tree, django_assert_num_queries
):
    for i in range(rows):
        grant = make_grant(applicant=applicant, officer=programme_officer, freezer=freezer, acronym=f"AIF{i}")
        commitment_create(grant=grant, envelope=tree[1], amount=Decimal("10.00"), actor=finance_officer)
    client = api_for(finance_officer)
    # user's roles (permission), count, page of grants, one ledger aggregate of the page's grants
    with django_assert_num_queries(4):
        response = client.get("/api/v1/grants/")
    assert response.json()["count"] == rows
    assert response.json()["results"][0]["net_committed"] == "10.00"


@pytest.mark.parametrize("rows", [1, 4])
def test_envelope_list_api_query_count_is_constant(rows, tree, grant, finance_officer, django_assert_num_queries):
    from tests.grants.factories import make_envelope

    for i in range(rows):
        make_envelope(code=f"AIF-X{i}", amount="10.00", parent=tree[0], years=(2025, 2025))
    client = api_for(finance_officer)
    with django_assert_num_queries(3):  # roles, envelopes, ledger aggregate
        response = client.get("/api/v1/envelopes/")
    assert response.json()["count"] == rows + 2


def test_grant_statuses_are_the_documented_ones():
    assert Grant.Status.values == ["prepared", "budget_committed", "signed", "active", "closed", "terminated"]


def test_grant_create_api_unknown_proposal(finance_officer):
    response = api_for(finance_officer).post("/api/v1/grants/", {"proposal": 999999}, format="json")
    assert response.status_code == 404


def test_commitment_api_other_envelope_refused(tree, applicant, programme_officer, finance_officer, freezer):
    grant = grant_create_from_proposal(
        proposal=make_selected(applicant=applicant, officer=programme_officer, freezer=freezer), actor=finance_officer
    )
    client = api_for(finance_officer)
    client.post(f"/api/v1/grants/{grant.pk}/commitments/", {"envelope": tree[1].pk, "amount": "1.00"}, format="json")
    response = client.post(
        f"/api/v1/grants/{grant.pk}/commitments/", {"envelope": tree[0].pk, "amount": "1.00"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "other_envelope"


def test_award_letter_api_serves_the_last_ready_version_when_the_latest_failed(
    tree, grant, finance_officer, applicant, django_capture_on_commit_callbacks
):
    from grants.services import award_letter_fail, award_letter_request

    with django_capture_on_commit_callbacks(execute=True):
        make_signed(grant, tree[1], actor=finance_officer)
    failed = award_letter_request(grant=grant, actor=finance_officer)
    award_letter_fail(letter_id=failed.pk, error="OSError: no fonts")
    response = api_for(applicant).get(f"/api/v1/grants/{grant.pk}/award-letter/")
    assert response.status_code == 200
    assert response["X-Content-SHA256"] == AwardLetter.objects.get(grant=grant, version=1).sha256
    explicit = api_for(finance_officer).get(f"/api/v1/grants/{grant.pk}/award-letter/?version=2")
    assert explicit.status_code == 409
    assert explicit.json()["detail"] == (
        f"Version 2 of the award letter of {grant.reference} failed to render: OSError: no fonts"
    )
