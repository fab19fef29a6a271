from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "kameng.evidence"
    label = "evidence"
