"""Defaults safe in production (issue 16, point 8): /metrics needs its token unless the server is
bound to loopback, /healthz shows details only to that token, and the API rate limits are
announced in RateLimit headers. (That they are counted once for every worker, in the database
cache, a real `kameng serve --workers 3` shows: tests/ops/test_workers.py.)"""

import pytest


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "kameng.example", ""])
def test_metrics_need_a_token_off_loopback(client, db, settings, host):
    settings.SERVE_HOST, settings.METRICS_TOKEN = host, ""
    res = client.get("/metrics")
    assert res.status_code == 401
    assert b"kameng_" not in res.content


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"])
def test_metrics_are_open_on_a_loopback_binding(client, db, settings, host):
    settings.SERVE_HOST, settings.METRICS_TOKEN = host, ""
    res = client.get("/metrics")
    assert res.status_code == 200
    assert b"kameng_" in res.content


def test_a_configured_token_is_needed_even_on_loopback(client, db, settings):
    settings.SERVE_HOST, settings.METRICS_TOKEN = "127.0.0.1", "scrape-secret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200


def test_healthz_is_plain_without_the_token(client, db, settings):
    settings.SERVE_HOST, settings.METRICS_TOKEN = "0.0.0.0", "scrape-secret"
    plain = client.get("/healthz")
    assert plain.status_code == 200
    assert plain.json() == {"status": "ok"}
    detailed = client.get("/healthz", headers={"Authorization": "Bearer scrape-secret"})
    assert detailed.status_code == 200
    assert set(detailed.json()["checks"]) >= {"database", "storage", "broker"}


def test_healthz_failure_is_a_plain_503_without_the_token(client, db, settings):
    settings.SERVE_HOST, settings.METRICS_TOKEN = "0.0.0.0", ""
    settings.BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    res = client.get("/healthz")
    assert res.status_code == 503
    assert res.json() == {"status": "fail"}


def test_api_answers_carry_ratelimit_headers(api, buyer, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api_token": "5/60"}
    seen = []
    for _ in range(5):
        res = api.get("/me", token=buyer.token)
        assert res.status_code == 200
        assert res["RateLimit-Limit"] == "5"
        assert res["RateLimit-Policy"] == "5;w=60"
        assert 1 <= int(res["RateLimit-Reset"]) <= 60
        seen.append(int(res["RateLimit-Remaining"]))
    assert seen == [4, 3, 2, 1, 0]
    refused = api.get("/me", token=buyer.token)
    assert refused.status_code == 429
    assert refused["RateLimit-Remaining"] == "0"
    assert refused["Retry-After"] == refused["RateLimit-Reset"]
