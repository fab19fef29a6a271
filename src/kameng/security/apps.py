from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "kameng.security"
    label = "security"
    verbose_name = "Security and audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_login_failed

        from .lockout import on_login_failed  # ready(): the cache and settings are set up only now

        user_login_failed.connect(on_login_failed, dispatch_uid="kameng.security.login_failed")
