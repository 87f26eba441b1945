"""The API tokens of the signed-in user: list, create (the secret is answered once), revoke."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from eurohpc.api.serializers import (
    ApiTokenInputSerializer,
    ApiTokenSerializer,
    ErrorSerializer,
    TokenResponseSerializer,
)
from eurohpc.identity.selectors.tokens import api_token_list
from eurohpc.identity.services.second_factor import second_factor_passed
from eurohpc.identity.services.tokens import api_token_create, api_token_revoke
from eurohpc.models import ApiToken


class ApiTokenListApi(generics.ListAPIView):
    """Your API tokens, newest first, with their state (active, expired, revoked); POST creates one."""

    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()  # for the schema; get_queryset answers

    def get_queryset(self):
        return api_token_list(user=self.request.user)

    @extend_schema(
        responses={
            200: ApiTokenSerializer(many=True),
            401: ErrorSerializer,
            404: OpenApiResponse(ErrorSerializer, description="No such page."),
        }
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        description="Create a token of yours: the answer holds its secret, shown this once. A read token cannot "
        "create one; where your account has a second factor, the request must come after it (a token created with "
        "it, or a session signed in with it).",
        request=ApiTokenInputSerializer,
        responses={
            201: TokenResponseSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: OpenApiResponse(
                ErrorSerializer,
                description="A read token (`token_scope`); the account needs its second factor for a new token and "
                "this request did not pass it (`token_second_factor`).",
            ),
            409: OpenApiResponse(ErrorSerializer, description="A token of yours that is not revoked has this name."),
        },
    )
    def post(self, request):
        data = ApiTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        token, secret = api_token_create(
            user=request.user, name=given.get("name", ""), scope=given["scope"], days=given.get("expires_in_days"),
            second_factor=second_factor_passed(request), actor=request.user,
        )  # fmt: skip
        token.secret = secret
        return Response(TokenResponseSerializer(token).data, status=status.HTTP_201_CREATED)


class ApiTokenDetailApi(APIView):
    @extend_schema(
        responses={
            204: None,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: OpenApiResponse(ErrorSerializer, description="No token of yours has this id."),
            409: OpenApiResponse(ErrorSerializer, description="The token is already revoked."),
        }
    )
    def delete(self, request, pk: int):
        """Revoke one of your tokens: it stops working at once."""
        token = get_object_or_404(ApiToken.objects.filter(user=request.user), pk=pk)
        api_token_revoke(token=token, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
