from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "kameng.security"
    label = "security"
    verbose_name = "Security and audit"
    default_auto_field = "django.db.models.BigAutoField"
