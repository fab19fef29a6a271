from django.apps import AppConfig


class ClockConfig(AppConfig):
    name = "kameng.clock"
    label = "clock"
