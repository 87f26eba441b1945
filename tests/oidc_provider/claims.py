"""The claims of the loopback provider's accounts: e-mail (verified unless the account is in UNVERIFIED_GROUP),
names, and a "roles" claim of the groups named "role:<value>"."""

from oidc_provider.lib.claims import ScopeClaims

from tests.oidc_provider.people import ROLES_CLAIM, UNVERIFIED_GROUP


def userinfo(claims, user):
    claims["name"] = user.get_full_name()
    claims["given_name"] = user.first_name
    claims["family_name"] = user.last_name
    claims["preferred_username"] = user.username
    claims["email"] = user.email
    claims["email_verified"] = not user.groups.filter(name=UNVERIFIED_GROUP).exists()
    return claims


class RoleClaims(ScopeClaims):
    def scope_profile(self):
        names = self.user.groups.filter(name__startswith="role:").values_list("name", flat=True)
        return {ROLES_CLAIM: sorted(name.removeprefix("role:") for name in names)}
