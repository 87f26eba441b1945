"""API routes of the evaluation and selection (under /api/v1/)."""

from django.urls import path

from calls.evaluation import api, api_deadlines, api_redress, api_technical

urlpatterns = [
    path("evaluation/redress/", api_redress.RedressListApi.as_view(), name="api-redress"),
    path("evaluation/redress/<id:pk>/", api_redress.RedressDetailApi.as_view(), name="api-redress-detail"),
    path(
        "evaluation/redress/<id:pk>/admissibility/",
        api_redress.RedressAdmissibilityApi.as_view(),
        name="api-redress-admissibility",
    ),
    path(
        "evaluation/redress/<id:pk>/committee/", api_redress.RedressCommitteeApi.as_view(), name="api-redress-committee"
    ),
    path(
        "evaluation/redress/<id:pk>/declaration/",
        api_redress.RedressDeclarationApi.as_view(),
        name="api-redress-declaration",
    ),
    path("evaluation/redress/<id:pk>/opinion/", api_redress.RedressOpinionApi.as_view(), name="api-redress-opinion"),
    path("evaluation/redress/<id:pk>/conclude/", api_redress.RedressConcludeApi.as_view(), name="api-redress-conclude"),
    path(
        "proposals/<id:pk>/redress-window/",
        api_redress.ProposalRedressWindowApi.as_view(),
        name="api-proposal-redress-window",
    ),
    path("evaluation/technical/", api_technical.TechnicalListApi.as_view(), name="api-technical"),
    path(
        "evaluation/technical/assessments/<id:pk>/",
        api_technical.TechnicalAssessmentApi.as_view(),
        name="api-technical-assessment",
    ),
    path(
        "evaluation/technical/assessments/<id:pk>/declaration/",
        api_technical.TechnicalDeclarationApi.as_view(),
        name="api-technical-declaration",
    ),
    path(
        "evaluation/technical/assessments/<id:pk>/assessment/",
        api_technical.TechnicalSaveApi.as_view(),
        name="api-technical-save",
    ),
    path(
        "evaluation/technical/assessments/<id:pk>/reassign/",
        api_technical.TechnicalReassignApi.as_view(),
        name="api-technical-reassign",
    ),
    path(
        "evaluation/technical/proposals/<id:pk>/assignment/",
        api_technical.TechnicalAssignApi.as_view(),
        name="api-technical-assign",
    ),
    path("assignments/", api.AssignmentListApi.as_view(), name="api-assignments"),
    path("assignments/<id:pk>/", api.AssignmentDetailApi.as_view(), name="api-assignment"),
    path(
        "assignments/<id:pk>/reassign/",
        api_deadlines.AssignmentReassignApi.as_view(),
        name="api-assignment-reassign",
    ),
    path("evaluation/overdue/", api_deadlines.OverdueListApi.as_view(), name="api-evaluation-overdue"),
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
