from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = "Calls, proposals and evaluation"

    def ready(self) -> None:
        # The evaluation registers its permissions (and opens proposals to evaluators who declared no
        # conflict of interest) and its Celery tasks at start-up, in web processes and workers alike.
        from calls.access import rules as access_rules  # noqa: F401
        from calls.evaluation import rules, tasks  # noqa: F401
