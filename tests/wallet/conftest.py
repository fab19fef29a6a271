"""Alipay and WeChat Pay simulators for the wallet tests (the shared 易支付 one is in tests/conftest.py)."""

from urllib.parse import urlencode

import pytest

from gateway_simulators import AlipaySimulator, WechatPaySimulator, rsa_key


@pytest.fixture(scope="session")
def alipay_keys():
    """Our app's key pair and "Alipay's", made once per run (RSA 2048 takes a moment)."""
    return rsa_key(), rsa_key()


@pytest.fixture
def alipay(settings, tmp_path, alipay_keys):
    simulator = AlipaySimulator(alipay_keys)
    settings.PAYMENT_GATEWAYS = {**settings.PAYMENT_GATEWAYS, "alipay": simulator.write_keys(tmp_path)}
    yield simulator
    simulator.close()


@pytest.fixture
def alipay_notify(api):
    def deliver(fields: dict):
        return api.client.post(
            "/api/v1/payments/notify/alipay",
            data=urlencode(fields),
            content_type="application/x-www-form-urlencoded; charset=utf-8",
        )

    return deliver


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run the after-commit jobs (a refund's or a payout's gateway call) as a committed request would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture(scope="session")
def wechatpay_keys():
    """Our merchant API key pair and "WeChat Pay's" platform key pair."""
    return rsa_key(), rsa_key()


@pytest.fixture
def wechatpay(settings, tmp_path, wechatpay_keys):
    simulator = WechatPaySimulator(wechatpay_keys)
    settings.PAYMENT_GATEWAYS = {**settings.PAYMENT_GATEWAYS, "wechatpay": simulator.write_keys(tmp_path)}
    yield simulator
    simulator.close()


@pytest.fixture
def wechatpay_notify(api):
    def deliver(headers: dict, body: bytes):
        return api.client.post(
            "/api/v1/payments/notify/wechatpay", data=body, content_type="application/json", headers=headers
        )

    return deliver
