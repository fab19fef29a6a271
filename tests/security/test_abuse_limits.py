"""Abuse limits: password guessing (per account, per address), registration floods, API request
rates per token and per address (429 rate_limited in the contract's shape, with Retry-After),
and the evidence upload quota per case."""

import pytest
from django.core.cache import caches
from django.test import override_settings

from kameng.security import ratelimit

from .conftest import PASSWORD, upload

LIMITS = {
    "login_ip": "6/300",
    "login_pair": "4/300",
    "register_ip": "3/3600",
    "register_challenge_ip": "off",
    "api_token": "5/60",
    "api_ip": "8/60",
    "api_anonymous_ip": "12/60",
}


@pytest.fixture
def tight_limits():
    with override_settings(RATE_LIMITS=LIMITS, RATE_LIMITS_ENABLED=True):
        yield


def assert_rate_limited(res, code="rate_limited"):
    assert res.status_code == 429, (res.status_code, res.content[:300])
    assert res.json()["error"]["type"] == "rate_limited"
    assert res.json()["error"]["code"] == code
    assert set(res.json()["error"]) == {"type", "code", "message", "param", "request_id"}
    assert int(res["Retry-After"]) >= 1


def login(api, username, password, ip="10.0.0.1"):
    return api.post("/auth/token", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_token_logins_are_limited_per_account_and_address_pair(api, tight_limits, buyer):
    for _ in range(4):
        assert login(api, buyer.username, "wrong-guess", ip="10.0.1.1").status_code in (401, 429)
    assert_rate_limited(login(api, buyer.username, PASSWORD, ip="10.0.1.1"))  # that pair waits
    assert login(api, buyer.username, PASSWORD, ip="10.0.1.99").status_code == 200  # its owner elsewhere does not


def test_token_logins_are_limited_per_address_across_accounts(api, tight_limits, make_user):
    users = [make_user("buyer") for _ in range(7)]
    for user in users[:6]:
        assert login(api, user.username, "wrong-guess", ip="10.0.2.1").status_code == 401
    assert_rate_limited(login(api, users[6].username, PASSWORD, ip="10.0.2.1"))
    assert login(api, users[6].username, PASSWORD, ip="10.0.2.2").status_code == 200  # another address is fine


def test_registration_is_limited_per_address_on_the_api_and_the_page(api, client, tight_limits):
    for i in range(3):
        res = api.post(
            "/auth/register",
            {"username": f"flood{i}", "password": "a-long-passphrase-9", "role": "buyer"},
            REMOTE_ADDR="10.0.5.1",
        )
        assert res.status_code == 201, res.data
    assert_rate_limited(
        api.post(
            "/auth/register",
            {"username": "flood9", "password": "a-long-passphrase-9", "role": "buyer"},
            REMOTE_ADDR="10.0.5.1",
        )
    )
    page = client.post(
        "/register/",
        {"username": "flood10", "password": "pass-word-123", "password2": "pass-word-123", "role": "buyer"},
        REMOTE_ADDR="10.0.5.1",
    )
    assert page.status_code == 429 and "注册过于频繁" in page.content.decode()
    other = api.post(
        "/auth/register",
        {"username": "neighbour", "password": "a-long-passphrase-9", "role": "buyer"},
        REMOTE_ADDR="10.0.5.2",
    )
    assert other.status_code == 201


def test_api_requests_are_limited_per_token(api, tight_limits, buyer, make_user):
    for _ in range(5):
        assert api.get("/wallet", token=buyer.token, REMOTE_ADDR="10.0.6.1").status_code == 200
    res = api.get("/wallet", token=buyer.token, REMOTE_ADDR="10.0.6.2")
    assert_rate_limited(res)
    assert int(res["Retry-After"]) <= 60
    other = make_user("buyer")
    assert api.get("/wallet", token=other.token, REMOTE_ADDR="10.0.6.3").status_code == 200


def test_anonymous_api_requests_are_limited_per_address(api, tight_limits, db):
    for _ in range(12):
        assert api.get("/policies", REMOTE_ADDR="10.0.7.1").status_code == 200
    assert_rate_limited(api.get("/policies", REMOTE_ADDR="10.0.7.1"))
    assert api.get("/policies", REMOTE_ADDR="10.0.7.2").status_code == 200


def test_random_tokens_from_one_address_are_limited_per_address(api, tight_limits, db):
    statuses = [api.get("/wallet", token=f"made-up-{i}", REMOTE_ADDR="10.0.8.1").status_code for i in range(9)]
    assert statuses[:8] == [401] * 8 and statuses[8] == 429


def test_gateway_notifications_are_never_rate_limited(api, tight_limits, db):
    statuses = {
        api.client.post(
            "/api/v1/payments/notify/sandbox", data=b"{}", content_type="application/json", REMOTE_ADDR="10.0.9.1"
        ).status_code
        for _ in range(10)
    }
    assert statuses == {400}


def test_behind_trusted_proxies_the_forwarded_address_is_counted(api, tight_limits, db):
    with override_settings(PROXY_COUNT=1):
        for i in range(14):
            res = api.get("/policies", REMOTE_ADDR="192.168.0.1", HTTP_X_FORWARDED_FOR=f"spoofed, 10.0.10.{i}")
            assert res.status_code == 200
        # the proxy's own address is shared by everyone; one client's flood does not lock out others
        for _ in range(12):
            api.get("/policies", REMOTE_ADDR="192.168.0.1", HTTP_X_FORWARDED_FOR="10.0.10.50")
        assert_rate_limited(api.get("/policies", REMOTE_ADDR="192.168.0.1", HTTP_X_FORWARDED_FOR="10.0.10.50"))
        assert api.get("/policies", REMOTE_ADDR="192.168.0.1", HTTP_X_FORWARDED_FOR="10.0.10.51").status_code == 200


def test_the_limiter_counts_fixed_windows(db):
    with override_settings(RATE_LIMITS={"probe": "2/10"}, RATE_LIMITS_ENABLED=True):
        assert ratelimit.hit("probe", "k", now=1000.0) is None
        assert ratelimit.hit("probe", "k", now=1001.0) is None
        assert ratelimit.hit("probe", "k", now=1002.0) == 8  # window [1000, 1010)
        assert ratelimit.hit("probe", "k", now=1010.0) is None  # a new window
        assert ratelimit.hit("probe", "other", now=1002.0) is None
        assert ratelimit.get_limit("missing") is None


def test_the_shared_counters_are_in_the_database_cache_without_redis(settings):
    from django.core.cache.backends.db import DatabaseCache

    if settings.REDIS_URL:
        pytest.skip("Redis configured: the counters are in Redis")
    assert isinstance(caches["security"], DatabaseCache)  # shared by every gunicorn worker


def test_evidence_uploads_stop_at_the_quota_per_case(api, world, settings):
    settings.EVIDENCE_MAX_UPLOADS_PER_CASE = 3  # the world's buyer already uploaded two
    case = world["case"]
    assert upload(api, case["id"], world["merchant"], "商家说明".encode(), "m.txt").status_code == 201
    res = upload(api, case["id"], world["buyer"], "再来一个".encode(), "b.txt")
    assert res.status_code == 409 and res.data["error"]["code"] == "evidence_quota_exceeded"


def test_a_request_without_a_client_address_still_logs_in(api, buyer):
    """gunicorn on a unix socket gives no REMOTE_ADDR: the lockout store must not choke on that."""
    assert login(api, buyer.username, "wrong", ip="").status_code == 401
    assert login(api, buyer.username, PASSWORD, ip="").status_code == 200
