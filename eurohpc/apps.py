from django.apps import AppConfig


class EurohpcConfig(AppConfig):
    name = "eurohpc"
    verbose_name = "Users, organisations and audit"
