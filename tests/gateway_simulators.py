"""Local payment gateway simulators: real HTTP servers on 127.0.0.1 speaking each gateway's documented
protocol, with their own signing code (not kameng's) and keys made in the test.

A test opens a payment through kameng, "pays" it at the simulator (which checks kameng's signed
pay URL the way the gateway would and returns the notification the gateway would send, signed
the gateway's way), and delivers that notification to kameng's notify endpoint. kameng's adapters
call the simulators over HTTP for queries, refunds and payouts; `fail_next` makes those fail.

Importable from any test module as `gateway_simulators` (tests/conftest.py puts tests/ on sys.path).
"""

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


class Simulator:
    """A threaded HTTP server; subclasses answer `route(method, path, query, form, headers, body)`."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []
        self.fail_next: dict[str, int] = {}  # operation → how many of its next calls fail
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                form = (
                    dict(parse_qsl(body.decode())) if "form-urlencoded" in (self.headers["Content-Type"] or "") else {}
                )
                status, headers, payload = simulator.route(
                    self.command, url.path, dict(parse_qsl(url.query)), form, self.headers, body
                )
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        """Stop answering (a test may do it early to play a gateway that is down); idempotent."""
        if self._thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
            self._thread.join()

    def failing(self, operation: str) -> bool:
        if self.fail_next.get(operation, 0) > 0:
            self.fail_next[operation] -= 1
            return True
        return False

    def route(self, method, path, query, form, headers, body):  # pragma: no cover - overridden
        raise NotImplementedError


def _json(status: int, data) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(data, ensure_ascii=False).encode()


# ---- 易支付 ------------------------------------------------------------------------------------


def epay_sign(fields: dict, key: str) -> str:
    """The aggregator's side of the MD5 scheme (written from the protocol, independently of kameng's)."""
    pairs = sorted((k, str(v)) for k, v in fields.items() if k not in ("sign", "sign_type") and str(v) != "")
    return hashlib.md5(("&".join(f"{k}={v}" for k, v in pairs) + key).encode("utf-8")).hexdigest()


class EpaySimulator(Simulator):
    """彩虹易支付-style aggregator: submit.php, api.php?act=order, api.php?act=refund."""

    def __init__(self, pid="1001", key="epay-test-key-7f3a", refunds=True):
        self.pid, self.key, self.refunds = pid, key, refunds
        self.orders: dict[str, dict] = {}
        self.refund_calls: list[dict] = []
        self._n = 0
        super().__init__()

    @property
    def env(self) -> dict:
        return {"url": self.url, "pid": self.pid, "key": self.key}

    def route(self, method, path, query, form, headers, body):
        self.calls.append((method, path))
        fields = {**query, **form}
        if path == "/submit.php":
            return self._submit(fields)
        if path == "/api.php" and fields.get("act") == "order":
            return self._order(fields)
        if path == "/api.php" and fields.get("act") == "refund" and self.refunds:
            return self._refund(fields)
        return 404, {"Content-Type": "text/plain"}, b"not found"

    def _submit(self, fields):
        if fields.get("pid") != self.pid or epay_sign(fields, self.key) != fields.get("sign"):
            return 200, {"Content-Type": "text/html"}, "签名校验失败".encode()
        self._n += 1
        self.orders[fields["out_trade_no"]] = {
            "trade_no": f"2026120{self._n:012d}",
            "money": fields["money"],
            "name": fields.get("name", ""),
            "notify_url": fields.get("notify_url", ""),
            "status": 0,
        }
        return 200, {"Content-Type": "text/html"}, "收银台".encode()

    def _order(self, fields):
        if fields.get("pid") != self.pid or fields.get("key") != self.key:
            return _json(200, {"code": -2, "msg": "KEY校验失败"})
        order = self.orders.get(fields.get("out_trade_no", ""))
        if order is None:
            return _json(200, {"code": -1, "msg": "订单号不存在"})
        if self.failing("order"):
            return 502, {"Content-Type": "text/html"}, b"<h1>502 Bad Gateway</h1>"
        return _json(
            200,
            {
                "code": 1,
                "msg": "查询订单号成功！",
                "trade_no": order["trade_no"],
                "out_trade_no": fields["out_trade_no"],
                "type": "alipay",
                "pid": self.pid,
                "name": order["name"],
                "money": order["money"],
                "status": order["status"],
            },
        )

    def _refund(self, fields):
        if fields.get("pid") != self.pid or fields.get("key") != self.key:
            return _json(200, {"code": -2, "msg": "KEY校验失败"})
        if self.failing("refund"):
            return _json(200, {"code": -1, "msg": "系统繁忙，请稍后再试"})
        self.refund_calls.append(fields)
        order = self.orders.get(fields.get("out_trade_no", ""))
        if order is not None:
            order["status"] = 2
            order["refunded"] = f"{float(order.get('refunded', '0')) + float(fields['money']):.2f}"
        return _json(200, {"code": 1, "msg": "退款成功"})

    def statement(self, *, day="2026-12-01", bom=True, overrides: dict | None = None, extra_rows=()) -> bytes:
        """The aggregator's 订单导出 as kameng's README defines the accepted format: UTF-8 CSV (with a BOM,
        as Excel-friendly exports have), 状态 0/1/2, 退款金额 for a refunded order; `overrides` changes
        an order's cells (by out_trade_no), `extra_rows` adds rows the aggregator has and we may not."""
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["订单号", "商户订单号", "商品名称", "金额", "退款金额", "支付方式", "状态", "时间"])
        for out_trade_no, order in self.orders.items():
            row = {
                "订单号": order["trade_no"],
                "商户订单号": out_trade_no,
                "商品名称": order["name"],
                "金额": order["money"],
                "退款金额": order.get("refunded", ""),
                "支付方式": "alipay",
                "状态": str(order["status"]),
                "时间": f"{day} 16:00:00",
            }
            row.update((overrides or {}).get(out_trade_no, {}))
            writer.writerow(list(row.values()))
        for row in extra_rows:
            writer.writerow(row)
        return ("\ufeff" if bom else "").encode() + out.getvalue().encode()

    def pay(self, pay_url: str, *, money: str | None = None, pid: str | None = None, key: str | None = None) -> dict:
        """The buyer pays at the cashier that `pay_url` opened; returns the notification the aggregator sends."""
        submit = urlsplit(pay_url)
        assert submit.netloc == urlsplit(self.url).netloc, pay_url
        fields = dict(parse_qsl(submit.query))
        status, _, page = self._submit(fields)
        assert page == "收银台".encode(), page.decode()
        order = self.orders[fields["out_trade_no"]]
        order["status"] = 1
        notification = {
            "pid": pid or self.pid,
            "trade_no": order["trade_no"],
            "out_trade_no": fields["out_trade_no"],
            "type": "alipay",
            "name": order["name"],
            "money": money or order["money"],
            "trade_status": "TRADE_SUCCESS",
        }
        notification["sign"] = epay_sign(notification, key or self.key)
        notification["sign_type"] = "MD5"
        return notification


# ---- keys --------------------------------------------------------------------------------------


def rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key, pkcs8: bool = False) -> bytes:
    from cryptography.hazmat.primitives import serialization

    fmt = serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def public_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def rsa_sha256_sign(key, message: bytes) -> str:
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_sha256_verify(public_key, message: bytes, signature: str) -> bool:
    import base64

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        public_key.verify(base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


# ---- 支付宝 ------------------------------------------------------------------------------------


def alipay_sign_content(params: dict, *, drop=("sign",)) -> bytes:
    """Alipay's string to sign: the other parameters sorted by name as k=v joined with & (raw values)."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in drop and params[k] != "").encode()


class AlipaySimulator(Simulator):
    """支付宝开放平台 gateway.do: page/wap pay, trade.query, trade.refund, fastpay.refund.query,
    fund.trans.uni.transfer and fund.trans.common.query; RSA2 both ways."""

    def __init__(self, keys, app_id="2021000000000001"):
        self.app_key, self.alipay_key = keys  # the merchant app's key pair, and Alipay's own
        self.app_id = app_id
        self.trades: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.transfers: dict[str, dict] = {}
        self.payees = {"shop-owner@example.com": "王小明"}
        self._n = 0
        super().__init__()

    def write_keys(self, directory, *, pkcs8: bool = False) -> dict:
        """The operator's files: our app's private key and Alipay's public key (as KAMENG_ALIPAY_* point to)."""
        private, public = directory / "alipay_app_private.pem", directory / "alipay_public.pem"
        private.write_bytes(private_pem(self.app_key, pkcs8=pkcs8))
        public.write_bytes(public_pem(self.alipay_key))
        return {
            "app_id": self.app_id,
            "private_key_file": str(private),
            "public_key_file": str(public),
            "gateway": f"{self.url}/gateway.do",
        }

    def _signed_answer(self, method: str, answer: dict) -> tuple[int, dict, bytes]:
        inner = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        signature = rsa_sha256_sign(self.alipay_key, inner.encode())
        key = method.replace(".", "_") + "_response"
        body = f'{{"{key}":{inner},"sign":"{signature}"}}'
        return 200, {"Content-Type": "application/json;charset=utf-8"}, body.encode()

    def route(self, method, path, query, form, headers, body):
        self.calls.append((method, path))
        params = {**query, **form}
        if path != "/gateway.do":
            return 404, {}, b""
        if params.get("app_id") != self.app_id or params.get("sign_type") != "RSA2":
            return self._signed_answer(params.get("method", "error"), {"code": "40002", "msg": "Invalid Arguments"})
        if not rsa_sha256_verify(self.app_key.public_key(), alipay_sign_content(params), params.get("sign", "")):
            return self._signed_answer(
                params["method"], {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"}
            )
        name = params["method"]
        biz = json.loads(params.get("biz_content") or "{}")
        if name in ("alipay.trade.page.pay", "alipay.trade.wap.pay"):
            self.trades.setdefault(
                biz["out_trade_no"],
                {
                    "total_amount": biz["total_amount"],
                    "subject": biz.get("subject", ""),
                    "status": "WAIT_BUYER_PAY",
                    "notify_url": params.get("notify_url", ""),
                    "product_code": biz.get("product_code"),
                },
            )
            return 200, {"Content-Type": "text/html;charset=utf-8"}, "支付宝收银台".encode()
        if self.failing(name):
            return self._signed_answer(
                name, {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error"}
            )
        handler = {
            "alipay.trade.query": self._query,
            "alipay.trade.refund": self._refund,
            "alipay.trade.fastpay.refund.query": self._refund_query,
            "alipay.fund.trans.uni.transfer": self._transfer,
            "alipay.fund.trans.common.query": self._transfer_query,
        }.get(name)
        if handler is None:
            return self._signed_answer(
                name, {"code": "40004", "msg": "Business Failed", "sub_code": "isv.unknown-method"}
            )
        return self._signed_answer(name, handler(biz))

    def _query(self, biz):
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None or "trade_no" not in trade:
            return {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ACQ.TRADE_NOT_EXIST",
                "sub_msg": "交易不存在",
            }
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade["trade_no"],
            "out_trade_no": biz["out_trade_no"],
            "trade_status": trade["status"],
            "total_amount": trade["total_amount"],
        }

    def _refund(self, biz):
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None or trade["status"] != "TRADE_SUCCESS":
            return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_STATUS_ERROR"}
        if biz["out_request_no"] in self.refunds:  # the same request again: nothing moves twice
            return {
                "code": "10000",
                "msg": "Success",
                "trade_no": trade["trade_no"],
                "fund_change": "N",
                "refund_fee": self.refunds[biz["out_request_no"]]["refund_amount"],
            }
        self.refunds[biz["out_request_no"]] = {
            "refund_amount": biz["refund_amount"],
            "out_trade_no": biz["out_trade_no"],
        }
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade["trade_no"],
            "fund_change": "Y",
            "refund_fee": biz["refund_amount"],
        }

    def _refund_query(self, biz):
        refund = self.refunds.get(biz.get("out_request_no", ""))
        if refund is None:
            return {"code": "10000", "msg": "Success"}
        return {
            "code": "10000",
            "msg": "Success",
            "refund_status": "REFUND_SUCCESS",
            "refund_amount": refund["refund_amount"],
            "trade_no": self.trades[refund["out_trade_no"]]["trade_no"],
        }

    def _transfer(self, biz):
        payee = biz.get("payee_info") or {}
        if self.payees.get(payee.get("identity")) is None:
            return {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "PAYEE_NOT_EXIST",
                "sub_msg": "收款账号不存在",
            }
        if payee.get("name") and payee["name"] != self.payees[payee["identity"]]:
            return {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "PAYEE_USER_INFO_ERROR",
                "sub_msg": "收款人姓名不符",
            }
        transfer = self.transfers.setdefault(
            biz["out_biz_no"], {"amount": biz["trans_amount"], "order_id": f"20261201{len(self.transfers):010d}"}
        )
        return {
            "code": "10000",
            "msg": "Success",
            "out_biz_no": biz["out_biz_no"],
            "order_id": transfer["order_id"],
            "status": "SUCCESS",
        }

    def _transfer_query(self, biz):
        transfer = self.transfers.get(biz.get("out_biz_no", ""))
        if transfer is None:
            return {"code": "40004", "msg": "Business Failed", "sub_code": "ORDER_NOT_EXIST"}
        return {"code": "10000", "msg": "Success", "order_id": transfer["order_id"], "status": "SUCCESS"}

    def pay(self, pay_url: str, *, total_amount=None, app_id=None, status="TRADE_SUCCESS", sign_with=None) -> dict:
        """The buyer pays at the cashier `pay_url` opened; returns Alipay's 异步通知 (form fields), RSA2-signed."""
        url = urlsplit(pay_url)
        params = dict(parse_qsl(url.query))
        code, _, page = self.route("GET", url.path, params, {}, {}, b"")
        assert page == "支付宝收银台".encode(), page.decode()
        biz = json.loads(params["biz_content"])
        trade = self.trades[biz["out_trade_no"]]
        self._n += 1
        trade.setdefault("trade_no", f"2026120122001{self._n:012d}")
        trade["status"] = status
        notification = {
            "notify_time": "2026-12-01 16:00:00",
            "notify_type": "trade_status_sync",
            "notify_id": f"ac05099524730693a8b330c5ecf72da{self._n}",
            "charset": "utf-8",
            "version": "1.0",
            "app_id": app_id or self.app_id,
            "trade_no": trade["trade_no"],
            "out_trade_no": biz["out_trade_no"],
            "trade_status": status,
            "total_amount": total_amount or trade["total_amount"],
            "receipt_amount": trade["total_amount"],
            "subject": trade["subject"],
            "gmt_payment": "2026-12-01 15:59:58",
            "sign_type": "RSA2",
        }
        content = alipay_sign_content(notification, drop=("sign", "sign_type"))
        notification["sign"] = rsa_sha256_sign(sign_with or self.alipay_key, content)
        return notification


# ---- 微信支付 v3 -------------------------------------------------------------------------------


class WechatPaySimulator(Simulator):
    """WeChat Pay API v3: Native/H5 下单, order query, refunds, 商家转账; requests must carry the
    merchant's WECHATPAY2-SHA256-RSA2048 signature, answers and notifications are signed with the
    platform key, notification resources are AES-256-GCM encrypted with the APIv3 key."""

    PUBLIC_KEY_ID = "PUB_KEY_ID_0114232134912410000000000000"

    def __init__(self, keys, mchid="1900000109", appid="wx8888888888888888", apiv3_key="a" * 16 + "B" * 16):
        self.merchant_key, self.platform_key = keys
        self.mchid, self.appid, self.apiv3_key = mchid, appid, apiv3_key
        self.orders: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.transfers: dict[str, dict] = {}
        self.openids = {"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
        self._n = 0
        super().__init__()

    def write_keys(self, directory) -> dict:
        private, public = directory / "apiclient_key.pem", directory / "pub_key.pem"
        private.write_bytes(private_pem(self.merchant_key, pkcs8=True))
        public.write_bytes(public_pem(self.platform_key))
        return {
            "mchid": self.mchid,
            "private_key_file": str(private),
            "cert_serial_no": "444F4864EA9B34415E5A0B3D5E4A9D5C1A2B3C4D",
            "apiv3_key": self.apiv3_key,
            "appid": self.appid,
            "public_key_file": str(public),
            "public_key_id": self.PUBLIC_KEY_ID,
            "gateway": self.url,
        }

    def signed_headers(self, body: str, *, key=None, timestamp: int | None = None) -> dict:
        import secrets
        import time

        timestamp, nonce = str(int(time.time()) if timestamp is None else timestamp), secrets.token_hex(16)
        signature = rsa_sha256_sign(key or self.platform_key, f"{timestamp}\n{nonce}\n{body}\n".encode())
        return {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": signature,
            "Wechatpay-Serial": self.PUBLIC_KEY_ID,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }

    def _answer(self, status: int, data: dict | None):
        body = json.dumps(data, ensure_ascii=False) if data is not None else ""
        headers = {"Content-Type": "application/json; charset=utf-8", "Request-ID": "08F4C1A5-SIM"}
        headers.update(self.signed_headers(body))
        return status, headers, body.encode()

    def _authorized(self, method, path, query, headers, body: bytes) -> bool:
        import re

        auth = headers.get("Authorization") or ""
        if not auth.startswith("WECHATPAY2-SHA256-RSA2048 "):
            return False
        fields = dict(re.findall(r'(\w+)="([^"]*)"', auth))
        if fields.get("mchid") != self.mchid:
            return False
        target = path + (f"?{'&'.join(f'{k}={v}' for k, v in query.items())}" if query else "")
        message = f"{method}\n{target}\n{fields.get('timestamp')}\n{fields.get('nonce_str')}\n{body.decode()}\n"
        return rsa_sha256_verify(self.merchant_key.public_key(), message.encode(), fields.get("signature", ""))

    def route(self, method, path, query, form, headers, body):
        self.calls.append((method, path))
        if not self._authorized(method, path, query, headers, body):
            return self._answer(401, {"code": "SIGN_ERROR", "message": "签名错误"})
        data = json.loads(body or b"{}")
        if method == "POST" and path in ("/v3/pay/transactions/native", "/v3/pay/transactions/h5"):
            if data.get("mchid") != self.mchid or data.get("appid") != self.appid:
                return self._answer(400, {"code": "PARAM_ERROR", "message": "商户号与AppID不匹配"})
            order = self.orders.setdefault(data["out_trade_no"], {"amount": data["amount"]["total"], "state": "NOTPAY"})
            order["description"] = data["description"]
            order["notify_url"] = data.get("notify_url", "")
            prepay = f"wx{len(self.orders):030d}"
            if path.endswith("native"):
                return self._answer(200, {"code_url": f"weixin://wxpay/bizpayurl?pr={prepay[-8:]}"})
            return self._answer(
                200, {"h5_url": f"https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={prepay}"}
            )
        if method == "GET" and path.startswith("/v3/pay/transactions/out-trade-no/"):
            order = self.orders.get(path.rsplit("/", 1)[1])
            if order is None:
                return self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
            return self._answer(200, self._transaction(path.rsplit("/", 1)[1], order))
        if self.failing(path):
            return self._answer(500, {"code": "SYSTEM_ERROR", "message": "系统错误"})
        if method == "POST" and path == "/v3/refund/domestic/refunds":
            order = self.orders.get(data.get("out_trade_no", ""))
            if order is None or order["state"] != "SUCCESS":
                return self._answer(400, {"code": "INVALID_REQUEST", "message": "订单状态不正确"})
            refund = self.refunds.setdefault(
                data["out_refund_no"], {"refund_id": f"50000000{len(self.refunds) + 1:020d}", "amount": data["amount"]}
            )
            return self._answer(
                200, {"refund_id": refund["refund_id"], "out_refund_no": data["out_refund_no"], "status": "SUCCESS"}
            )
        if method == "POST" and path == "/v3/fund-app/mch-transfer/transfer-bills":
            if data.get("openid") not in self.openids:
                return self._answer(400, {"code": "INVALID_REQUEST", "message": "openid与appid不匹配"})
            bill = self.transfers.setdefault(
                data["out_bill_no"],
                {
                    "transfer_bill_no": f"1330000{len(self.transfers) + 1:020d}",
                    "amount": data["transfer_amount"],
                    "state": "WAIT_USER_CONFIRM",
                },
            )
            return self._answer(
                200,
                {
                    "out_bill_no": data["out_bill_no"],
                    "transfer_bill_no": bill["transfer_bill_no"],
                    "state": bill["state"],
                    "package_info": "affffddafdfafddffda==",
                },
            )
        if method == "GET" and path.startswith("/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/"):
            bill = self.transfers.get(path.rsplit("/", 1)[1])
            if bill is None:
                return self._answer(404, {"code": "NOT_FOUND", "message": "记录不存在"})
            return self._answer(
                200,
                {
                    "out_bill_no": path.rsplit("/", 1)[1],
                    "transfer_bill_no": bill["transfer_bill_no"],
                    "state": bill["state"],
                },
            )
        return self._answer(404, {"code": "NOT_FOUND", "message": "no such API"})

    def _transaction(self, out_trade_no, order, **overrides) -> dict:
        transaction = {
            "mchid": self.mchid,
            "appid": self.appid,
            "out_trade_no": out_trade_no,
            "transaction_id": order.get("transaction_id", ""),
            "trade_type": "NATIVE",
            "trade_state": order["state"],
            "trade_state_desc": "支付成功" if order["state"] == "SUCCESS" else "未支付",
            "bank_type": "OTHERS",
            "success_time": "2026-12-01T16:00:00+08:00",
            "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            "amount": {
                "total": order["amount"],
                "payer_total": order["amount"],
                "currency": "CNY",
                "payer_currency": "CNY",
            },
        }
        transaction.update(overrides)
        return transaction

    def pay(
        self, out_trade_no, *, sign_with=None, apiv3_key=None, signed_at: int | None = None, **overrides
    ) -> tuple[dict, bytes]:
        """The buyer scans and pays; returns the notification WeChat Pay POSTs: (headers, body).

        Its Wechatpay-Timestamp is the time of the test's world, kameng's (test) clock, unless
        `signed_at` (Unix seconds) says otherwise, e.g. to replay an old notification."""
        import base64
        import os

        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        from kameng.clock.services import now as clock_now

        if signed_at is None:
            signed_at = int(clock_now().timestamp())

        order = self.orders[out_trade_no]
        self._n += 1
        order["state"] = "SUCCESS"
        order.setdefault("transaction_id", f"42000000{self._n:020d}")
        plaintext = json.dumps(self._transaction(out_trade_no, order, **overrides), ensure_ascii=False).encode()
        nonce = base64.b32encode(os.urandom(10)).decode()[:12]
        ciphertext = AESGCM((apiv3_key or self.apiv3_key).encode()).encrypt(nonce.encode(), plaintext, b"transaction")
        body = json.dumps(
            {
                "id": f"EV-2026120116000{self._n:04d}",
                "create_time": "2026-12-01T16:00:01+08:00",
                "resource_type": "encrypt-resource",
                "event_type": "TRANSACTION.SUCCESS",
                "summary": "支付成功",
                "resource": {
                    "original_type": "transaction",
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(ciphertext).decode(),
                    "associated_data": "transaction",
                    "nonce": nonce,
                },
            },
            ensure_ascii=False,
        )
        return self.signed_headers(body, key=sign_with, timestamp=signed_at), body.encode()
