"""A request reads the policy table once (kameng.policy.middleware); an edit inside it is seen at once."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kameng.policy.services import get_policy, read_once, set_policy

POLICY_READ = 'FROM "policy_policysetting"'


def _reads(queries) -> int:
    return sum(POLICY_READ in q["sql"] and "WHERE" not in q["sql"] for q in queries.captured_queries)


def test_inside_read_once_the_table_is_read_once_and_an_edit_is_seen(db, admin):
    with CaptureQueriesContext(connection) as queries, read_once():
        first = get_policy()
        assert get_policy() is first
        set_policy("commission_bp", {"software_license": 500}, acting_user=admin, now=timezone.now())
        assert get_policy().commission_bp("software_license") == 500
        assert get_policy().commission_bp("software_license") == 500
    assert _reads(queries) == 2
    with CaptureQueriesContext(connection) as queries:  # outside a scope: every call reads, as before
        get_policy()
        get_policy()
    assert _reads(queries) == 2


def test_a_refund_case_request_reads_the_policy_once(api, make_user, merchant, make_listing, fund, buy):
    buyer = make_user("buyer")
    fund(buyer, 100_000)
    order = buy(buyer, make_listing(merchant, price=1000))
    body = {"order": order["id"], "reason": "defective", "description": "激活码无效", "amount": order["amount"]}
    with CaptureQueriesContext(connection) as queries:
        res = api.post("/refunds", body, token=buyer.token)
    assert res.status_code == 201, res.data
    assert _reads(queries) == 1
