"""API routes of the evaluation and selection (under /api/v1/)."""

from django.urls import path

from calls.evaluation import api

urlpatterns = [
    path("assignments/", api.AssignmentListApi.as_view(), name="api-assignments"),
    path("assignments/<id:pk>/", api.AssignmentDetailApi.as_view(), name="api-assignment"),
    path("assignments/<id:pk>/declaration/", api.AssignmentDeclarationApi.as_view(), name="api-assignment-declaration"),
    path("assignments/<id:pk>/review/", api.AssignmentReviewApi.as_view(), name="api-assignment-review"),
    path(
        "assignments/<id:pk>/review/submit/",
        api.AssignmentReviewSubmitApi.as_view(),
        name="api-assignment-review-submit",
    ),
    path("proposals/<id:pk>/assignments/", api.ProposalAssignmentsApi.as_view(), name="api-proposal-assignments"),
    path("proposals/<id:pk>/reviews/", api.ProposalReviewsApi.as_view(), name="api-proposal-reviews"),
    path("proposals/<id:pk>/consensus/", api.ProposalConsensusApi.as_view(), name="api-proposal-consensus"),
    path("proposals/<id:pk>/decision/", api.ProposalDecisionApi.as_view(), name="api-proposal-decision"),
    path("proposals/<id:pk>/promotion/", api.ProposalPromotionApi.as_view(), name="api-proposal-promotion"),
    path(
        "proposals/<id:pk>/selection-withdrawal/",
        api.ProposalSelectionWithdrawalApi.as_view(),
        name="api-proposal-selection-withdrawal",
    ),
    path("proposals/<id:pk>/outcome/", api.ProposalOutcomeApi.as_view(), name="api-proposal-outcome"),
    path(
        "proposals/<id:pk>/evaluation-summary-report/",
        api.ProposalSummaryReportApi.as_view(),
        name="api-proposal-summary-report",
    ),
    path("calls/<id:pk>/ranking/", api.CallRankingApi.as_view(), name="api-call-ranking"),
    path("cut-offs/<id:pk>/auto-assign/", api.CutOffAutoAssignApi.as_view(), name="api-cut-off-auto-assign"),
    path(
        "cut-offs/<id:pk>/decisions/confirm/",
        api.CutOffDecisionsConfirmApi.as_view(),
        name="api-cut-off-decisions-confirm",
    ),
    path(
        "cut-offs/<id:pk>/decisions/publish/",
        api.CutOffDecisionsPublishApi.as_view(),
        name="api-cut-off-decisions-publish",
    ),
]
