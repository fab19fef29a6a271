"""The audit page tells people what happened: local times, labels for every status and event,
never the codes (`decided → in_appeal`), in Chinese and in English, readable at 375 px (a stacked table)."""

import re

from django.utils import timezone


def test_the_audit_page_shows_local_times_and_labels_not_codes(
    api, login_as, doc, buyer, merchant, admin, make_listing, fund, buy
):
    fund(buyer, 10000)
    order = buy(buyer, make_listing(merchant))
    body = {"order": order["id"], "reason": "defective", "description": "激活码无效", "amount": order["amount"]}
    case = api.post("/refunds", body, token=buyer.token).data
    api.post(f"/refunds/{case['id']}/reject", {"reason": "已激活"}, token=merchant.token)
    api.post(f"/refunds/{case['id']}/escalate", {"reason": "仍无效"}, token=buyer.token)
    client = login_as(admin)

    page = doc(client.get("/staff/audit/?type=case"))
    text = page.text()
    assert f"售后单 #{case['id']}：买家申请平台介入（待买家答复 → 平台仲裁中）" in text
    assert not re.search(r"awaiting_buyer|in_arbitration|→ closed|case\.escalate", text)
    first = next(n for n in page.testid("audit-entries").iter() if n.tag == "time")
    local = timezone.localtime(timezone.datetime.fromisoformat(first.attrs["datetime"]))
    assert first.text() == local.strftime("%Y-%m-%d %H:%M:%S") and "T" not in first.text()
    assert "买家" in text  # the actor's role, named

    orders = doc(client.get("/staff/audit/?type=order")).text()
    assert "担保款冻结（售后处理中）" in orders and "escrow_frozen" not in orders

    client.post("/language/", {"language": "en"})
    english = doc(client.get("/staff/audit/?type=case")).text()
    assert f"Case #{case['id']}" in english and "escalate" not in english.lower().replace("escalated", "")
    user_data = ("已激活", "仍无效", "激活码无效", "中文")  # what people wrote; the language switch's own name
    for said in user_data:
        english = english.replace(said, "")
    assert not re.findall(r"[\u4e00-\u9fff]+", english)
