from django.apps import AppConfig


class TimersConfig(AppConfig):
    name = "kameng.timers"
    label = "timers"
