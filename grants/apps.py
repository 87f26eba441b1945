from django.apps import AppConfig


class GrantsConfig(AppConfig):
    name = "grants"
    verbose_name = "Grants and budget"

    def ready(self) -> None:
        # grants stands above calls and hosting, which never import it: what they need to know of the budget
        # and the grants (a call's envelope, a proposal's grant, the grants of a hosting entity) they ask the
        # providers registered here, in web processes and workers alike.
        from calls.providers import FundingProvider, register_funding
        from grants import answers, selectors
        from hosting.providers import GrantsProvider, register_grants

        register_funding(
            FundingProvider(
                call_envelope_id=answers.call_envelope_id_expression,
                proposal_committed=answers.proposal_committed_expression,
                proposal_has_grant=answers.proposal_has_grant_expression,
                envelope_available=selectors.envelope_available_by_id,
                proposal_grant=answers.proposal_grant,
            )
        )
        register_grants(GrantsProvider(grants_of_beneficiary=answers.grants_of_beneficiary))
