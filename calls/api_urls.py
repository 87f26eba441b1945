from django.urls import path

from calls import api

urlpatterns = [
    path("calls/", api.CallListApi.as_view(), name="api-calls"),
    path("calls/<int:pk>/", api.CallDetailApi.as_view(), name="api-call"),
    path("calls/<int:pk>/cut-offs/", api.CallCutOffApi.as_view(), name="api-call-cut-offs"),
    path("calls/<int:pk>/open/", api.CallOpenApi.as_view(), name="api-call-open"),
    path("proposals/", api.ProposalListApi.as_view(), name="api-proposals"),
    path("proposals/<int:pk>/", api.ProposalDetailApi.as_view(), name="api-proposal"),
    path("proposals/<int:pk>/documents/", api.ProposalDocumentsApi.as_view(), name="api-proposal-documents"),
    path(
        "proposals/<int:pk>/documents/<int:document_id>/",
        api.ProposalDocumentApi.as_view(),
        name="api-proposal-document",
    ),
    path("proposals/<int:pk>/consortium/", api.ProposalConsortiumApi.as_view(), name="api-proposal-consortium"),
    path(
        "proposals/<int:pk>/consortium/<int:member_id>/",
        api.ProposalConsortiumMemberApi.as_view(),
        name="api-proposal-consortium-member",
    ),
    path("proposals/<int:pk>/submit/", api.ProposalSubmitApi.as_view(), name="api-proposal-submit"),
    path("proposals/<int:pk>/withdraw/", api.ProposalWithdrawApi.as_view(), name="api-proposal-withdraw"),
    path("proposals/<int:pk>/copy/", api.ProposalCopyApi.as_view(), name="api-proposal-copy"),
    path("proposals/<int:pk>/eligibility/", api.ProposalEligibilityApi.as_view(), name="api-proposal-eligibility"),
    path("proposals/<int:pk>/checks/", api.ProposalChecksApi.as_view(), name="api-proposal-checks"),
]
