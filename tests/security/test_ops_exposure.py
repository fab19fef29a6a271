"""Defaults safe in production (issue 16, point 8): /metrics needs its token unless the server is
bound to loopback, /healthz shows details only to that token, and the API rate limits are
counted once for every worker (the database cache) and announced in RateLimit headers."""

import sys

import pytest
import requests


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


def test_api_rate_limits_are_shared_by_every_gunicorn_worker(fresh_db, processes, free_port, wait_for):
    """Three workers, no Redis: 30 requests with one token against a limit of 12 per day get
    exactly 12 answers and 18 refusals, whichever worker answers each. The buyer registers through
    the server itself (its own limit), not in a Django process started for it. (A day, not a minute:
    windows are fixed, aligned on the clock, so 30 requests that straddle the end of one start
    counting again; at a load of 7 the 30 took long enough that a minute's end fell among them.)"""
    db = fresh_db("ratelimit")
    port = free_port()
    env = {**db.env, "KAMENG_RATE_LIMIT_API_TOKEN": "12/86400"}
    env.pop("KAMENG_REDIS_URL", None)
    serve = processes.start(
        [sys.executable, "-m", "kameng.cli", "serve", "--port", str(port), "--workers", "3", "--no-timers"],
        env,
        "serve",
    )
    base = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            return requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_for(healthy, 180, interval=0.25, what="kameng serve")  # four Django start-ups on a loaded machine
    registered = requests.post(
        f"{base}/api/v1/auth/register",
        json={"username": "rl-buyer", "password": "rl-pass-1234-word", "role": "buyer"},
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    headers = {"Authorization": f"Bearer {registered.json()['token']}", "Connection": "close"}
    statuses = [requests.get(f"{base}/api/v1/me", headers=headers, timeout=10).status_code for _ in range(30)]
    assert statuses.count(200) == 12, statuses
    assert statuses.count(429) == 18, statuses
    processes.stop(serve)
