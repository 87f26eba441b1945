"""API authentication by named, scoped, expiring tokens (eurohpc.models.ApiToken)."""

from rest_framework.authentication import TokenAuthentication


class ApiTokenAuthentication(TokenAuthentication):
    pass
