"""Tokens that end (issue 16, point 1): expiry, logout, a password change revoking every other
token, "sign out everywhere" on the pages, the admin's revoke, and only hashes stored."""

from datetime import datetime, timedelta

import pytest

from kameng.accounts.models import ApiToken, User
from kameng.clock.services import now as clock_now


@pytest.fixture
def thirty_days(settings):
    settings.TOKEN_LIFETIME_DAYS = 30


def login(api, username, password="s3cret-pass-123"):
    res = api.post("/auth/token", {"username": username, "password": password})
    assert res.status_code == 200, res.data
    return res.data


def test_the_default_lifetime_is_thirty_days(monkeypatch):
    import importlib

    import kameng.settings as module

    monkeypatch.delenv("KAMENG_TOKEN_DAYS", raising=False)
    assert importlib.reload(module).TOKEN_LIFETIME_DAYS == 30
    monkeypatch.setenv("KAMENG_TOKEN_DAYS", "7")
    assert importlib.reload(module).TOKEN_LIFETIME_DAYS == 7
    monkeypatch.delenv("KAMENG_TOKEN_DAYS")
    importlib.reload(module)


def test_a_token_answers_until_expires_at_then_401(api, make_user, advance, thirty_days):
    make_user("buyer", username="ann")
    issued = login(api, "ann")
    expires = datetime.fromisoformat(issued["expires_at"])
    now = clock_now()
    assert timedelta(days=30) - timedelta(minutes=1) < expires - now <= timedelta(days=30)
    advance(30 * 86400 - 60)
    assert api.get("/me", token=issued["token"]).status_code == 200
    advance(120)
    res = api.get("/me", token=issued["token"])
    assert res.status_code == 401
    assert res.data["error"]["code"] == "authentication_required"


def test_register_answers_expires_at_too(api, db, thirty_days):
    res = api.post("/auth/register", {"username": "newbie", "password": "a-long-passphrase-9", "role": "buyer"})
    assert res.status_code == 201
    assert set(res.data) == {"user", "token", "expires_at"}


def test_logout_answers_204_and_only_that_token_stops(api, make_user):
    make_user("buyer", username="bob")
    first, second = login(api, "bob")["token"], login(api, "bob")["token"]
    res = api.post("/auth/logout", token=first)
    assert res.status_code == 204
    assert res.content == b""
    assert api.get("/me", token=first).status_code == 401
    assert api.post("/auth/logout", token=first).status_code == 401
    assert api.get("/me", token=second).status_code == 200


def test_logout_needs_a_token(api, db):
    assert api.post("/auth/logout").status_code == 401


def test_password_change_revokes_every_earlier_token(api, make_user):
    user = make_user("buyer", username="cat")
    tokens = [user.token, login(api, "cat")["token"], login(api, "cat")["token"]]
    res = api.post(
        "/me/password", {"current_password": "s3cret-pass-123", "new_password": "a-new-passphrase-42"}, token=tokens[1]
    )
    assert res.status_code == 200, res.data
    assert set(res.data) == {"user", "token", "expires_at"}
    assert res.data["user"]["username"] == "cat"
    for old in tokens:
        assert api.get("/me", token=old).status_code == 401
    assert api.get("/me", token=res.data["token"]).status_code == 200
    assert api.post("/auth/token", {"username": "cat", "password": "s3cret-pass-123"}).status_code == 401
    login(api, "cat", "a-new-passphrase-42")


def test_password_change_with_a_wrong_current_password_changes_nothing(api, make_user):
    user = make_user("buyer", username="dan")
    res = api.post(
        "/me/password", {"current_password": "guess-guess-1", "new_password": "a-new-passphrase-42"}, token=user.token
    )
    assert res.status_code == 400
    assert res.data["error"]["code"] == "wrong_password"
    assert res.data["error"]["param"] == "current_password"
    assert api.get("/me", token=user.token).status_code == 200
    weak = api.post("/me/password", {"current_password": "s3cret-pass-123", "new_password": "123"}, token=user.token)
    assert weak.status_code == 400
    assert weak.data["error"]["param"] == "new_password"
    assert api.get("/me", token=user.token).status_code == 200
    login(api, "dan")


def test_only_hashes_are_stored(api, make_user):
    make_user("buyer", username="eve")
    raw = login(api, "eve")["token"]
    stored = list(ApiToken.objects.filter(user__username="eve").values_list("key_hash", flat=True))
    assert raw not in stored
    assert ApiToken.hash(raw) in stored
    assert all(len(h) == 64 for h in stored)


def test_sign_out_everywhere_ends_tokens_and_sessions(api, make_user, client):
    from django.test import Client

    user = make_user("buyer", username="fay")
    other_browser = Client()
    for browser in (client, other_browser):
        res = browser.post("/login/", {"username": "fay", "password": "s3cret-pass-123"})
        assert res.status_code == 302
    page = client.get("/account/security/")
    assert page.status_code == 200
    assert "退出所有设备" in page.content.decode()
    assert other_browser.get("/account/security/").status_code == 200

    res = client.post("/account/security/sign-out-everywhere")
    assert res.status_code == 302
    assert api.get("/me", token=user.token).status_code == 401
    for browser in (client, other_browser):
        assert browser.get("/account/security/").status_code == 302  # back to the login page
    # Logging in again works.
    assert client.post("/login/", {"username": "fay", "password": "s3cret-pass-123"}).status_code == 302
    assert client.get("/account/security/").status_code == 200


def test_sign_out_everywhere_is_a_post(client, make_user):
    make_user("buyer", username="gus")
    client.post("/login/", {"username": "gus", "password": "s3cret-pass-123"})
    assert client.get("/account/security/sign-out-everywhere").status_code == 405


def test_the_admin_revokes_a_users_tokens(client, make_user, api):
    from kameng.security.models import AuditRecord

    boss = make_user("admin", username="boss")
    victim = make_user("merchant", username="hal")
    victim_browser = type(client)()
    victim_browser.post("/login/", {"username": "hal", "password": "s3cret-pass-123"})
    client.force_login(boss)
    res = client.post("/django-admin/accounts/user/", {"action": "revoke_tokens", "_selected_action": [str(victim.pk)]})
    assert res.status_code == 302, res.content[:500]
    assert api.get("/me", token=victim.token).status_code == 401
    assert api.get("/me", token=boss.token).status_code == 200
    assert victim_browser.get("/account/security/").status_code == 302
    entry = AuditRecord.objects.get(type="user.revoke_tokens")
    assert entry.actor == boss and entry.target == f"user:{victim.pk}"
    assert User.objects.get(pk=victim.pk).is_active
