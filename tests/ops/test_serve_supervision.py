"""A real `kameng serve` (issue 15.1): it restarts its timer worker when the worker dies, /healthz
fails while no sweeper runs, and with the sweeper stopped a late action still meets its deadline —
the timeout's outcome first, then 409 deadline_passed."""

import json
import os
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _timer_worker(serve_pid: int) -> int | None:
    return next((p for p in _children(serve_pid) if " worker " in f"{_cmdline(p)} "), None)


class Http:
    def __init__(self, base: str):
        self.base = base

    def call(self, method: str, path: str, body=None, token: str | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else (b"{}" if method == "POST" else None)
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def token(self, username: str) -> str:
        status, body = self.call("POST", "/api/v1/auth/token", {"username": username, "password": "demo-pass-123"})
        assert status == 200, body
        return body["token"]

    def case(self, token: str, status: str) -> dict:
        code, page = self.call("GET", f"/api/v1/refunds?status={status}", token=token)
        assert code == 200, page
        assert len(page["data"]) == 1, page
        return page["data"][0]


def test_serve_restarts_its_timer_worker_and_deadlines_hold_while_it_is_stopped(
    isolated_db, processes, wait_for, free_port
):
    isolated_db.env["KAMENG_TEST_CLOCK"] = "1"  # the clock moves through the database's offset row
    isolated_db.kameng("demo")
    port = free_port()
    serve = processes.start(
        [sys.executable, "-m", "kameng.cli", "serve", "--port", str(port), "--workers", "1", "--timer-interval", "5"],
        isolated_db.env,
        "serve",
    )
    http = Http(f"http://127.0.0.1:{port}")

    def health() -> tuple[int, dict] | None:
        try:
            return http.call("GET", "/healthz")
        except OSError:
            return None

    wait_for(lambda: (h := health()) and h[0] == 200, 60, interval=0.25, what="/healthz 200")
    first = wait_for(lambda: _timer_worker(serve.pid), 30, what="the timer worker")

    # The worker dies: serve logs it and starts another after the back-off.
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: processes.says(serve, f"timer worker (pid {first}) exited with code -9"), 30, what="exit logged")
    second = wait_for(lambda: (w := _timer_worker(serve.pid)) and w != first and w, 30, what="a new timer worker")
    wait_for(lambda: processes.says(serve, f"timer worker restarted (pid {second}, restart 1)"), 30, what="restart")

    # Now it hangs (stopped, not dead: serve cannot see it) and nine days pass.
    wait_for(lambda: Path(f"/proc/{second}/status").read_text().count("State:\tS") == 1, 30, what="worker idle")
    os.kill(second, signal.SIGSTOP)
    try:
        isolated_db.django("from kameng.clock.services import advance\nadvance(9 * 86400)")
        code, body = health()
        assert code == 503 and body["status"] == "fail", body
        timers = body["checks"]["timers"]
        assert timers["ok"] is False and timers["lag_seconds"] > 120 and timers["limit_seconds"] == 120

        merchant, buyer3 = http.token("merchant1"), http.token("buyer3")
        waiting = http.case(merchant, "awaiting_merchant")  # ¥49 activation key: fast track
        code, body = http.call("POST", f"/api/v1/refunds/{waiting['id']}/offer", {"amount": 100}, merchant)
        assert code == 409 and body["error"]["code"] == "deadline_passed", body
        code, case = http.call("GET", f"/api/v1/refunds/{waiting['id']}", token=merchant)
        assert case["status"] == "closed" and case["resolution"] == "refund_full" and case["merchant_timed_out"]
        assert case["offer"] is None

        offered = http.case(buyer3, "awaiting_buyer")  # the 原神 top-up's partial offer, 9 days unanswered
        code, body = http.call("POST", f"/api/v1/refunds/{offered['id']}/accept_offer", token=buyer3)
        assert code == 409 and body["error"]["code"] == "deadline_passed", body
        code, case = http.call("GET", f"/api/v1/refunds/{offered['id']}", token=buyer3)
        assert case["status"] == "closed" and case["resolution"] == "withdrawn" and case["refunded_amount"] == 0
    finally:
        os.kill(second, signal.SIGCONT)

    # Running again, the worker catches up on what it missed and /healthz recovers.
    wait_for(lambda: (h := health()) and h[0] == 200, 60, interval=0.5, what="/healthz 200 again")
    processes.stop(serve)
    assert serve.returncode == 0, processes.output(serve)[-3000:]
    assert _cmdline(second) == "" or "worker" not in _cmdline(second)  # serve took its worker down with it
    assert "Traceback" not in processes.output(serve)
