"""API routes of the evaluation and selection (under /api/v1/)."""

from django.urls import path

from calls.evaluation import api

urlpatterns = [
    path("assignments/", api.AssignmentListApi.as_view(), name="api-assignments"),
    path("assignments/<int:pk>/", api.AssignmentDetailApi.as_view(), name="api-assignment"),
    path(
        "assignments/<int:pk>/declaration/", api.AssignmentDeclarationApi.as_view(), name="api-assignment-declaration"
    ),
    path("assignments/<int:pk>/review/", api.AssignmentReviewApi.as_view(), name="api-assignment-review"),
    path(
        "assignments/<int:pk>/review/submit/",
        api.AssignmentReviewSubmitApi.as_view(),
        name="api-assignment-review-submit",
    ),
    path("proposals/<int:pk>/assignments/", api.ProposalAssignmentsApi.as_view(), name="api-proposal-assignments"),
    path("proposals/<int:pk>/reviews/", api.ProposalReviewsApi.as_view(), name="api-proposal-reviews"),
    path("proposals/<int:pk>/consensus/", api.ProposalConsensusApi.as_view(), name="api-proposal-consensus"),
    path("proposals/<int:pk>/decision/", api.ProposalDecisionApi.as_view(), name="api-proposal-decision"),
    path("proposals/<int:pk>/promotion/", api.ProposalPromotionApi.as_view(), name="api-proposal-promotion"),
    path(
        "proposals/<int:pk>/selection-withdrawal/",
        api.ProposalSelectionWithdrawalApi.as_view(),
        name="api-proposal-selection-withdrawal",
    ),
    path("proposals/<int:pk>/outcome/", api.ProposalOutcomeApi.as_view(), name="api-proposal-outcome"),
    path(
        "proposals/<int:pk>/evaluation-summary-report/",
        api.ProposalSummaryReportApi.as_view(),
        name="api-proposal-summary-report",
    ),
    path("calls/<int:pk>/ranking/", api.CallRankingApi.as_view(), name="api-call-ranking"),
    path("cut-offs/<int:pk>/auto-assign/", api.CutOffAutoAssignApi.as_view(), name="api-cut-off-auto-assign"),
    path(
        "cut-offs/<int:pk>/decisions/confirm/",
        api.CutOffDecisionsConfirmApi.as_view(),
        name="api-cut-off-decisions-confirm",
    ),
    path(
        "cut-offs/<int:pk>/decisions/publish/",
        api.CutOffDecisionsPublishApi.as_view(),
        name="api-cut-off-decisions-publish",
    ),
]
