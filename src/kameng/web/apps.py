from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "kameng.web"
    label = "web"
