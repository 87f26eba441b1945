import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_logs_in_and_redirects_to_dashboard(client, applicant):
    response = client.post("/accounts/login/", {"username": "applicant", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert "Applicant" in page.content.decode()


def test_login_wrong_password_shows_reason(client, applicant):
    response = client.post("/accounts/login/", {"username": "applicant", "password": "wrong"})
    assert response.status_code == 200
    assert "Your username and password did not match." in response.content.decode()


def test_login_locked_out_after_five_failures(client, applicant):
    for _ in range(5):
        client.post("/accounts/login/", {"username": "applicant", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "applicant", "password": PASSWORD})
    assert response.status_code == 429
    assert "This account is locked after 5 failed attempts" in response.content.decode()


def test_dashboard_requires_login(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/dashboard/"


def test_audit_page_refused_for_applicant(client, applicant):
    client.force_login(applicant)
    response = client.get("/audit/")
    assert response.status_code == 403
    assert "Only officers and administrators can read the audit trail." in response.content.decode()


@pytest.mark.parametrize("rows", [1, 5])
def test_audit_page_query_count_is_constant(client, admin_user, django_assert_num_queries, rows):
    from eurohpc.services import audit_record

    for i in range(rows):
        audit_record(actor=admin_user, verb="test.event", changes={"i": i})
    client.force_login(admin_user)
    # session, user, user's roles, the model backend's two permission look-ups (navigation), the last chain
    # check, count, page (events with their actors)
    with django_assert_num_queries(8):
        response = client.get("/audit/")
    assert response.status_code == 200


def test_navigation_shows_only_permitted_entries(client, applicant, admin_user):
    client.force_login(applicant)
    assert 'href="/audit/"' not in client.get("/dashboard/").content.decode()
    client.force_login(admin_user)
    assert 'href="/audit/"' in client.get("/dashboard/").content.decode()


def test_pages_carry_security_headers(client):
    response = client.get("/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_unknown_api_address_answers_json_404(client):
    response = client.get("/api/v1/proposals/0.25/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found", "errors": {}}


def test_unknown_page_answers_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "There is nothing at this address that you can see." in response.content.decode()
