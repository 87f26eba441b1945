from django.apps import AppConfig


class GrantsConfig(AppConfig):
    name = "grants"
    verbose_name = "Grants and budget"

    def ready(self) -> None:
        # grants stands above calls, which never imports it: what calls needs to know of the budget and the
        # grants (a call's envelope, a proposal's grant) it asks the provider registered here, in web processes
        # and workers alike.
        from calls.providers import FundingProvider, register_funding
        from grants import selectors

        register_funding(
            FundingProvider(
                call_envelope_id=selectors.call_envelope_id_expression,
                proposal_committed=selectors.proposal_committed_expression,
                proposal_has_grant=selectors.proposal_has_grant_expression,
                envelope_available=selectors.envelope_available_by_id,
                proposal_grant=selectors.proposal_grant,
            )
        )
