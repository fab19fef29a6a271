from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "kameng.policy"
    label = "policy"
