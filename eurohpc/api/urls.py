from django.urls import path

from eurohpc.api import views
from eurohpc.identity import api_tokens

urlpatterns = [
    path("auth/token/", views.TokenApi.as_view(), name="api-token"),
    path("auth/tokens/", api_tokens.ApiTokenListApi.as_view(), name="api-tokens"),
    path("auth/tokens/<id:pk>/", api_tokens.ApiTokenDetailApi.as_view(), name="api-token-detail"),
    path("users/me/", views.MeApi.as_view(), name="api-me"),
    path("users/", views.UserListApi.as_view(), name="api-users"),
]
