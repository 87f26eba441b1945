"""Registrations decided at the same time on PostgreSQL: two officers never both decide one request, and one user
never has two requests pending."""

import pytest

from eurohpc.errors import StateConflict
from eurohpc.identity.services.registration import (
    membership_request_confirm,
    membership_request_create,
    membership_request_refuse,
)
from eurohpc.models import MembershipRequest, Organisation, Role, User, UserRole
from eurohpc.selectors import audit_chain_report
from tests.conftest import race, requires_postgresql
from tests.eurohpc.registration_factories import register
from tests.factories import UserFactory

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def second_officer(db):
    return UserFactory(username="officer2", roles=[Role.PROGRAMME_OFFICER])


def test_two_officers_confirming_and_refusing_at_once_decide_once(programme_officer, second_officer, organisation):
    pending = register(organisation=organisation)
    _results, errors = race(
        lambda: membership_request_confirm(request=pending, actor=programme_officer),
        lambda: membership_request_refuse(request=pending, reason="Not staff.", actor=second_officer),
    )
    assert len(errors) == 1 and isinstance(errors[0], StateConflict) and errors[0].code == "not_pending", errors
    decided = MembershipRequest.objects.get()
    user = User.objects.get(pk=pending.user_id)
    if decided.status == "confirmed":
        assert user.organisation_id == organisation.pk and UserRole.objects.filter(user=user).count() == 1
    else:
        assert decided.status == "refused" and user.organisation_id is None
        assert not UserRole.objects.filter(user=user).exists()
    assert audit_chain_report().ok


def test_two_officers_confirming_a_proposed_organisation_add_it_once(programme_officer, second_officer):
    pending = register()
    _results, errors = race(
        lambda: membership_request_confirm(request=pending, actor=programme_officer),
        lambda: membership_request_confirm(request=pending, actor=second_officer),
    )
    assert len(errors) == 1 and isinstance(errors[0], StateConflict) and errors[0].code == "not_pending", errors
    assert Organisation.objects.filter(short_name="LIST").count() == 1
    assert MembershipRequest.objects.get().status == "confirmed"
    assert audit_chain_report().ok


def test_two_requests_of_one_user_at_once_make_one(organisation, other_organisation):
    user = UserFactory(username="newcomer")
    _results, errors = race(
        lambda: membership_request_create(user=user, organisation=organisation, actor=user),
        lambda: membership_request_create(user=user, organisation=other_organisation, actor=user),
    )
    assert len(errors) == 1 and isinstance(errors[0], StateConflict) and errors[0].code == "request_pending", errors
    assert MembershipRequest.objects.filter(status="pending").count() == 1


def test_two_registrations_racing_for_one_username_open_one_account(organisation):
    from eurohpc.errors import RuleViolation
    from eurohpc.identity.services.registration import user_register

    def attempt(email):
        return lambda: user_register(username="lena", email=email, first_name="Lena", last_name="Hoffmann",
                                     password="Quantum-Annealer-42", organisation=organisation)  # fmt: skip

    _results, errors = race(attempt("lena@hlrs.example"), attempt("lena.h@hlrs.example"))
    assert len(errors) == 1 and isinstance(errors[0], RuleViolation), errors
    assert errors[0].code == "username_taken"
    assert errors[0].message == "The username 'lena' is taken: choose another."
    assert User.objects.filter(username="lena").count() == 1
    assert audit_chain_report().ok
