"""Staff can finish the story (issue 15.9): admins add, disable and enable arbitrator accounts on a
staff page, each change audited; the demo ships two arbitrators so an appeal can be decided."""

import pytest
from django.test import Client

from kameng.accounts.models import User
from kameng.aftersales.models import RefundCase
from kameng.security.models import AuditRecord


@pytest.fixture
def login_as(db):
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


def field_error(response, name: str) -> bool:
    return f'id="id_{name}_error"' in response.content.decode()


def test_an_admin_adds_an_arbitrator_who_can_then_sign_in(login_as, admin, api):
    client = login_as(admin)
    assert "新增仲裁员" in client.get("/staff/arbitrators/").content.decode()
    weak = client.post("/staff/arbitrators/", {"form": "create", "username": "arb-new", "password": "123"})
    assert field_error(weak, "password") and not User.objects.filter(username="arb-new").exists()
    done = client.post("/staff/arbitrators/", {"form": "create", "username": "arb-new", "password": "Strong-pass-2031"})
    assert done.status_code == 302
    user = User.objects.get(username="arb-new")
    assert user.role == "arbitrator" and user.is_active
    token = api.post("/auth/token", {"username": "arb-new", "password": "Strong-pass-2031"})
    assert token.status_code == 200
    record = AuditRecord.objects.get(type="user.create", target=f"user:{user.pk}")
    assert record.actor_id == admin.pk and record.data == {"role": "arbitrator"}
    taken = client.post(
        "/staff/arbitrators/", {"form": "create", "username": "arb-new", "password": "Strong-pass-2031"}
    )
    assert field_error(taken, "username")


def test_disabling_an_arbitrator_signs_them_out_and_returns_their_cases(login_as, admin, arbitrator, api, case_in, act):
    case = act(case_in("in_arbitration"), "claim", arbitrator)
    assert case["claimed_by"] == str(arbitrator.pk)
    client = login_as(admin)
    res = client.post("/staff/arbitrators/", {"user": arbitrator.pk, "active": "0"})
    assert res.status_code == 302
    arbitrator.refresh_from_db()
    assert not arbitrator.is_active
    assert RefundCase.objects.get(pk=case["id"]).claimed_by_id is None
    assert api.get("/arbitration/queue", token=arbitrator.token).status_code == 401
    record = AuditRecord.objects.get(type="user.disable", target=f"user:{arbitrator.pk}")
    assert record.data == {"released_cases": 1}
    client.post("/staff/arbitrators/", {"user": arbitrator.pk, "active": "1"})
    arbitrator.refresh_from_db()
    assert arbitrator.is_active and AuditRecord.objects.filter(type="user.enable").count() == 1


def test_only_admins_manage_arbitrators_and_only_arbitrators(login_as, admin, arbitrator, buyer):
    assert login_as(arbitrator).post("/staff/arbitrators/", {"user": arbitrator.pk, "active": "0"}).status_code == 403
    assert login_as(buyer).get("/staff/arbitrators/").status_code == 403
    assert Client().get("/staff/arbitrators/").status_code == 302
    login_as(admin).post("/staff/arbitrators/", {"user": buyer.pk, "active": "0"})
    buyer.refresh_from_db()
    assert buyer.is_active  # not an arbitrator: nothing changes


def test_the_page_speaks_english(login_as, admin, arbitrator):
    client = login_as(admin)
    client.cookies["django_language"] = "en"
    page = client.get("/staff/arbitrators/", headers={"Accept-Language": "en"}).content.decode()
    assert "Add an arbitrator" in page and "Disable" in page and "仲裁员管理" not in page


def test_the_demo_ships_two_arbitrators(db, api):
    from kameng.demo import DEMO_PASSWORD, load_demo

    summary = load_demo()
    assert "arbitrator, arbitrator2" in summary
    for name in ("arbitrator", "arbitrator2"):
        res = api.post("/auth/token", {"username": name, "password": DEMO_PASSWORD})
        assert res.status_code == 200 and res.data["user"]["role"] == "arbitrator", res.data
