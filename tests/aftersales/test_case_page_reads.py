"""The case page's fixed reads (services.read_case_for, services.case_timeline, kameng.compiled):
the same answer, byte for byte, as the ORM reads they replaced, for every viewer and case state;
the same 404s; one statement each for the case, its evidence and its events (PostgreSQL: one for the
evidence and the events), the case's without an ORDER BY."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kameng.aftersales import services
from kameng.aftersales.models import CaseEvent, RefundCase
from kameng.compiled import Prepared

REQUEST_ID = re.compile(rb'"request_id": "[0-9a-f]+"')
STATES = [
    "awaiting_merchant",
    "awaiting_buyer_offer",
    "awaiting_buyer_replacement",
    "awaiting_buyer_rejected",
    "in_arbitration",
    "compromise",
    "decided",
    "in_appeal",
    "closed",
]


def _orm_timeline(case_id):
    """The reads case_out made before: the related managers, evidence in upload order, events by id."""
    case = RefundCase.objects.get(pk=case_id)
    evidence = [tuple(getattr(e, c) for c in services.EVIDENCE_COLUMNS) for e in case.evidence.order_by("seq")]
    return evidence, list(case.events.order_by("id").values_list(*services.EVENT_COLUMNS))


@pytest.fixture
def old_reads(monkeypatch):
    """Switch GET /refunds/{id} back to the ORM reads (get_case_for: select_related, a model per row)."""

    def switch():
        monkeypatch.setattr(services, "read_case_for", services.get_case_for)
        monkeypatch.setattr(services, "case_timeline", _orm_timeline)

    return switch


@pytest.mark.django_db
def test_the_case_page_answers_as_the_orm_reads_did(api, case_in, buyer, merchant, arbitrator, make_user, old_reads):
    admin, stranger, other_merchant = make_user("admin"), make_user("buyer"), make_user("merchant")
    viewers = [buyer, merchant, arbitrator, admin, stranger, other_merchant]
    cases = [case_in(state) for state in STATES]
    assert {len(c["events"]) for c in cases} != {1} and any(c["decision"] for c in cases)
    assert any(c["appeal"] for c in cases) and any(c["offer"] for c in cases) and any(c["replacement"] for c in cases)
    paths = [f"/refunds/{c['id']}" for c in cases] + ["/refunds/abc", "/refunds/0", "/refunds/999999999"]

    def answers():
        responses = (api.get(p, token=u.token) for p in paths for u in viewers)
        return [(res.status_code, REQUEST_ID.sub(b"", res.content)) for res in responses]  # each error's own id

    new = answers()
    old_reads()
    old = answers()
    assert new == old
    statuses = [status for status, _ in new]
    assert statuses.count(200) == len(cases) * 4 and set(statuses) == {200, 404}  # the parties and staff see it
    pages = [json.loads(body) for status, body in new if status == 200]
    assert all(page["evidence"] for page in pages) and max(len(page["events"]) for page in pages) > 5


@pytest.mark.django_db
def test_the_case_page_reads_the_case_evidence_and_events_once_each_the_case_without_an_order_by(
    api, case_in, arbitrator
):
    case = case_in("in_appeal")
    api.get(f"/refunds/{case['id']}", token=arbitrator.token)
    with CaptureQueriesContext(connection) as q:
        res = api.get(f"/refunds/{case['id']}", token=arbitrator.token)
    assert res.status_code == 200 and res.data["evidence"] and res.data["events"]
    tables = [s["sql"].split(" FROM ", 1)[1].split()[0].strip('"') for s in q.captured_queries if " FROM " in s["sql"]]
    # The case with its shop's owner, then its evidence and its events: one statement each (PostgreSQL: the
    # evidence and the events together, one UNION ALL); no order, no buyer.
    page = [t for t in tables if t in ("aftersales_refundcase", "evidence_evidence", "aftersales_caseevent")]
    if connection.vendor == "postgresql":
        assert page == ["aftersales_refundcase", "evidence_evidence"], tables
        (timeline,) = [s["sql"] for s in q.captured_queries if "UNION ALL" in s["sql"]]
        assert '"aftersales_caseevent"' in timeline
    else:
        assert page == ["aftersales_refundcase", "evidence_evidence", "aftersales_caseevent"], tables
    assert "orders_order" not in tables
    case_sql = next(s["sql"] for s in q.captured_queries if '"aftersales_refundcase"."id" AS "id"' in s["sql"])
    assert "ORDER BY" not in case_sql and "LIMIT 1" in case_sql and "catalog_shop" in case_sql


@pytest.mark.django_db
def test_a_prepared_read_compiles_once_and_binds_each_calls_values(case_in):
    first, second = case_in("awaiting_merchant"), case_in("in_arbitration")
    read = Prepared(
        lambda case_id: CaseEvent.objects.filter(case_id=case_id).order_by("id").values_list("type", "at"), arity=1
    )
    rows = read.rows(int(second["id"]))
    assert rows == list(CaseEvent.objects.filter(case_id=second["id"]).order_by("id").values_list("type", "at"))
    compiled = read._compiled["default"]
    assert read.rows(int(first["id"])) == list(
        CaseEvent.objects.filter(case_id=first["id"]).order_by("id").values_list("type", "at")
    )
    assert read._compiled["default"] is compiled


@pytest.mark.django_db
def test_a_prepared_read_refuses_what_it_cannot_replay():
    annotated = Prepared(lambda pk: RefundCase.objects.filter(pk=pk), arity=1)
    with pytest.raises(ValueError, match="values_list"):
        annotated.rows(1)
    unused = Prepared(lambda pk, other: RefundCase.objects.filter(pk=pk).values_list("id"), arity=2)
    with pytest.raises(ValueError, match="every argument"):
        unused.rows(1, 2)
    with pytest.raises(TypeError):
        unused.rows(1)
