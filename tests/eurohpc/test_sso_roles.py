"""Roles from the identity provider: never, unless a claim is configured; then only the roles the map names."""

import pytest

from eurohpc.identity.services.oidc import user_roles_from_provider
from eurohpc.models import AuditEvent, Role, User
from tests.eurohpc.oidc_fixtures import sso_sign_in
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLE_MAP = {
    "aif-programme-officers": Role.PROGRAMME_OFFICER.value,
    "aif-evaluators": Role.EVALUATOR.value,
    "aif-applicants": Role.APPLICANT.value,
}


@pytest.fixture
def roles_from_provider(sso, settings):
    settings.OIDC_ROLES_CLAIM = "roles"
    settings.OIDC_ROLE_MAP = ROLE_MAP
    return sso


def test_sso_role_claim_is_ignored_without_a_configured_claim(client, sso, settings):
    settings.OIDC_ROLE_MAP = ROLE_MAP  # a map alone gives nothing
    sso_sign_in(client, sso, "jonas")  # the provider says: aif-evaluators, aif-applicants
    assert set(User.objects.get(email="jonas.keller@example.eu").roles) == set()
    assert not AuditEvent.objects.filter(verb__in=["user.grant_role", "external_identity.role_withheld"]).exists()


def test_sso_role_claim_maps_to_roles_and_withholds_organisation_roles_without_an_organisation(
    client, roles_from_provider
):
    sso_sign_in(client, roles_from_provider, "jonas")
    user = User.objects.get(email="jonas.keller@example.eu")
    assert set(user.roles) == {Role.EVALUATOR}
    events = list(
        AuditEvent.objects.filter(
            target_id=str(user.pk), verb__in=["user.grant_role", "external_identity.role_withheld"]
        )
        .order_by("seq")
        .values_list("actor_id", "verb", "changes")
    )
    assert events == [
        (None, "external_identity.role_withheld", {"role": "applicant", "issuer": roles_from_provider.issuer}),
        (None, "user.grant_role", {"role": "evaluator"}),
    ]  # fmt: skip


def test_sso_role_claim_grants_an_organisation_role_to_a_member_of_one(client, roles_from_provider):
    member = UserFactory(username="jonas.k", email="jonas.keller@example.eu", organisation=OrganisationFactory())
    sso_sign_in(client, roles_from_provider, "jonas")
    assert set(User.objects.get(pk=member.pk).roles) == {Role.EVALUATOR, Role.APPLICANT}


def test_sso_role_claim_removes_mappable_roles_it_no_longer_names_and_keeps_the_others(client, roles_from_provider):
    officer = UserFactory(username="aino.v", email="aino.virtanen@csc.fi", roles=[Role.EVALUATOR, Role.FINANCE_OFFICER])
    sso_sign_in(client, roles_from_provider, "aino")  # the provider says: aif-programme-officers
    assert set(User.objects.get(pk=officer.pk).roles) == {Role.PROGRAMME_OFFICER, Role.FINANCE_OFFICER}
    removed = AuditEvent.objects.get(verb="user.revoke_role")
    assert (removed.actor_id, removed.target_id, removed.changes) == (
        None, str(officer.pk), {"role": "evaluator", "issuer": roles_from_provider.issuer},
    )  # fmt: skip


def test_user_roles_from_provider_takes_a_space_separated_claim_and_skips_unknown_roles(db):
    user = UserFactory(username="someone")
    role_map = {**ROLE_MAP, "aif-wizards": "wizard"}
    roles = user_roles_from_provider(user=user, values="aif-evaluators unknown-group", role_map=role_map,
                                     issuer="https://idp.example")  # fmt: skip
    assert roles == {Role.EVALUATOR}
