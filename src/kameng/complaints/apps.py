from django.apps import AppConfig


class ComplaintsConfig(AppConfig):
    name = "kameng.complaints"
    label = "complaints"
    verbose_name = "外部维权材料"
