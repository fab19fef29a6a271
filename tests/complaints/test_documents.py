"""The three documents for constructed cases: parties, purchase, facts in order, demands, articles, evidence."""

import pytest
from django.conf import settings
from django.utils import timezone

from kameng.accounts.services import update_profile
from kameng.complaints import services
from kameng.errors import DomainError
from kameng.evidence.models import Evidence

from .conftest import RATIONALE


@pytest.fixture
def decided_case(api, buyer, merchant, arbitrator, order_for, open_case, act):
    """¥99 card key promising "100%稳定激活": defective, rejected, escalated, decided ¥50 partial refund."""
    order = order_for()
    case = open_case(order)
    act(case, "reject", merchant, {"reason": "激活码已被买家使用，系统显示激活成功"})
    act(case, "escalate", buyer)
    act(case, "decide", arbitrator, {"outcome": "refund_partial", "amount": 5000, "rationale": RATIONALE})
    return order, case


def test_12315_complaint_states_parties_purchase_facts_demands_law_and_evidence(decided_case, case_obj, merchant):
    order, case = decided_case
    obj = case_obj(case)
    text = services.preview_text(obj, "12315")

    assert text.lstrip().startswith("消费者投诉书")
    # respondents: the merchant's shop and the platform operator from settings
    assert f"网店“{merchant.username}的小店”的经营者" in text
    assert settings.PLATFORM_OPERATOR["name"] in text
    # purchase: time, order number, goods, amount
    assert f"购买时间：{timezone.localtime(obj.order.created_at):%Y年%m月%d日 %H:%M}" in text
    assert f"订单号：{order['number']}" in text
    assert "商品名称：Windows 11 专业版激活码" in text
    assert "订单金额：¥99.00" in text
    # the facts, in the order they happened, from the case timeline
    steps = [
        "下单购买",
        "商家交付商品",
        "本人在平台申请售后（功能缺陷）",
        "商家拒绝退款，理由：“激活码已被买家使用",
        "本人申请平台介入仲裁",
        f"平台仲裁员作出裁决：部分退款 ¥50.00，理由：“{RATIONALE}”",
    ]
    positions = [text.index(step) for step in steps]
    assert positions == sorted(positions)
    # demands: the unpaid refund, the platform's decision and its date, mediation
    decided_on = timezone.localtime(obj.events.get(type="decide").at)
    assert "1. 要求被投诉人一退还货款人民币99.00元（大写：玖拾玖元整）。" in text
    assert f"平台于{decided_on:%Y年%m月%d日}作出裁决：部分退款 ¥50.00" in text
    assert "请求市场监督管理部门依法组织调解" in text
    # a defect is not an allegation of fraud: no treble damages here
    assert "三倍" not in text and "第五十五条" not in text
    # the law: quality (24), the platform's duty (44); no false-promotion article for a defect
    assert "《中华人民共和国消费者权益保护法》第二十四条" in text
    assert "《中华人民共和国消费者权益保护法》第四十四条" in text
    assert "第十七条" not in text
    # the evidence list names every item with its SHA-256 and where it sits in the package
    for item in Evidence.objects.filter(case=obj).order_by("seq"):
        assert f"SHA-256：{item.sha256}" in text
        assert f"evidence/{item.seq:03d}-{item.category}-" in text
    assert f"链头：{Evidence.objects.filter(case=obj).order_by('-seq').first().chain}" in text


def test_missing_profile_fields_are_marked_blanks_never_invented(decided_case, case_obj, buyer):
    obj = case_obj(decided_case[1])
    text = services.preview_text(obj, "12315")
    for label in ("姓名", "联系电话", "通讯地址"):
        assert f"【请填写：{label}】" in text
    assert [c["missing_fields"] for c in services.channels_for(obj)] == [["real_name", "phone", "address"]] * 4

    update_profile(buyer, real_name=" 张三 ", phone="138 0013 8000", address="")
    text = services.preview_text(obj, "12315")
    assert "姓名：张三" in text and "联系电话：138 0013 8000" in text
    assert "【请填写：姓名】" not in text and "【请填写：联系电话】" not in text
    assert "通讯地址：【请填写：通讯地址】" in text
    channels = services.channels_for(obj)
    assert [c["channel"] for c in channels] == ["12315", "arbitration", "court", "police"]
    assert all(c["missing_fields"] == ["address"] and c["missing_labels"] == ["通讯地址"] for c in channels)
    assert all(c["when_to_use"] and c["title"] for c in channels)


def test_update_profile_checks_what_it_stores(buyer):
    with pytest.raises(DomainError) as exc:
        update_profile(buyer, real_name="张三", phone="call me", address="")
    assert exc.value.param == "phone"
    with pytest.raises(DomainError) as exc:
        update_profile(buyer, real_name="张" * 65, phone="", address="")
    assert exc.value.param == "real_name"
    buyer.refresh_from_db()
    assert (buyer.real_name, buyer.phone, buyer.address) == ("", "", "")
    update_profile(buyer, real_name="李四", phone="+86-13800138000", address="广东省广州市天河区某路1号")
    buyer.refresh_from_db()
    assert (buyer.real_name, buyer.phone, buyer.address) == ("李四", "+86-13800138000", "广东省广州市天河区某路1号")


def test_arbitration_application_has_the_commission_sections_in_order(api, buyer, order_for, open_case, case_obj):
    order = order_for(promises=["100%稳定激活"])
    case = open_case(order, reason="not_as_described", description="宣传100%稳定激活，实际激活后频繁掉线")
    text = services.preview_text(case_obj(case), "arbitration")
    sections = ["仲裁申请书", "申请人", "被申请人", "仲裁请求", "事实与理由", "证据清单", "此致"]
    positions = [text.index(f"\n{s}\n") if i else text.index(s) for i, s in enumerate(sections)]
    assert positions == sorted(positions)
    assert "身份证号码：【请填写：身份证号码】" in text
    assert "提交至：广州仲裁委员会（网络仲裁）" in text and "争议解决条款（仲裁条款）" in text
    assert "买家可以选择将争议提交广州仲裁委员会" in text and "《中华人民共和国仲裁法》第十六条" in text
    # not as described against an absolute promise: fraud, so the refund and treble damages (¥500 minimum)
    assert "1. 请求裁决被申请人一退还货款人民币99.00元（大写：玖拾玖元整）。" in text
    assert "2. 请求裁决被申请人一按价款 ¥99.00 的三倍增加赔偿人民币500.00元（大写：伍佰元整）" in text
    assert "3. 请求裁决本案仲裁费用由被申请人承担。" in text
    assert "以上请求金额合计 人民币599.00元（大写：伍佰玖拾玖元整）。" in text
    assert "《中华人民共和国电子商务法》第十七条" in text  # false promotion
    assert "《中华人民共和国消费者权益保护法》第五十五条" in text
    assert "证明目的：证明商品页面的宣传内容和商家承诺（下单时快照）" in text


def test_police_report_for_a_service_never_delivered(api, buyer, order_for, open_case, case_obj):
    order = order_for(
        title="专属头像设计",
        category="custom_design",
        kind="service",
        price=30000,
        promises=[],
        description="三天内交付设计稿",
    )
    assert order["status"] == "paid"
    case = open_case(order, reason="service_missing", description="付款后商家一直不交付，也不回复")
    text = services.preview_text(case_obj(case), "police")
    assert text.lstrip().startswith("报案材料")
    assert "1. 收款后未交付商品" in text
    assert "交付时间：商家至今未交付" in text and "截至本材料出具之日，商家仍未交付商品" in text
    assert "尚未追回的损失：人民币300.00元（大写：叁佰元整）" in text
    assert "请求公安机关依法立案侦查，追回本人被骗取的款项 ¥300.00" in text
    # three times ¥300 is ¥900, above the ¥500 minimum
    assert "要求经营者按价款三倍增加赔偿 ¥900.00" in text and "第五十五条" in text
    assert "本人保证以上所述情况属实" in text


def test_police_report_for_a_game_account_the_seller_reclaimed(api, buyer, merchant, order_for, open_case, case_obj):
    order = order_for(
        title="王者荣耀 V8 账号",
        category="game_account",
        kind="account",
        price=50000,
        promises=["找回包赔"],
        description="V8 满皮肤",
    )
    res = api.post(f"/orders/{order['id']}/deliver", {"content": "账号 abc 密码 123"}, token=merchant.token)
    assert res.status_code == 200, res.data
    case = open_case(order, reason="not_as_described", description="登录三天后账号被卖家找回，密码已被修改")
    text = services.preview_text(case_obj(case), "police")
    assert "出售游戏账号后又将账号找回" in text
    assert "虚假宣传：商品页面承诺与实际交付不符" in text
    assert "要求经营者按价款三倍增加赔偿 ¥1,500.00" in text


def test_unfair_clause_in_the_listing_is_argued_void_under_26_497_and_regulation_17(
    api, buyer, order_for, open_case, case_obj
):
    order = order_for(description="正版授权。虚拟商品，一经售出概不退换！")
    case = open_case(order)
    text = services.preview_text(case_obj(case), "12315")
    assert "要求确认商品页面所载格式条款“一经售出概不退换”无效。" in text
    for cite in (
        "《中华人民共和国消费者权益保护法》第二十六条",
        "《中华人民共和国民法典》第四百九十七条",
        "《中华人民共和国消费者权益保护法实施条例》第十七条",
    ):
        assert cite in text
    assert "《中华人民共和国电子商务法》第四十九条" not in text  # only for "no contract after payment" clauses
    assert "电子商务法》第十七条" not in text  # a defect with an unfair clause is no false promotion


def test_no_reason_return_cites_article_25_and_the_seven_day_measures(api, buyer, order_for, open_case, case_obj):
    order = order_for(
        title="网课 Python 入门", category="online_course", kind="card_key", no_reason_refund=True, promises=[]
    )
    case = open_case(order, reason="no_reason", description="不想学了，七天内无理由退货")
    text = services.preview_text(case_obj(case), "12315")
    assert "《中华人民共和国消费者权益保护法》第二十五条" in text
    assert "《网络购买商品七日无理由退货暂行办法》" in text
    assert "第二十四条" not in text


def test_closed_case_demands_only_what_is_still_unpaid(api, buyer, merchant, order_for, open_case, act, case_obj):
    order = order_for(price=30000)
    case = open_case(order)
    act(case, "offer", merchant, {"amount": 10000})
    act(case, "accept_offer", buyer)
    text = services.preview_text(case_obj(case), "12315")
    assert "要求被投诉人一退还货款人民币200.00元（大写：贰佰元整）（申请退款 ¥300.00，已退 ¥100.00）。" in text
    assert "商家只同意部分退款 ¥100.00" in text
    assert "本人接受商家的部分退款方案；售后单结束（部分退款，退款 ¥100.00）" in text
