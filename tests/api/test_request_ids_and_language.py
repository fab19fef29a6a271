"""Every answer carries Request-Id (a sane client X-Request-Id is kept), every error repeats it as
`request_id`; under /api/ the language is Accept-Language's alone (English for `en`, else Chinese)."""

import re

import pytest

CJK = re.compile(r"[\u4e00-\u9fff]")
EN = {"Accept-Language": "en"}


def test_every_answer_has_a_request_id_and_errors_repeat_it(api, buyer, client):
    ok = api.get("/me", token=buyer.token)
    missing = api.get("/orders/999999", token=buyer.token)
    unknown_path = api.get("/no/such/thing")
    page = client.get("/")
    ids = [r["Request-Id"] for r in (ok, missing, unknown_path, page)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and len(set(ids)) == 4
    assert missing.data["error"]["request_id"] == missing["Request-Id"]
    assert unknown_path.data["error"]["request_id"] == unknown_path["Request-Id"]


def test_a_sane_client_request_id_is_kept_and_anything_else_replaced(api):
    kept = api.get("/no/such/thing", headers={"X-Request-Id": "checkout-7f3a.2:retry-1"})
    assert kept["Request-Id"] == kept.data["error"]["request_id"] == "checkout-7f3a.2:retry-1"
    for bad in ("x" * 200, "two words", "<script>", "id\u00e9"):
        res = api.get("/no/such/thing", headers={"X-Request-Id": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", res["Request-Id"]), bad
        assert res.data["error"]["request_id"] == res["Request-Id"]


def test_a_validation_error_carries_the_id_too(api, buyer):
    invalid = api.post("/wallet/topups", {"amount": "100"}, token=buyer.token, headers={"X-Request-Id": "r-1"})
    assert invalid.status_code == 400 and invalid.data["error"]["request_id"] == "r-1"


@pytest.mark.parametrize(
    "headers",
    [
        {"Accept-Language": "en", "Cookie": "django_language=zh-hans"},  # the pages' language switch
        {"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"},
        {"Accept-Language": "EN-us"},
    ],
)
def test_accept_language_en_answers_english_whatever_the_cookies_say(api, headers):
    res = api.get("/me", headers=headers)
    assert res.status_code == 401
    assert res["Content-Language"] == "en"
    assert res.data["error"]["message"] == "A valid access token is required"


def test_a_signed_in_users_stored_language_does_not_override_accept_language(api, make_user, client):
    user = make_user("buyer")
    user.language = "zh-hans"
    user.save(update_fields=["language"])
    client.force_login(user)
    res = api.get("/orders/999999", token=user.token, headers=EN)
    assert res.status_code == 404 and res["Content-Language"] == "en"
    assert not CJK.search(res.data["error"]["message"])


@pytest.mark.parametrize("headers", [{}, {"Accept-Language": "fr"}, {"Accept-Language": "zh-CN"}])
def test_chinese_is_the_default(api, headers):
    res = api.get("/me", headers=headers)
    assert res["Content-Language"] == "zh-hans" and res.data["error"]["message"] == "需要有效的访问令牌"


def test_english_for_every_kind_of_refusal(api, buyer, merchant, make_listing):
    """One request per path through the stack that answers an error: middleware, ninja, services."""
    listing = make_listing(merchant)
    calls = [
        api.get("/no/such/thing", headers=EN),
        api.call("delete", "/listings", headers=EN),
        api.get("/me", token="not-a-token", headers=EN),
        api.post("/wallet/topups", {"amount": "lots"}, token=buyer.token, headers=EN),
        api.post("/wallet/topups", {}, token=buyer.token, headers=EN),
        api.post("/orders", {"listing": listing["id"]}, token=buyer.token, headers=EN),
        api.post(
            "/listings", {"title": "", "category": "x", "kind": "y", "price": 1}, token=merchant.token, headers=EN
        ),
        api.get("/orders?starting_after=999999", token=buyer.token, headers=EN),
        api.post("/auth/register", {"username": "weakling", "password": "1", "role": "buyer"}, headers=EN),
        api.client.post(
            "/api/v1/wallet/topups",
            data="{not json",
            content_type="application/json",
            headers={**EN, "Authorization": f"Bearer {buyer.token}"},
        ),
    ]
    for res in calls:
        assert res.status_code >= 400 and res["Content-Language"] == "en", res.content
        assert not CJK.search(res.json()["error"]["message"]), res.content.decode()
