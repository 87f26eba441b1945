"""API routes of the access calls (under /api/v1/access/)."""

from django.urls import path

from calls.access import api

urlpatterns = [
    path("access/calls/", api.AccessCallListApi.as_view(), name="api-access-calls"),
    path("access/applications/", api.AccessApplicationListApi.as_view(), name="api-access-applications"),
    path("access/applications/<id:pk>/", api.AccessApplicationDetailApi.as_view(), name="api-access-application"),
    path(
        "access/applications/<id:pk>/submit/",
        api.AccessApplicationSubmitApi.as_view(),
        name="api-access-application-submit",
    ),
    path(
        "access/applications/<id:pk>/withdraw/",
        api.AccessApplicationWithdrawApi.as_view(),
        name="api-access-application-withdraw",
    ),
    path(
        "access/applications/<id:pk>/eligibility/",
        api.AccessEligibilityApi.as_view(),
        name="api-access-application-eligibility",
    ),
    path(
        "access/applications/<id:pk>/technical-assessment/",
        api.AccessTechnicalAssessmentApi.as_view(),
        name="api-access-application-technical-assessment",
    ),
    path(
        "access/applications/<id:pk>/release-reviews/",
        api.AccessReviewsReleaseApi.as_view(),
        name="api-access-application-release-reviews",
    ),
    path("access/applications/<id:pk>/reply/", api.AccessReplyApi.as_view(), name="api-access-application-reply"),
    path(
        "access/applications/<id:pk>/decision/",
        api.AccessDecisionApi.as_view(),
        name="api-access-application-decision",
    ),
    path(
        "access/applications/<id:pk>/final-report/",
        api.AccessFinalReportApi.as_view(),
        name="api-access-application-final-report",
    ),
    path("access/technical-queue/", api.TechnicalQueueApi.as_view(), name="api-access-technical-queue"),
    path("access/cut-offs/<id:pk>/ranking/", api.AccessCutOffRankingApi.as_view(), name="api-access-cut-off-ranking"),
    path("access/cut-offs/<id:pk>/award/", api.AccessCutOffAwardApi.as_view(), name="api-access-cut-off-award"),
    path("access/pools/", api.AccessPoolsApi.as_view(), name="api-access-pools"),
]
