from rest_framework import serializers

from eurohpc.models import Organisation, Role, User


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()


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
