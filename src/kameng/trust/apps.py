from django.apps import AppConfig


class TrustConfig(AppConfig):
    name = "kameng.trust"
    label = "trust"

    def ready(self):
        from kameng.aftersales.services import on_case_event  # ready(): the models are loaded only now

        from . import tasks  # noqa: F401  (registers timer handlers)
        from .services import record_case_event, record_case_events  # ready(): as above

        on_case_event(
            record_case_event, many=record_case_events
        )  # merchant credit hears of every case event, in its transaction
