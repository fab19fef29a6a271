from django.apps import AppConfig


class AftersalesConfig(AppConfig):
    name = "kameng.aftersales"
    label = "aftersales"
