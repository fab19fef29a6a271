from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "kameng.catalog"
    label = "catalog"
