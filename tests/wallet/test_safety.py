"""Safety of the money rails: no public default key signs anything, `kameng serve` refuses to face a
network without KAMENG_SECRET_KEY, and gateway configuration only ever comes from the environment."""

import hashlib
import hmac
import json
import os
import stat

from kameng.cli import main
from kameng.ops.config import local_secret, payment_gateways
from kameng.settings import SECRET_KEY as DEFAULT_OR_CONFIGURED_KEY

PUBLIC_DEFAULT = "kameng-embedded-insecure-development-key-change-me"


def test_serve_refuses_a_non_loopback_host_without_a_secret_key(settings, capsys):
    settings.SECRET_KEY_CONFIGURED = False
    for host in ("0.0.0.0", "192.168.1.20", "::", "shop.example.com"):
        assert main(["serve", "--host", host, "--port", "1"]) == 2
        assert "KAMENG_SECRET_KEY" in capsys.readouterr().err


def test_the_sandbox_key_is_never_the_public_default(api, buyer, settings):
    if not os.environ.get("KAMENG_SECRET_KEY"):
        assert DEFAULT_OR_CONFIGURED_KEY == PUBLIC_DEFAULT  # what an operator who forgot it would run with
    assert settings.SANDBOX_GATEWAY_SECRET != PUBLIC_DEFAULT
    topup = api.post("/wallet/topups", {"amount": 9999}, token=buyer.token).data
    body = json.dumps({"out_trade_no": topup["out_trade_no"], "amount": 9999, "reference": "FORGED"}).encode()
    forged = hmac.new(PUBLIC_DEFAULT.encode(), body, hashlib.sha256).hexdigest()
    res = api.client.post(
        "/api/v1/payments/notify/sandbox",
        data=body,
        content_type="application/json",
        headers={"X-Sandbox-Signature": forged},
    )
    assert res.status_code == 400 and res.json()["error"]["code"] == "invalid_signature"
    assert api.get("/wallet", token=buyer.token).data["balance"] == 0


def test_a_local_secret_is_random_kept_and_private(tmp_path):
    first = local_secret(tmp_path / "a")
    assert first == local_secret(tmp_path / "a")
    assert len(first) >= 40 and first != local_secret(tmp_path / "b")
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o600


def test_gateways_are_off_until_every_contract_variable_is_set():
    assert payment_gateways({}) == {"epay": None, "alipay": None, "wechatpay": None}
    partial = payment_gateways({"KAMENG_EPAY_URL": "https://pay.example.com", "KAMENG_EPAY_PID": "1001"})
    assert partial["epay"] is None
    full = payment_gateways(
        {"KAMENG_EPAY_URL": "https://pay.example.com", "KAMENG_EPAY_PID": "1001", "KAMENG_EPAY_KEY": "k"}
    )
    assert full["epay"] == {"url": "https://pay.example.com", "pid": "1001", "key": "k"}
