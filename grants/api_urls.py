"""API routes of envelopes, grants, the ledger and award letters."""

from django.urls import path

from grants import api

urlpatterns = [
    path("envelopes/", api.EnvelopeListApi.as_view(), name="api-envelopes"),
    path("envelopes/<id:pk>/position/", api.EnvelopePositionApi.as_view(), name="api-envelope-position"),
    path("grants/", api.GrantListApi.as_view(), name="api-grants"),
    path("grants/<id:pk>/", api.GrantDetailApi.as_view(), name="api-grant"),
    path("grants/<id:pk>/ledger/", api.GrantLedgerApi.as_view(), name="api-grant-ledger"),
    path("grants/<id:pk>/commitments/", api.CommitmentApi.as_view(), name="api-grant-commitments"),
    path("grants/<id:pk>/sign/", api.SignApi.as_view(), name="api-grant-sign"),
    path("grants/<id:pk>/payments/", api.PaymentApi.as_view(), name="api-grant-payments"),
    path("grants/<id:pk>/decommitments/", api.DecommitmentApi.as_view(), name="api-grant-decommitments"),
    path(
        "grants/<id:pk>/ledger/<id:entry_id>/reverse/",
        api.LedgerEntryReverseApi.as_view(),
        name="api-grant-ledger-reverse",
    ),
    path("grants/<id:pk>/award-letter/", api.AwardLetterApi.as_view(), name="api-grant-award-letter"),
]
