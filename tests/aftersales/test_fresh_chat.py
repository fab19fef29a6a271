"""Fresh chat as evidence (issue 15.6): at escalate and at appeal the platform adds the order chat
to the evidence when it changed since its last chat log; the complaint package carries the latest."""

import io
import zipfile


def chat_logs(case):
    return [e for e in case["evidence"] if e["source"] == "system" and e["category"] == "communication"]


def say(api, case, user, body):
    res = api.post(f"/orders/{case['order']}/messages", {"body": body}, token=user.token)
    assert res.status_code == 201, res.data


def file_text(api, case, item, user):
    res = api.client.get(
        f"/api/v1/refunds/{case['id']}/evidence/{item['id']}/file", headers={"Authorization": f"Bearer {user.token}"}
    )
    return b"".join(res.streaming_content if res.streaming else [res.content]).decode()


def test_escalation_adds_the_chat_said_since_the_case_opened(api, buyer, merchant, case_in, act, get_case):
    case = case_in("awaiting_buyer_rejected")
    assert len(chat_logs(case)) == 1  # taken at opening
    say(api, case, merchant, "这个码我们测过是好的，你再试试")
    say(api, case, buyer, "试了三次都提示已被使用")
    case = act(case, "escalate", buyer)
    logs = chat_logs(case)
    assert len(logs) == 2 and logs[1]["filename"].startswith("chat-log-")
    assert "试了三次都提示已被使用" in file_text(api, case, logs[1], buyer)
    added = [e for e in case["events"] if e["type"] == "evidence_added" and e["actor_role"] == "system"]
    assert added and added[-1]["data"]["category"] == "communication"


def test_no_new_log_when_nothing_was_said(api, buyer, merchant, case_in, act):
    case = act(case_in("awaiting_buyer_rejected"), "escalate", buyer)
    assert len(chat_logs(case)) == 1


def test_the_appeal_adds_the_latest_chat(api, buyer, merchant, case_in, act):
    case = case_in("decided")
    say(api, case, buyer, "裁决后商家承认这批码有问题")
    case = act(case, "appeal", buyer, {"reason": "商家在聊天中承认了问题"})
    logs = chat_logs(case)
    assert "裁决后商家承认这批码有问题" in file_text(api, case, logs[-1], buyer)


def test_the_complaint_package_carries_the_latest_chat(api, buyer, merchant, case_in, act):
    case = case_in("closed")
    say(api, case, merchant, "售后结束后商家又发来：再投诉就拉黑")
    res = api.client.get(
        f"/api/v1/refunds/{case['id']}/complaint?channel=12315", headers={"Authorization": f"Bearer {buyer.token}"}
    )
    assert res.status_code == 200, res.content[:300]
    data = b"".join(res.streaming_content) if res.streaming else res.content
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    chats = [n for n in names if "chat-log" in n]
    assert len(chats) == 2, names
    latest = zipfile.ZipFile(io.BytesIO(data)).read(sorted(chats)[-1]).decode()
    assert "再投诉就拉黑" in latest


def test_the_case_page_and_the_review_page_show_the_order_chat(api, buyer, merchant, arbitrator, case_in):
    from django.test import Client

    case = case_in("in_arbitration")
    say(api, case, merchant, "请提供激活失败的截图")
    for user, url in ((buyer, f"/refunds/{case['id']}"), (arbitrator, f"/arbitration/{case['id']}")):
        client = Client()
        client.force_login(user)
        page = client.get(url).content.decode()
        assert 'data-testid="order-chat"' in page and "请提供激活失败的截图" in page, user.role
        assert f'href="/orders/{case["order"]}#chat"' in page
        assert f'action="/orders/{case["order"]}/messages"' not in page  # read-only here
