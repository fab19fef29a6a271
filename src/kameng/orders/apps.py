from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "kameng.orders"
    label = "orders"

    def ready(self):
        from . import tasks  # noqa: F401  (registers timer handlers)
