from django.apps import AppConfig


class TimersConfig(AppConfig):
    name = "kameng.timers"
    label = "timers"

    def ready(self):
        from kameng import compiled  # noqa: F401  (registers the fields' __any lookup)

        from . import jobs  # noqa: F401  (registers the sweep_timers job; it reads models, so after app loading)
