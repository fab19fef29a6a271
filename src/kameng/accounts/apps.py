from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kameng.accounts"
    label = "accounts"
