from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "kameng.wallet"
    label = "wallet"
