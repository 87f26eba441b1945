"""Accounts: sign-in (password, single sign-on), the second factor, the profile, API tokens, registration."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from eurohpc.identity import views_account, views_oidc

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", views_oidc.SignOutView.as_view(), name="logout"),
    path("profile/", views_account.profile, name="profile"),
    path("password/", views_account.password_change_view, name="password-change"),
    path("sessions/<id:session_id>/end/", views_account.session_revoke, name="session-revoke"),
    path("two-factor/", views_account.two_factor_setup, name="two-factor-setup"),
    path("two-factor/verify/", views_account.two_factor_verify, name="two-factor-verify"),
    path("two-factor/recovery-codes/", views_account.recovery_codes_regenerate, name="two-factor-recovery-codes"),
    path("two-factor/disable/", views_account.two_factor_disable, name="two-factor-disable"),
    path("second-factor-reset/", views_account.second_factor_reset, name="second-factor-reset"),
    path("", include("eurohpc.identity.urls_oidc")),
    path("", include("eurohpc.identity.urls_registration")),
    path("", include("eurohpc.identity.urls_tokens")),
]
