from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "kameng.api"
    label = "api"
