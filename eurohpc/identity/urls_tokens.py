from django.urls import path

from eurohpc.identity import views_tokens

urlpatterns = [
    path("profile/tokens/", views_tokens.token_create, name="profile-token-create"),
    path("profile/tokens/<id:pk>/revoke/", views_tokens.token_revoke, name="profile-token-revoke"),
]
