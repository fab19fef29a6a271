"""The staff second factor (issue 16, point 3; contract v1.1 "Accounts"): TOTP from the CLI and
from the staff pages (QR code), recovery codes, KAMENG_STAFF_OTP=required, the Django admin
behind it. Codes are computed here from the otpauth:// URI with RFC 6238 written out (SHA-1,
6 digits, 30 s), so the URI an authenticator app scans is what is checked."""

import base64
import hashlib
import hmac
import re
import struct
import time
from urllib.parse import parse_qs, urlparse

import pytest

from kameng.cli import main as kameng


def totp(secret_b32: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8), casefold=True)
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"


def enrol_from_cli(username, capsys):
    assert kameng(["user", "otp", "--username", username]) == 0
    out = capsys.readouterr().out.splitlines()
    uri = urlparse(out[0])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    query = parse_qs(uri.query)
    assert query.get("algorithm", ["SHA1"]) == ["SHA1"]
    assert query.get("digits", ["6"]) == ["6"] and query.get("period", ["30"]) == ["30"]
    assert query["issuer"] == ["kameng"]
    codes = [line.strip() for line in out[2:] if line.strip()]
    assert len(codes) == 10
    return query["secret"][0], codes


def token_login(api, username, otp=None, password="s3cret-pass-123"):
    body = {"username": username, "password": password} | ({"otp": otp} if otp is not None else {})
    return api.post("/auth/token", body)


def test_cli_turns_on_totp_and_the_api_needs_the_code(api, make_user, capsys):
    make_user("arbitrator", username="judge")
    secret, _codes = enrol_from_cli("judge", capsys)
    missing = token_login(api, "judge")
    assert missing.status_code == 401
    assert missing.data["error"]["code"] == "otp_required"
    wrong = token_login(api, "judge", otp="000000" if totp(secret) != "000000" else "111111")
    assert wrong.status_code == 401
    assert wrong.data["error"]["code"] == "otp_invalid"
    time.sleep(1.1)  # django-otp throttles a device for 1 s after a wrong code (doubling each time)
    right = token_login(api, "judge", otp=totp(secret))
    assert right.status_code == 200, right.data
    assert api.get("/me", token=right.data["token"]).data["role"] == "arbitrator"
    replayed = token_login(api, "judge", otp=totp(secret))  # one code, one login
    assert replayed.status_code == 401 and replayed.data["error"]["code"] == "otp_invalid"


def test_a_wrong_password_is_refused_before_any_code(api, make_user, capsys):
    make_user("admin", username="boss")
    secret, _ = enrol_from_cli("boss", capsys)
    res = token_login(api, "boss", otp=totp(secret), password="wrong-password-1")
    assert res.status_code == 401 and res.data["error"]["code"] == "invalid_credentials"


def test_each_recovery_code_works_once(api, make_user, capsys):
    make_user("admin", username="boss2")
    _secret, codes = enrol_from_cli("boss2", capsys)
    assert token_login(api, "boss2", otp=codes[0]).status_code == 200
    again = token_login(api, "boss2", otp=codes[0])
    assert again.status_code == 401 and again.data["error"]["code"] == "otp_invalid"
    time.sleep(1.1)  # the throttle after a wrong code
    assert token_login(api, "boss2", otp=codes[1].upper()).status_code == 200


def test_totp_is_for_staff_only(make_user, capsys):
    make_user("buyer", username="shopper")
    assert kameng(["user", "otp", "--username", "shopper"]) == 1
    assert "仲裁员和管理员" in capsys.readouterr().err
    assert kameng(["user", "otp", "--username", "nobody"]) == 1


def test_staff_otp_required_refuses_staff_without_totp(api, make_user, settings, capsys):
    settings.STAFF_OTP_REQUIRED = True
    make_user("arbitrator", username="judge3")
    make_user("buyer", username="shopper3")
    res = token_login(api, "judge3")
    assert res.status_code == 401 and res.data["error"]["code"] == "otp_required"
    assert token_login(api, "shopper3").status_code == 200  # buyers and merchants: no second factor
    secret, _ = enrol_from_cli("judge3", capsys)
    assert token_login(api, "judge3", otp=totp(secret)).status_code == 200


def test_staff_enrol_on_their_page_with_a_qr_code(client, make_user):
    make_user("arbitrator", username="judge4")
    assert client.post("/login/", {"username": "judge4", "password": "s3cret-pass-123"}).status_code == 302
    page = client.get("/account/security/")
    assert "启用两步验证" in page.content.decode()
    started = client.post("/account/security/", {"step": "start"}).content.decode()
    assert "<svg" in started  # the QR code, inline
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', started).group(1)
    wrong = client.post("/account/security/", {"step": "confirm", "otp": "12345"})
    assert "动态验证码错误" in wrong.content.decode()
    time.sleep(1.1)  # the device's throttle after a wrong code
    done = client.post("/account/security/", {"step": "confirm", "otp": totp(secret)}).content.decode()
    codes = re.findall(r"<li><code>([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})</code></li>", done)
    assert len(codes) == 10
    assert client.get("/arbitration/").status_code == 200  # this session passed the code

    client.post("/logout/")
    no_code = client.post("/login/", {"username": "judge4", "password": "s3cret-pass-123"})
    assert no_code.status_code == 200
    assert "请输入两步验证的动态验证码" in no_code.content.decode()
    assert "_auth_user_id" not in client.session
    ok = client.post("/login/", {"username": "judge4", "password": "s3cret-pass-123", "otp": codes[0]})
    assert ok.status_code == 302
    assert client.get("/arbitration/").status_code == 200


def test_buyers_have_no_second_factor_section(client, make_user):
    make_user("buyer", username="shopper5")
    client.post("/login/", {"username": "shopper5", "password": "s3cret-pass-123"})
    assert "两步验证" not in client.get("/account/security/").content.decode()


def test_required_mode_leads_staff_to_enrolment_only(client, make_user, settings):
    settings.STAFF_OTP_REQUIRED = True
    make_user("admin", username="boss6")
    res = client.post("/login/", {"username": "boss6", "password": "s3cret-pass-123"})
    assert res.status_code == 302 and res["Location"] == "/account/security/"
    assert client.get("/staff/").status_code == 302
    assert client.get("/django-admin/").status_code == 302
    assert "工作人员账户须先启用两步验证" in client.get("/account/security/").content.decode()


@pytest.mark.parametrize("verified", [False, True])
def test_the_django_admin_needs_the_second_factor(client, make_user, capsys, verified):
    make_user("admin", username="boss7")
    secret, codes = enrol_from_cli("boss7", capsys)
    if verified:
        res = client.post("/login/", {"username": "boss7", "password": "s3cret-pass-123", "otp": codes[0]})
        assert res.status_code == 302
        assert client.get("/django-admin/").status_code == 200
    else:
        client.force_login(__import__("kameng.accounts.models", fromlist=["User"]).User.objects.get(username="boss7"))
        res = client.get("/django-admin/")
        assert res.status_code == 302
        assert client.get(res["Location"]).status_code in (200, 302)
        assert client.get("/staff/").status_code == 302  # the staff pages too
