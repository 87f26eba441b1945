import pytest

from eurohpc.models import Role
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = [Role.APPLICANT, Role.EVALUATOR, Role.PROGRAMME_OFFICER, Role.FINANCE_OFFICER, Role.HOSTING_OPERATOR,
         Role.TECHNICAL_EXPERT, Role.ADMIN]  # fmt: skip

EXPECTED = {
    "eurohpc.list_users": {Role.PROGRAMME_OFFICER, Role.FINANCE_OFFICER, Role.ADMIN},
    "eurohpc.view_audit": {Role.PROGRAMME_OFFICER, Role.FINANCE_OFFICER, Role.ADMIN},
}


@pytest.mark.parametrize("perm", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_role_permission_matrix(perm, role):
    organisation = OrganisationFactory()
    user = UserFactory(organisation=organisation, roles=[role])
    assert user.has_perm(perm) is (role in EXPECTED[perm])


def test_role_permission_refused_for_anonymous():
    from django.contrib.auth.models import AnonymousUser

    assert AnonymousUser().has_perm("eurohpc.list_users") is False


def test_role_permission_refused_for_inactive_user():
    user = UserFactory(roles=[Role.PROGRAMME_OFFICER])
    user.is_active = False
    assert user.has_perm("eurohpc.view_audit") is False


@pytest.mark.parametrize("role", ROLES)
def test_view_organisation_only_for_members_and_officers(role):
    own, other = OrganisationFactory(), OrganisationFactory()
    user = UserFactory(organisation=own, roles=[role])
    officer_like = role in {Role.PROGRAMME_OFFICER, Role.FINANCE_OFFICER, Role.ADMIN}
    assert user.has_perm("eurohpc.view_organisation", own) is True
    assert user.has_perm("eurohpc.view_organisation", other) is officer_like
