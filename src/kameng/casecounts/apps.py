from django.apps import AppConfig


class CaseCountsConfig(AppConfig):
    name = "kameng.casecounts"
    label = "casecounts"

    def ready(self):
        from . import jobs  # noqa: F401  (registers the compact_case_counts job)
