"""Single sign-on: to the identity provider and back (eurohpc.identity.views_oidc)."""

from django.urls import path

from eurohpc.identity import views_oidc

urlpatterns = [
    path("sso/start/", views_oidc.SignOnStartView.as_view(), name="sso_start"),
    path("sso/callback/", views_oidc.SignOnCallbackView.as_view(), name="sso_callback"),
]
