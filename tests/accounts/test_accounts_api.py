"""Accounts through HTTP: self-registration, tokens, /me; staff only from the CLI."""

import pytest


def assert_error(res, status, type_, code=None):
    assert res.status_code == status, res.data
    assert set(res.data) == {"error"}
    assert set(res.data["error"]) == {"type", "code", "message", "param", "request_id"}
    assert res.data["error"]["type"] == type_
    if code is not None:
        assert res.data["error"]["code"] == code


@pytest.mark.parametrize("role", ["buyer", "merchant"])
def test_buyers_and_merchants_register_themselves_and_get_a_token(api, db, role):
    res = api.post("/auth/register", {"username": f"new-{role}", "password": "a-long-passphrase-9", "role": role})
    assert res.status_code == 201, res.data
    assert res.data["user"]["username"] == f"new-{role}"
    assert res.data["user"]["role"] == role
    assert isinstance(res.data["user"]["id"], str)
    me = api.get("/me", token=res.data["token"])
    assert me.status_code == 200
    assert me.data == res.data["user"]


@pytest.mark.parametrize("role", ["arbitrator", "admin", "root"])
def test_staff_roles_cannot_self_register(api, db, role):
    res = api.post("/auth/register", {"username": "sneaky", "password": "a-long-passphrase-9", "role": role})
    assert_error(res, 400, "invalid_request")
    assert res.data["error"]["param"] == "role"
    from kameng.accounts.models import User

    assert not User.objects.filter(username="sneaky").exists()


def test_taken_username_is_a_conflict(api, buyer):
    res = api.post("/auth/register", {"username": buyer.username, "password": "a-long-passphrase-9", "role": "buyer"})
    assert_error(res, 409, "conflict", "username_taken")


def test_weak_password_is_refused_with_the_field_named(api, db):
    res = api.post("/auth/register", {"username": "weakling", "password": "123", "role": "buyer"})
    assert_error(res, 400, "invalid_request")
    assert res.data["error"]["param"] == "password"


def test_token_for_right_password_and_401_for_wrong(api, make_user):
    user = make_user("buyer", username="alice", password="correct-horse-77")
    res = api.post("/auth/token", {"username": "alice", "password": "correct-horse-77"})
    assert res.status_code == 200
    assert res.data["user"] == {"id": str(user.pk), "username": "alice", "role": "buyer"}
    assert api.get("/me", token=res.data["token"]).data["username"] == "alice"

    wrong = api.post("/auth/token", {"username": "alice", "password": "wrong-horse-77"})
    assert_error(wrong, 401, "authentication_required")
    nobody = api.post("/auth/token", {"username": "nobody", "password": "correct-horse-77"})
    assert_error(nobody, 401, "authentication_required")


def test_me_needs_a_valid_token(api, db):
    assert_error(api.get("/me"), 401, "authentication_required")
    assert_error(api.get("/me", token="not-a-token"), 401, "authentication_required")


def test_staff_accounts_created_by_the_cli_can_log_in(api, db):
    from kameng.cli import main

    assert main(["user", "create", "--username", "judge", "--password", "judge-pass-123", "--role", "arbitrator"]) == 0
    assert main(["user", "create", "--username", "boss", "--password", "boss-pass-123", "--role", "admin"]) == 0
    for username, password, role in (("judge", "judge-pass-123", "arbitrator"), ("boss", "boss-pass-123", "admin")):
        res = api.post("/auth/token", {"username": username, "password": password})
        assert res.status_code == 200
        assert api.get("/me", token=res.data["token"]).data["role"] == role
