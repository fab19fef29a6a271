from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "kameng.notify"
    label = "notify"

    def ready(self):
        from . import listeners, tasks  # noqa: F401  (jobs and timer handlers register on import)

        listeners.register()
