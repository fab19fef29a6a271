from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "kameng.wallet"
    label = "wallet"

    def ready(self) -> None:
        from . import payments, services  # noqa: F401  (payment handlers, the refund job and timer)
