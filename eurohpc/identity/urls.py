"""Accounts: sign-in (password, single sign-on), the second factor, the profile, API tokens, registration."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("eurohpc.identity.urls_oidc")),
    path("", include("eurohpc.identity.urls_registration")),
    path("", include("eurohpc.identity.urls_tokens")),
]
