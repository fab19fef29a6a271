"""The platform's own evidence documents (snapshot, transaction record, chat log) name every status,
category, role and order event in words — never a code such as `delivered`, `frozen`,
`software_license（standardized）` or `escrow_frozen (system)` — whatever language the request used."""

import re

import pytest

from kameng.orders.events import EVENT_LABELS
from kameng.orders.lifecycle import Effect

RAW = re.compile(
    r"\b(?:delivered|frozen|escrow_\w+|software_license|standardized|customized|buyer|merchant|system|paid|held)\b"
)


def test_every_order_event_the_lifecycle_writes_has_a_label():
    assert {e.writes for e in Effect if e.writes} <= set(EVENT_LABELS)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_system_evidence_has_no_raw_codes(language, api, buyer, merchant, delivered_order, open_case):
    api.post(f"/orders/{delivered_order['id']}/messages", {"body": "激活码无效"}, token=buyer.token)
    case = open_case(delivered_order)
    system = [e for e in case["evidence"] if e["source"] == "system"]
    assert {e["category"] for e in system} >= {"listing", "transaction", "communication"}
    for item in system:
        res = api.client.get(
            f"/api/v1/refunds/{case['id']}/evidence/{item['id']}/file",
            headers={"Authorization": f"Bearer {buyer.token}", "Accept-Language": language},
        )
        assert res.status_code == 200, item
        text = b"".join(res.streaming_content if res.streaming else [res.content]).decode()
        text = text.replace(buyer.username, "").replace(merchant.username, "")
        assert not RAW.search(text), (item["category"], RAW.search(text).group(0), text)
