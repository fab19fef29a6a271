"""Crash safety: the real server (`kameng serve`, gunicorn) and a timer worker on PostgreSQL,
killed with SIGKILL (the whole process group) in the middle of concurrent purchases, refund
actions and evidence uploads, several times, and restarted.

Every purchase carries an Idempotency-Key. After the kills every key is retried: none answers
409 idempotency_in_progress (the stored answer commits with the action, so no key is stuck), and
every purchase the client was told about replays as that same order (nothing acknowledged lost).

Afterwards: `kameng ledger check` and `kameng evidence verify` pass; no case has more than one
refund entry and each case's refunded amount is exactly that entry; every answer the clients
got (201 order, 200 accept) is durable; and every timer ran exactly once: the probe timers
(each run leaves one row, written in the sweeper's transaction) and the real ones (escrow
release, merchant deadlines) once all are made due.
"""

import contextlib
import os
import random
import signal
import sys
import threading
import time
from collections import Counter

import pytest
import requests

from .conftest import OPS

pytestmark = pytest.mark.postgres

BUYERS = 6
KILLS = 3
LOAD_SECONDS = 2.5
PROBES = 150
DUE = "SELECT 1 FROM timers_timer WHERE status = 'pending' AND due_at <= ? LIMIT 1"

SEED = r"""
from django.conf import settings
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
from django.db import transaction
from kameng.accounts.services import create_user, issue_token
from kameng.catalog import services as catalog
from kameng.wallet import services as wallet
from kameng.wallet.payments import pay_in_sandbox

def user(name, role):
    u = create_user(name, "crash-pass-123", role, validate=False)
    return u, issue_token(u)

merchants, listings = [], []
for i in range(2):
    m, token = user(f"crash-m{i}", "merchant")
    shop = catalog.create_shop(acting_user=m, name=f"崩溃测试店{i}", description="")
    listing = catalog.create_listing(
        acting_user=m, title=f"测试点卡 {i}", category="gift_card", kind="card_key", price=9900,
        description="自动发卡", promises=[], after_sale_days=7, verification_minutes=1, no_reason_refund=False)
    catalog.add_stock(listing, acting_user=m, items=[f"CRASH-{i}-{n:05d}" for n in range(400)])
    merchants.append(token)
    listings.append(str(listing.pk))
buyers = []
for i in range(__BUYERS__):
    b, token = user(f"crash-b{i}", "buyer")
    topup = wallet.create_topup(acting_user=b, amount=9900 * 150)
    pay_in_sandbox(topup)
    buyers.append(token)
admin, admin_token = user("crash-admin", "admin")
result = {"merchants": merchants, "listings": listings, "buyers": buyers, "admin": admin_token}
""".replace("__BUYERS__", str(BUYERS))


class Load:
    """Buyer threads: buy, open a case, and settle it one of several ways; tolerant of a dead server
    (a purchase that got no answer is sent again with the same Idempotency-Key until one comes)."""

    def __init__(self, base: str, world: dict):
        self.base, self.world = base, world
        self.stop = threading.Event()
        self.acked_orders: set[str] = set()
        self.acked_accepts: set[str] = set()
        self.acked_uploads: set[str] = set()
        self.purchases: dict[str, tuple[str, dict, str | None]] = {}  # key → (token, body, order id acked)
        self.answers = Counter()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(BUYERS)]

    def post(self, path, token, body=None, files=None, key=None):
        headers = {"Authorization": f"Bearer {token}"} | ({"Idempotency-Key": key} if key else {})
        try:
            kwargs = {"files": files, "data": {"category": "problem"}} if files else {"json": body or {}}
            response = requests.post(f"{self.base}/api/v1{path}", headers=headers, timeout=10, **kwargs)
        except requests.RequestException:
            self.answers["connection_error"] += 1
            return None, None
        self.answers[response.status_code] += 1
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None

    def run(self, i):
        rnd = random.Random(i)
        buyer = self.world["buyers"][i]
        seller = i % 2
        merchant, listing = self.world["merchants"][seller], self.world["listings"][seller]
        n, pending = 0, None  # pending: a key that met a dead server, sent again as a client would
        while not self.stop.is_set():
            if pending is None:
                n += 1
                pending = f"buy-{i}-{n}"
            key, body = pending, {"listing": listing}
            self.purchases[key] = (buyer, body, None)
            status, order = self.post("/orders", buyer, body, key=key)
            if status is not None:
                pending = None  # answered: the next purchase has a key of its own
            if status != 201:
                time.sleep(0.2)
                continue
            self.purchases[key] = (buyer, body, order["id"])
            self.acked_orders.add(order["id"])
            choice = rnd.randrange(5)
            if choice == 0:
                self.post(f"/orders/{order['id']}/confirm", buyer)
                continue
            status, case = self.post(
                "/refunds",
                buyer,
                {"order": order["id"], "reason": "defective", "description": "卡密无效", "amount": 9900},
            )
            if status != 201:
                continue
            if choice == 1:
                if self.post(f"/refunds/{case['id']}/accept", merchant)[0] == 200:
                    self.acked_accepts.add(case["id"])
            elif choice == 2:
                self.post(f"/refunds/{case['id']}/withdraw", buyer)
            elif choice == 3:
                if self.post(f"/refunds/{case['id']}/offer", merchant, {"amount": 5000})[0] == 200:
                    self.post(f"/refunds/{case['id']}/accept_offer", buyer)
            else:  # evidence, then leave the case to the merchant deadline
                status, item = self.post(
                    f"/refunds/{case['id']}/evidence",
                    buyer,
                    files={"file": ("log.txt", f"激活失败日志 {order['id']}".encode())},
                )
                if status == 201:
                    self.acked_uploads.add(item["id"])


def _start(processes, db, port, n):
    env = {**db.env, "KAMENG_TEST_CLOCK": "1"}
    serve = processes.start(
        [
            sys.executable,
            "-m",
            "kameng.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--threads",
            "4",
            "--no-timers",
        ],
        env,
        f"serve{n}",
    )
    worker = processes.start(
        [sys.executable, OPS.PROBE_MAIN, "worker", "--interval", "0.2", "--quiet"], env, f"worker{n}"
    )
    return serve, worker


def _healthy(base):
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _kill(proc):
    """SIGKILL to the whole process group: kameng serve, the gunicorn master and its workers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _retry_every_key(load: Load) -> None:
    """Each purchase key once more, with its body: a final answer for every key (a replay, or the
    purchase acting now because the kill took it before it committed), never "in progress"."""
    stuck, lost = [], []
    for key, (token, body, acked) in load.purchases.items():
        response = requests.post(
            f"{load.base}/api/v1/orders",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            timeout=30,
        )
        answer = response.json()
        if response.status_code == 409 and answer["error"]["code"] == "idempotency_in_progress":
            stuck.append(key)
        elif acked is not None and (response.status_code != 201 or answer.get("id") != acked):
            lost.append((key, acked, response.status_code, answer))
        elif acked is not None:
            assert response.headers.get("Idempotent-Replayed") == "true", key
    assert not stuck, f"{len(stuck)} of {len(load.purchases)} keys stuck in progress: {stuck[:5]}"
    assert not lost, f"acknowledged purchases not replayed: {lost[:3]}"


def test_sigkill_mid_load_loses_nothing_and_moves_money_once(fresh_db, processes, free_port, wait_for):
    started = time.monotonic()
    log = lambda what: print(f"[crash test +{time.monotonic() - started:5.1f}s] {what}", flush=True)  # noqa: E731
    db = fresh_db("crash")
    world = db.django(SEED, timeout=180)
    log("seeded")
    db.schedule_probes(PROBES, seconds_ago=-1)  # due over the next seconds, while the kills happen
    db.query("UPDATE timers_timer SET due_at = due_at + (random() * interval '14 seconds') WHERE kind = 'test.probe'")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    load = Load(base, world)

    serve, worker = _start(processes, db, port, 0)
    wait_for(lambda: _healthy(base), 90, interval=0.25, what="kameng serve")
    log("serving")
    for t in load.threads:
        t.start()
    for n in range(1, KILLS + 1):
        time.sleep(LOAD_SECONDS)
        _kill(serve)
        _kill(worker)
        time.sleep(0.3)
        serve, worker = _start(processes, db, port, n)
        wait_for(lambda: _healthy(base), 90, interval=0.25, what=f"kameng serve after kill {n}")
        log(f"serving again after kill {n}")
    time.sleep(LOAD_SECONDS)
    load.stop.set()
    for t in load.threads:
        t.join(30)
    assert load.answers["connection_error"] > 0, load.answers  # the kills really hit requests in flight
    assert load.answers[500] == 0, f"{load.answers}: see the serve*.log files"
    assert len(load.acked_orders) >= 20, load.answers
    _retry_every_key(load)
    log(f"{len(load.purchases)} idempotency keys retried: none stuck, every acknowledged order replayed")

    # Eight days pass (the test clock, shared through the database): every deadline falls due
    # (escrow releases, merchant silence on these fast-track cases) and the sweeps run them. A timer
    # whose sweep lost a lock race is retried a minute later (kameng time): move on until none is left.
    kameng_now = None
    for step in (8 * 86400, 3600, 3600, 3600):
        moved = requests.post(
            f"{base}/api/v1/test/clock/advance",
            json={"seconds": step},
            timeout=300,
            headers={"Authorization": f"Bearer {world['admin']}"},
        )
        assert moved.status_code == 200, moved.text
        kameng_now = moved.json()["now"]
        try:
            wait_for(lambda at=kameng_now: not db.query(DUE, (at,)), 60, interval=0.5, what="every due timer to run")
        except AssertionError:
            stuck = db.query(
                "SELECT kind, target, attempts, last_error FROM timers_timer "
                "WHERE status = 'pending' AND due_at <= ? LIMIT 5",
                (kameng_now,),
            )
            raise AssertionError(f"timers still pending: {stuck}\n{processes.output(worker)[-2000:]}") from None
        soon = db.query(
            "SELECT COUNT(*) FROM timers_timer WHERE status = 'pending' AND kind <> 'trust.refresh_credit' "
            "AND due_at <= ?::timestamptz + interval '1 hour'",
            (kameng_now,),
        )[0][0]
        if not soon:
            break
    retried = db.query("SELECT kind, attempts, last_error FROM timers_timer WHERE attempts > 0 LIMIT 10")
    log(f"timers retried after a failed attempt: {retried}")
    log("every due timer ran")
    processes.stop(serve)
    processes.stop(worker)

    assert db.kameng("ledger", "check").startswith("ledger OK")
    assert "evidence OK" in db.kameng("evidence", "verify")
    log(f"ledger and evidence checked; answers {dict(load.answers)}")

    twice = db.query(
        "SELECT case_id, COUNT(*) FROM ledger_journalentry WHERE kind = 'refund' GROUP BY case_id HAVING COUNT(*) > 1"
    )
    assert not twice, f"cases refunded twice: {twice}"
    mismatched = db.query(
        "SELECT c.id, c.refunded_amount, COALESCE(SUM(p.amount), 0) FROM aftersales_refundcase c "
        "LEFT JOIN ledger_journalentry e ON e.case_id = c.id AND e.kind = 'refund' "
        "LEFT JOIN ledger_posting p ON p.entry_id = e.id AND p.amount > 0 "
        "GROUP BY c.id, c.refunded_amount HAVING c.refunded_amount <> COALESCE(SUM(p.amount), 0)"
    )
    assert not mismatched, mismatched
    open_cases = db.query(
        "SELECT c.id, c.status, c.fast_track, c.merchant_respond_by, c.buyer_respond_by, "
        "c.decide_by, (SELECT string_agg(t.kind || ':' || t.status, ',') FROM timers_timer t "
        "WHERE t.target = 'case:' || c.id) FROM aftersales_refundcase c WHERE c.status <> 'closed'"
    )
    assert not open_cases, open_cases[:5]  # every case settled (merchant silence on fast track refunds in full)

    orders = {str(r[0]) for r in db.query("SELECT id FROM orders_order")}
    assert load.acked_orders <= orders, "an order the client was told about is gone"
    accepted = {str(i): (s, r) for i, s, r in db.query("SELECT id, status, resolution FROM aftersales_refundcase")}
    assert all(accepted[c] == ("closed", "refund_full") for c in load.acked_accepts)
    evidence = {str(r[0]) for r in db.query("SELECT id FROM evidence_evidence")}
    assert load.acked_uploads <= evidence

    runs = Counter(target for target, _pid in db.probe_runs())
    assert len(runs) == PROBES and set(runs.values()) == {1}, [t for t, n in runs.items() if n != 1]
    statuses = dict(db.query("SELECT status, COUNT(*) FROM timers_timer GROUP BY status"))
    assert "failed" not in statuses and not db.query(DUE, (kameng_now,)), statuses  # pending: recurring ones
    releases = db.query(
        "SELECT order_id, COUNT(*) FROM ledger_journalentry WHERE kind = 'release' "
        "GROUP BY order_id HAVING COUNT(*) > 1"
    )
    assert not releases
