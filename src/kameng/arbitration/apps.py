from django.apps import AppConfig


class ArbitrationConfig(AppConfig):
    name = "kameng.arbitration"
    label = "arbitration"
    verbose_name = "Evidence assist for arbitrators"

    def ready(self):
        from . import tasks  # noqa: F401  (registers the analyse_case job; it reads models, so after app loading)
