"""Pages of envelopes, grants, the ledger, exports, award letters and the public verification."""

from django.urls import path, re_path

from eurohpc.models import Role
from eurohpc.navigation import NavEntry, register
from eurohpc.views import DASHBOARD_CONTEXT
from grants import views

register(NavEntry("Finance", "grants-finance", perm="grants.view_budget"), before="audit-list")
register(NavEntry("Grants", "grants-list", perm="grants.list_grants"), before="audit-list")
if views.dashboard_panel not in DASHBOARD_CONTEXT[Role.FINANCE_OFFICER]:
    DASHBOARD_CONTEXT[Role.FINANCE_OFFICER].append(views.dashboard_panel)

urlpatterns = [
    path("finance/", views.finance_dashboard, name="grants-finance"),
    path("finance/envelopes/new/", views.envelope_create_view, name="grants-envelope-create"),
    path("finance/calls/<id:call_id>/funding/", views.call_funding_view, name="grants-call-funding"),
    re_path(r"^finance/exports/ledger\.(?P<fmt>csv|xlsx)$", views.ledger_export, name="grants-export-ledger"),
    re_path(r"^finance/exports/positions\.(?P<fmt>csv|xlsx)$", views.positions_export, name="grants-export-positions"),
    re_path(
        r"^open-data/beneficiaries\.(?P<fmt>csv|xlsx)$",
        views.beneficiaries_export,
        name="grants-open-data-beneficiaries",
    ),
    path("grants/", views.grant_list_view, name="grants-list"),
    path("grants/new/", views.grant_create_view, name="grants-create"),
    path("grants/<id:pk>/", views.grant_detail_view, name="grants-detail"),
    path("grants/<id:pk>/commit/", views.grant_commit_view, name="grants-commit"),
    path("grants/<id:pk>/sign/", views.grant_sign_view, name="grants-sign"),
    path("grants/<id:pk>/pay/", views.grant_pay_view, name="grants-pay"),
    path("grants/<id:pk>/decommit/", views.grant_decommit_view, name="grants-decommit"),
    path("grants/<id:pk>/recover/", views.grant_recover_view, name="grants-recover"),
    path("grants/<id:pk>/terminate/", views.grant_terminate_view, name="grants-terminate"),
    path("grants/<id:pk>/ledger/<id:entry_id>/reverse/", views.ledger_reverse_view, name="grants-ledger-reverse"),
    path("grants/<id:pk>/award-letters/", views.award_letter_issue_view, name="grants-award-letter-issue"),
    path("grants/<id:pk>/award-letters/<id:version>/", views.award_letter_download, name="grants-award-letter"),
    path("verify/", views.verify_start, name="grants-verify-start"),
    path("verify/<str:sha256>/", views.verify_letter, name="grants-verify"),
]
