"""Pages of the access calls. Registers their navigation entries and the dashboards' access work."""

from django.urls import path

from calls.access import views
from eurohpc.models import Role
from eurohpc.navigation import NavEntry, register
from eurohpc.views import DASHBOARD_CONTEXT

# One entry for everyone (the officer's menu must stay one line at 1366 px): the access page links the officer's
# lists, the pools and the rankings; applicants and support teams keep their own queue in the menu.
register(NavEntry("Access", "access-home", public=True), before="dashboard")
register(NavEntry("My access applications", "access-my-applications", perm="calls.apply_access"), before="audit-list")
# The support teams' queue (officers reach it from their dashboard's counts).
register(NavEntry("Technical assessments", "access-technical", perm="hosting.view_operator_quota"), before="audit-list")

for role, provider in (
    (Role.APPLICANT, views.applicant_dashboard_context),
    (Role.PROGRAMME_OFFICER, views.officer_dashboard_context),
    (Role.HOSTING_OPERATOR, views.operator_dashboard_context),
):
    if provider not in DASHBOARD_CONTEXT[role]:
        DASHBOARD_CONTEXT[role].append(provider)

urlpatterns = [
    path("access/", views.access_home, name="access-home"),
    path("access/applications/", views.application_list, name="access-applications"),
    # the same list, under the applicant's entry of the navigation
    path("access/applications/", views.application_list, name="access-my-applications"),
    path("access/apply/<id:call_id>/", views.application_new, name="access-apply"),
    path("access/applications/<id:pk>/", views.application_detail, name="access-application"),
    path("access/applications/<id:pk>/edit/", views.application_edit, name="access-edit"),
    path("access/applications/<id:pk>/submit/", views.application_submit, name="access-submit"),
    path("access/applications/<id:pk>/withdraw/", views.application_withdraw, name="access-withdraw"),
    path("access/applications/<id:pk>/eligibility/", views.application_eligibility, name="access-eligibility"),
    path("access/applications/<id:pk>/technical/", views.application_assess, name="access-assess"),
    path("access/applications/<id:pk>/reviewers/", views.application_assign, name="access-assign"),
    path("access/applications/<id:pk>/release/", views.application_release, name="access-release"),
    path("access/applications/<id:pk>/reply/", views.application_reply, name="access-reply"),
    path("access/applications/<id:pk>/decision/", views.application_decide, name="access-decide"),
    path("access/applications/<id:pk>/final-report/", views.application_final_report, name="access-final-report"),
    path("access/technical/", views.technical_queue, name="access-technical"),
    path("access/cut-offs/<id:pk>/ranking/", views.ranking, name="access-ranking"),
    path("access/cut-offs/<id:pk>/ranking/award/", views.ranking_award, name="access-ranking-award"),
    path("access/pools/", views.pool_machines, name="access-pools"),
    path("access/pools/<id:pk>/", views.pool_board, name="access-pool-board"),
]
