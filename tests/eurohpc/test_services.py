import pytest

from eurohpc.errors import RuleViolation, StateConflict
from eurohpc.models import AuditEvent, Role
from eurohpc.services import organisation_create, user_grant_role
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_organisation_create_records_audit_event():
    organisation = organisation_create(legal_name="LuxProvide S.A.", short_name="LuxProvide", country="lu",
                                       kind="hosting_entity", actor=None)  # fmt: skip
    event = AuditEvent.objects.get(verb="organisation.create")
    assert organisation.country == "LU"
    assert event.target_id == str(organisation.pk)
    assert event.changes == {"legal_name": "LuxProvide S.A.", "country": "LU", "kind": "hosting_entity"}
    assert event.actor_repr == "system"


def test_organisation_create_refuses_unknown_country():
    with pytest.raises(RuleViolation, match="Country must be an ISO 3166-1 alpha-2 code, got 'XX'."):
        organisation_create(legal_name="X", short_name="X", country="XX", kind="company", actor=None)


def test_organisation_create_refuses_duplicate_short_name():
    OrganisationFactory(short_name="GRNET")
    with pytest.raises(StateConflict, match="An organisation with the short name 'GRNET' already exists."):
        organisation_create(legal_name="Other", short_name="GRNET", country="GR", kind="company", actor=None)


def test_user_grant_role_refuses_operator_without_organisation():
    user = UserFactory()
    with pytest.raises(RuleViolation, match="The role Hosting operator acts for an organisation"):
        user_grant_role(user=user, role=Role.HOSTING_OPERATOR, actor=None)


def test_user_grant_role_refuses_unknown_role():
    user = UserFactory()
    with pytest.raises(RuleViolation, match="Unknown role 'pope'"):
        user_grant_role(user=user, role="pope", actor=None)


def test_user_grant_role_twice_records_one_event():
    user = UserFactory()
    user_grant_role(user=user, role=Role.EVALUATOR, actor=None)
    user_grant_role(user=user, role=Role.EVALUATOR, actor=None)
    assert AuditEvent.objects.filter(verb="user.grant_role", target_id=str(user.pk)).count() == 1
    assert user.roles == frozenset({Role.EVALUATOR})


def test_organisation_signatory_update_records_the_changes_once():
    from eurohpc.models import AuditEvent
    from eurohpc.services import organisation_signatory_update

    organisation = organisation_create(legal_name="GRNET S.A.", short_name="GRNET", country="GR",
                                       kind="hosting_entity", actor=None)  # fmt: skip
    assert organisation.letter_missing == ["registered address", "legal representative"]
    for _ in range(2):
        organisation = organisation_signatory_update(
            organisation=organisation, address=" 7, Kifisias Avenue\n\n115 23 Athens ", representative_name="N. P.",
            representative_function="Director", actor=None,
        )  # fmt: skip
    assert organisation.address_lines == ["7, Kifisias Avenue", "115 23 Athens"]
    assert organisation.letter_missing == []
    events = AuditEvent.objects.filter(verb="organisation.update_signatory")
    assert [e.changes for e in events] == [
        {"address": "7, Kifisias Avenue\n\n115 23 Athens", "representative_name": "N. P.",
         "representative_function": "Director"}
    ]  # fmt: skip
