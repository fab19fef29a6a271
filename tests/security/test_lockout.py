"""Lockouts that cannot be turned on others (issue 16, point 2; contract v1.1 "Accounts"):
10 failures lock the (account, address) pair for 15 min (429 login_locked); the same account
from another address and other accounts from that address still log in; failures past the
third slow the pair down first; an address as a whole locks only at a much higher failure rate
across accounts; registrations past a threshold need a proof of work, not a refusal."""

import base64
import json

import pytest
from altcha import solve_challenge_v1
from django.test import Client, override_settings

from .conftest import PASSWORD

NO_REQUEST_LIMITS = {"login_ip": "off", "login_pair": "off", "login_failures_ip": "300/3600"}


def login(api, username, password, ip):
    return api.post("/auth/token", {"username": username, "password": password}, REMOTE_ADDR=ip)


def fail(api, advance, username, ip, times):
    """`times` wrong passwords, each after the slow-down of the one before has passed."""
    for _ in range(times):
        advance(61)
        res = login(api, username, "wrong-guess-1", ip)
        assert res.status_code in (401, 429), res.data
    return res


@pytest.fixture
def request_limits_off():
    with override_settings(RATE_LIMITS=NO_REQUEST_LIMITS, RATE_LIMITS_ENABLED=True):
        yield


def test_ten_failures_lock_the_pair_not_the_account_nor_the_address(api, make_user, advance, request_limits_off):
    alice, bob = make_user("buyer", username="alice"), make_user("buyer", username="bob")
    fail(api, advance, alice.username, "10.1.0.1", 10)
    advance(61)
    locked = login(api, alice.username, PASSWORD, "10.1.0.1")
    assert locked.status_code == 429
    assert locked.data["error"]["code"] == "login_locked"
    assert int(locked["Retry-After"]) == 15 * 60
    assert login(api, alice.username, PASSWORD, "10.2.0.7").status_code == 200  # her own phone elsewhere
    assert login(api, bob.username, PASSWORD, "10.1.0.1").status_code == 200  # her classmate behind the NAT
    page = Client().post("/login/", {"username": bob.username, "password": PASSWORD}, REMOTE_ADDR="10.1.0.1")
    assert page.status_code == 302


def test_failures_for_an_account_from_many_addresses_do_not_lock_its_owner_out(
    api, make_user, advance, request_limits_off
):
    victim = make_user("merchant", username="victim")
    for i in range(20):
        fail(api, advance, victim.username, f"10.3.0.{i}", 3)  # 60 guesses, spread out
    assert login(api, victim.username, PASSWORD, "10.4.0.1").status_code == 200


def test_failures_past_the_third_slow_the_pair_down(api, make_user, request_limits_off, advance):
    carol = make_user("buyer", username="carol")
    for _ in range(3):
        assert login(api, carol.username, "wrong-guess-1", "10.5.0.1").status_code == 401
    slowed = login(api, carol.username, PASSWORD, "10.5.0.1")
    assert slowed.status_code == 429
    assert slowed.data["error"]["code"] == "login_slow_down"
    assert slowed["Retry-After"] == "1"
    assert login(api, carol.username, PASSWORD, "10.5.0.2").status_code == 200  # only that pair waits
    advance(1)
    assert login(api, carol.username, "wrong-guess-2", "10.5.0.1").status_code == 401  # the 4th failure
    assert login(api, carol.username, PASSWORD, "10.5.0.1")["Retry-After"] == "2"
    advance(2)
    assert login(api, carol.username, PASSWORD, "10.5.0.1").status_code == 200


def test_an_address_locks_only_at_a_much_higher_rate_across_accounts(api, make_user, advance):
    users = [make_user("buyer") for _ in range(7)]
    limits = {**NO_REQUEST_LIMITS, "login_failures_ip": "12/3600"}
    with override_settings(RATE_LIMITS=limits, RATE_LIMITS_ENABLED=True):
        for user in users[:6]:
            for _ in range(2):
                assert login(api, user.username, "wrong-guess-1", "10.6.0.1").status_code == 401
        locked = login(api, users[6].username, PASSWORD, "10.6.0.1")
        assert locked.status_code == 429 and locked.data["error"]["code"] == "login_locked"
        page = Client().post("/login/", {"username": users[6].username, "password": PASSWORD}, REMOTE_ADDR="10.6.0.1")
        assert page.status_code == 429
        assert login(api, users[6].username, PASSWORD, "10.6.0.2").status_code == 200


def test_the_default_address_threshold_is_far_above_the_pair_lock(settings):
    count, _, seconds = settings.RATE_LIMITS["login_failures_ip"].partition("/")
    assert int(count) >= 30 * settings.AXES_FAILURE_LIMIT and int(seconds) >= 3600
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def register(api, name, ip, challenge=None):
    body = {"username": name, "password": "a-long-passphrase-9", "role": "buyer"}
    if challenge is not None:
        body["challenge"] = challenge
    return api.post("/auth/register", body, REMOTE_ADDR=ip)


def solve(api) -> str:
    task = api.get("/auth/challenge").data
    assert set(task) >= {"algorithm", "challenge", "maxNumber", "salt", "signature"}
    solution = solve_challenge_v1(task["challenge"], task["salt"], task["algorithm"], task["maxNumber"])
    payload = {k: task[k] for k in ("algorithm", "challenge", "salt", "signature")} | {"number": solution.number}
    return base64.b64encode(json.dumps(payload).encode()).decode()


def test_registration_past_the_threshold_needs_a_proof_of_work(api, db):
    limits = {"register_ip": "50/3600", "register_challenge_ip": "3/3600"}
    with override_settings(RATE_LIMITS=limits, RATE_LIMITS_ENABLED=True, REGISTER_POW_MAX_NUMBER=2000):
        for i in range(3):
            assert register(api, f"campus{i}", "10.7.0.1").status_code == 201
        asked = register(api, "campus3", "10.7.0.1")
        assert asked.status_code == 429
        assert asked.data["error"]["code"] == "challenge_required"
        assert asked.data["error"]["param"] == "challenge"
        assert register(api, "campus3", "10.7.0.1", challenge="bm90LWEtc29sdXRpb24=").status_code == 429
        solution = solve(api)
        assert register(api, "campus3", "10.7.0.1", challenge=solution).status_code == 201
        assert register(api, "campus4", "10.7.0.1", challenge=solution).status_code == 429  # used once
        assert register(api, "campus4", "10.7.0.1", challenge=solve(api)).status_code == 201
        assert register(api, "elsewhere", "10.8.0.1").status_code == 201


def test_the_register_page_carries_the_challenge_past_the_threshold(client, db):
    limits = {"register_ip": "50/3600", "register_challenge_ip": "0/3600"}
    with override_settings(RATE_LIMITS={**limits, "register_challenge_ip": "1/3600"}, RATE_LIMITS_ENABLED=True):
        form = {"username": "pageuser1", "password": "pass-word-123", "password2": "pass-word-123", "role": "buyer"}
        assert client.post("/register/", form, REMOTE_ADDR="10.9.0.1").status_code == 302
        other = Client()
        page = other.post("/register/", {**form, "username": "pageuser2"}, REMOTE_ADDR="10.9.0.1")
        assert page.status_code == 429
        html = page.content.decode()
        assert "data-pow-challenge" in html and 'name="challenge"' in html
