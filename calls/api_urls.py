from django.urls import path

from calls import api

urlpatterns = [
    path("calls/", api.CallListApi.as_view(), name="api-calls"),
    path("calls/<id:pk>/", api.CallDetailApi.as_view(), name="api-call"),
    path("calls/<id:pk>/cut-offs/", api.CallCutOffApi.as_view(), name="api-call-cut-offs"),
    path("calls/<id:pk>/open/", api.CallOpenApi.as_view(), name="api-call-open"),
    path("proposals/", api.ProposalListApi.as_view(), name="api-proposals"),
    path("proposals/<id:pk>/", api.ProposalDetailApi.as_view(), name="api-proposal"),
    path("proposals/<id:pk>/documents/", api.ProposalDocumentsApi.as_view(), name="api-proposal-documents"),
    path(
        "proposals/<id:pk>/documents/<id:document_id>/",
        api.ProposalDocumentApi.as_view(),
        name="api-proposal-document",
    ),
    path("proposals/<id:pk>/consortium/", api.ProposalConsortiumApi.as_view(), name="api-proposal-consortium"),
    path(
        "proposals/<id:pk>/consortium/<id:member_id>/",
        api.ProposalConsortiumMemberApi.as_view(),
        name="api-proposal-consortium-member",
    ),
    path("proposals/<id:pk>/submit/", api.ProposalSubmitApi.as_view(), name="api-proposal-submit"),
    path("proposals/<id:pk>/withdraw/", api.ProposalWithdrawApi.as_view(), name="api-proposal-withdraw"),
    path("proposals/<id:pk>/copy/", api.ProposalCopyApi.as_view(), name="api-proposal-copy"),
    path("proposals/<id:pk>/eligibility/", api.ProposalEligibilityApi.as_view(), name="api-proposal-eligibility"),
    path("proposals/<id:pk>/checks/", api.ProposalChecksApi.as_view(), name="api-proposal-checks"),
]
