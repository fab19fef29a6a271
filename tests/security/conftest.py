"""Fixtures for the security suite: a small marketplace with one of everything and a secret in
each private place (the `world`), racing helpers, and real kameng processes for crash tests."""

import copy
import io
import json
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

import builders

PASSWORD = "s3cret-pass-123"  # tests/conftest.py make_user's password
ROLES = ("anon", "buyer", "buyer2", "merchant", "merchant2", "arbitrator", "admin")

# Secrets planted in the world, and who may ever see each one in an answer.
SOLD_KEY = "SOLD-KEY-7Q2W9E"
UNSOLD_KEYS = ["UNSOLD-KEY-4R5T6Y", "UNSOLD-KEY-8U9I0O"]
DELIVERY_SECRET = "DELIVERED-SECRET-Z1X2C3"
CHAT_SECRET = "CHAT-SECRET-V4B5N6"
EVIDENCE_SECRET = "EVIDENCE-SECRET-M7K8J9"
PHONE = "13912345678"
PARTIES_AND_STAFF = {"buyer", "merchant", "arbitrator", "admin"}


def tiny_png(seed: int = 0) -> bytes:
    """A small PNG with some structure (so the evidence checks and previews accept it)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (96, 64), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle([8 + seed % 20, 8, 60, 40], fill=(30, 90, 200))
    draw.line([0, 63, 95, 0], fill=(200, 30, 30), width=3)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def upload(api, case_id, user, content: bytes, filename: str, category: str = "problem"):
    res = api.client.post(
        f"/api/v1/refunds/{case_id}/evidence",
        {"file": SimpleUploadedFile(filename, content), "category": category, "note": "证据"},
        headers={"Authorization": f"Bearer {user.token}"},
    )
    res.data = res.json() if res.get("Content-Type", "").startswith("application/json") else None
    return res


def build_world(api, make_user, make_listing, fund, buy) -> dict:
    """Seven callers and the objects they do or do not own.

    buyer owns order O1 (a card key, SOLD_KEY) with a chat message, a refund case with evidence
    (a text file holding EVIDENCE_SECRET and a PNG), O2 (completed and reviewed) and O3 (a service
    delivered with DELIVERY_SECRET); merchant owns the shop, listings and unsold stock. buyer2 and
    merchant2 are outsiders with their own shop; the arbitrator and the admin are staff.
    """
    from kameng.accounts.services import update_profile

    w = {role: make_user(role.rstrip("2")) for role in ROLES if role != "anon"}
    w["anon"] = None
    for role in ("merchant", "merchant2"):
        res = api.post("/shops", {"name": f"{role} 的店", "description": "诚信经营"}, token=w[role].token)
        assert res.status_code == 201, res.data
        w[role].shop_id = res.data["id"]
    update_profile(w["buyer"], "张三", PHONE, "北京市朝阳区某路1号")
    listing = make_listing(w["merchant"], price=9900, stock=[SOLD_KEY] + [f"PLAIN-KEY-{i}" for i in range(8)])
    make_listing(w["merchant"], title="Office 2021 激活码", price=8800, stock=UNSOLD_KEYS)  # nobody buys these
    service = make_listing(
        w["merchant"], title="Logo 设计", category="custom_design", kind="service", price=20000, promises=["三稿内满意"]
    )
    # merchant's integrations (issue 17): a channel and a webhook that hear of O1's purchase
    w["channel_url"] = "jsons://1.1.1.1/matrix-channel-secret-path"
    channel = api.call("put", "/notifications/channels/json", {"url": w["channel_url"]}, token=w["merchant"].token)
    assert channel.status_code == 200, channel.data
    hooks = [
        api.post("/webhooks", {"url": "https://1.1.1.1/hook", "events": ["order.paid"]}, token=w["merchant"].token)
        for _ in range(2)
    ]
    assert all(h.status_code == 201 for h in hooks), hooks[0].data
    w["webhook"], w["spare_webhook"] = hooks[0].data, hooks[1].data
    fund(w["buyer"], 100_000)
    topup = api.post("/wallet/topups", {"amount": 500}, token=w["buyer"].token).data  # left pending
    o1 = buy(w["buyer"], listing)
    assert o1["delivery"]["items"] == [SOLD_KEY]
    assert (
        api.post(
            f"/orders/{o1['id']}/messages", {"body": f"卡密无法激活 {CHAT_SECRET}"}, token=w["buyer"].token
        ).status_code
        == 201
    )
    case = api.post(
        "/refunds",
        {"order": o1["id"], "reason": "defective", "description": "激活失败，错误代码 0xC004C003", "amount": 9900},
        token=w["buyer"].token,
    )
    assert case.status_code == 201, case.data
    text = upload(api, case.data["id"], w["buyer"], f"客服回复记录 {EVIDENCE_SECRET}".encode(), "reply.txt")
    assert text.status_code == 201, text.content
    png = upload(api, case.data["id"], w["buyer"], tiny_png(), "screen.png")
    assert png.status_code == 201, png.content
    o2 = buy(w["buyer"], listing)
    assert api.post(f"/orders/{o2['id']}/confirm", token=w["buyer"].token).status_code == 200
    assert (
        api.post(f"/orders/{o2['id']}/review", {"stars": 5, "text": "很好"}, token=w["buyer"].token).status_code == 201
    )
    withdrawal = api.post("/wallet/withdrawals", {"amount": 100}, token=w["merchant"].token).data
    o3 = buy(w["buyer"], service, accept_special_terms=True)
    assert (
        api.post(
            f"/orders/{o3['id']}/deliver", {"content": f"设计稿链接 {DELIVERY_SECRET}"}, token=w["merchant"].token
        ).status_code
        == 200
    )
    from kameng.notify.models import Dispatch, WebhookDelivery

    w["delivery_id"] = str(WebhookDelivery.objects.filter(endpoint_id=w["webhook"]["id"]).first().pk)
    w["dispatch_id"] = str(Dispatch.objects.filter(user=w["merchant"]).first().pk)
    w.update(
        listing=listing,
        service=service,
        topup=topup,
        withdrawal=withdrawal,
        o1=o1,
        o2=o2,
        o3=o3,
        case=case.data,
        text_evidence=text.data,
        png_evidence=png.data,
    )
    return w


@pytest.fixture(scope="module")
def _world_built(django_db_setup, django_db_blocker):
    """The world, built once for the tests of a module that ask for it (tests/conftest.py starts
    them after the module's other tests), in a transaction rolled back when they are done. Each
    test's own transaction (pytest-django's `db`) is a savepoint inside it, rolled back after the
    test, so every test sees the world exactly as built, whatever the one before it changed; and
    each gets its own copy of the Python objects (`world`). Built as the function-scoped fixture
    built it: the funding admin first (admin1), then the world's seven callers."""
    from django.db import transaction
    from django.test import Client

    with django_db_blocker.unblock(), transaction.atomic():
        api = builders.Api(Client())
        make_user = builders.user_maker()
        funder_admin = make_user("admin")  # what `fund` asked for (tests/conftest.py: fund(api, admin))
        w = build_world(api, make_user, builders.listing_maker(api), builders.funder(api), builders.purchaser(api))
        yield {"world": w, "admin": funder_admin, "users_made": make_user.counter["n"]}
        transaction.set_rollback(True)


@pytest.fixture
def world(_world_built, db):
    return copy.deepcopy(_world_built["world"])


# A test with the world gets the world's funding admin as `admin` (as when the world was built in the
# test), and users it makes itself are numbered on after the world's.
@pytest.fixture
def make_user(request, db):
    made = request.getfixturevalue("_world_built")["users_made"] if "_world_built" in request.fixturenames else 0
    return builders.user_maker(made)


@pytest.fixture
def admin(request, make_user):
    if "_world_built" in request.fixturenames:
        return copy.deepcopy(request.getfixturevalue("_world_built")["admin"])
    return make_user("admin")


# ---- racing (the callables run by the shared `race` fixture of tests/conftest.py) ------------


def http_post(path, token=None, body=None, headers=None, raw: bytes | None = None):
    """A callable POSTing on its own client (and so its own connection once in a thread)."""

    def call():
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        res = Client(raise_request_exception=False).post(
            f"/api/v1{path}",
            data=raw if raw is not None else json.dumps(body or {}),
            content_type="application/json",
            headers=hdrs,
        )
        try:
            return res.status_code, res.json()
        except ValueError:
            return res.status_code, None

    return call


# ---- real processes (kameng serve, kameng worker) --------------------------------------------


# IsolatedDatabase and Processes from tests/ops/conftest.py (fresh databases and process clean-up),
# loaded by tests/conftest.py (ops_helpers), which pytest imports before this file.
OPS = sys.modules["kameng_tests_ops_helpers"]


@pytest.fixture
def fresh_db(tmp_path, db, _isolated_template):
    """A migrated kameng database of its own (SQLite file or PostgreSQL database) for child processes."""
    made = []

    def make(name: str = "db"):
        database = OPS.IsolatedDatabase(tmp_path / name, _isolated_template)
        made.append(database)
        return database

    yield make
    for database in made:
        database.drop()


@pytest.fixture
def processes(tmp_path):
    procs = OPS.Processes(tmp_path)
    yield procs
    procs.stop_all()


@pytest.fixture
def free_port():
    return OPS._free_port


@pytest.fixture
def wait_for():
    return OPS._wait_for
