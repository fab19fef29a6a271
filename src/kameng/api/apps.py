from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "kameng.api"
    label = "api"

    def ready(self):
        from . import retention  # noqa: F401  (registers the hourly purge timer's handler)
