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
        self.server.shutdown()
        self.server.server_close()

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
        return _json(200, {"code": 1, "msg": "退款成功"})

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
