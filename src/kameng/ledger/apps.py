from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "kameng.ledger"
    label = "ledger"
