"""Readiness checks: can this process reach its database, its file storage and its broker?"""

import os
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connections

from kameng.timers.services import lag_seconds

from .storage import is_s3

TIMEOUT_SECONDS = 2.0


@dataclass
class Check:
    ok: bool
    ms: float = 0.0
    detail: str = ""
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        data: dict[str, object] = {"ok": self.ok, "ms": round(self.ms, 2)}
        if self.detail:
            data["detail"] = self.detail
        data.update(self.extra)
        return data


def _timed(probe) -> Check:
    start = time.perf_counter()
    try:
        result = probe()
    except Exception as exc:  # any failure to reach the dependency is the answer, not a crash
        return Check(False, (time.perf_counter() - start) * 1000, f"{type(exc).__name__}: {exc}"[:300])
    check = result if isinstance(result, Check) else Check(True)
    check.ms = (time.perf_counter() - start) * 1000
    return check


def check_database(connection=None) -> Check:
    connection = connection or connections["default"]

    def probe():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return Check(True, extra={"vendor": connection.vendor})

    return _timed(probe)


def check_storage(storage=None) -> Check:
    storage = storage if storage is not None else default_storage

    def probe():
        if is_s3(storage):
            # HEAD on the bucket proves endpoint, credentials and bucket in one request.
            storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
            return Check(True, extra={"backend": "s3", "bucket": storage.bucket_name})
        if isinstance(storage, FileSystemStorage):
            location = storage.location
            os.makedirs(location, exist_ok=True)
            if not os.access(location, os.W_OK):
                raise PermissionError(f"{location} is not writable")
            return Check(True, extra={"backend": "filesystem"})
        storage.exists(".healthz")  # any other backend: a round trip that must not raise
        return Check(True, extra={"backend": type(storage).__name__})

    return _timed(probe)


def check_broker(url: str | None = None) -> Check:
    url = settings.BROKER_URL if url is None else url
    if not url:
        return Check(True, detail="not configured: jobs run in-process", extra={"configured": False})

    def probe():
        from kombu import Connection

        with Connection(url, connect_timeout=TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=TIMEOUT_SECONDS)
            client = getattr(conn.default_channel, "client", None)
            if client is not None and hasattr(client, "ping"):
                client.ping()  # Redis: a real round trip, not just an open socket
        return Check(True, extra={"configured": True, "transport": url.split("://", 1)[0]})

    return _timed(probe)


def check_timers(limit: float | None = None) -> Check:
    """Fails when the oldest due timer has waited longer than KAMENG_TIMER_LAG_LIMIT seconds (default
    120): no sweeper is running (a dead or hung timer worker, no Celery beat), so deadlines are met
    only when someone acts on a case."""
    limit = settings.TIMER_LAG_LIMIT_SECONDS if limit is None else limit

    def probe():
        lag = round(lag_seconds(), 1)
        detail = "" if lag <= limit else f"the oldest due timer has waited {lag:.0f} s (limit {limit:.0f} s)"
        return Check(lag <= limit, detail=detail, extra={"lag_seconds": lag, "limit_seconds": limit})

    return _timed(probe)


def run_checks() -> tuple[bool, dict]:
    checks = {
        "database": check_database(),
        "storage": check_storage(),
        "broker": check_broker(),
        "timers": check_timers(),
    }
    ok = all(c.ok for c in checks.values())
    return ok, {"status": "ok" if ok else "fail", "checks": {name: c.as_dict() for name, c in checks.items()}}
