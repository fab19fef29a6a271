"""/healthz answers 200 only when database, storage and broker are all reachable; /metrics
speaks Prometheus and reports latency, cases, overdue arbitrations, timer lag and the ledger."""

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families


@pytest.fixture(autouse=True)
def _loopback(settings):
    """These read the details: a server bound to loopback shows them without a token
    (tests/security/test_ops_exposure.py covers every other binding)."""
    settings.SERVE_HOST = "127.0.0.1"


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket closes


def _samples(client, **headers) -> dict:
    res = client.get("/metrics", headers=headers)
    assert res.status_code == 200, res.content
    assert res["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(res.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _value(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


def test_healthz_is_200_with_every_check_when_all_is_reachable(client, db):
    res = client.get("/healthz")
    assert res.status_code == 200
    body = res.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["storage"]["ok"]
    assert body["checks"]["broker"] == {
        "ok": True,
        "ms": 0.0,
        "detail": "not configured: jobs run in-process",
        "configured": False,
    }
    assert res["Cache-Control"].startswith("max-age=0")


def test_healthz_is_503_when_the_broker_is_unreachable(client, db, settings):
    settings.BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    res = client.get("/healthz")
    assert res.status_code == 503
    body = res.json()
    assert body["status"] == "fail"
    assert body["checks"]["broker"]["ok"] is False and "detail" in body["checks"]["broker"]
    assert body["checks"]["database"]["ok"] and body["checks"]["storage"]["ok"]


def test_healthz_checks_a_real_redis_broker(client, db, settings):
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.BROKER_URL = "redis://127.0.0.1:6379/13"
    res = client.get("/healthz")
    assert res.status_code == 200, res.json()
    assert res.json()["checks"]["broker"]["transport"] == "redis"


def test_healthz_is_503_when_storage_cannot_be_written(client, db, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocker / "files")},
        },
    }
    res = client.get("/healthz")
    assert res.status_code == 503
    assert res.json()["checks"]["storage"]["ok"] is False


def test_database_check_fails_on_an_unreachable_database(db):
    from django.db import connections
    from django.db.utils import load_backend

    from kameng.ops.health import check_database

    settings_dict = dict(connections["default"].settings_dict)
    if connections["default"].vendor == "postgresql":
        settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()), CONN_MAX_AGE=0)
    else:
        settings_dict.update(NAME="/nonexistent-kameng-dir/db.sqlite3")
    broken = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "broken")
    try:
        check = check_database(broken)
    finally:
        broken.close()
    assert check.ok is False and check.detail
    assert check_database().ok


def test_metrics_report_request_latency_by_url_pattern(client, api, buyer, db):
    api.get("/orders/123456", token=buyer.token)
    samples = _samples(client)
    count = _value(
        samples,
        "kameng_http_request_duration_seconds_count",
        method="GET",
        route="api/v1/orders/<order_id>",
        status="404",
    )
    assert count >= 1
    assert not any("123456" in str(labels) for _, labels in samples)


def test_metrics_report_open_cases_overdue_arbitrations_and_timer_lag(
    client, api, buyer, merchant, make_listing, fund, buy, advance, db
):
    from kameng.clock.services import now as clock_now
    from kameng.timers.models import Timer

    listing = make_listing(merchant, price=30000)  # ¥300: not fast track, so silence means arbitration
    fund(buyer, 100000)
    orders = [buy(buyer, listing) for _ in range(2)]
    for order in orders:
        res = api.post(
            "/refunds",
            {"order": order["id"], "reason": "defective", "description": "无法激活", "amount": order["amount"]},
            token=buyer.token,
        )
        assert res.status_code == 201, res.data
    samples = _samples(client)
    assert _value(samples, "kameng_cases_open", status="awaiting_merchant") == 2
    assert _value(samples, "kameng_cases_open", status="in_arbitration") == 0
    assert _value(samples, "kameng_arbitrations_overdue") == 0

    advance(49 * 3600)  # the merchant stayed silent
    samples = _samples(client)
    assert _value(samples, "kameng_cases_open", status="in_arbitration") == 2
    advance(10 * 86400)  # nobody decided within 3 working days
    samples = _samples(client)
    assert _value(samples, "kameng_arbitrations_overdue") == 2
    assert _value(samples, "kameng_timer_lag_seconds") == 0  # `advance` ran everything due

    now = clock_now()
    Timer.objects.create(kind="test.never_swept", target="x:1", due_at=now - timedelta(seconds=300), created_at=now)
    samples = _samples(client)
    assert 300 <= _value(samples, "kameng_timer_lag_seconds") < 400
    assert _value(samples, "kameng_timers_due") == 1
    Timer.objects.filter(kind="test.never_swept").delete()


def test_ledger_check_in_metrics_is_cached_and_reports_a_broken_ledger(client, db, settings, buyer, fund):
    from kameng.ledger.models import Account
    from kameng.ops.metrics import LEDGER_CHECK

    fund(buyer, 1000)
    settings.LEDGER_CHECK_SECONDS = 3600
    LEDGER_CHECK.result = None
    first = _samples(client)
    assert _value(first, "kameng_ledger_ok") == 1
    account = Account.objects.get(code=f"wallet:user:{buyer.pk}")
    Account.objects.filter(pk=account.pk).update(balance=account.balance + 1)  # books no longer add up
    try:
        cached = _samples(client)
        assert _value(cached, "kameng_ledger_ok") == 1  # not recomputed within the interval
        assert _value(cached, "kameng_ledger_checked_timestamp_seconds") == _value(
            first, "kameng_ledger_checked_timestamp_seconds"
        )
        settings.LEDGER_CHECK_SECONDS = 0
        fresh = _samples(client)
        assert _value(fresh, "kameng_ledger_ok") == 0
        assert _value(fresh, "kameng_ledger_problems") >= 1
    finally:
        Account.objects.filter(pk=account.pk).update(balance=account.balance)
        LEDGER_CHECK.result = None


def test_metrics_can_require_a_bearer_token(client, db, settings):
    settings.METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    _samples(client, Authorization="Bearer scrape-secret")
