"""API error messages follow Accept-Language: English for `en`, Chinese otherwise; the type, code and
param never change with the language, and Content-Language names the language of the message."""

import pytest
from django.test import Client, override_settings

from kameng.errors import DomainError, Error, RateLimited

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _both(call):
    """The same request in Chinese and in English: (zh answer, en answer)."""
    return call(ZH), call(EN)


def _same_error_but_the_words(zh, en, status):
    assert zh.status_code == en.status_code == status, (zh.content, en.content)
    zh_error, en_error = zh.json()["error"], en.json()["error"]
    assert {k: v for k, v in zh_error.items() if k not in ("message", "request_id")} == {
        k: v for k, v in en_error.items() if k not in ("message", "request_id")
    }
    assert zh["Content-Language"] == "zh-hans" and en["Content-Language"] == "en"
    return zh_error, en_error


def test_buying_without_money_is_402_in_the_callers_language(api, buyer, merchant, make_listing):
    listing = make_listing(merchant)
    zh, en = _both(lambda lang: api.post("/orders", {"listing": listing["id"]}, token=buyer.token, headers=lang))
    zh_error, en_error = _same_error_but_the_words(zh, en, 402)
    assert (en_error["type"], en_error["code"]) == ("insufficient_funds", "insufficient_funds")
    assert zh_error["message"] == "余额不足"
    assert en_error["message"] == Error.INSUFFICIENT_FUNDS.en == "Insufficient wallet balance"


def test_opening_a_case_on_a_missing_order_is_404_in_english(api, buyer):
    body = {"order": "999999", "reason": "defective", "description": "卡密无效", "amount": 100}
    zh, en = _both(lambda lang: api.post("/refunds", body, token=buyer.token, headers=lang))
    zh_error, en_error = _same_error_but_the_words(zh, en, 404)
    assert (en_error["type"], en_error["code"]) == ("not_found", "not_found")
    assert (zh_error["message"], en_error["message"]) == ("订单不存在", "No such order")


def test_a_bad_limit_is_400_naming_the_param_in_english(api, buyer):
    zh, en = _both(lambda lang: api.get("/orders?limit=0", token=buyer.token, headers=lang))
    zh_error, en_error = _same_error_but_the_words(zh, en, 400)
    assert (en_error["code"], en_error["param"]) == ("invalid_limit", "limit")
    assert (zh_error["message"], en_error["message"]) == ("limit 必须在 1 到 100 之间", "limit must be 1 to 100")


def test_a_message_with_a_placeholder_is_filled_in_both_languages(api, buyer, merchant, make_listing, fund, buy):
    fund(buyer, 20000)
    order = buy(buyer, make_listing(merchant, price=9900))
    body = {"order": order["id"], "reason": "defective", "description": "卡密无效", "amount": 9901}
    zh, en = _both(lambda lang: api.post("/refunds", body, token=buyer.token, headers=lang))
    zh_error, en_error = _same_error_but_the_words(zh, en, 400)
    assert (en_error["code"], en_error["param"]) == ("amount_exceeds_refundable", "amount")
    assert zh_error["message"] == "退款金额超过可退金额（最多 9900 分）"
    assert en_error["message"] == "The refund exceeds what can be refunded (at most 9900 fen)"


@override_settings(RATE_LIMITS={"login_pair": "1/300"}, RATE_LIMITS_ENABLED=True)
def test_a_rate_limited_login_is_429_with_retry_after_in_english(api, buyer):
    def login(lang):
        return api.post("/auth/token", {"username": buyer.username, "password": "wrong"}, headers=lang)

    assert login(EN).status_code == 401
    zh, en = _both(login)
    zh_error, en_error = _same_error_but_the_words(zh, en, 429)
    assert (en_error["type"], en_error["code"]) == ("rate_limited", "rate_limited")
    assert int(en["Retry-After"]) >= 1 and zh["Retry-After"]
    retry = int(en["Retry-After"])
    assert en_error["message"] == RateLimited(retry).message("en")
    assert en_error["message"].startswith("Too many requests") and "retry in" in en_error["message"]
    assert zh_error["message"].startswith("请求过于频繁，请稍后再试（") and zh_error["message"].endswith("秒后重试）")


def test_wrong_credentials_are_401_in_english(api, buyer):
    zh, en = _both(lambda lang: api.post("/auth/token", {"username": buyer.username, "password": "x"}, headers=lang))
    zh_error, en_error = _same_error_but_the_words(zh, en, 401)
    assert (zh_error["message"], en_error["message"]) == ("用户名或密码错误", "Wrong username or password")


def test_validation_errors_keep_the_chinese_format_and_have_an_english_one(api, buyer):
    zh, en = _both(lambda lang: api.post("/wallet/topups", {"amount": "lots"}, token=buyer.token, headers=lang))
    zh_error, en_error = _same_error_but_the_words(zh, en, 400)
    assert en_error["param"] == "amount"
    assert zh_error["message"].startswith("参数无效：amount：")
    assert en_error["message"].startswith("Invalid parameter amount: ")


def test_a_body_that_is_not_json_is_400_in_both_languages(api, buyer):
    def post(lang):
        return api.client.post(
            "/api/v1/wallet/topups",
            data="{not json",
            content_type="application/json",
            headers={"Authorization": f"Bearer {buyer.token}", **lang},
        )

    zh_error, en_error = _same_error_but_the_words(*_both(post), 400)
    assert (zh_error["message"], en_error["message"]) == ("无法解析请求体", "Cannot parse request body")


def test_an_unhandled_error_is_500_in_english(api, buyer, monkeypatch):
    import kameng.api.accounts as accounts_api

    def explode(user):
        raise RuntimeError("boom")

    monkeypatch.setattr(accounts_api, "user_out", explode)
    client = Client(raise_request_exception=False)
    auth = {"Authorization": f"Bearer {buyer.token}"}
    zh, en = _both(lambda lang: client.get("/api/v1/me", headers={**auth, **lang}))
    zh_error, en_error = _same_error_but_the_words(zh, en, 500)
    assert (zh_error["message"], en_error["message"]) == ("服务器内部错误", "Internal server error")


@pytest.mark.parametrize(
    "call, status, code, english",
    [
        (lambda api, lang: api.get("/no-such-thing", headers=lang), 404, "not_found", Error.NOT_FOUND.en),
        (
            lambda api, lang: api.call("delete", "/listings", headers=lang),
            405,
            "method_not_allowed",
            "Method not allowed",
        ),
        (lambda api, lang: api.get("/me", headers=lang), 401, "authentication_required", Error.TOKEN_REQUIRED.en),
        (lambda api, lang: api.get("/policies?x=a%00b", headers=lang), 400, "invalid_characters", None),
    ],
    ids=["unknown path", "wrong method", "no token", "NUL in the query"],
)
def test_answers_no_service_gave_follow_the_language_too(api, db, call, status, code, english):
    zh, en = _both(lambda lang: call(api, lang))
    zh_error, en_error = _same_error_but_the_words(zh, en, status)
    assert en_error["code"] == code
    assert en_error["message"] == (english or DomainError(Error.REQUEST_NUL_CHARACTERS).message("en"))
    assert zh_error["message"] != en_error["message"]


def test_an_idempotent_replay_keeps_the_first_answer(api, buyer, merchant, make_listing):
    listing = make_listing(merchant)
    headers = {**EN, "Idempotency-Key": "lang-1"}
    first = api.post("/orders", {"listing": listing["id"]}, token=buyer.token, headers=headers)
    again = api.post("/orders", {"listing": listing["id"]}, token=buyer.token, headers=headers)
    assert first.status_code == again.status_code == 402
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
