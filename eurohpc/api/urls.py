from django.urls import path

from eurohpc.api import views

urlpatterns = [
    path("auth/token/", views.TokenApi.as_view(), name="api-token"),
    path("users/me/", views.MeApi.as_view(), name="api-me"),
    path("users/", views.UserListApi.as_view(), name="api-users"),
]
