"""API routes of envelopes, grants, the ledger and award letters."""

from django.urls import path

from grants import api

urlpatterns = [
    path("envelopes/", api.EnvelopeListApi.as_view(), name="api-envelopes"),
    path("envelopes/<int:pk>/position/", api.EnvelopePositionApi.as_view(), name="api-envelope-position"),
    path("grants/", api.GrantListApi.as_view(), name="api-grants"),
    path("grants/<int:pk>/", api.GrantDetailApi.as_view(), name="api-grant"),
    path("grants/<int:pk>/ledger/", api.GrantLedgerApi.as_view(), name="api-grant-ledger"),
    path("grants/<int:pk>/commitments/", api.CommitmentApi.as_view(), name="api-grant-commitments"),
    path("grants/<int:pk>/sign/", api.SignApi.as_view(), name="api-grant-sign"),
    path("grants/<int:pk>/payments/", api.PaymentApi.as_view(), name="api-grant-payments"),
    path("grants/<int:pk>/decommitments/", api.DecommitmentApi.as_view(), name="api-grant-decommitments"),
    path(
        "grants/<int:pk>/ledger/<int:entry_id>/reverse/",
        api.LedgerEntryReverseApi.as_view(),
        name="api-grant-ledger-reverse",
    ),
    path("grants/<int:pk>/award-letter/", api.AwardLetterApi.as_view(), name="api-grant-award-letter"),
]
