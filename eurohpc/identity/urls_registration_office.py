"""The programme office's queue of membership requests (/officer/registrations/); its count on the programme
officer's dashboard panel."""

from django.urls import path

from eurohpc.identity import views_registration as views
from eurohpc.models import Role
from eurohpc.views import DASHBOARD_CONTEXT

if views.officer_dashboard_context not in DASHBOARD_CONTEXT[Role.PROGRAMME_OFFICER]:
    DASHBOARD_CONTEXT[Role.PROGRAMME_OFFICER].append(views.officer_dashboard_context)

urlpatterns = [
    path("", views.registration_queue, name="registration-queue"),
    path("<id:pk>/", views.registration_detail, name="registration-detail"),
    path("<id:pk>/confirm/", views.registration_confirm, name="registration-confirm"),
    path("<id:pk>/refuse/", views.registration_refuse, name="registration-refuse"),
]
