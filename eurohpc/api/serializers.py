from django.conf import settings
from rest_framework import serializers

from eurohpc.identity.selectors.tokens import TOKEN_STATES
from eurohpc.models import ApiToken, Organisation, Role, User


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ApiTokenInputSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text='Default: "API token <date> <time>".'
    )
    scope = serializers.ChoiceField(
        choices=ApiToken.Scope.choices,
        default=ApiToken.Scope.READ,
        help_text="read: GET, HEAD and OPTIONS only; write: every method the holder's roles allow.",
    )
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=settings.API_TOKEN_MAX_DAYS,
        required=False,
        help_text=f"Default {settings.API_TOKEN_DEFAULT_DAYS}.",
    )


class TokenRequestSerializer(ApiTokenInputSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="The current code of the authenticator app (or a recovery code): required when the account has "
        "a second factor, or must have one.",
    )
    scope = serializers.ChoiceField(
        choices=ApiToken.Scope.choices,
        default=ApiToken.Scope.WRITE,
        help_text="read: GET, HEAD and OPTIONS only; write (the default here): every method the holder's roles allow.",
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(choices=TOKEN_STATES, read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "scope", "created_at", "expires_at", "last_used_at", "revoked_at", "state"]
        read_only_fields = fields


class TokenResponseSerializer(serializers.ModelSerializer):
    token = serializers.CharField(
        source="secret", help_text="The secret, shown this once: send it as `Authorization: Token <token>`."
    )

    class Meta:
        model = ApiToken
        fields = ["id", "token", "name", "prefix", "scope", "created_at", "expires_at"]
        read_only_fields = fields


class OrganisationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "short_name", "legal_name", "country", "kind"]


class MeSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()
    organisation = OrganisationSerializer(allow_null=True)

    class Meta:
        model = User
        fields = ["id", "username", "name", "email", "roles", "organisation"]

    name = serializers.CharField(source="display_name")

    def get_roles(self, user) -> list[str]:
        return sorted(user.roles)


class UserListSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name")
    organisation = serializers.SlugRelatedField(slug_field="short_name", read_only=True, allow_null=True)
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name", "organisation", "roles"]

    def get_roles(self, user) -> list[str]:
        return sorted(user.roles)


ROLE_CHOICES = Role.choices
