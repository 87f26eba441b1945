from django.apps import AppConfig


class EurohpcConfig(AppConfig):
    name = "eurohpc"
    verbose_name = "Users, organisations and audit"

    def ready(self) -> None:
        from eurohpc import converters

        converters.register()
        from eurohpc.identity import signals  # noqa: F401  (sign-in records the session)
