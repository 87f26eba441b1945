import django_filters
from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from eurohpc.api.errors import error_body
from eurohpc.api.permissions import has_perm
from eurohpc.api.serializers import (
    ErrorSerializer,
    MeSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
    UserListSerializer,
)
from eurohpc.identity.services.second_factor import second_factor_for_credential
from eurohpc.identity.services.tokens import api_token_create
from eurohpc.lockout import LOCKED_MESSAGE
from eurohpc.models import Role
from eurohpc.selectors import user_list


class TokenThrottle(AnonRateThrottle):
    rate = "30/min"


class TokenApi(APIView):
    """Exchange a username and password (and the second factor's code, where the account has one) for a new API
    token, then send `Authorization: Token <token>`. Each call creates a named token, listed on the profile page and
    at /api/v1/auth/tokens/, with its scope (write unless asked) and its expiry (90 days unless asked)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: TokenResponseSerializer,
            400: ErrorSerializer,
            401: OpenApiResponse(
                ErrorSerializer,
                description="Wrong username or password (`authentication_failed`); the account has a second factor "
                "and `otp` is missing (`otp_required`) or wrong (`otp_invalid`).",
            ),
            403: OpenApiResponse(
                ErrorSerializer,
                description="A staff account that must have a second factor has not enrolled one (`otp_not_enrolled`).",
            ),
            409: OpenApiResponse(
                ErrorSerializer, description="A token of the account that is not revoked has this name."
            ),
            429: OpenApiResponse(ErrorSerializer, description="Too many failed logins, or wrong codes in a row."),
        },
        auth=[],
    )
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        try:
            user = authenticate(request._request, username=given["username"], password=given["password"])
        except PermissionDenied:
            user = None
        if getattr(request._request, "axes_locked_out", False):
            return Response(
                error_body(LOCKED_MESSAGE, "locked_out"),
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        if user is None or not user.is_active:
            return Response(
                error_body("Unable to log in with the provided username and password.", "authentication_failed"),
                status=status.HTTP_401_UNAUTHORIZED,
                headers={"WWW-Authenticate": "Token"},
            )
        second_factor = second_factor_for_credential(user=user, code=given.get("otp", ""))
        token, secret = api_token_create(
            user=user, name=given.get("name", ""), scope=given["scope"], days=given.get("expires_in_days"),
            second_factor=second_factor, actor=user,
        )  # fmt: skip
        token.secret = secret
        return Response(TokenResponseSerializer(token).data)


class MeApi(APIView):
    @extend_schema(responses={200: MeSerializer, 401: ErrorSerializer})
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class UserFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices, method="filter_role")

    def filter_role(self, queryset, name, value):
        return queryset.filter(role_grants__role=value)


class UserListApi(generics.ListAPIView):
    """Active users, for officers and administrators (e.g. `?role=evaluator` to pick evaluators)."""

    serializer_class = UserListSerializer
    permission_classes = [has_perm("eurohpc.list_users", "Only officers and administrators can list users.")]
    filterset_class = UserFilter

    def get_queryset(self):
        return user_list()

    @extend_schema(
        responses={
            200: UserListSerializer(many=True),
            400: OpenApiResponse(ErrorSerializer, description="Unknown role."),
            401: OpenApiResponse(ErrorSerializer),
            403: OpenApiResponse(ErrorSerializer),
            404: OpenApiResponse(ErrorSerializer, description="No such page."),
        }
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
