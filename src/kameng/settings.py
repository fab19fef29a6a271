"""One settings module, driven by environment variables (KAMENG_*)."""
import os
from pathlib import Path

import dj_database_url

from kameng.ops.config import s3_storage

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("KAMENG_DATA_DIR", "./var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("KAMENG_SECRET_KEY") or "kameng-embedded-insecure-development-key-change-me"
DEBUG = os.environ.get("KAMENG_DEBUG") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("KAMENG_ALLOWED_HOSTS", "*").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("KAMENG_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

TEST_CLOCK = os.environ.get("KAMENG_TEST_CLOCK") == "1"
# HMAC key the sandbox gateway signs its notifications with.
SANDBOX_GATEWAY_SECRET = os.environ.get("KAMENG_SANDBOX_SECRET") or SECRET_KEY
PLATFORM_OPERATOR = {
    "name": os.environ.get("KAMENG_OPERATOR_NAME", "卡盟平台运营方（示例）"),
    "address": os.environ.get("KAMENG_OPERATOR_ADDRESS", ""),
}
BROKER_URL = os.environ.get("KAMENG_BROKER_URL", "")
# /metrics: optional bearer token; the ledger check it reports is recomputed at most this often.
METRICS_TOKEN = os.environ.get("KAMENG_METRICS_TOKEN", "")
LEDGER_CHECK_SECONDS = float(os.environ.get("KAMENG_LEDGER_CHECK_SECONDS", "300"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "kameng.clock",
    "kameng.timers",
    "kameng.policy",
    "kameng.accounts",
    "kameng.catalog",
    "kameng.ledger",
    "kameng.wallet",
    "kameng.orders",
    "kameng.aftersales",
    "kameng.evidence",
    "kameng.trust",
    "kameng.complaints",
    "kameng.api",
    "kameng.web",
]

MIDDLEWARE = [
    "kameng.ops.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kameng.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kameng.api.middleware.ApiErrorShapeMiddleware",
    "kameng.api.middleware.IdempotencyMiddleware",
]

ROOT_URLCONF = "kameng.urls"
WSGI_APPLICATION = "kameng.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kameng.web.context.site",
            ],
        },
    },
]

_database_url = os.environ.get("KAMENG_DATABASE_URL", "")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "kameng.sqlite3"),
            # IMMEDIATE: a writing transaction takes the write lock at BEGIN, so two
            # processes never deadlock upgrading read locks (timers, purchases).
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    }
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("KAMENG_TEST_DATABASE_NAME") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every start when it is missing
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "files"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Evidence on any S3-compatible store when KAMENG_S3_BUCKET is set (private objects, presigned downloads).
STORAGES["default"] = s3_storage(os.environ) or STORAGES["default"]

# Uploads: bigger than 1 MiB goes to a temporary file (memory stays flat); the first handler
# stops any file at 20 MiB of bytes actually received, whatever Content-Length claims.
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "kameng.evidence.uploads.UploadSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

MAILERS = {
    "default": {"BACKEND": os.environ.get("KAMENG_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")},
}
DEFAULT_FROM_EMAIL = os.environ.get("KAMENG_FROM_EMAIL", "noreply@kameng.local")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if os.environ.get("KAMENG_TLS") == "1":
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KAMENG_LOG_LEVEL", "WARNING")},
}
