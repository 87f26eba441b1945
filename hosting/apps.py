from django.apps import AppConfig


class HostingConfig(AppConfig):
    name = "hosting"
    verbose_name = "Hosting and compute quotas"

    def ready(self) -> None:
        from eurohpc.models import Role
        from eurohpc.views import DASHBOARD_CONTEXT
        from hosting.dashboard import hosting_operator_context, programme_officer_context

        for role, provider in (
            (Role.HOSTING_OPERATOR, hosting_operator_context),
            (Role.PROGRAMME_OFFICER, programme_officer_context),
        ):
            if provider not in DASHBOARD_CONTEXT[role]:
                DASHBOARD_CONTEXT[role].append(provider)
