"""One settings module, driven by environment variables (KAMENG_*)."""

import os
import sys
from pathlib import Path
from typing import Any

import dj_database_url

from kameng.ops.config import local_secret, payment_gateways, s3_storage

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("KAMENG_DATA_DIR", "./var")).resolve()
if "xdist" in sys.modules and (_xdist_worker := os.environ.get("PYTEST_XDIST_WORKER")):
    # The test suite on several cores: each worker has its own test database, so its own files too
    # (evidence and previews are named by row id, and two workers' rows share ids). Not for the
    # programs a test starts: they inherit the variable but are given their own KAMENG_DATA_DIR.
    DATA_DIR = DATA_DIR / f"xdist-{_xdist_worker}"
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("KAMENG_SECRET_KEY") or "kameng-embedded-insecure-development-key-change-me"
DEBUG = os.environ.get("KAMENG_DEBUG") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("KAMENG_ALLOWED_HOSTS", "*").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("KAMENG_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

TEST_CLOCK = os.environ.get("KAMENG_TEST_CLOCK") == "1"
SECRET_KEY_CONFIGURED = bool(os.environ.get("KAMENG_SECRET_KEY"))
# Payments (api-v1.md v1.1 "Orders and payments"). The sandbox gateway is on unless KAMENG_SANDBOX=off;
# it signs its notifications with this HMAC key, never with a public default: without
# KAMENG_SANDBOX_SECRET or KAMENG_SECRET_KEY a random key is made once and kept in the data directory.
SANDBOX_ENABLED = os.environ.get("KAMENG_SANDBOX", "on").lower() not in ("off", "0", "false")
SANDBOX_GATEWAY_SECRET = (
    os.environ.get("KAMENG_SANDBOX_SECRET")
    or os.environ.get("KAMENG_SECRET_KEY")
    or local_secret(DATA_DIR / "sandbox-secret")
)
# Where gateways send the buyer back and their notifications to (the notify URLs to register).
PUBLIC_URL = os.environ.get("KAMENG_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
PAYMENT_GATEWAYS = payment_gateways(os.environ)
PLATFORM_OPERATOR = {
    "name": os.environ.get("KAMENG_OPERATOR_NAME", "卡盟平台运营方（示例）"),
    "address": os.environ.get("KAMENG_OPERATOR_ADDRESS", ""),
}
# The arbitration commission the operator's user agreement names in its (optional) arbitration clause,
# e.g. 广州仲裁委员会; empty: no clause, so no online-arbitration package (仲裁法第四条), the court path instead.
ARBITRATION_COMMISSION = os.environ.get("KAMENG_ARBITRATION_COMMISSION", "").strip()
BROKER_URL = os.environ.get("KAMENG_BROKER_URL", "")
# /metrics: optional bearer token; the ledger check it reports is recomputed at most this often.
METRICS_TOKEN = os.environ.get("KAMENG_METRICS_TOKEN", "")
# The address `kameng serve` binds (it sets this for its workers): without a metrics token,
# /metrics and the /healthz details are served only on a loopback binding.
SERVE_HOST = os.environ.get("KAMENG_SERVE_HOST", "")
# Webhooks and notification channels may call private addresses and plain http (tests, intranets).
WEBHOOK_ALLOW_PRIVATE = os.environ.get("KAMENG_WEBHOOK_ALLOW_PRIVATE") == "1"
LEDGER_CHECK_SECONDS = float(os.environ.get("KAMENG_LEDGER_CHECK_SECONDS", "300"))
# Embedded jobs (OCR, emails, complaint PDFs) run on this many background threads per process, at
# most JOB_QUEUE waiting (kameng.timers.jobs); KAMENG_JOBS_IN_BACKGROUND=0 runs them in the caller.
JOBS_IN_BACKGROUND = os.environ.get("KAMENG_JOBS_IN_BACKGROUND", "1") != "0"
JOB_THREADS = max(1, int(os.environ.get("KAMENG_JOB_THREADS", "1")))
JOB_QUEUE = max(1, int(os.environ.get("KAMENG_JOB_QUEUE", "64")))
# A job thread closes its kept database connection after this many seconds without work.
JOB_IDLE_SECONDS = float(os.environ.get("KAMENG_JOB_IDLE_SECONDS", "5"))
# Images decoded at once per process (upload checks, OCR): each holds up to 48 MiB of pixels.
EVIDENCE_DECODE_SLOTS = max(1, int(os.environ.get("KAMENG_DECODE_SLOTS", "2")))
# The server key of the evidence chain's anchors (HMAC): keep it stable, or older anchors stop verifying.
EVIDENCE_CHAIN_KEY = os.environ.get("KAMENG_EVIDENCE_KEY") or SECRET_KEY
# Staff second factor (TOTP): "required" refuses arbitrator and admin logins without it.
STAFF_OTP_REQUIRED = os.environ.get("KAMENG_STAFF_OTP", "").lower() == "required"
OTP_TOTP_ISSUER = "kameng"
# Bearer tokens end this many days after issue (POST /auth/token answers `expires_at`).
TOKEN_LIFETIME_DAYS = int(os.environ.get("KAMENG_TOKEN_DAYS", "30"))
# Idempotency-Key answers are kept this long (the contract: at least 24 h), then purged hourly.
IDEMPOTENCY_RETENTION_HOURS = max(24, int(os.environ.get("KAMENG_IDEMPOTENCY_HOURS", "24")))
# /healthz fails when the oldest due timer has waited longer than this (no sweeper is running).
TIMER_LAG_LIMIT_SECONDS = float(os.environ.get("KAMENG_TIMER_LAG_LIMIT", "120"))

INSTALLED_APPS = [
    "kameng.web.admin_config.StaffAdminConfig",  # the Django admin, behind the staff second factor
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
    "kameng.casecounts",
    "kameng.evidence",
    "kameng.arbitration",
    "kameng.trust",
    "kameng.complaints",
    "kameng.notify",
    "kameng.api",
    "kameng.security",
    "kameng.web",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "ninja",  # serves the API docs page's Swagger UI from /static/ (the strict CSP refuses CDNs)
]

MIDDLEWARE = [
    "kameng.api.middleware.RequestIdMiddleware",  # first: every answer, even a failed one, has its id
    "kameng.ops.metrics.RequestMetricsMiddleware",
    "kameng.policy.middleware.PolicyOncePerRequestMiddleware",  # get_policy() reads the table once per request
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the session passed TOTP
    "kameng.web.middleware.UserLanguageMiddleware",
    "kameng.api.middleware.ApiLanguageMiddleware",  # after it: the API answers in Accept-Language's language
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kameng.api.middleware.ApiErrorShapeMiddleware",
    "kameng.api.hygiene.ApiRateLimitMiddleware",
    "kameng.api.hygiene.ApiInputMiddleware",
    "kameng.api.middleware.IdempotencyMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns an axes lockout into kameng.web.views.accounts.lockout_response
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
    # Parameters bound by the server, and a statement run this many times on a connection prepared
    # there (psycopg): a purchase's CPU went from 15.5 to 13.8 ms with 5 (bench/profile_purchase.py).
    # "off" binds on the client, as Django does by default.
    _prepare = os.environ.get("KAMENG_DB_PREPARE_THRESHOLD", "").strip().lower() or "5"
    if _prepare != "off" and DATABASES["default"]["ENGINE"].endswith("postgresql"):
        DATABASES["default"]["OPTIONS"] = {
            **DATABASES["default"].get("OPTIONS", {}),
            "server_side_binding": True,
            "prepare_threshold": int(_prepare),
        }
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
CSRF_COOKIE_HTTPONLY = True  # no page script reads it: forms carry the token
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
TLS = os.environ.get("KAMENG_TLS") == "1"
if TLS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Strict Content-Security-Policy on every response (Django's own middleware): scripts, styles,
# fonts and images only from /static/, no inline code, no plugins, no framing. Downloads
# (evidence, complaint packages, previews) set a stricter one of their own, which is kept.
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Caches. `default` stays per process. `security` holds the login and registration counters and
# `ratelimit` counts every API request; every gunicorn worker must share both: Redis when
# configured, else tables in the database (the cache table, and the RateCounter table).
REDIS_URL = os.environ.get("KAMENG_REDIS_URL", "") or (
    BROKER_URL if BROKER_URL.startswith(("redis://", "rediss://")) else ""
)
if REDIS_URL:
    _shared_cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "kameng",
    }
    CACHES: dict[str, dict[str, Any]] = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "security": _shared_cache,
        "ratelimit": _shared_cache,
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "security": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "kameng_security_cache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        },
        # No cache: the API's counters are rows of kameng.security.models.RateCounter (one upsert each).
        "ratelimit": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }

API_RATE_COUNTERS = "cache" if REDIS_URL else "table"  # where kameng.security.ratelimit counts API requests

# Request-rate limits, "count/seconds" each; KAMENG_RATE_LIMIT_<NAME> overrides one ("off" disables it),
# KAMENG_RATE_LIMITS=off all of them (load tests only). See kameng.security.ratelimit.
RATE_LIMITS_ENABLED = os.environ.get("KAMENG_RATE_LIMITS", "on").lower() not in ("off", "0", "false")
RATE_LIMITS = {
    "login_ip": "600/300",  # POST /auth/token per client address (a campus NAT shares one)
    "login_pair": "30/300",  # POST /auth/token per (username, address)
    "login_failures_ip": "300/3600",  # failed logins per address across accounts: then the address locks
    "register_ip": "300/3600",  # registrations per address (hard limit; a NAT shares one)
    "register_challenge_ip": "30/3600",  # past this many per address, registering needs a proof of work
    "password_change": "10/300",  # POST /me/password per user (a stolen token guessing the password)
    "api_token": "1200/60",  # every /api/ request per bearer token
    "api_ip": "6000/60",  # every /api/ request with a token, per client address
    "api_anonymous_ip": "600/60",  # every /api/ request without a token, per client address
    "guest_checkout_ip": "20/3600",  # POST /guest/orders and the guest buy page, per client address
    "guest_lookup_order": "10/3600",  # 查单 (POST /guest/lookup and its page) per order number
    "guest_lookup_ip": "30/3600",  # 查单 per client address, whatever the number
}
for _name in RATE_LIMITS:
    RATE_LIMITS[_name] = os.environ.get(f"KAMENG_RATE_LIMIT_{_name.upper()}", RATE_LIMITS[_name])
# The registration proof of work: the largest number a solver may have to try (~0.1 s of SHA-256).
REGISTER_POW_MAX_NUMBER = int(os.environ.get("KAMENG_REGISTER_POW_MAX", "100000"))
PROXY_COUNT = int(os.environ.get("KAMENG_PROXY_COUNT", "0") or 0)  # trusted proxies adding X-Forwarded-For

# django-axes: password logins (pages, the Django admin and POST /auth/token) lock for 15 minutes
# after 10 failures of one (account, address) pair; the lockout store is the database. The
# slow-down before it and the address-wide lock are kameng.security.lockout's.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
from datetime import timedelta  # noqa: E402

AXES_FAILURE_LIMIT = int(os.environ.get("KAMENG_LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("KAMENG_LOGIN_LOCK_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # the pair, never the account or address alone
AXES_LOCKOUT_CALLABLE = "kameng.web.views.accounts.lockout_response"
AXES_CLIENT_IP_CALLABLE = "kameng.security.ratelimit.axes_client_ip"
AXES_RESET_ON_SUCCESS = False  # a success from the same address must not wipe an attack's count
AXES_VERBOSE = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KAMENG_LOG_LEVEL", "WARNING")},
}
