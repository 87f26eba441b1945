from django.urls import path

from calls import dashboard, views
from eurohpc.models import Role
from eurohpc.navigation import NavEntry, register
from eurohpc.views import DASHBOARD_CONTEXT

register(NavEntry("Calls", "call-list", public=True), before="dashboard")
register(NavEntry("My proposals", "my-proposals", perm="calls.add_proposal"), before="audit-list")
register(NavEntry("Submissions", "submission-list", perm="calls.list_submissions"), before="audit-list")

for role, provider in ((Role.APPLICANT, dashboard.applicant_panel), (Role.PROGRAMME_OFFICER, dashboard.officer_panel)):
    if provider not in DASHBOARD_CONTEXT[role]:
        DASHBOARD_CONTEXT[role].append(provider)

urlpatterns = [
    path("calls/", views.calls_public, name="call-list"),
    path("calls/<str:identifier>/", views.call_page, name="call-detail"),
    path("proposals/", views.my_proposals, name="my-proposals"),
    path("proposals/new/", views.proposal_new, name="proposal-new"),
    path("proposals/<id:pk>/", views.proposal_page, name="proposal-detail"),
    path("proposals/<id:pk>/edit/", views.proposal_edit, name="proposal-edit"),
    path("proposals/<id:pk>/budget/", views.proposal_budget, name="proposal-budget"),
    path("proposals/<id:pk>/consortium/", views.proposal_consortium, name="proposal-consortium"),
    path(
        "proposals/<id:pk>/consortium/<id:member_id>/remove/",
        views.proposal_consortium_remove,
        name="proposal-consortium-remove",
    ),
    path("proposals/<id:pk>/documents/", views.proposal_documents, name="proposal-documents"),
    path("proposals/<id:pk>/documents/<id:document_id>/", views.proposal_document_download, name="proposal-document"),
    path(
        "proposals/<id:pk>/documents/<id:document_id>/delete/",
        views.proposal_document_delete,
        name="proposal-document-delete",
    ),
    path("proposals/<id:pk>/submit/", views.proposal_submit, name="proposal-submit"),
    path("proposals/<id:pk>/withdraw/", views.proposal_withdraw, name="proposal-withdraw"),
    path("proposals/<id:pk>/copy/", views.proposal_copy, name="proposal-copy"),
    path("officer/submissions/", views.submission_list, name="submission-list"),
    path("officer/proposals/<id:pk>/eligibility/", views.eligibility_screen, name="eligibility-screen"),
    path("officer/calls/new/", views.call_new, name="call-new"),
    path("officer/calls/<id:pk>/cut-offs/", views.call_add_cut_off, name="call-add-cut-off"),
    path("officer/calls/<id:pk>/open/", views.call_open, name="call-open"),
]
